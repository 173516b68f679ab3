//! openrc files, read with the shell's quoting rules and never run.
//!
//! Assignments (`export NAME=value`, `NAME=value`) are collected; every other command (`echo`,
//! `read`, `unset`, `if`, …) is skipped with a warning naming its line. A value that the shell
//! would compute (`$VAR`, `$(…)`, backquotes, `~`) is kept as [`Value::Computed`]: the caller
//! refuses it, or asks for it, only when it needs that variable. Pure: text in, result out.

use std::collections::BTreeMap;
use std::fmt;

use opcp_cred_proto::Secret;

use self::lexer::{Lexer, Token, Word};

/// What an openrc file (or the environment) sets.
#[derive(Debug, Default)]
pub struct Parsed {
    vars: BTreeMap<String, Assignment>,
    pub warnings: Vec<Warning>,
    /// Skipped commands (line, what), merged into one warning per line by [`Parsed::finish`].
    skipped: Vec<(usize, String)>,
    /// Nesting of `if`/`while`/`for`/`case` blocks: assignments inside are conditional.
    depth: usize,
}

#[derive(Debug)]
pub struct Assignment {
    /// 1-based line of the assignment; 0 for the process environment.
    pub line: usize,
    pub value: Value,
}

/// A value is kept as a [`Secret`] whatever its name: passwords are values like any other.
#[derive(Debug)]
pub enum Value {
    Literal(Secret),
    /// The shell would compute it; import never does.
    Computed(Expansion),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    Parameter,
    Command,
    Backquote,
    Tilde,
    AnsiC,
}

impl fmt::Display for Expansion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parameter => "a `$NAME` expansion",
            Self::Command => "a `$(…)` command substitution",
            Self::Backquote => "a backquoted command",
            Self::Tilde => "a `~` home directory",
            Self::AnsiC => "a `$'…'` string",
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// The file cannot be read as shell: nothing of it is imported.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl Parsed {
    /// The `OS_*` variables of an environment, all literal.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with("OS_"))
            .map(|(name, value)| {
                let value = Value::Literal(Secret::new(value));
                (name, Assignment { line: 0, value })
            })
            .collect();
        Self {
            vars,
            ..Self::default()
        }
    }

    pub fn get(&self, name: &str) -> Option<&Assignment> {
        self.vars.get(name)
    }

    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(Warning { line, message });
    }

    fn skipped(&mut self, line: usize, command: Option<&str>) {
        let what = command.map_or_else(|| "a command".to_owned(), |c| format!("`{c}`"));
        self.skipped.push((line, what));
    }

    /// One warning per line for the skipped commands, all warnings in line order.
    fn finish(mut self) -> Self {
        let mut skipped = std::mem::take(&mut self.skipped).into_iter().peekable();
        while let Some((line, mut what)) = skipped.next() {
            while let Some((_, more)) = skipped.next_if(|(l, _)| *l == line) {
                what = format!("{what}, {more}");
            }
            self.warn(line, format!("skipped {what}: import never runs commands"));
        }
        self.warnings.sort_by_key(|w| w.line);
        self
    }

    /// One simple command: `words` up to a `;`, newline, `&&`, `||`, `|` or `&`.
    fn command(&mut self, words: &[Word], line: usize, after_and_or: bool, redirected: bool) {
        let mut words = words;
        let mut keyword = None;
        while let Some(first) = words.first().and_then(Word::plain) {
            match first {
                "then" | "else" | "do" | "{" | "}" | "!" => {}
                "fi" | "done" | "esac" => self.depth = self.depth.saturating_sub(1),
                "if" | "while" | "until" | "for" | "case" => {
                    self.depth += 1;
                    return self.skipped(line, Some(first));
                }
                "elif" => return self.skipped(line, Some(first)),
                _ => break,
            }
            keyword.get_or_insert(first);
            words = &words[1..];
        }
        let Some(first) = words.first() else {
            // A line of `fi` or `then` alone is a skipped command too.
            if keyword.is_some() {
                self.skipped(line, keyword);
            }
            return;
        };
        let conditional = after_and_or || self.depth > 0;
        if !redirected && first.plain() == Some("export") {
            self.export(&words[1..], line, conditional);
        } else if !redirected && words.iter().all(|w| w.assigned_name().is_some()) {
            for word in words {
                self.assign(word, line, conditional);
            }
        } else {
            let name = words.iter().find(|w| w.assigned_name().is_none());
            self.skipped(line, name.and_then(Word::plain));
        }
    }

    fn export(&mut self, args: &[Word], line: usize, conditional: bool) {
        if let Some(flag) = args
            .iter()
            .filter_map(Word::plain)
            .find(|a| a.starts_with('-'))
        {
            return self.skipped(line, Some(&format!("export {flag}")));
        }
        // `export NAME` without `=` only marks an earlier assignment: nothing to record.
        for word in args {
            self.assign(word, line, conditional);
        }
    }

    fn assign(&mut self, word: &Word, line: usize, conditional: bool) {
        let Some((name, value)) = word.assignment() else {
            return;
        };
        if conditional {
            self.warn(
                line,
                format!("{name} is set under a condition (`if`, `&&`, `||`): imported as if it held; check the value"),
            );
        }
        self.vars.insert(name, Assignment { line, value });
    }
}

/// Parse openrc text. CRLF line ends are stripped with a warning.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    let unix;
    let text = match text.find("\r\n") {
        None => text,
        Some(at) => {
            let line = text[..at].matches('\n').count() + 1;
            let message = "Windows (CRLF) line ends: the carriage returns were stripped".into();
            parsed.warn(line, message);
            unix = Secret::new(text.replace("\r\n", "\n"));
            unix.expose()
        }
    };
    let mut lexer = Lexer::new(text);
    let (mut words, mut first_line, mut after_and_or, mut redirected) =
        (Vec::new(), 1, false, false);
    loop {
        let (token, line) = lexer.token()?;
        match token {
            Token::Word(word) => {
                if words.is_empty() {
                    first_line = line;
                }
                words.push(word);
            }
            Token::Redirect => redirected = true,
            Token::End { conditional_next } => {
                parsed.command(&words, first_line, after_and_or, redirected);
                words.clear();
                redirected = false;
                match conditional_next {
                    None => return Ok(parsed.finish()),
                    Some(conditional) => after_and_or = conditional,
                }
            }
        }
    }
}

mod lexer;

#[cfg(test)]
mod tests;
