//! Asking the person at the terminal, and reading secrets piped on stdin.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use opcp_cred_proto::Secret;

use crate::error::CliError;

/// Prompts are only shown when stdin is a terminal: a script gets an error instead of a hang.
pub fn stdin_is_terminal() -> bool {
    io::stdin().is_terminal()
}

/// Ask for a value, echoing it. An empty answer is `None`.
pub fn visible(question: &str) -> io::Result<Option<String>> {
    let mut stderr = io::stderr().lock();
    write!(stderr, "{question}: ")?;
    stderr.flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    let answer = answer.trim();
    Ok((!answer.is_empty()).then(|| answer.to_owned()))
}

/// Ask for a secret on the terminal without echo. An empty answer is an error: nothing
/// would be stored.
pub fn hidden(question: &str) -> Result<Secret, CliError> {
    let answer = rpassword::prompt_password(format!("{question}: "))
        .map(Secret::new)
        .map_err(|e| {
            CliError::usage(format!(
                "could not read the {question} from the terminal: {e}"
            ))
        })?;
    if answer.is_empty() {
        return Err(CliError::usage(format!(
            "the {question} is empty: nothing was stored"
        )));
    }
    Ok(answer)
}

/// Secrets given on stdin: with both wanted, the first line is the password and the second the
/// client secret; with one, all of stdin minus one trailing newline. Nothing else is trimmed:
/// a secret may end in a space.
#[derive(Debug, Default)]
pub struct StdinSecrets {
    pub password: Option<Secret>,
    pub client_secret: Option<Secret>,
}

pub fn read_stdin_secrets(
    input: impl Read,
    password: bool,
    client_secret: bool,
) -> Result<StdinSecrets, CliError> {
    if !password && !client_secret {
        return Ok(StdinSecrets::default());
    }
    let mut text = String::new();
    let mut input = input;
    input
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("could not read secrets from stdin: {e}")))?;
    let text = Secret::new(text);
    let mut rest = text.expose();
    let mut take = |what: &str, whole: bool| {
        let value = if whole {
            std::mem::take(&mut rest)
        } else {
            let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
            rest = after;
            line
        };
        let value = value.strip_suffix('\n').unwrap_or(value);
        if value.is_empty() {
            return Err(CliError::usage(format!(
                "no {what} on stdin: nothing was stored"
            )));
        }
        Ok(Secret::new(value))
    };
    Ok(StdinSecrets {
        password: password
            .then(|| take("password", !client_secret))
            .transpose()?,
        client_secret: client_secret
            .then(|| take("client secret", !password))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        input: &str,
        password: bool,
        client_secret: bool,
    ) -> Result<(Option<String>, Option<String>), CliError> {
        let s = read_stdin_secrets(input.as_bytes(), password, client_secret)?;
        let show = |s: Option<Secret>| s.map(|s| s.expose().to_owned());
        Ok((show(s.password), show(s.client_secret)))
    }

    #[test]
    fn one_secret_takes_all_of_stdin_minus_one_newline() {
        assert_eq!(
            read("pw\n", true, false).unwrap(),
            (Some("pw".into()), None)
        );
        assert_eq!(read("pw", true, false).unwrap(), (Some("pw".into()), None));
        assert_eq!(
            read(" p w \n\n", true, false).unwrap(),
            (Some(" p w \n".into()), None)
        );
        assert_eq!(
            read("cs\n", false, true).unwrap(),
            (None, Some("cs".into()))
        );
    }

    #[test]
    fn both_secrets_are_two_lines() {
        assert_eq!(
            read("pw\ncs\n", true, true).unwrap(),
            (Some("pw".into()), Some("cs".into()))
        );
        assert_eq!(
            read("pw \ncs", true, true).unwrap(),
            (Some("pw ".into()), Some("cs".into()))
        );
    }

    #[test]
    fn missing_secrets_are_usage_errors() {
        assert!(
            read("", true, false)
                .unwrap_err()
                .message
                .contains("no password")
        );
        assert!(
            read("pw\n", true, true)
                .unwrap_err()
                .message
                .contains("no client secret")
        );
        assert!(
            read("\ncs\n", true, true)
                .unwrap_err()
                .message
                .contains("no password")
        );
        assert_eq!(read("", false, false).unwrap(), (None, None));
    }
}
