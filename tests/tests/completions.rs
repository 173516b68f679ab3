//! `opcp-cred completions` loads in the real shells and completes subcommands; `opcp-cred man`
//! writes a page for the command and each subcommand.

use opcp_cred_tests::env::{TestEnv, ok};
use opcp_cred_tests::keyring::KeyringKind;

fn env() -> TestEnv {
    TestEnv::new(KeyringKind::Keyutils)
}

#[test]
fn bash_completes_subcommands_and_flags() {
    let env = env();
    let script = ok(&env.run(["completions", "bash"]));
    let path = env.path("opcp-cred.bash");
    std::fs::write(&path, script).expect("write the completion script");
    // What bash's programmable completion does on `opcp-cred e<TAB>` and `opcp-cred env --sh<TAB>`.
    let probe = format!(
        "source '{}'\n\
         complete=$(complete -p opcp-cred); fn=${{complete#*-F }}; fn=${{fn%% *}}\n\
         COMP_WORDS=(opcp-cred e); COMP_CWORD=1; $fn opcp-cred e opcp-cred; echo \"${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(opcp-cred env --sh); COMP_CWORD=2; $fn opcp-cred --sh env; echo \"${{COMPREPLY[*]}}\"\n",
        path.display()
    );
    let out = ok(&env
        .command("bash")
        .args(["--norc", "-c", &probe])
        .output()
        .expect("bash"));
    let mut lines = out.lines();
    let subcommands = lines.next().expect("first completion");
    assert!(
        subcommands.contains("env") && subcommands.contains("exec"),
        "{out}"
    );
    assert!(
        lines.next().expect("second completion").contains("--shell"),
        "{out}"
    );
}

#[test]
fn zsh_and_fish_scripts_load() {
    let env = env();
    let zsh = ok(&env.run(["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef opcp-cred"), "{zsh}");
    let path = env.path("_opcp-cred");
    std::fs::write(&path, zsh).expect("write");
    ok(&env
        .command("zsh")
        .args(["-n", path.to_str().unwrap()])
        .output()
        .expect("zsh -n"));

    let fish = ok(&env.run(["completions", "fish"]));
    let path = env.path("opcp-cred.fish");
    std::fs::write(&path, &fish).expect("write");
    let probe = format!(
        "source '{}'; complete --do-complete 'opcp-cred lo'",
        path.display()
    );
    let out = ok(&env
        .command("fish")
        .args(["--no-config", "-c", &probe])
        .output()
        .expect("fish"));
    assert!(out.contains("login") && out.contains("logout"), "{out}");
}

#[test]
fn man_pages_cover_every_subcommand() {
    let env = env();
    let dir = env.path("man/man1");
    ok(&env.run(["man", "--dir", dir.to_str().unwrap()]));
    for page in [
        "opcp-cred",
        "opcp-cred-env",
        "opcp-cred-hook",
        "opcp-cred-import",
        "opcp-cred-login",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{page}.1")))
            .unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}.1 is not roff"
        );
    }
    let env_page = std::fs::read_to_string(dir.join("opcp-cred-env.1")).expect("env page");
    assert!(
        env_page.contains("if\\-changed"),
        "the flags are documented"
    );
}
