//! One shell word as the lexer reads it (literal text, quoted or not, `$NAME` references and
//! the markers of what the shell would compute), and the value of an assignment made of it.

use super::Expansion;

pub fn is_name(name: &str) -> bool {
    name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
        && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// One shell word: literal text (quoted or not) and expansions, in order.
#[derive(Default)]
pub struct Word {
    parts: Vec<Part>,
}

enum Part {
    Text {
        text: String,
        quoted: bool,
    },
    /// `$NAME`, `${NAME}`, `$1`, `$@`: looked up, never computed.
    Param(String),
    Computed(Expansion),
}

/// A piece of an assignment's value, before the parser looks the parameters up.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Param(String),
    Computed(Expansion),
}

impl Piece {
    fn push_text(pieces: &mut Vec<Self>, text: &str) {
        if let Some(Self::Text(last)) = pieces.last_mut() {
            last.push_str(text);
        } else if !text.is_empty() {
            pieces.push(Self::Text(text.to_owned()));
        }
    }
}

impl Word {
    pub fn push(&mut self, c: char, quoted: bool) {
        if let Some(Part::Text { text, quoted: q }) = self.parts.last_mut()
            && *q == quoted
        {
            text.push(c);
            return;
        }
        self.parts.push(Part::Text {
            text: c.to_string(),
            quoted,
        });
    }

    pub fn computed(&mut self, expansion: Expansion) {
        self.parts.push(Part::Computed(expansion));
    }

    pub fn param(&mut self, name: &str) {
        self.parts.push(Part::Param(name.to_owned()));
    }

    /// The word when it is plain unquoted text, as reserved words and `export` must be.
    pub fn plain(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [
                Part::Text {
                    text,
                    quoted: false,
                },
            ] => Some(text),
            _ => None,
        }
    }

    /// The word's text, quoted or not, when nothing in it is expanded.
    pub fn literal(&self) -> Option<String> {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// `NAME` of `NAME=value`: unquoted text before an unquoted `=`.
    pub fn assigned_name(&self) -> Option<&str> {
        let Some(Part::Text {
            text,
            quoted: false,
        }) = self.parts.first()
        else {
            return None;
        };
        text.split_once('=')
            .map(|(name, _)| name)
            .filter(|name| is_name(name))
    }

    /// `NAME` and the pieces of its value, tildes resolved to `$HOME` where the shell expands
    /// them in an assignment: at the start of the value and after each unquoted `:`.
    pub fn assignment(&self) -> Option<(String, Vec<Piece>)> {
        let name = self.assigned_name()?;
        let Some(Part::Text { text, .. }) = self.parts.first() else {
            return None;
        };
        let first = &text[name.len() + 1..];
        let last = self.parts.len() - 1;
        let mut pieces = Vec::new();
        tildes(first, true, last == 0, &mut pieces);
        for (i, part) in self.parts.iter().enumerate().skip(1) {
            match part {
                Part::Text {
                    text,
                    quoted: false,
                } => tildes(text, false, i == last, &mut pieces),
                Part::Text { text, quoted: true } => Piece::push_text(&mut pieces, text),
                Part::Param(name) => pieces.push(Piece::Param(name.clone())),
                Part::Computed(e) => pieces.push(Piece::Computed(*e)),
            }
        }
        Some((name.to_owned(), pieces))
    }
}

/// Unquoted assignment text: a `~` at the start (`at_start`) or after a `:` ends at the next
/// `/` or `:`; `~` alone is `$HOME`, `~user` is computed. When the word goes on past this
/// text (a quote or an expansion follows) before the prefix ends, the shell leaves it as is.
fn tildes(text: &str, at_start: bool, last_part: bool, pieces: &mut Vec<Piece>) {
    let mut rest = text;
    let mut tilde_allowed = at_start;
    loop {
        if std::mem::take(&mut tilde_allowed)
            && let Some(after) = rest.strip_prefix('~')
        {
            let end = after.find(['/', ':']);
            if end.is_some() || last_part {
                let end = end.unwrap_or(after.len());
                pieces.push(if end == 0 {
                    Piece::Param("HOME".to_owned())
                } else {
                    Piece::Computed(Expansion::Tilde)
                });
                rest = &after[end..];
            }
        }
        let Some(colon) = rest.find(':') else {
            Piece::push_text(pieces, rest);
            return;
        };
        Piece::push_text(pieces, &rest[..=colon]);
        rest = &rest[colon + 1..];
        tilde_allowed = true;
    }
}
