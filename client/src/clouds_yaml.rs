//! `clouds.yaml` and `secure.yaml` as openstacksdk reads them.
//!
//! - [`search_path`]: where openstacksdk looks (`OS_CLIENT_CONFIG_FILE`, then `./`,
//!   `$XDG_CONFIG_HOME/openstack` or `~/.config/openstack`, `/etc/xdg/openstack`,
//!   `/etc/openstack`; `clouds.yaml`, `.yml` or `.json`); the first file that exists is the
//!   one, as for openstack itself. `secure.yaml` is found the same way.
//! - [`Clouds::cloud`]: one cloud with the secure file merged over the clouds file (mappings
//!   merged key by key, anything else replaced: openstacksdk's `merge_clouds`), keys with `-`
//!   read as `_`. Every value knows its file and line, for messages.
//! - [`strip`]: the text of a file without a cloud's password and client secret.
//!
//! Files are read once, into [`Secret`]s: they may hold passwords.

mod strip;
mod tree;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use opcp_cred_proto::Secret;

pub use self::strip::SECRET_KEYS;
use self::tree::Node;
use crate::error::CliError;

/// Candidates for `stem` (`clouds` or `secure`) in openstacksdk's order. `env` answers for
/// the environment; `cwd` and `home` are the current and home directories.
pub fn search_path(
    stem: &str,
    env: &dyn Fn(&str) -> Option<OsString>,
    cwd: &Path,
    home: &Path,
) -> Vec<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let user = home.join(".config/openstack");
    let dirs = [
        cwd.to_path_buf(),
        set("XDG_CONFIG_HOME").map_or_else(|| user.clone(), |d| d.join("openstack")),
        user,
        // platformdirs' site config dir: the first of $XDG_CONFIG_DIRS, else /etc/xdg.
        set("XDG_CONFIG_DIRS")
            .and_then(|d| std::env::split_paths(&d).next())
            .unwrap_or_else(|| PathBuf::from("/etc/xdg"))
            .join("openstack"),
        PathBuf::from("/etc/openstack"),
    ];
    let overridden = match stem {
        "clouds" => set("OS_CLIENT_CONFIG_FILE"),
        _ => set("OS_CLIENT_SECURE_FILE"),
    };
    let mut paths: Vec<PathBuf> = overridden.into_iter().collect();
    for dir in dirs {
        for ext in ["yaml", "yml", "json"] {
            paths.push(dir.join(format!("{stem}.{ext}")));
        }
    }
    paths
}

/// A clouds file, and the secure file merged over it.
#[derive(Debug)]
pub struct Clouds {
    pub clouds: Loaded,
    pub secure: Option<Loaded>,
}

#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// The text as read, for a rewrite to start from.
    pub text: Secret,
    root: Option<Node>,
}

impl Loaded {
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(path)
            .map(Secret::new)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
        let root = tree::parse(text.expose()).map_err(|e| {
            CliError::config(format!(
                "{}:{}: {}; nothing was imported",
                path.display(),
                e.line,
                e.message
            ))
        })?;
        if root.as_ref().is_some_and(|r| r.as_map().is_none()) {
            return Err(CliError::config(format!(
                "{} is not a mapping with `clouds:` in it; nothing was imported",
                path.display()
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            text,
            root,
        })
    }

    fn clouds(&self) -> Option<&tree::Map> {
        self.root
            .as_ref()?
            .as_map()?
            .get("clouds", false)?
            .value
            .as_map()
    }

    /// The text without the secrets of `cloud`; `None` when it holds none of them.
    pub fn strip(&self, cloud: &str) -> Result<Option<String>, CliError> {
        strip::strip(self.text.expose(), self.root.as_ref(), cloud).map_err(|why| {
            CliError::config(format!(
                "cannot take the secrets of cloud `{cloud}` out of {}: {why}; nothing was stored",
                self.path.display()
            ))
            .with_hint(format!(
                "leave out --rewrite, and delete {} from the cloud's `auth` by hand",
                SECRET_KEYS.join(" and ")
            ))
        })
    }
}

/// One value of a cloud, and where it is written.
#[derive(Debug)]
pub struct Found {
    /// `None` for YAML's null (`~`, `null` or nothing): unset.
    pub text: Option<Secret>,
    /// `file:line`.
    pub at: String,
}

impl Clouds {
    /// Every cloud name, the secure file's included.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = [Some(&self.clouds), self.secure.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(Loaded::clouds)
            .flat_map(|m| m.entries.iter().map(|e| e.key.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The value at `path` (`["auth", "password"]`) of cloud `name`, secure file first.
    pub fn get(&self, name: &str, path: &[&str]) -> Result<Option<Found>, CliError> {
        let full: Vec<&str> = ["clouds", name].iter().chain(path).copied().collect();
        let main = self.clouds.root.as_ref().map(|r| (r, &self.clouds.path));
        let secure = (self.secure.as_ref()).and_then(|s| s.root.as_ref().map(|r| (r, &s.path)));
        let Some((node, file)) = merged(main, secure, &full, 0)? else {
            return Ok(None);
        };
        let at = format!("{}:{}", file.display(), node.line().unwrap_or(1));
        match node {
            Node::Scalar(s) if s.plain && matches!(s.text.expose(), "" | "~" | "null") => {
                Ok(Some(Found { text: None, at }))
            }
            Node::Scalar(s) => Ok(Some(Found {
                text: Some(scalar_text(s)),
                at,
            })),
            _ => Err(CliError::config(format!(
                "{at}: `{}` of cloud `{name}` is a mapping or a list, not text; nothing was imported",
                path.join(".")
            ))),
        }
    }
}

/// A scalar as openstacksdk passes it on: an unquoted integer as Python prints it (`0x1F` is
/// `31`), anything else as written.
fn scalar_text(scalar: &tree::Scalar) -> Secret {
    if scalar.plain
        && let yaml_rust2::Yaml::Integer(n) = yaml_rust2::Yaml::from_str(scalar.text.expose())
    {
        return Secret::new(n.to_string());
    }
    scalar.text.clone()
}

type Layer<'a> = Option<(&'a Node, &'a PathBuf)>;

/// `path` (from the root, `depth` keys down) in the secure layer merged over the main one, as
/// `merge_clouds` merges them: where both are mappings, key by key; otherwise the secure value
/// replaces the main one.
fn merged<'a>(
    main: Layer<'a>,
    secure: Layer<'a>,
    path: &[&str],
    depth: usize,
) -> Result<Layer<'a>, CliError> {
    let Some((key, rest)) = path.split_first() else {
        return Ok(secure.or(main));
    };
    // Below `clouds: NAME:`, keys are normalised.
    let normalize = depth >= 2;
    let child = |layer: Layer<'a>| -> Result<Layer<'a>, CliError> {
        let Some((Node::Map(map), file)) = layer else {
            return Ok(None);
        };
        if let Some(merge) = map.get("<<", false) {
            return Err(CliError::config(format!(
                "{}:{}: a YAML merge key (`<<`), which import does not follow; nothing was imported",
                file.display(),
                merge.line
            ))
            .with_hint("write the values out in the cloud's entry"));
        }
        Ok(map.get(key, normalize).map(|e| (&e.value, file)))
    };
    let secure_child = child(secure)?;
    match secure_child {
        Some((Node::Map(_), _)) => merged(child(main)?, secure_child, rest, depth + 1),
        Some(_) if rest.is_empty() => Ok(secure_child),
        // A secure value that is not a mapping replaces everything below it.
        Some(_) => Ok(None),
        None => merged(child(main)?, None, rest, depth + 1),
    }
}

/// The clouds file (`explicit`, else the first on the search path) and the first secure file
/// on the search path, read and parsed.
pub fn load(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Clouds, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::usage(format!("cannot read the current directory: {e}")))?;
    let home = env("HOME").map(PathBuf::from).unwrap_or_default();
    let first = |stem| {
        search_path(stem, env, &cwd, &home)
            .into_iter()
            .find(|p| p.is_file())
    };
    let clouds = match explicit {
        Some(path) => path.to_owned(),
        None => first("clouds").ok_or_else(|| {
            CliError::usage("no clouds.yaml found (./, ~/.config/openstack/, /etc/openstack/)")
                .with_hint("give its path: --clouds-yaml PATH")
        })?,
    };
    Ok(Clouds {
        clouds: Loaded::read(&clouds)?,
        secure: first("secure").map(|p| Loaded::read(&p)).transpose()?,
    })
}

#[cfg(test)]
mod tests;
