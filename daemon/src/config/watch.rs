//! Noticing edits of config.toml without a path lookup and `stat` on every request.
//!
//! The config file's directory is watched with inotify (editors replace the file by renaming,
//! or rewrite it in place: both are events of the directory). A request drains the watch with
//! one non-blocking read, which the kernel answers from the queue of events without touching
//! the file system, and bumps a count when there was anything. The config is looked at again
//! when the count moved since the last look. An edit's event is queued before the editor's
//! write or rename returns, so a request that starts after the edit always sees it.
//!
//! Requests drain one at a time, under a lock held only for that read: otherwise a request
//! could find the queue already emptied by another that has not counted its events yet, and
//! miss an edit made before it started.
//!
//! Where inotify cannot say everything, the watch gives up for good and every request looks
//! at the file, as before: a directory that is removed or moved, an error, a config.toml that
//! is a symlink (its target's edits happen elsewhere), and a change of the path above the
//! directory: each ancestor is watched for its entry on the path, so that `~/.config` moved
//! aside, or `~/.config/opcp-cred` a symlink pointed elsewhere, is noticed too.

use std::ffi::OsString;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

#[derive(Debug)]
pub struct Watch {
    fd: OwnedFd,
    /// The watches of the directories above the config directory, each with the name of its
    /// entry on the path.
    ancestors: Vec<(i32, OsString)>,
    /// Reads that found events, so far; its lock is the one drainer's.
    changes: Mutex<u64>,
    given_up: AtomicBool,
}

impl Watch {
    /// Watch the directory of `config_file`; `None` when inotify cannot.
    pub fn start(config_file: &Path) -> Option<Self> {
        let dir = config_file.parent().filter(|d| !d.as_os_str().is_empty())?;
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).ok()?;
        let events = WatchFlags::CLOSE_WRITE
            | WatchFlags::MODIFY
            | WatchFlags::ATTRIB
            | WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF
            | WatchFlags::ONLYDIR;
        inotify::add_watch(&fd, dir, events).ok()?;
        let entries = WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::ONLYDIR;
        let mut ancestors = Vec::new();
        let mut below = dir;
        while let (Some(parent), Some(name)) = (below.parent(), below.file_name()) {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            let wd = inotify::add_watch(&fd, parent, entries).ok()?;
            ancestors.push((wd, name.to_owned()));
            below = parent;
        }
        Some(Self {
            fd,
            ancestors,
            changes: Mutex::new(0),
            given_up: AtomicBool::new(false),
        })
    }

    /// The count of changes seen in the directory, events queued until now included; `None`
    /// when the count cannot be trusted and the file must be looked at.
    pub fn changes(&self) -> Option<u64> {
        if self.given_up.load(Ordering::Acquire) {
            return None;
        }
        // A count is plain data: a panic elsewhere cannot leave it half-updated.
        let mut changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        match self.drain() {
            Ok(true) => *changes += 1,
            Ok(false) => {}
            Err(()) => self.give_up(),
        }
        (!self.given_up.load(Ordering::Acquire)).then_some(*changes)
    }

    /// Stop trusting the watch (the file turned out to be a symlink).
    pub fn give_up(&self) {
        if !self.given_up.swap(true, Ordering::AcqRel) {
            tracing::info!(
                "config directory no longer watched: looking at the file on each request"
            );
        }
    }

    /// Read every queued event: whether there was any, or `Err` when the watch has ended.
    fn drain(&self) -> Result<bool, ()> {
        let mut buf = [MaybeUninit::uninit(); 1024];
        let mut reader = inotify::Reader::new(&self.fd, &mut buf);
        let mut any = false;
        loop {
            match reader.next() {
                Ok(event) => {
                    if let Some((_, on_path)) =
                        self.ancestors.iter().find(|(wd, _)| *wd == event.wd())
                    {
                        // Another entry of a directory above: nothing to do with us.
                        let name = event.file_name().map(std::ffi::CStr::to_bytes);
                        if name == Some(on_path.as_bytes()) {
                            return Err(());
                        }
                        continue;
                    }
                    any = true;
                    // A full queue lost events, perhaps one of the path above.
                    let ended = ReadFlags::IGNORED
                        | ReadFlags::DELETE_SELF
                        | ReadFlags::MOVE_SELF
                        | ReadFlags::QUEUE_OVERFLOW;
                    if event.events().intersects(ended) {
                        return Err(());
                    }
                }
                Err(Errno::WOULDBLOCK) => return Ok(any),
                Err(Errno::INTR) => {}
                Err(_) => return Err(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_edits_and_renames_and_gives_up_when_the_directory_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let watch = Watch::start(&path).expect("inotify");
        let start = watch.changes().expect("a fresh watch is trusted");
        assert_eq!(watch.changes(), Some(start), "nothing happened");

        std::fs::write(&path, "a = 1\n").unwrap();
        let written = watch.changes().unwrap();
        assert!(written > start, "a write is seen at once");
        assert_eq!(watch.changes(), Some(written));

        let temp = dir.path().join(".config.toml.tmp");
        std::fs::write(&temp, "a = 2\n").unwrap();
        let _ = watch.changes();
        std::fs::rename(&temp, &path).unwrap();
        assert!(
            watch.changes().unwrap() > written,
            "a rename over it is seen"
        );

        std::fs::remove_file(&path).unwrap();
        let moved = dir.path().with_extension("moved");
        std::fs::rename(dir.path(), &moved).unwrap();
        assert_eq!(
            watch.changes(),
            None,
            "a moved directory is not watched any more"
        );
        std::fs::rename(&moved, dir.path()).unwrap();
    }

    #[test]
    fn a_change_of_the_path_above_gives_up_other_entries_do_not() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("dotA"), root.path().join("dotB"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        let link = root.path().join("opcp-cred");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        let watch = Watch::start(&link.join("config.toml")).expect("inotify");
        let start = watch.changes().expect("trusted");

        std::fs::write(root.path().join("unrelated"), "x").unwrap();
        assert_eq!(watch.changes(), Some(start), "another entry of an ancestor");

        // `ln -sfn dotB opcp-cred`: a new link renamed over the old one.
        let new_link = root.path().join(".opcp-cred.new");
        std::os::unix::fs::symlink(&b, &new_link).unwrap();
        std::fs::rename(&new_link, &link).unwrap();
        assert_eq!(watch.changes(), None, "the directory on the path changed");
    }
}
