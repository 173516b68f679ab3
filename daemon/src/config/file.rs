//! The config file on disk: reloaded when it changes, written atomically by the daemon only.

use std::fs::{self, DirBuilder, File, Metadata, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use opcp_cred_proto::messages::ProfileConfig;

use super::parse::{line_of, one_line};
use super::watch::Watch;
use super::{Config, ConfigError, edit, parse};
use crate::small_file;

/// A hand-written config is a few KiB; anything much larger is a mistake.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// `config.toml`, shared by the whole daemon in an `Arc`.
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
    /// Says when the directory changed, so that requests need not look at the file each time.
    watch: Option<Watch>,
    /// One lock for reads and writes: an edit reads, changes and replaces the file as one step.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The last config that loaded without error.
    config: Arc<Config>,
    /// The file version last looked at (good or broken); `None`: there was no file.
    seen: Option<Stamp>,
    /// Why the file as it is now on disk is not the config in use.
    last_error: Option<String>,
    /// The watch's count of changes at the last look at the file.
    looked_at: Option<u64>,
}

/// What tells one version of the file from another without reading it: an editor that
/// replaces the file changes the inode, one that rewrites it changes mtime, ctime or size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl ConfigFile {
    /// Load `path`. A missing file is an empty config. A broken one is an empty config too,
    /// with its error recorded: the daemon starts anyway, so that every request can answer
    /// with the file, line and key to fix instead of "daemon unreachable".
    pub fn open(path: PathBuf) -> Self {
        let mut state = State {
            config: Arc::new(Config::default()),
            seen: None,
            last_error: None,
            looked_at: None,
        };
        match read(&path).and_then(|found| {
            found
                .map(|(text, stamp)| parse(&text, &path).map(|config| (config, stamp)))
                .transpose()
        }) {
            Ok(Some((config, stamp))) => {
                state.config = Arc::new(config);
                state.seen = Some(stamp);
            }
            Ok(None) => {}
            Err(err) => {
                state.seen = fs::metadata(&path).ok().map(|meta| Stamp::of(&meta));
                record_error(&mut state, &err);
            }
        }
        // The directory is made now, as the first write would make it, so it can be watched.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = DirBuilder::new().recursive(true).mode(0o700).create(dir);
        }
        Self {
            watch: Watch::start(&path),
            path,
            state: Mutex::new(state),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current config; re-reads the file when it changed since the last read (its inode,
    /// size, mtime or ctime). A broken edit keeps the last good config and records the error.
    pub fn current(&self) -> Arc<Config> {
        self.current_with_error().0
    }

    /// [`Self::current`] and [`Self::last_error`] in one look, for the hot path.
    ///
    /// While the directory watch has seen nothing since the last look, that is one read of
    /// its event queue and the lock. Otherwise a `stat`, made before taking the lock: holding
    /// it across a system call would serialise the requests. A file that changes in between
    /// is noticed by the next call, as it would have been anyway.
    pub fn current_with_error(&self) -> (Arc<Config>, Option<String>) {
        let changes = self.watch.as_ref().and_then(Watch::changes);
        if changes.is_some() {
            let state = self.lock();
            if state.looked_at == changes {
                return (Arc::clone(&state.config), state.last_error.clone());
            }
        }
        if let Some(watch) = &self.watch
            && changes.is_some()
            && fs::symlink_metadata(&self.path).is_ok_and(|meta| meta.file_type().is_symlink())
        {
            watch.give_up();
        }
        let now = fs::metadata(&self.path).map(|meta| Stamp::of(&meta));
        let mut state = self.lock();
        state.looked_at = changes;
        let now = match now {
            Ok(stamp) => Some(stamp),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => {
                let err = ConfigError::io(&self.path, "read", err);
                record_error(&mut state, &err);
                return (Arc::clone(&state.config), state.last_error.clone());
            }
        };
        if now != state.seen {
            self.reload(&mut state);
        }
        (Arc::clone(&state.config), state.last_error.clone())
    }

    /// Why the file on disk is not in use, when it is not.
    pub fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    /// Writes `[profiles.NAME]` (and `default_profile` when `make_default` or none is set yet),
    /// keeping comments and formatting of the rest, atomically, mode 0600, creating the
    /// directory 0700. Returns whether NAME is now the default.
    pub fn put_profile(
        &self,
        name: &str,
        profile: &ProfileConfig,
        make_default: bool,
    ) -> Result<bool, ConfigError> {
        let mut state = self.lock();
        let text = read(&self.path)?.map(|(text, _)| text).unwrap_or_default();
        let (text, is_default) = edit::put_profile(&text, name, profile, make_default)
            .map_err(|err| self.syntax_error(&text, &err))?;
        self.commit(&mut state, &text)?;
        tracing::info!(profile = name, is_default, path = %self.path.display(), "profile saved");
        Ok(is_default)
    }

    /// Removes `[profiles.NAME]`, and `default_profile` when it was NAME. Returns whether the
    /// profile was there.
    pub fn remove_profile(&self, name: &str) -> Result<bool, ConfigError> {
        let mut state = self.lock();
        let Some((text, _)) = read(&self.path)? else {
            return Ok(false);
        };
        let edited =
            edit::remove_profile(&text, name).map_err(|err| self.syntax_error(&text, &err))?;
        match edited {
            Some(text) => {
                self.commit(&mut state, &text)?;
                tracing::info!(profile = name, path = %self.path.display(), "profile removed");
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update replaces whole fields, so a panic elsewhere cannot leave a torn state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reload(&self, state: &mut State) {
        let loaded = read(&self.path).map(|file| match file {
            Some((text, stamp)) => (parse(&text, &self.path), Some(stamp)),
            None => (Ok(Config::default()), None),
        });
        match loaded {
            Ok((Ok(config), stamp)) => {
                tracing::info!(path = %self.path.display(), "config reloaded");
                state.config = Arc::new(config);
                state.seen = stamp;
                state.last_error = None;
            }
            Ok((Err(err), stamp)) => {
                // Remember this version so a broken file is parsed once, not on every call.
                state.seen = stamp;
                record_error(state, &err);
            }
            Err(err) => record_error(state, &err),
        }
    }

    /// Never write what could not be read back: the new text must load as a whole.
    fn commit(&self, state: &mut State, text: &str) -> Result<(), ConfigError> {
        let config = parse(text, &self.path)?;
        let stamp = write_atomically(&self.path, text)?;
        state.config = Arc::new(config);
        state.seen = Some(stamp);
        state.last_error = None;
        Ok(())
    }

    fn syntax_error(&self, text: &str, err: &toml_edit::TomlError) -> ConfigError {
        ConfigError::Invalid {
            file: self.path.clone(),
            line: line_of(text, err.span().map_or(0, |span| span.start)),
            key: None,
            problem: one_line(err.message()),
        }
    }
}

fn record_error(state: &mut State, err: &ConfigError) {
    let message = err.to_string();
    if state.last_error.as_deref() != Some(message.as_str()) {
        tracing::warn!(error = %message, "config not reloaded; keeping the last good one");
        state.last_error = Some(message);
    }
}

/// The text and its stamp, `None` when there is no file.
fn read(path: &Path) -> Result<Option<(String, Stamp)>, ConfigError> {
    let io_err = |err| ConfigError::io(path, "read", err);
    match small_file::read(path, MAX_CONFIG_BYTES) {
        Ok((bytes, meta)) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| io_err(io::Error::other("it is not valid UTF-8")))?;
            Ok(Some((text, Stamp::of(&meta))))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_err(err)),
    }
}

/// Temp file in the same directory, fsync, rename over the target, fsync the directory:
/// a reader sees the old file or the new one, never half of it, even after a crash.
fn write_atomically(path: &Path, text: &str) -> Result<Stamp, ConfigError> {
    // Write through a symlink (dotfiles managers link config files) instead of replacing it.
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|err| ConfigError::io(path, "resolve", err))?
        }
        _ => path.to_owned(),
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|err| ConfigError::io(&dir, "create the directory", err))?;
    let file_name = target.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let written = write_new(&temp, text).and_then(|()| fs::rename(&temp, &target));
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(ConfigError::io(&target, "write", err));
    }
    File::open(&dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|err| ConfigError::io(&dir, "sync the directory", err))?;
    // Stat after the rename, which changes the ctime.
    let meta = fs::metadata(&target).map_err(|err| ConfigError::io(&target, "read", err))?;
    Ok(Stamp::of(&meta))
}

fn write_new(temp: &Path, text: &str) -> io::Result<()> {
    // A leftover of a crashed daemon that had the same pid.
    match fs::remove_file(temp) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)?;
    // The umask may have taken bits away; say exactly what the file gets.
    file.set_permissions(Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests;
