//! `opcp-cred import` on a terminal (a pseudo-terminal made by util-linux `script`): what the
//! file cannot say is asked for, and the answers are what gets stored.

mod import_support;

use import_support::{bash_secrets, fill, fixture, run_with_stdin, sim_accepting, stored};
use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{TestEnv, text};
use opcp_cred_tests::keyring::KeyringKind;

/// `opcp-cred import --profile PROFILE FILE` on a terminal that `typed` is typed into; the
/// terminal's output (prompts and echo alike).
fn import_on_a_terminal(
    env: &TestEnv,
    profile: &str,
    file: &std::path::Path,
    typed: &str,
) -> String {
    let command = format!(
        "'{}' import --profile {profile} '{}'",
        bins::client().display(),
        file.display()
    );
    let out = run_with_stdin(
        env.command("script").args(["-qec", &command, "/dev/null"]),
        typed,
    );
    let (terminal, stderr) = text(&out);
    assert!(
        out.status.success(),
        "exit {}: {terminal}{stderr}",
        out.status
    );
    terminal
}

#[test]
fn a_password_read_by_the_file_is_asked_for_hidden() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let template = fixture("openrc/horizon-read.sh");
    let typed = "fake-typed-on-a-terminal\n";
    let file = env.path("openrc.sh");
    std::fs::write(&file, fill(&template, None)).unwrap();
    let (password, client_secret) = bash_secrets(&env, &file, typed);
    let sim = sim_accepting(&password, &client_secret);
    std::fs::write(&file, fill(&template, Some(&sim))).unwrap();
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("tty");
    let terminal = import_on_a_terminal(&env, &profile, &file, typed);
    assert!(
        terminal.contains(
            "openrc.sh:21: OS_PASSWORD is typed at the `read` on line 20: asking for it instead"
        ),
        "{terminal}"
    );
    assert!(terminal.contains("Keycloak password: "), "{terminal}");
    assert_eq!(
        stored(&env, &profile),
        (Some(password), Some(client_secret))
    );
}

/// The generator wrote `fake$word-generated-pw` unquoted; the person says the shell's
/// reading is wrong and types the real password.
#[test]
fn an_empty_expansion_is_confirmed_and_the_real_value_typed() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let real = "fake$word-generated-pw";
    let sim = sim_accepting(real, "fake-generated-secret$");
    let file = env.path("openrc.sh");
    std::fs::write(
        &file,
        fill(&fixture("openrc/generator-unquoted.sh"), Some(&sim)),
    )
    .unwrap();
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("confirm");
    let terminal = import_on_a_terminal(&env, &profile, &file, &format!("n\n{real}\n"));
    assert!(
        terminal.contains("openrc.sh:10: OS_PASSWORD holds `$word`: unset at that line, the shell expands it to nothing"),
        "{terminal}"
    );
    assert!(
        terminal.contains("is OS_PASSWORD right without `$word`, as the shell reads it? [y/N]: "),
        "{terminal}"
    );
    assert_eq!(stored(&env, &profile).0.as_deref(), Some(real));
}
