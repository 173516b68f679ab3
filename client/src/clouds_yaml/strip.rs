//! Taking a cloud's secrets out of a clouds.yaml or secure.yaml text, every other byte left as
//! it was (comments included). Entries are cut line by line; a mapping left empty goes with
//! them, because an empty `auth:` in secure.yaml would replace the whole `auth` of clouds.yaml
//! when openstacksdk merges the two. The result is parsed again and must equal the original
//! less those entries, or nothing is changed.

use super::tree::{self, Entry, Map, Node, normalized};

/// The keys of a cloud's `auth` that hold secrets.
pub const SECRET_KEYS: [&str; 2] = ["password", "client_secret"];

/// `text` without the secrets of cloud `cloud`; `None` when it holds none. The error says why
/// the file cannot be edited safely.
pub fn strip(text: &str, root: Option<&Node>, cloud: &str) -> Result<Option<String>, String> {
    let Some(Node::Map(root_map)) = root else {
        return Ok(None);
    };
    let cuts = match plan(root_map, &["clouds", cloud, "auth"], 0)? {
        Plan::Nothing => return Ok(None),
        Plan::Whole => root_map.entries.iter().collect(),
        Plan::Entries(entries) => entries,
    };
    let mut spans: Vec<_> = cuts.iter().map(|e| span(text, e)).collect();
    spans.sort_unstable();
    let mut out = text.to_owned();
    for (start, end) in spans.into_iter().rev() {
        out.replace_range(start..end, "");
    }
    let expected = root.map(|r| without(r, &cuts));
    let reread = tree::parse(&out).map_err(|e| e.message)?;
    let empty_map = || Node::Map(Map::default());
    let same = expected
        .unwrap_or_else(empty_map)
        .same(&reread.unwrap_or_else(empty_map));
    if !same {
        return Err("its layout is not one import can edit line by line".into());
    }
    Ok(Some(out))
}

enum Plan<'a> {
    Nothing,
    /// Every entry of the mapping goes: its parent entry goes instead.
    Whole,
    Entries(Vec<&'a Entry>),
}

/// What goes from `map`, `depth` keys below the root, for the secrets at `path` below it.
fn plan<'a>(map: &'a Map, path: &[&str], depth: usize) -> Result<Plan<'a>, String> {
    let Some((key, rest)) = path.split_first() else {
        let hits: Vec<_> = (map.entries.iter())
            .filter(|e| SECRET_KEYS.contains(&normalized(&e.key).as_str()))
            .collect();
        return Ok(match hits.len() {
            0 => Plan::Nothing,
            n if n == map.entries.len() => Plan::Whole,
            _ if map.flow => return Err(flow(path)),
            _ => Plan::Entries(hits),
        });
    };
    // Cloud names are kept as written; keys inside a cloud are read with `-` as `_`.
    let matching: Vec<_> = (map.entries.iter())
        .filter(|e| e.key == *key || (depth >= 2 && normalized(&e.key) == *key))
        .collect();
    let Some(entry) = matching.last() else {
        return Ok(Plan::Nothing);
    };
    let Node::Map(child) = &entry.value else {
        return Ok(Plan::Nothing);
    };
    match plan(child, rest, depth + 1)? {
        Plan::Whole if matching.len() == map.entries.len() => Ok(Plan::Whole),
        Plan::Whole if map.flow => Err(flow(path)),
        Plan::Whole => Ok(Plan::Entries(matching)),
        other => Ok(other),
    }
}

fn flow(path: &[&str]) -> String {
    let at = path.first().map_or("the mapping", |k| *k);
    format!("the mapping around `{at}` is written in flow style (`{{ … }}`)")
}

/// The bytes of an entry: from the start of its key's line through its value's last line,
/// leaving the comments and blank lines between it and what follows. (A line that `end` cuts
/// short is the indentation of the next key, or a flow mapping that [`strip`] then refuses.)
fn span(text: &str, entry: &Entry) -> (usize, usize) {
    let start = line_start(text, entry.line);
    let end = entry.end.clamp(start, text.len());
    let (mut at, mut cut) = (start, start);
    for (i, line) in text[start..end].split_inclusive('\n').enumerate() {
        at += line.len();
        let content = line.trim_start();
        if i == 0 || !(content.is_empty() || content.starts_with('#')) {
            cut = at;
        }
    }
    (start, cut)
}

/// The byte offset of 1-based `line`.
fn line_start(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

/// `node` less the `cuts` entries, wherever they are in it.
fn without(node: &Node, cuts: &[&Entry]) -> Node {
    match node {
        Node::Map(map) => Node::Map(Map {
            flow: map.flow,
            entries: (map.entries.iter())
                .filter(|e| !cuts.iter().any(|c| c.line == e.line && c.end == e.end))
                .map(|e| Entry {
                    value: without(&e.value, cuts),
                    ..e.clone()
                })
                .collect(),
        }),
        Node::Seq(items) => Node::Seq(items.iter().map(|n| without(n, cuts)).collect()),
        Node::Scalar(_) => node.clone(),
    }
}
