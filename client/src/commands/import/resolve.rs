//! Turning settings into the values to store, and asking for what the source cannot say: a
//! value typed at `read`, computed by a command, or holding a `$NAME` that the shell expands
//! to nothing. Asking happens only on a terminal ([`Ask`]); without one, the error names the
//! place and the flag that supplies the value, and nothing is stored.

use opcp_cred_proto::Secret;

use super::settings::{Kind, Setting, Settings};
use crate::error::CliError;
use crate::openrc::Value;
use crate::prompt;

/// The person at the terminal. `why` is said first, then the question.
pub trait Ask {
    fn hidden(&mut self, why: &str, question: &str) -> Result<Secret, CliError>;
    /// An empty answer is `None`.
    fn visible(&mut self, why: &str, question: &str) -> Result<Option<String>, CliError>;
    fn yes(&mut self, why: &str, question: &str) -> Result<bool, CliError>;
}

/// Questions on stderr, answers from the terminal on stdin.
#[derive(Debug)]
pub struct Terminal;

impl Ask for Terminal {
    fn hidden(&mut self, why: &str, question: &str) -> Result<Secret, CliError> {
        eprintln!("opcp-cred: {why}");
        prompt::hidden(question)
    }

    fn visible(&mut self, why: &str, question: &str) -> Result<Option<String>, CliError> {
        eprintln!("opcp-cred: {why}");
        prompt::visible(question)
            .map_err(|e| CliError::usage(format!("could not read the {question}: {e}")))
    }

    fn yes(&mut self, why: &str, question: &str) -> Result<bool, CliError> {
        let answer = self.visible(why, &format!("{question} [y/N]"))?;
        Ok(answer.is_some_and(|a| a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes")))
    }
}

/// A secret's question and the flag that pipes it instead.
#[derive(Debug, Clone, Copy)]
pub struct SecretSpec {
    pub question: &'static str,
    pub flag: &'static str,
}

pub const PASSWORD: SecretSpec = SecretSpec {
    question: "Keycloak password",
    flag: "--password-stdin",
};
pub const CLIENT_SECRET: SecretSpec = SecretSpec {
    question: "Keycloak client secret",
    flag: "--client-secret-stdin",
};

pub struct Resolver<'a> {
    pub settings: &'a Settings,
    /// `None`: stdin is not a terminal, nothing is asked.
    ask: Option<&'a mut dyn Ask>,
    /// `--allow-empty`: take `$NAME`s that expand to nothing as the shell does, unasked.
    allow_empty: bool,
    /// Things worth saying that are not errors, for stderr.
    pub notes: Vec<String>,
}

impl<'a> Resolver<'a> {
    pub fn new(settings: &'a Settings, ask: Option<&'a mut dyn Ask>, allow_empty: bool) -> Self {
        Self {
            settings,
            ask,
            allow_empty,
            notes: Vec::new(),
        }
    }

    /// A setting; empty counts as unset (openrc files often `export X=""`).
    pub fn optional(&mut self, name: &str) -> Result<Option<String>, CliError> {
        let value = self.value(name, None)?;
        Ok(value
            .filter(|v| !v.is_empty())
            .map(|v| v.expose().to_owned()))
    }

    pub fn required(&mut self, name: &str) -> Result<String, CliError> {
        self.optional(name)?.ok_or_else(|| {
            CliError::config(format!(
                "{}: {} is not set; nothing was imported",
                self.settings.source,
                self.settings.label(name)
            ))
            .with_hint(format!(
                "{}, or give the settings to `opcp-cred login`",
                self.settings.how_to_set(name)
            ))
        })
    }

    /// A secret; missing or empty, it is asked for (hidden) on a terminal.
    pub fn secret(&mut self, name: &str, spec: SecretSpec) -> Result<Secret, CliError> {
        if let Some(value) = self.value(name, Some(spec))?.filter(|v| !v.is_empty()) {
            return Ok(value);
        }
        let settings = self.settings;
        let (at, label, what) = match settings.get(name) {
            Some(setting) => (&setting.at, setting.label.clone(), "is empty"),
            None => (&settings.source, settings.label(name), "is not set"),
        };
        let problem = format!("{at}: {label} {what}");
        self.ask_for(&problem, &label, Some(spec), true)
            .map(Option::unwrap_or_default)
    }

    /// The value of `name` as the source gives it, after asking where it cannot say.
    fn value(&mut self, name: &str, spec: Option<SecretSpec>) -> Result<Option<Secret>, CliError> {
        let settings = self.settings;
        let Some(setting) = settings.get(name) else {
            return Ok(None);
        };
        let Setting { label, at, value } = setting;
        match value {
            Value::Known(known) => {
                if !known.from_env.is_empty() {
                    let names = dollar_names(&known.from_env);
                    self.notes
                        .push(format!("{at}: {label} uses {names} from the environment"));
                }
                if known.empty.is_empty() || self.allow_empty {
                    Ok(Some(known.text.clone()))
                } else {
                    self.confirm_empty(setting, &known.empty, known.text.clone(), spec)
                }
            }
            Value::Read { line, hidden } => {
                let problem = format!("{at}: {label} is typed at the `read` on line {line}");
                self.ask_for(&problem, label, spec, *hidden || spec.is_some())
            }
            Value::Computed(how) => {
                let problem =
                    format!("{at}: {label} is computed by {how}, and import never runs the file");
                self.ask_for(&problem, label, spec, spec.is_some())
            }
        }
    }

    /// `problem` says why the value must be asked for; without a terminal it is the error.
    fn ask_for(
        &mut self,
        problem: &str,
        label: &str,
        spec: Option<SecretSpec>,
        hidden: bool,
    ) -> Result<Option<Secret>, CliError> {
        let Some(ask) = self.ask.as_deref_mut() else {
            let hint = match spec {
                Some(spec) => format!(
                    "pass it on stdin with {}, or run `opcp-cred import` on a terminal to be asked",
                    spec.flag
                ),
                None => self.write_it_out(),
            };
            return Err(CliError::config(format!(
                "{problem}, and stdin is not a terminal to ask on; nothing was stored"
            ))
            .with_hint(hint));
        };
        let why = format!("{problem}: asking for it instead");
        let question = spec.map_or(label, |s| s.question);
        if hidden {
            ask.hidden(&why, question).map(Some)
        } else {
            Ok(ask.visible(&why, question)?.map(Secret::new))
        }
    }

    /// `$NAME`s that expand to nothing: the value as the shell reads it once confirmed (on a
    /// terminal), else the value as the person types it.
    fn confirm_empty(
        &mut self,
        setting: &Setting,
        empty: &[String],
        as_read: Secret,
        spec: Option<SecretSpec>,
    ) -> Result<Option<Secret>, CliError> {
        let Setting { label, at, .. } = setting;
        let names = dollar_names(empty);
        let it = if names.contains(", ") { "them" } else { "it" };
        let problem = format!(
            "{at}: {label} holds {names}: unset at that line, the shell expands {it} to nothing"
        );
        let Some(ask) = self.ask.as_deref_mut() else {
            let pipe = spec.map_or_else(String::new, |s| {
                format!(", or pipe the value with {}", s.flag)
            });
            return Err(CliError::config(format!("{problem}; nothing was stored")).with_hint(format!(
                "if the value is right without {names}, pass --allow-empty; if the `$` is part of it, quote the value in the file ('…'){pipe}"
            )));
        };
        let question = format!("is {label} right without {names}, as the shell reads it?");
        if ask.yes(&problem, &question)? {
            return Ok(Some(as_read));
        }
        self.ask_for(&format!("{at}: {label}"), label, spec, spec.is_some())
    }

    fn write_it_out(&self) -> String {
        let place = match self.settings.kind {
            Kind::Environment => "the environment",
            Kind::Openrc | Kind::CloudsYaml { .. } => "the file",
        };
        format!(
            "write the value out in {place}, or run `opcp-cred import` on a terminal to be asked"
        )
    }
}

/// `` `$a`, `$b` `` once each.
fn dollar_names(names: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !seen.contains(&name.as_str()) {
            seen.push(name);
        }
    }
    seen.iter()
        .map(|n| format!("`${n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
