//! The shell's quoting rules, as far as openrc files need them: words (quoted, escaped,
//! expansions kept as markers, never expanded) and the operators that end a simple command.

use std::iter::Peekable;
use std::str::Chars;

use opcp_cred_proto::Secret;

use super::{Expansion, ParseError, Value};

fn is_name(name: &str) -> bool {
    name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
        && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// One shell word: literal text (quoted or not) and expansions, in order.
#[derive(Default)]
pub struct Word {
    parts: Vec<Part>,
}

enum Part {
    Text { text: String, quoted: bool },
    Computed(Expansion),
}

impl Word {
    fn push(&mut self, c: char, quoted: bool) {
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

    fn computed(&mut self, expansion: Expansion) {
        self.parts.push(Part::Computed(expansion));
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

    pub fn assignment(&self) -> Option<(String, Value)> {
        let name = self.assigned_name()?;
        let Some(Part::Text { text, .. }) = self.parts.first() else {
            return None;
        };
        let first = &text[name.len() + 1..];
        let mut computed = first.starts_with('~').then_some(Expansion::Tilde);
        let mut value = String::from(first);
        for part in &self.parts[1..] {
            match part {
                Part::Text { text, .. } => value.push_str(text),
                Part::Computed(e) => {
                    computed.get_or_insert(*e);
                }
            }
        }
        let value = match computed {
            None => Value::Literal(Secret::new(value)),
            Some(expansion) => Value::Computed(expansion),
        };
        Some((name.to_owned(), value))
    }
}

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
            Some('\n' | ';') => {
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
            Some('(' | ')' | '<' | '>') => {
                self.bump();
                Token::Redirect
            }
            Some(_) => Token::Word(self.word()?),
        };
        Ok((token, line))
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
        let expansion = match self.peek() {
            Some('(') => {
                self.skip_balanced('(', ')', line, "`$(`")?;
                Expansion::Command
            }
            Some('{') => {
                self.skip_balanced('{', '}', line, "`${`")?;
                Expansion::Parameter
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                while self
                    .peek()
                    .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric())
                {
                    self.bump();
                }
                Expansion::Parameter
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.bump();
                Expansion::Parameter
            }
            Some('\'') if !quoted => {
                self.skip_ansi_c(line)?;
                Expansion::AnsiC
            }
            // `$"…"` is a translatable string: without translations, the string itself.
            Some('"') if !quoted => return self.double_quoted(word),
            _ => {
                word.push('$', quoted);
                return Ok(());
            }
        };
        word.computed(expansion);
        Ok(())
    }

    /// Past the `open` at the cursor to its matching `close`. Quotes inside are not
    /// followed: the value is refused anyway, only the extent matters.
    fn skip_balanced(
        &mut self,
        open: char,
        close: char,
        line: usize,
        what: &str,
    ) -> Result<(), ParseError> {
        self.bump();
        let mut depth = 1;
        while depth > 0 {
            match self.bump() {
                None => return Err(unterminated(line, what)),
                Some(c) if c == open => depth += 1,
                Some(c) if c == close => depth -= 1,
                Some(_) => {}
            }
        }
        Ok(())
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
