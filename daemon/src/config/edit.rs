//! Edits of the config text that keep everything else as the user wrote it.
//!
//! Pure text in, text out (with `toml_edit`), so the comment-keeping is tested without files.
//! Values are replaced in place: a key keeps the comment lines above it and the comment after
//! its value; a profile table keeps its header comments and the order of its keys.

use opcp_cred_proto::messages::ProfileConfig;
use toml_edit::{Decor, DocumentMut, Item, RawString, Table, TomlError, Value};

/// The text with `[profiles.NAME]` set to `profile`, and whether NAME is now the default
/// profile (it becomes it when `make_default` or when no default is set yet).
pub(super) fn put_profile(
    text: &str,
    name: &str,
    profile: &ProfileConfig,
    make_default: bool,
) -> Result<(String, bool), TomlError> {
    let mut doc: DocumentMut = text.parse()?;
    let new = profile_table(profile);
    let profiles = table_at(doc.as_table_mut(), "profiles", true);
    let existing = table_at(profiles, name, false);
    merge(existing, new);

    let current = doc.get("default_profile").and_then(Item::as_str);
    let is_default = make_default || current.is_none() || current == Some(name);
    if is_default {
        set_value(doc.as_table_mut(), "default_profile", Value::from(name));
    }
    Ok((doc.to_string(), is_default))
}

/// The text without `[profiles.NAME]` (and without `default_profile` when it named it), or
/// `None` when there is no such profile.
pub(super) fn remove_profile(text: &str, name: &str) -> Result<Option<String>, TomlError> {
    let mut doc: DocumentMut = text.parse()?;
    let removed = doc
        .get_mut("profiles")
        .and_then(Item::as_table_like_mut)
        .and_then(|profiles| profiles.remove(name));
    let Some(removed) = removed else {
        return Ok(None);
    };
    if let Some(table) = removed.as_table() {
        let kept = detached_paragraphs(prefix_of(table.decor()));
        attach_after(&mut doc, table.position(), kept);
    }
    if doc.get("default_profile").and_then(Item::as_str) == Some(name) {
        remove_top_level_key(&mut doc, "default_profile");
    }
    Ok(Some(doc.to_string()))
}

fn profile_table(profile: &ProfileConfig) -> Table {
    let doc = toml_edit::ser::to_document(profile)
        .expect("a ProfileConfig holds only strings and booleans, which TOML can always hold");
    let mut table = doc.as_table().clone();
    table.set_implicit(false);
    table
}

/// The table under `key`, created when missing. An inline table is turned into a `[table]`;
/// any other value is replaced (it could not have been a valid config).
fn table_at<'t>(parent: &'t mut Table, key: &str, implicit: bool) -> &'t mut Table {
    let item = parent.entry(key).or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(implicit);
        Item::Table(table)
    });
    if !item.is_table() {
        let taken = std::mem::take(item);
        *item = Item::Table(taken.into_table().unwrap_or_default());
    }
    item.as_table_mut().expect("the item was just made a table")
}

/// Make `existing` hold exactly the keys of `new`, keeping the decoration of kept keys.
fn merge(existing: &mut Table, new: Table) {
    existing.retain(|key, _| new.contains_key(key));
    for (key, item) in new {
        match item {
            Item::Value(value) => set_value(existing, &key, value),
            other => {
                existing.insert(&key, other);
            }
        }
    }
}

/// Set `key` in place: unlike `Table::insert`, this keeps the comments above the key and the
/// old value's own decoration (spacing, a trailing `# comment`).
fn set_value(table: &mut Table, key: &str, mut value: Value) {
    match table.get_mut(key) {
        Some(item) => {
            if let Some(old) = item.as_value() {
                *value.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(value);
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// Removes a top-level key. Its own comment (the paragraph right above it) goes with it;
/// paragraphs before that, such as a file header, move to what is printed next.
fn remove_top_level_key(doc: &mut DocumentMut, key: &str) {
    let root = doc.as_table_mut();
    let kept = root
        .key(key)
        .map(|key| detached_paragraphs(prefix_of(key.leaf_decor())).to_owned())
        .unwrap_or_default();
    let index = root.iter().position(|(k, _)| k == key).unwrap_or_default();
    root.remove(key);
    let next_value = root
        .iter()
        .skip(index)
        .find(|(_, item)| item.is_value())
        .map(|(key, _)| key.to_owned());
    match next_value.and_then(|next| root.key_mut(&next)) {
        Some(mut next) => prepend(next.leaf_decor_mut(), &kept),
        None => attach_after(doc, None, &kept),
    }
}

/// Prepend `comments` to the first `[table]` header printed after `position` (any, for
/// `None`), or to the end of the document when there is none.
fn attach_after(doc: &mut DocumentMut, position: Option<isize>, comments: &str) {
    if comments.is_empty() {
        return;
    }
    let root = doc.as_table_mut();
    if let Some((_, path)) = next_header(root, position, &mut Vec::new()) {
        let table = path
            .iter()
            .try_fold(&mut *root, |table, key| table.get_mut(key)?.as_table_mut())
            .expect("the path was just found");
        prepend(table.decor_mut(), comments);
    } else {
        let trailing = doc.trailing().as_str().unwrap_or_default();
        let joined = format!("{comments}{trailing}");
        doc.set_trailing(joined);
    }
}

fn prefix_of(decor: &Decor) -> &str {
    decor
        .prefix()
        .and_then(RawString::as_str)
        .unwrap_or_default()
}

/// The part of a key's prefix up to its last blank line, when it holds comments.
fn detached_paragraphs(prefix: &str) -> &str {
    let mut end = 0;
    let mut position = 0;
    for line in prefix.split_inclusive('\n') {
        position += line.len();
        if line.ends_with('\n') && line.trim().is_empty() {
            end = position;
        }
    }
    let kept = &prefix[..end];
    if kept.contains('#') { kept } else { "" }
}

fn prepend(decor: &mut Decor, comments: &str) {
    if comments.is_empty() {
        return;
    }
    let joined = format!("{comments}{}", prefix_of(decor).trim_start_matches('\n'));
    decor.set_prefix(joined);
}

/// The path of the `[table]` printed first after `after`: the smallest position above it.
fn next_header(
    table: &Table,
    after: Option<isize>,
    path: &mut Vec<String>,
) -> Option<(isize, Vec<String>)> {
    let mut best: Option<(isize, Vec<String>)> = None;
    for (key, item) in table {
        let Some(child) = item.as_table() else {
            continue;
        };
        path.push(key.to_owned());
        let own = child
            .position()
            .filter(|position| !child.is_implicit() && after.is_none_or(|after| *position > after))
            .map(|position| (position, path.clone()));
        for candidate in [own, next_header(child, after, path)].into_iter().flatten() {
            if best
                .as_ref()
                .is_none_or(|(position, _)| candidate.0 < *position)
            {
                best = Some(candidate);
            }
        }
        path.pop();
    }
    best
}
#[cfg(test)]
mod tests {

    use super::*;

    fn profile(username: &str) -> ProfileConfig {
        ProfileConfig {
            project_id: Some("0123abcd".into()),
            ..ProfileConfig::new(
                "https://keystone.example.test",
                "keycloak",
                "https://keycloak.example.test/realms/pod/.well-known/openid-configuration",
                "openstack-cli",
                username,
            )
        }
    }

    fn parsed(text: &str) -> crate::config::Config {
        crate::config::parse(text, std::path::Path::new("c.toml")).unwrap()
    }

    #[test]
    fn first_profile_in_an_empty_file_becomes_the_default() {
        let (text, is_default) = put_profile("", "pod", &profile("alice"), false).unwrap();
        assert!(is_default);
        assert!(text.starts_with("default_profile = \"pod\"\n"), "{text}");
        assert!(text.contains("\n[profiles.pod]\n"), "{text}");
        assert!(
            !text.contains("[profiles]\n"),
            "no empty [profiles] header: {text}"
        );
        let config = parsed(&text);
        assert_eq!(config.profiles["pod"], profile("alice"));
    }

    #[test]
    fn comments_survive_an_update() {
        let before = "\
# my clouds
default_profile = \"pod\"  # the usual one
keyring = \"auto\"

# production, careful
[profiles.pod]
auth_url = \"https://keystone.example.test\"
identity_provider = \"keycloak\"
# the realm's discovery document
discovery_endpoint = \"https://keycloak.example.test/realms/pod/.well-known/openid-configuration\"
client_id = \"openstack-cli\"
username = \"bob\"   # until alice takes over
project_id = \"0123abcd\"
region_name = \"GRA\"

# staging
[profiles.staging]
auth_url = \"https://keystone.staging.example.test\"
";
        let (after, is_default) = put_profile(before, "pod", &profile("alice"), false).unwrap();
        assert!(is_default, "pod already was the default");
        for kept in [
            "# my clouds\n",
            "default_profile = \"pod\"  # the usual one\n",
            "# production, careful\n[profiles.pod]\n",
            "# the realm's discovery document\ndiscovery_endpoint",
            "username = \"alice\"   # until alice takes over\n",
            "# staging\n[profiles.staging]\nauth_url = \"https://keystone.staging.example.test\"\n",
        ] {
            assert!(after.contains(kept), "lost {kept:?} in:\n{after}");
        }
        assert!(
            !after.contains("region_name"),
            "keys not in the new profile go: {after}"
        );
    }

    #[test]
    fn make_default_moves_the_default_and_a_new_profile_is_appended() {
        let (text, _) = put_profile("", "pod", &profile("alice"), false).unwrap();
        let (text, is_default) = put_profile(&text, "lab", &profile("carol"), false).unwrap();
        assert!(!is_default);
        assert_eq!(parsed(&text).default_profile.as_deref(), Some("pod"));
        assert!(
            text.find("[profiles.pod]") < text.find("[profiles.lab]"),
            "{text}"
        );
        let (text, is_default) = put_profile(&text, "lab", &profile("carol"), true).unwrap();
        assert!(is_default);
        assert_eq!(parsed(&text).default_profile.as_deref(), Some("lab"));
    }

    #[test]
    fn names_with_dots_are_quoted() {
        let (text, _) = put_profile("", "pod.prod", &profile("alice"), false).unwrap();
        assert!(text.contains("[profiles.\"pod.prod\"]"), "{text}");
        assert!(parsed(&text).profiles.contains_key("pod.prod"));
    }

    #[test]
    fn inline_profiles_become_tables() {
        let before = "[profiles]\npod = { auth_url = \"https://old.example.test\" }\n";
        let (text, _) = put_profile(before, "pod", &profile("alice"), false).unwrap();
        assert_eq!(parsed(&text).profiles["pod"], profile("alice"));
    }

    #[test]
    fn remove_keeps_the_rest_and_clears_the_default() {
        let before = "# top\n\n# the usual one\ndefault_profile = \"pod\"\n\n# pod\n[profiles.pod]\nauth_url = \"x\"\n\n# lab\n[profiles.lab]\nauth_url = \"y\"\n";
        let after = remove_profile(before, "pod").unwrap().unwrap();
        assert_eq!(after, "# top\n\n# lab\n[profiles.lab]\nauth_url = \"y\"\n");
        assert_eq!(remove_profile(&after, "pod").unwrap(), None);
        let after = remove_profile(&after, "lab").unwrap().unwrap();
        assert_eq!(after, "# top\n\n");
    }

    #[test]
    fn a_header_comment_moves_to_the_next_key() {
        let before = "# header\n\ndefault_profile = \"pod\"\nkeyring = \"auto\"\n[profiles.pod]\nauth_url = \"x\"\n";
        let after = remove_profile(before, "pod").unwrap().unwrap();
        assert_eq!(after, "# header\n\nkeyring = \"auto\"\n");
        let lone = "# header\n\ndefault_profile = \"pod\"\n[profiles.pod]\nauth_url = \"x\"\n";
        assert_eq!(
            remove_profile(lone, "pod").unwrap().unwrap(),
            "# header\n\n"
        );
    }

    #[test]
    fn broken_text_is_an_error() {
        assert!(put_profile("[profiles.pod\n", "pod", &profile("alice"), false).is_err());
        assert!(remove_profile("= 1", "pod").is_err());
    }
}
