//! `opcp-cred import` on the openrc files people have, one quirk per fixture in
//! `tests/fixtures/openrc/`: the secrets stored in the real keyring must be, byte for byte,
//! what bash reads when it sources the file; a file import refuses names its line and
//! leaves the config and the keyring as they were.

mod import_support;

use import_support::{
    assert_refused, bash_secrets, config, fill, fixture, import, sim_accepting, stored,
};
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;

/// How one fixture is imported.
#[derive(Default)]
struct Case {
    file: &'static str,
    /// Flags the import needs (stdin secrets, --allow-empty).
    flags: &'static [&'static str],
    /// Standard input, for bash's `read` and import's `--…-stdin` alike.
    stdin: &'static str,
    /// Without `flags`, import refuses at this line and says so, naming the first flag.
    refused_at: Option<usize>,
}

/// A running import setup for one fixture: the file with the simulator's URLs in it, and
/// the secrets bash reads from it.
struct Imported {
    env: TestEnv,
    _sim: SimGuard,
    _daemon: DaemonGuard,
    profile: String,
    stderr: String,
}

fn imports_like_bash(case: &Case) -> Imported {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let template = fixture(&format!("openrc/{}", case.file));
    let file = env.path(case.file);
    std::fs::write(&file, fill(&template, None)).unwrap();
    let (password, client_secret) = bash_secrets(&env, &file, case.stdin);
    let sim = sim_accepting(&password, &client_secret);
    std::fs::write(&file, fill(&template, Some(&sim))).unwrap();
    let bash = bash_secrets(&env, &file, case.stdin);
    assert_eq!(
        bash,
        (password, client_secret),
        "the URLs changed what bash reads"
    );
    let daemon = DaemonGuard::start(&env);
    let profile = env.profile("openrc");
    let path = file.to_str().unwrap();

    if let Some(line) = case.refused_at {
        let before = config(&env);
        let out = import(&env, &profile, &[path], "");
        let at = format!("{path}:{line}: ");
        assert_refused(
            &env,
            &profile,
            &out,
            &before,
            &[&at, case.flags[0], "nothing was stored"],
        );
    }
    let mut args: Vec<&str> = case.flags.to_vec();
    args.push(path);
    let out = import(&env, &profile, &args, case.stdin);
    let stdout = ok(&out);
    assert_eq!(
        stdout,
        format!("eval $(opcp-cred env --profile {profile})\n")
    );
    let (password, client_secret) = bash;
    assert_eq!(
        stored(&env, &profile),
        (Some(password), Some(client_secret)),
        "the keyring holds what bash reads"
    );
    Imported {
        stderr: text(&out).1,
        env,
        _sim: sim,
        _daemon: daemon,
        profile,
    }
}

#[test]
fn export_and_plain_assignments() {
    imports_like_bash(&Case {
        file: "export-and-plain.sh",
        ..Case::default()
    });
}

#[test]
fn single_quotes() {
    imports_like_bash(&Case {
        file: "single-quotes.sh",
        ..Case::default()
    });
}

#[test]
fn double_quotes() {
    imports_like_bash(&Case {
        file: "double-quotes.sh",
        ..Case::default()
    });
}

#[test]
fn a_single_quote_inside_single_quotes() {
    imports_like_bash(&Case {
        file: "quote-escape.sh",
        ..Case::default()
    });
}

#[test]
fn backslash_escapes() {
    imports_like_bash(&Case {
        file: "backslash-escapes.sh",
        ..Case::default()
    });
}

#[test]
fn here_documents_are_text_not_assignments() {
    imports_like_bash(&Case {
        file: "heredoc.sh",
        ..Case::default()
    });
}

#[test]
fn comments_and_continued_lines() {
    let run = imports_like_bash(&Case {
        file: "comments.sh",
        ..Case::default()
    });
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn references_to_the_files_own_variables() {
    imports_like_bash(&Case {
        file: "references.sh",
        ..Case::default()
    });
}

#[test]
fn if_and_unset_lines() {
    let run = imports_like_bash(&Case {
        file: "if-unset.sh",
        ..Case::default()
    });
    let config = config(&run.env);
    assert!(
        !config.contains("region_name"),
        "an empty, unset region: {config}"
    );
    assert!(!config.contains("interface"), "unset: {config}");
    assert!(
        run.stderr.contains(":15: skipped `if`, `unset`, `fi`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(":16: skipped `[`"), "{}", run.stderr);
}

#[test]
fn horizons_read_of_the_password() {
    let run = imports_like_bash(&Case {
        file: "horizon-read.sh",
        flags: &["--password-stdin"],
        stdin: "fake-typed-at-read\n",
        refused_at: Some(21),
    });
    assert!(run.stderr.contains("skipped `echo`"), "{}", run.stderr);
    assert!(config(&run.env).contains("region_name = \"RegionOne\""));
}

#[test]
fn read_prompts_for_both_secrets() {
    imports_like_bash(&Case {
        file: "read-prompts.sh",
        flags: &["--password-stdin", "--client-secret-stdin"],
        stdin: "fake-read-password\nfake-read-secret\n",
        refused_at: Some(9),
    });
}

#[test]
fn an_unquoted_dollar_that_the_shell_expands_to_nothing() {
    let run = imports_like_bash(&Case {
        file: "generator-unquoted.sh",
        flags: &["--allow-empty"],
        refused_at: Some(10),
        ..Case::default()
    });
    let (password, _) = stored(&run.env, &run.profile);
    assert_eq!(
        password.as_deref(),
        Some("fake-generated-pw"),
        "`$word` is gone, as in bash"
    );
}

#[test]
fn a_command_substitution_is_never_run() {
    imports_like_bash(&Case {
        file: "command-substitution.sh",
        flags: &["--password-stdin"],
        stdin: "fake-from-a-command",
        refused_at: Some(10),
    });
}

#[test]
fn a_backquoted_command_is_never_run() {
    imports_like_bash(&Case {
        file: "backquotes.sh",
        flags: &["--client-secret-stdin"],
        stdin: "fake-backquoted-secret\n",
        refused_at: Some(8),
    });
}

/// CRLF line ends: bash keeps a carriage return at the end of every value (a password that
/// never worked); import strips them and says so.
#[test]
fn crlf_line_ends_are_stripped_with_a_warning() {
    let env = TestEnv::new(KeyringKind::SecretService);
    let template = fixture("openrc/crlf.sh");
    assert!(
        template.contains("\r\n"),
        "the fixture lost its CRLF line ends"
    );
    let unix = env.path("unix.sh");
    std::fs::write(&unix, fill(&template.replace("\r\n", "\n"), None)).unwrap();
    let (password, client_secret) = bash_secrets(&env, &unix, "");
    let sim = sim_accepting(&password, &client_secret);
    let file = env.path("crlf.sh");
    std::fs::write(&file, fill(&template, Some(&sim))).unwrap();
    let (with_cr, _) = bash_secrets(&env, &file, "");
    assert_eq!(with_cr, format!("{password}\r"));
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("crlf");
    let out = import(&env, &profile, &[file.to_str().unwrap()], "");
    ok(&out);
    assert!(
        text(&out)
            .1
            .contains("crlf.sh:1: Windows (CRLF) line ends: the carriage returns were stripped"),
        "{}",
        text(&out).1
    );
    assert_eq!(
        stored(&env, &profile),
        (Some(password), Some(client_secret))
    );
}

fn refuses_unterminated(file: &str, line: usize, what: &str) {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let path = env.path(file);
    std::fs::write(&path, fill(&fixture(&format!("openrc/{file}")), None)).unwrap();
    let profile = env.profile("broken");
    let before = config(&env);
    let out = import(&env, &profile, &[path.to_str().unwrap()], "");
    let says = format!("{}:{line}: unterminated {what}", path.display());
    assert_refused(
        &env,
        &profile,
        &out,
        &before,
        &[&says, "nothing was imported"],
    );
}

#[test]
fn an_unterminated_single_quote_names_its_line() {
    refuses_unterminated("unterminated-single.sh", 9, "single quote");
}

#[test]
fn an_unterminated_double_quote_names_its_line() {
    refuses_unterminated("unterminated-double.sh", 7, "double quote");
}
