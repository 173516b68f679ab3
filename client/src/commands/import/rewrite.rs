//! `--rewrite`: the imported files without their secrets, once the profile is stored.
//!
//! Everything that can be refused is checked before the profile is stored (the new text, a
//! free backup name), so a refused rewrite stores nothing. A file is replaced atomically (a new
//! file renamed over it) and keeps its mode; it is left alone if it changed since it was read.
//! With --backup the original is kept beside it as `FILE.bak`, created with mode 0600.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::valid_profile_name;

use crate::clouds_yaml::{Clouds, SECRET_KEYS};
use crate::error::CliError;

#[derive(Debug)]
pub struct Plan {
    changes: Vec<Change>,
    backup: bool,
}

#[derive(Debug)]
struct Change {
    /// The file itself, symbolic links followed.
    path: PathBuf,
    original: Secret,
    text: String,
}

/// What an openrc file becomes: the lines that export a token instead. Sourced by scripts,
/// it must fail when no token comes: `eval $(…)` would succeed on empty output.
pub fn openrc_replacement(profile: &str) -> String {
    format!(
        "# The OpenStack secrets of this file are in the keyring: opcp-cred profile {profile}.\n\
         # Sourcing it fails, changing nothing, when opcp-cred cannot give a token.\n\
         opcp_cred_exports=$(opcp-cred env --profile {profile}) && eval \"$opcp_cred_exports\" \\\n\
         \x20   && unset opcp_cred_exports\n"
    )
}

/// The profile of a file that [`openrc_replacement`] wrote, this one or an earlier form.
pub fn moved_to(text: &str) -> Option<String> {
    let (_, after) = text.split_once("opcp-cred env --profile ")?;
    let profile: String = after
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')')
        .collect();
    valid_profile_name(&profile).then_some(profile)
}

impl Plan {
    pub fn openrc(
        path: &Path,
        original: &Secret,
        profile: &str,
        backup: bool,
    ) -> Result<Self, CliError> {
        let change = Change {
            path: real_path(path)?,
            original: original.clone(),
            text: openrc_replacement(profile),
        };
        Self::new(vec![change], backup)
    }

    /// The clouds file and the secure file, each without the secrets of `cloud`.
    pub fn clouds(clouds: &Clouds, cloud: &str, backup: bool) -> Result<Self, CliError> {
        let mut changes = Vec::new();
        for loaded in [Some(&clouds.clouds), clouds.secure.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Some(text) = loaded.strip(cloud)? {
                changes.push(Change {
                    path: real_path(&loaded.path)?,
                    original: loaded.text.clone(),
                    text,
                });
            }
        }
        Self::new(changes, backup)
    }

    fn new(changes: Vec<Change>, backup: bool) -> Result<Self, CliError> {
        if backup {
            for change in &changes {
                let backup = backup_path(&change.path);
                if fs::symlink_metadata(&backup).is_ok() {
                    return Err(CliError::usage(format!(
                        "the backup {} exists already; nothing was stored",
                        backup.display()
                    ))
                    .with_hint("move it away, or leave out --backup"));
                }
            }
        }
        Ok(Self { changes, backup })
    }

    /// Write the backups and replace the files; say what was done on stderr.
    pub fn apply(&self, cloud: Option<&str>) -> Result<(), CliError> {
        if self.changes.is_empty() {
            let what = cloud.map_or_else(String::new, |c| format!(" of cloud `{c}`"));
            eprintln!(
                "opcp-cred: no file holds the {}{what}: nothing to rewrite",
                SECRET_KEYS.join(" or ")
            );
        }
        for change in &self.changes {
            change.apply(self.backup).map_err(|mut e| {
                e.message = format!("the profile is stored, but {}", e.message);
                e
            })?;
        }
        Ok(())
    }
}

impl Change {
    fn apply(&self, backup: bool) -> Result<(), CliError> {
        let path = &self.path;
        let failed = |what: &str, e: std::io::Error| {
            CliError::new(
                crate::error::Code::Failure,
                format!("{what} {}: {e}", path.display()),
            )
        };
        let now = fs::read_to_string(path)
            .map(Secret::new)
            .map_err(|e| failed("cannot read", e))?;
        if now != self.original {
            return Err(CliError::config(format!(
                "{} changed while it was imported, so it was not rewritten",
                path.display()
            ))
            .with_hint("check it, then run the import again with --rewrite"));
        }
        if backup {
            let backup = backup_path(path);
            write_new(&backup, self.original.expose(), 0o600)
                .map_err(|e| failed("cannot write the backup of", e))?;
            eprintln!(
                "opcp-cred: kept the original as {} (mode 0600)",
                backup.display()
            );
        }
        let mode = fs::metadata(path)
            .map_err(|e| failed("cannot read", e))?
            .permissions()
            .mode()
            & 0o7777;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = path.with_file_name(format!(".{name}.opcp-cred-rewrite"));
        let replaced = write_new(&temp, &self.text, mode).and_then(|()| fs::rename(&temp, path));
        if let Err(e) = replaced {
            let _ = fs::remove_file(&temp);
            return Err(failed("cannot rewrite", e));
        }
        eprintln!("opcp-cred: rewrote {} without its secrets", path.display());
        Ok(())
    }
}

/// A new file with `mode` (whatever the umask), its bytes on disk before it is used.
fn write_new(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

fn real_path(path: &Path) -> Result<PathBuf, CliError> {
    fs::canonicalize(path)
        .map_err(|e| CliError::usage(format!("cannot find {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openrc(dir: &Path, text: &str) -> (PathBuf, Secret) {
        let path = dir.join("openrc.sh");
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        (path, Secret::new(text))
    }

    #[test]
    fn the_file_becomes_the_env_line_and_keeps_its_mode_and_a_0600_backup() {
        let dir = tempfile::tempdir().unwrap();
        let (path, original) = openrc(dir.path(), "export OS_PASSWORD=fake\n");
        Plan::openrc(&path, &original, "pod", true)
            .unwrap()
            .apply(None)
            .unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            openrc_replacement("pod")
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o644
        );
        let backup = dir.path().join("openrc.sh.bak");
        assert_eq!(
            fs::read_to_string(&backup).unwrap(),
            "export OS_PASSWORD=fake\n"
        );
        assert_eq!(
            fs::metadata(&backup).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }

    #[test]
    fn a_replacement_names_its_profile_in_this_form_and_the_earlier_one() {
        assert_eq!(moved_to(&openrc_replacement("pod")).as_deref(), Some("pod"));
        let earlier = "eval $(opcp-cred env --profile db)\n";
        assert_eq!(moved_to(earlier).as_deref(), Some("db"));
        assert_eq!(moved_to("export OS_PASSWORD=fake\n"), None);
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (path, original) = openrc(dir.path(), "export OS_PASSWORD=fake\n");
        let plan = Plan::openrc(&path, &original, "pod", false).unwrap();
        fs::write(&path, "export OS_PASSWORD=fake-edited\n").unwrap();
        let err = plan.apply(None).unwrap_err();
        assert!(
            err.message.starts_with("the profile is stored, but "),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("changed while it was imported"),
            "{}",
            err.message
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "export OS_PASSWORD=fake-edited\n"
        );
    }

    #[test]
    fn a_backup_in_the_way_is_refused_before_anything_happens() {
        let dir = tempfile::tempdir().unwrap();
        let (path, original) = openrc(dir.path(), "x\n");
        fs::write(dir.path().join("openrc.sh.bak"), "older\n").unwrap();
        let err = Plan::openrc(&path, &original, "pod", true).unwrap_err();
        assert!(
            err.message.ends_with("exists already; nothing was stored"),
            "{}",
            err.message
        );
        assert!(
            Plan::openrc(&path, &original, "pod", false).is_ok(),
            "no backup, no conflict"
        );
    }
}
