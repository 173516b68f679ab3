//! A YAML document as a tree that remembers where things are: the line of every scalar and
//! of every mapping key, and where each mapping entry ends, so that an entry can be cut out of
//! the text. Built from yaml-rust2's event parser; anchors and aliases are followed.

use std::collections::HashMap;

use opcp_cred_proto::Secret;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone)]
pub enum Node {
    Scalar(Scalar),
    Map(Map),
    Seq(Vec<Node>),
}

/// Scalars are kept as [`Secret`]s: a password is one of them.
#[derive(Debug, Clone)]
pub struct Scalar {
    pub text: Secret,
    /// Unquoted: YAML reads `null`, `~`, numbers and booleans into other types.
    pub plain: bool,
    /// 1-based.
    pub line: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Map {
    /// Written `{ … }` on one line, rather than one entry per line.
    pub flow: bool,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: Node,
    /// 1-based line of the key.
    pub line: usize,
    /// Byte offset of what follows the value: the next key, the end of the mapping or of the
    /// text. Comments and blank lines before it are included.
    pub end: usize,
}

impl Map {
    /// The entry of `key`, the last one when it is there twice (as YAML loaders read it).
    /// `normalize`: read `-` in keys as `_`, as openstacksdk does inside a cloud's entry
    /// (cloud names themselves are kept as written).
    pub fn get(&self, key: &str, normalize: bool) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key == key || (normalize && normalized(&e.key) == key))
    }
}

/// openstacksdk's `normalize_keys`: `auth-url` is `auth_url`.
pub fn normalized(key: &str) -> String {
    key.replace('-', "_")
}

impl Node {
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Self::Map(map) => Some(map),
            _ => None,
        }
    }

    /// The first line the node was read from (for messages).
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Scalar(s) => Some(s.line),
            Self::Map(m) => m.entries.first().map(|e| e.line),
            Self::Seq(items) => items.first().and_then(Node::line),
        }
    }

    /// Same content, wherever it is written and in whichever style.
    pub fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Scalar(a), Self::Scalar(b)) => a.text == b.text && a.plain == b.plain,
            (Self::Map(a), Self::Map(b)) => {
                a.entries.len() == b.entries.len()
                    && a.entries
                        .iter()
                        .zip(&b.entries)
                        .all(|(a, b)| a.key == b.key && a.value.same(&b.value))
            }
            (Self::Seq(a), Self::Seq(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same(b))
            }
            _ => false,
        }
    }
}

/// A YAML syntax error, at a 1-based line.
#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// The document of `text`; `None` for a text without one (empty, or only comments).
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder {
        text,
        stack: Vec::new(),
        docs: Vec::new(),
        anchors: HashMap::new(),
        awaiting_end: false,
        error: None,
    };
    Parser::new_from_str(text)
        .load(&mut builder, true)
        .map_err(|e| SyntaxError {
            line: e.marker().line(),
            message: e.info().to_owned(),
        })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    let mut docs = builder.docs.into_iter();
    let doc = docs.next();
    if docs.next().is_some() {
        return Err(SyntaxError {
            line: 1,
            message: "several YAML documents (`---`) in one file; openstack reads one".into(),
        });
    }
    Ok(doc)
}

enum Frame {
    Map {
        map: Map,
        /// The key read, waiting for its value.
        key: Option<(String, usize)>,
        anchor: usize,
    },
    Seq {
        items: Vec<Node>,
        anchor: usize,
    },
}

struct Builder<'t> {
    text: &'t str,
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: HashMap<usize, Node>,
    /// The last entry of the innermost mapping has its value and waits for the next event,
    /// whose position is its end.
    awaiting_end: bool,
    error: Option<SyntaxError>,
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if std::mem::take(&mut self.awaiting_end)
            && let Some(Frame::Map { map, .. }) = self.stack.last_mut()
            && let Some(entry) = map.entries.last_mut()
        {
            entry.end = mark.index();
        }
        match event {
            Event::Scalar(text, style, anchor, _) => {
                let scalar = Scalar {
                    text: Secret::new(text),
                    plain: style == TScalarStyle::Plain,
                    line: mark.line(),
                };
                self.value(Node::Scalar(scalar), anchor, mark);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.value(node, 0, mark),
                None => self.fail(mark, "an alias (`*name`) to an unknown anchor"),
            },
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                map: Map {
                    flow: self
                        .text
                        .get(mark.index()..)
                        .is_some_and(|t| t.starts_with('{')),
                    entries: Vec::new(),
                },
                key: None,
                anchor,
            }),
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                anchor,
            }),
            Event::MappingEnd | Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Map { map, anchor, .. }) => self.value(Node::Map(map), anchor, mark),
                Some(Frame::Seq { items, anchor }) => self.value(Node::Seq(items), anchor, mark),
                None => {}
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

impl Builder<'_> {
    fn fail(&mut self, mark: Marker, what: &str) {
        self.error.get_or_insert_with(|| SyntaxError {
            line: mark.line(),
            message: format!("{what} is not supported here"),
        });
    }

    /// A complete node: a document, an item, a mapping key or a mapping value.
    fn value(&mut self, node: Node, anchor: usize, mark: Marker) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { map, key, .. }) => match (key.take(), node) {
                (Some((key, line)), value) => {
                    map.entries.push(Entry {
                        key,
                        value,
                        line,
                        end: self.text.len(),
                    });
                    self.awaiting_end = true;
                }
                (None, Node::Scalar(scalar)) => {
                    *key = Some((scalar.text.expose().to_owned(), scalar.line));
                }
                (None, _) => self.fail(mark, "a mapping or list as a key"),
            },
        }
    }
}
