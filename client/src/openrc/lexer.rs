//! The shell's quoting rules, as far as openrc files need them: words (quoted, escaped,
//! expansions kept as markers, never expanded) and the operators that end a simple command.
//! `$NAME` references are kept by name for the parser to look up; everything else the shell
//! would compute is a [`Expansion`] marker.

use std::iter::Peekable;
use std::str::Chars;

use super::word::{Word, is_name};
use super::{Expansion, ParseError};

pub enum Token {
    Word(Word),
    /// `(`, `)`, `<`, `>`: a subshell or redirection, which import does not follow.
    Redirect,
    /// The end of a simple command; `None` at the end of the text, else whether the next
    /// command runs only on a condition (after `&&`, `||` or `|`).
    End {
        conditional_next: Option<bool>,
    },
}

pub struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
    /// 1-based line of the next character.
    line: usize,
    /// Here-documents opened on the current line: their bodies start on the next one.
    here_documents: Vec<HereDocument>,
}

/// `<<WORD` (or `<<-WORD`, which ignores the body's leading tabs).
struct HereDocument {
    delimiter: String,
    strip_tabs: bool,
}

fn unterminated(line: usize, what: &str) -> ParseError {
    ParseError {
        line,
        message: format!("unterminated {what} (it opens here and is never closed)"),
    }
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            chars: text.chars().peekable(),
            line: 1,
            here_documents: Vec::new(),
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next();
        if c == Some('\n') {
            self.line += 1;
        }
        c
    }

    fn eat(&mut self, c: char) -> bool {
        let matched = self.peek() == Some(c);
        if matched {
            self.bump();
        }
        matched
    }

    /// The next token and the line it starts on.
    pub fn token(&mut self) -> Result<(Token, usize), ParseError> {
        self.skip_blanks_and_comment();
        let line = self.line;
        let end = |conditional| Token::End {
            conditional_next: Some(conditional),
        };
        let token = match self.peek() {
            None => Token::End {
                conditional_next: None,
            },
            Some('\n') => {
                self.bump();
                self.skip_here_documents();
                end(false)
            }
            Some(';') => {
                self.bump();
                end(false)
            }
            Some('&') => {
                self.bump();
                end(self.eat('&'))
            }
            Some('|') => {
                self.bump();
                self.eat('|');
                end(true)
            }
            Some('<') => {
                self.bump();
                // `<<<` is a here-string, an ordinary redirection.
                if self.eat('<') && !self.eat('<') {
                    self.here_document()?;
                }
                Token::Redirect
            }
            Some('(' | ')' | '>') => {
                self.bump();
                Token::Redirect
            }
            Some(_) => Token::Word(self.word()?),
        };
        Ok((token, line))
    }

    /// After `<<`: note the delimiter; the body is skipped at the end of the line. Its lines
    /// are the input of a command, not commands: `export` there sets nothing.
    fn here_document(&mut self) -> Result<(), ParseError> {
        let line = self.line;
        let strip_tabs = self.eat('-');
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
        match self.word()?.literal() {
            Some(delimiter) if !delimiter.is_empty() => {
                self.here_documents.push(HereDocument {
                    delimiter,
                    strip_tabs,
                });
                Ok(())
            }
            _ => Err(ParseError {
                line,
                message: "a here-document (`<<`) needs a plain delimiter word".into(),
            }),
        }
    }

    /// The bodies of the here-documents opened on the line just ended, up to each one's
    /// delimiter line (to the end of the file without one, as bash reads it).
    fn skip_here_documents(&mut self) {
        for here in std::mem::take(&mut self.here_documents) {
            loop {
                let mut line = String::new();
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                    line.push(c);
                }
                let line = if here.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    &line
                };
                if line == here.delimiter || self.peek().is_none() {
                    break;
                }
            }
        }
    }

    fn skip_blanks_and_comment(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t') => {
                    self.bump();
                }
                Some('\\') => {
                    let mut ahead = self.chars.clone();
                    ahead.next();
                    if ahead.peek() != Some(&'\n') {
                        return;
                    }
                    self.bump();
                    self.bump();
                }
                Some('#') => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    fn word(&mut self) -> Result<Word, ParseError> {
        let mut word = Word::default();
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' => break,
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') => {}
                        Some(c) => word.push(c, true),
                        None => word.push('\\', true),
                    }
                }
                '\'' => self.single_quoted(&mut word)?,
                '"' => self.double_quoted(&mut word)?,
                '$' => self.dollar(&mut word, false)?,
                '`' => self.backquoted(&mut word)?,
                _ => {
                    self.bump();
                    word.push(c, false);
                }
            }
        }
        Ok(word)
    }

    fn single_quoted(&mut self, word: &mut Word) -> Result<(), ParseError> {
        let line = self.line;
        self.bump();
        loop {
            match self.bump() {
                Some('\'') => return Ok(()),
                Some(c) => word.push(c, true),
                None => return Err(unterminated(line, "single quote")),
            }
        }
    }

    fn double_quoted(&mut self, word: &mut Word) -> Result<(), ParseError> {
        let line = self.line;
        self.bump();
        loop {
            match self.peek() {
                None => return Err(unterminated(line, "double quote")),
                Some('"') => {
                    self.bump();
                    return Ok(());
                }
                Some('\\') => {
                    self.bump();
                    match self.bump() {
                        Some('\n') => {}
                        Some(c @ ('$' | '`' | '"' | '\\')) => word.push(c, true),
                        Some(c) => {
                            word.push('\\', true);
                            word.push(c, true);
                        }
                        None => return Err(unterminated(line, "double quote")),
                    }
                }
                Some('$') => self.dollar(word, true)?,
                Some('`') => self.backquoted(word)?,
                Some(c) => {
                    self.bump();
                    word.push(c, true);
                }
            }
        }
    }

    /// `$` starts an expansion, or is literal when nothing that can be expanded follows.
    fn dollar(&mut self, word: &mut Word, quoted: bool) -> Result<(), ParseError> {
        let line = self.line;
        self.bump();
        match self.peek() {
            Some('(') => {
                self.skip_balanced('(', ')', line, "`$(`")?;
                word.computed(Expansion::Command);
            }
            Some('{') => {
                let inner = self.skip_balanced('{', '}', line, "`${`")?;
                match braced(&inner) {
                    Some(name) => word.param(name),
                    None if special(&inner) => word.computed(Expansion::Special),
                    None => word.computed(Expansion::Parameter),
                }
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some(c) = self
                    .peek()
                    .filter(|c| *c == '_' || c.is_ascii_alphanumeric())
                {
                    name.push(c);
                    self.bump();
                }
                word.param(&name);
            }
            Some(c @ ('1'..='9' | '@' | '*')) => {
                self.bump();
                word.param(&c.to_string());
            }
            Some(c) if special(&c.to_string()) => {
                self.bump();
                word.computed(Expansion::Special);
            }
            Some('\'') if !quoted => {
                self.skip_ansi_c(line)?;
                word.computed(Expansion::AnsiC);
            }
            // `$"…"` is a translatable string: without translations, the string itself.
            Some('"') if !quoted => return self.double_quoted(word),
            _ => word.push('$', quoted),
        }
        Ok(())
    }

    /// Past the `open` at the cursor to its matching `close`; the text between. Quotes inside
    /// are not followed: only the extent matters.
    fn skip_balanced(
        &mut self,
        open: char,
        close: char,
        line: usize,
        what: &str,
    ) -> Result<String, ParseError> {
        self.bump();
        let mut depth = 1;
        let mut inner = String::new();
        loop {
            match self.bump() {
                None => return Err(unterminated(line, what)),
                Some(c) if c == close && depth == 1 => return Ok(inner),
                Some(c) => {
                    if c == open {
                        depth += 1;
                    } else if c == close {
                        depth -= 1;
                    }
                    inner.push(c);
                }
            }
        }
    }

    fn skip_ansi_c(&mut self, line: usize) -> Result<(), ParseError> {
        self.bump();
        loop {
            match self.bump() {
                None => return Err(unterminated(line, "`$'` string")),
                Some('\\') => {
                    self.bump();
                }
                Some('\'') => return Ok(()),
                Some(_) => {}
            }
        }
    }

    fn backquoted(&mut self, word: &mut Word) -> Result<(), ParseError> {
        let line = self.line;
        self.bump();
        loop {
            match self.bump() {
                None => return Err(unterminated(line, "backquote")),
                Some('\\') => {
                    self.bump();
                }
                Some('`') => break,
                Some(_) => {}
            }
        }
        word.computed(Expansion::Backquote);
        Ok(())
    }
}

/// `${NAME}`, `${10}`, `${@}`: a plain reference, by name. Anything with an operator is not.
fn braced(inner: &str) -> Option<&str> {
    let positional = !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) && inner != "0";
    (is_name(inner) || positional || inner == "@" || inner == "*").then_some(inner)
}

/// Parameters whose value is the shell's own state (`$$`, `$?`, `$0`, …).
fn special(name: &str) -> bool {
    matches!(name, "$" | "!" | "?" | "-" | "#" | "0")
}
