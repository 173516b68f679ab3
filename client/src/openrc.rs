//! openrc files, read with the shell's quoting rules and never run.
//!
//! Assignments (`export NAME=value`, `NAME=value`) are collected in order, and `$NAME` in a
//! value is looked up as the shell would: in the file's earlier assignments, else in the
//! environment given to [`parse`], else it expands to nothing, which [`Known::empty`] records
//! so that import can ask before it drops part of a password. `read NAME` marks `NAME` as
//! typed at the terminal ([`Value::Read`]); `unset NAME` forgets it. Every other command
//! (`echo`, `if`, …) is skipped with a warning naming its line. What only running something
//! would tell (`$(…)`, backquotes, `~user`) is kept as [`Value::Computed`]: the caller asks for
//! it. Pure: text and an environment in, result out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use opcp_cred_proto::Secret;

use self::lexer::{Lexer, Token};
use self::word::{Piece, Word};

/// What an openrc file (or the environment) sets.
#[derive(Debug, Default)]
pub struct Parsed {
    vars: BTreeMap<String, Assignment>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone)]
pub struct Assignment {
    /// 1-based line of the assignment; 0 for the process environment.
    pub line: usize,
    pub value: Value,
}

/// A value is kept as a [`Secret`] whatever its name: passwords are values like any other.
#[derive(Debug, Clone)]
pub enum Value {
    /// What the shell assigns, from the file's text, its earlier variables and the environment.
    Known(Known),
    /// Typed at the terminal by `read` on `line` (`hidden`: `read -s`), or made from such input.
    Read { line: usize, hidden: bool },
    /// The shell would compute it; import never does.
    Computed(Expansion),
}

#[derive(Debug, Clone)]
pub struct Known {
    pub text: Secret,
    /// `$NAME`s that the shell expands to nothing here: set neither earlier in the file nor in
    /// the environment (a generator that writes values unquoted makes these of a `$` in a
    /// password).
    pub empty: Vec<String>,
    /// `$NAME`s whose value came from the environment.
    pub from_env: Vec<String>,
}

impl Known {
    pub fn literal(text: impl Into<String>) -> Self {
        Self {
            text: Secret::new(text.into()),
            empty: Vec::new(),
            from_env: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    /// `${NAME:-…}` and the other `${…}` forms with an operator.
    Parameter,
    /// `$$`, `$?`, `$0`, …: the shell's own state.
    Special,
    Command,
    Backquote,
    Tilde,
    AnsiC,
    /// `read` from a redirection: the value is in a file import does not open.
    RedirectedRead,
}

impl fmt::Display for Expansion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parameter => "a `${…}` expansion",
            Self::Special => "a special parameter such as `$$`",
            Self::Command => "a `$(…)` command substitution",
            Self::Backquote => "a backquoted command",
            Self::Tilde => "a `~user` home directory",
            Self::AnsiC => "a `$'…'` string",
            Self::RedirectedRead => "a `read` from a redirection",
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
                let value = Value::Known(Known::literal(value));
                (name, Assignment { line: 0, value })
            })
            .collect();
        Self {
            vars,
            warnings: Vec::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Assignment> {
        self.vars.get(name)
    }

    /// Every variable set, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Assignment)> {
        self.vars.iter().map(|(name, a)| (name.as_str(), a))
    }
}

/// The parse in progress: the variables so far are the environment of the next line.
struct Parser<'e> {
    parsed: Parsed,
    /// Names `unset` and not assigned since: the environment no longer shows through.
    unset: BTreeSet<String>,
    env: &'e dyn Fn(&str) -> Option<String>,
    /// Skipped commands (line, what), merged into one warning per line by [`Parser::finish`].
    skipped: Vec<(usize, String)>,
    /// Nesting of `if`/`while`/`for`/`case` blocks: what happens inside is conditional.
    depth: usize,
}

impl Parser<'_> {
    fn warn(&mut self, line: usize, message: String) {
        self.parsed.warnings.push(Warning { line, message });
    }

    fn skipped(&mut self, line: usize, command: Option<&str>) {
        let what = command.map_or_else(|| "a command".to_owned(), |c| format!("`{c}`"));
        self.skipped.push((line, what));
    }

    /// One warning per line for the skipped commands, all warnings in line order.
    fn finish(mut self) -> Parsed {
        let mut skipped = std::mem::take(&mut self.skipped).into_iter().peekable();
        while let Some((line, mut what)) = skipped.next() {
            while let Some((_, more)) = skipped.next_if(|(l, _)| *l == line) {
                what = format!("{what}, {more}");
            }
            self.warn(line, format!("skipped {what}: import never runs commands"));
        }
        self.parsed.warnings.sort_by_key(|w| w.line);
        self.parsed
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
        match first.plain() {
            Some("export") if !redirected => self.export(&words[1..], line, conditional),
            Some("read") => self.read(&words[1..], line, conditional, redirected),
            Some("unset") if !conditional && !redirected => self.unset(&words[1..], line),
            _ if !redirected && words.iter().all(|w| w.assigned_name().is_some()) => {
                for word in words {
                    self.assign(word, line, conditional);
                }
            }
            _ => {
                let name = words.iter().find(|w| w.assigned_name().is_none());
                self.skipped(line, name.and_then(Word::plain));
            }
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

    /// `read [-ers] [-p PROMPT] [-d|-i|-n|-N|-t|-u ARG] [NAME…]`: each NAME (REPLY when none)
    /// is typed at the terminal. `-a` reads an array, which no setting is.
    fn read(&mut self, args: &[Word], line: usize, conditional: bool, redirected: bool) {
        let mut args = args.iter();
        let mut hidden = false;
        let mut names = Vec::new();
        while let Some(arg) = args.next() {
            let Some(flags) = arg.plain().and_then(|a| a.strip_prefix('-')) else {
                names.extend(arg.plain().map(str::to_owned));
                break;
            };
            if flags == "-" || flags.is_empty() {
                break;
            }
            for (at, flag) in flags.char_indices() {
                match flag {
                    's' => hidden = true,
                    'a' => return self.skipped(line, Some("read -a")),
                    'd' | 'i' | 'n' | 'N' | 'p' | 't' | 'u' => {
                        // The option's value is the rest of this word, else the next word.
                        if at + 1 == flags.len() {
                            args.next();
                        }
                        break;
                    }
                    _ => {}
                }
            }
        }
        names.extend(args.filter_map(|w| w.plain().map(str::to_owned)));
        if names.is_empty() {
            names.push("REPLY".to_owned());
        }
        let value = if redirected {
            Value::Computed(Expansion::RedirectedRead)
        } else {
            Value::Read { line, hidden }
        };
        for name in names {
            self.set(
                name,
                Assignment {
                    line,
                    value: value.clone(),
                },
                conditional,
            );
        }
    }

    /// `unset [-v] NAME…` as a command of its own; a conditional one is skipped.
    fn unset(&mut self, args: &[Word], line: usize) {
        let mut names = args.iter().filter_map(Word::plain).peekable();
        match names.peek() {
            Some(&"-v") => {
                names.next();
            }
            Some(flag) if flag.starts_with('-') => {
                return self.skipped(line, Some(&format!("unset {flag}")));
            }
            _ => {}
        }
        for name in names {
            self.parsed.vars.remove(name);
            self.unset.insert(name.to_owned());
        }
    }

    fn assign(&mut self, word: &Word, line: usize, conditional: bool) {
        let Some((name, pieces)) = word.assignment() else {
            return;
        };
        let value = self.resolve(&pieces);
        self.set(name, Assignment { line, value }, conditional);
    }

    fn set(&mut self, name: String, assignment: Assignment, conditional: bool) {
        if conditional {
            self.warn(
                assignment.line,
                format!("{name} is set under a condition (`if`, `&&`, `||`): imported as if it held; check the value"),
            );
        }
        self.unset.remove(&name);
        self.parsed.vars.insert(name, assignment);
    }

    /// The value the shell would assign, looking `$NAME`s up as it would at this line.
    fn resolve(&self, pieces: &[Piece]) -> Value {
        let mut known = Known::literal(String::new());
        let mut text = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Computed(e) => return Value::Computed(*e),
                Piece::Param(name) => match self.parsed.vars.get(name) {
                    Some(Assignment {
                        value: Value::Known(earlier),
                        ..
                    }) => {
                        text.push_str(earlier.text.expose());
                        known.empty.extend(earlier.empty.iter().cloned());
                        known.from_env.extend(earlier.from_env.iter().cloned());
                    }
                    Some(Assignment { value, .. }) => return value.clone(),
                    None => match (self.unset.contains(name), (self.env)(name)) {
                        (false, Some(value)) => {
                            text.push_str(&value);
                            known.from_env.push(name.clone());
                        }
                        _ => known.empty.push(name.clone()),
                    },
                },
            }
        }
        known.text = Secret::new(text);
        Value::Known(known)
    }
}

/// Parse openrc text; `env` answers for the variables the file does not set. CRLF line ends
/// are stripped with a warning.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Parsed, ParseError> {
    let mut parser = Parser {
        parsed: Parsed::default(),
        unset: BTreeSet::new(),
        env,
        skipped: Vec::new(),
        depth: 0,
    };
    if let Some(at) = text.find('\0') {
        return Err(ParseError {
            line: text[..at].matches('\n').count() + 1,
            message: "a NUL byte: bash drops it, so the value it reads is not what the file \
                      holds; remove it"
                .into(),
        });
    }
    let unix;
    let text = match text.find("\r\n") {
        None => text,
        Some(at) => {
            let line = text[..at].matches('\n').count() + 1;
            let message = "Windows (CRLF) line ends: the carriage returns were stripped".into();
            parser.warn(line, message);
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
                parser.command(&words, first_line, after_and_or, redirected);
                words.clear();
                redirected = false;
                match conditional_next {
                    None => return Ok(parser.finish()),
                    Some(conditional) => after_and_or = conditional,
                }
            }
        }
    }
}

mod lexer;
mod word;

#[cfg(test)]
mod tests;
