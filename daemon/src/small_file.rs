//! Reading a small file that the user names (config.toml, a profile's `cacert`) without
//! trusting what it is: a FIFO would block the reader until someone writes to it, and
//! `/dev/zero` never ends.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The contents of the regular file at `path`, at most `max` bytes, and its metadata as it
/// was before reading. A FIFO, device or directory is an error, so is a larger file.
pub fn read(path: &Path, max: u64) -> io::Result<(Vec<u8>, Metadata)> {
    // Non-blocking: opening a FIFO returns at once; the check below then refuses it.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits().cast_signed())
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("it is not a regular file"));
    }
    let too_large = || io::Error::other(format!("it is larger than {} KiB", max / 1024));
    if meta.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    File::take(file, max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok((bytes, meta))
}

#[cfg(test)]
mod tests {
    use super::read;

    #[test]
    fn reads_a_regular_file_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ok.pem");
        std::fs::write(&file, "fake").unwrap();
        assert_eq!(read(&file, 1024).unwrap().0, b"fake");

        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let err = read(&fifo, 1024).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = read("/dev/zero".as_ref(), 1024).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = read(dir.path(), 1024).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        std::fs::write(&file, vec![b'x'; 2048]).unwrap();
        let err = read(&file, 1024).unwrap_err();
        assert!(err.to_string().contains("larger than 1 KiB"), "{err}");
    }
}
