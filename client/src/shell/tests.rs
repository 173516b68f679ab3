use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, SystemTime};

use opcp_cred_proto::messages::Timestamp;

use super::*;

fn token() -> TokenResponse {
    TokenResponse {
        token: Secret::new("gAAAAA-fake-token"),
        expires_at: Timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_553_445)),
        profile: "pod".into(),
        project_id: "0123abcd".into(),
        project_name: Some("web".into()),
        auth_url: "https://keystone.example.test/v3".into(),
        interface: None,
        region_name: None,
        cacert: None,
        config_error: None,
    }
}

const EXPIRES: &str = "2030-01-02T03:04:05Z";

fn render_token(shell: Shell, token: &TokenResponse) -> String {
    render(shell, &variables(token, EXPIRES))
        .expose()
        .to_owned()
}

#[test]
fn variables_default_the_interface_and_skip_absent_options() {
    let t = token();
    let names: Vec<_> = variables(&t, EXPIRES).iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "OS_AUTH_TYPE",
            "OS_TOKEN",
            "OS_AUTH_URL",
            "OS_PROJECT_ID",
            "OS_IDENTITY_API_VERSION",
            "OS_INTERFACE",
            "OPCP_CRED_PROFILE",
            "OPCP_CRED_EXPIRES_AT"
        ]
    );
    assert!(variables(&t, EXPIRES).contains(&("OS_INTERFACE", "public")));
}

#[test]
fn variables_include_region_and_cacert_when_configured() {
    let mut t = token();
    t.interface = Some("internal".into());
    t.region_name = Some("RegionOne".into());
    t.cacert = Some("/etc/ssl/ca.pem".into());
    let vars = variables(&t, EXPIRES);
    assert!(vars.contains(&("OS_INTERFACE", "internal")));
    assert!(vars.contains(&("OS_REGION_NAME", "RegionOne")));
    assert!(vars.contains(&("OS_CACERT", "/etc/ssl/ca.pem")));
}

#[test]
fn unset_list_is_the_documented_one() {
    // DESIGN.md's 27, then what old openrc files leave behind.
    assert_eq!(UNSET.len(), 32);
    assert!(UNSET.iter().all(|n| n.starts_with("OS_")));
    assert!(!UNSET.contains(&"OS_TOKEN") && !UNSET.contains(&"OS_AUTH_TYPE"));
}

#[test]
fn golden_sh() {
    let text = render_token(Shell::Sh, &token());
    let want = format!(
        "unset {};\n\
         OS_AUTH_TYPE='token'; export OS_AUTH_TYPE;\n\
         OS_TOKEN='gAAAAA-fake-token'; export OS_TOKEN;\n\
         OS_AUTH_URL='https://keystone.example.test/v3'; export OS_AUTH_URL;\n\
         OS_PROJECT_ID='0123abcd'; export OS_PROJECT_ID;\n\
         OS_IDENTITY_API_VERSION='3'; export OS_IDENTITY_API_VERSION;\n\
         OS_INTERFACE='public'; export OS_INTERFACE;\n\
         OPCP_CRED_PROFILE='pod'; export OPCP_CRED_PROFILE;\n\
         OPCP_CRED_EXPIRES_AT='2030-01-02T03:04:05Z'; export OPCP_CRED_EXPIRES_AT;\n",
        UNSET.join(" ")
    );
    assert_eq!(text, want);
    assert_eq!(render_token(Shell::Bash, &token()), want);
    assert_eq!(render_token(Shell::Zsh, &token()), want);
}

#[test]
fn golden_sh_quoting() {
    let vars = [
        ("A", "it's"),
        ("B", "a b"),
        ("C", "$HOME"),
        ("D", "x*y"),
        ("E", "l1\nl2"),
    ];
    let text = render(Shell::Sh, &vars).expose().to_owned();
    let body = text.split_once(";\n").unwrap().1;
    assert_eq!(
        body,
        "A='it'\\''s'; export A;\n\
         B='a b'; export B;\n\
         C='$HOME'; export C;\n\
         D=\"`printf '%b_' 'x\\0052y'`\"; D=\"${D%_}\"; export D;\n\
         E=\"`printf '%b_' 'l1\\0012l2'`\"; E=\"${E%_}\"; export E;\n"
    );
}

#[test]
fn golden_fish() {
    let mut t = token();
    t.region_name = Some(r"it's \ here".into());
    let text = render_token(Shell::Fish, &t);
    let (unsets, sets) = text.split_once('\n').unwrap();
    assert!(unsets.starts_with("set -e OS_PASSWORD; set -e OS_USERNAME; "));
    assert!(unsets.ends_with("set -e OS_CACERT; "));
    assert_eq!(unsets.matches("set -e ").count(), UNSET.len());
    assert_eq!(
        sets,
        "set -gx OS_AUTH_TYPE 'token';\n\
         set -gx OS_TOKEN 'gAAAAA-fake-token';\n\
         set -gx OS_AUTH_URL 'https://keystone.example.test/v3';\n\
         set -gx OS_PROJECT_ID '0123abcd';\n\
         set -gx OS_IDENTITY_API_VERSION '3';\n\
         set -gx OS_INTERFACE 'public';\n\
         set -gx OS_REGION_NAME 'it\\'s \\\\ here';\n\
         set -gx OPCP_CRED_PROFILE 'pod';\n\
         set -gx OPCP_CRED_EXPIRES_AT '2030-01-02T03:04:05Z';\n"
    );
}

#[test]
fn golden_csh() {
    let mut t = token();
    t.cacert = Some("/it's/a!\nb".into());
    let text = render_token(Shell::Csh, &t);
    let (unsets, sets) = text.split_once('\n').unwrap();
    assert!(unsets.starts_with("unsetenv OS_PASSWORD; unsetenv OS_USERNAME; "));
    assert_eq!(unsets.matches("unsetenv ").count(), UNSET.len());
    assert_eq!(
        sets,
        "setenv OS_AUTH_TYPE 'token';\n\
         setenv OS_TOKEN 'gAAAAA-fake-token';\n\
         setenv OS_AUTH_URL 'https://keystone.example.test/v3';\n\
         setenv OS_PROJECT_ID '0123abcd';\n\
         setenv OS_IDENTITY_API_VERSION '3';\n\
         setenv OS_INTERFACE 'public';\n\
         setenv OS_CACERT '/it'\\''s/a\\!\\\nb';\n\
         setenv OPCP_CRED_PROFILE 'pod';\n\
         setenv OPCP_CRED_EXPIRES_AT '2030-01-02T03:04:05Z';\n"
    );
}

#[test]
fn golden_json() {
    let mut t = token();
    t.token = Secret::new("fake\"token\n");
    let text = render_token(Shell::Json, &t);
    assert!(text.ends_with("}\n") && text.matches('\n').count() == 1);
    let want = format!(
        r#"{{"set":{{"OS_AUTH_TYPE":"token","OS_TOKEN":"fake\"token\n","OS_AUTH_URL":"https://keystone.example.test/v3","OS_PROJECT_ID":"0123abcd","OS_IDENTITY_API_VERSION":"3","OS_INTERFACE":"public","OPCP_CRED_PROFILE":"pod","OPCP_CRED_EXPIRES_AT":"2030-01-02T03:04:05Z"}},"unset":{}}}"#,
        serde_json::to_string(UNSET).unwrap()
    );
    assert_eq!(text.trim_end(), want);
}

/// Values that break naive quoting, each in its own variable.
const TRICKY: &[&str] = &[
    "it's",
    "'",
    "a b",
    "a  b   c",
    " leading and trailing ",
    "$HOME and `id` and $(id) and ${PATH}",
    "*",
    "a*b?[c]d",
    "line1\nline2",
    "trailing newlines\n\n",
    "tab\there",
    r"back\slash \n \0101 \\",
    "percent %s %b %%",
    "ünïcødé ✓",
    "",
    "-n",
    "!bang",
    "semi; colon & amp | pipe",
    "x =y ~z a#b c^d (e) <f> {g}",
    "https://keystone.example.test/v3?a=b#frag",
];

/// Evaluate `text` in `shell` with `eval_form` (e.g. `eval $(cat "$1")`) and return the values
/// of `OPCP_T<i>` for every tricky value, of `OS_PASSWORD` (pre-set, must be unset) and of
/// `OPCP_T0` as a child process sees it (must be exported).
fn evaluate(shell: &str, setup: &str, eval_form: &str, text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.sh");
    std::fs::write(&file, text).unwrap();
    // Files that a leaked glob pattern could match.
    for name in ["'*'", "'ab'", "'a*b?[c]d'", "x"] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    let fields = (0..TRICKY.len()).fold(String::new(), |mut s, i| {
        let _ = write!(s, " \"$OPCP_T{i}\"");
        s
    });
    let script = format!(
        "{setup}\n{eval_form}\nprintf '%s\\0'{fields} \"${{OS_PASSWORD-<unset>}}\"; sh -c 'printf %s \"$OPCP_T0\"'"
    );
    let out = Command::new(shell)
        .args(["-c", &script, "sh"])
        .arg(&file)
        .current_dir(dir.path())
        .env("OS_PASSWORD", "fake-old-password")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shell}: {e}"));
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .map(str::to_owned)
        .collect()
}

#[test]
fn sh_output_round_trips_in_bash_dash_and_zsh_quoted_and_unquoted() {
    let names: Vec<String> = (0..TRICKY.len()).map(|i| format!("OPCP_T{i}")).collect();
    let vars: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(TRICKY.iter().copied())
        .collect();
    let text = render(Shell::Sh, &vars);
    let mut want: Vec<String> = TRICKY.iter().map(|v| (*v).to_owned()).collect();
    want.push("<unset>".into());
    want.push(TRICKY[0].into());
    let setups = [
        ("bash", ""),
        ("bash", "shopt -s nullglob failglob"),
        ("bash", "set -o posix"),
        ("bash", "shopt -s extglob; set -u"),
        ("dash", ""),
        ("dash", "set -u"),
        ("zsh", ""),
        (
            "zsh",
            "setopt glob_subst sh_word_split extended_glob nounset",
        ),
        ("zsh", "emulate sh"),
    ];
    for (shell, setup) in setups {
        for eval_form in [r#"eval $(cat "$1")"#, r#"eval "$(cat "$1")""#, r#". "$1""#] {
            let got = evaluate(shell, setup, eval_form, text.expose());
            assert_eq!(got, want, "{shell} ({setup}) with {eval_form}");
        }
    }
}

#[test]
fn a_real_token_evaluates_in_every_sh_like_shell() {
    let mut t = token();
    t.cacert = Some("/home/user/My Certs/ca.pem".into());
    let text = render_token(Shell::Sh, &t);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.sh");
    std::fs::write(&file, &text).unwrap();
    let script = r#"eval $(cat "$1"); printf '%s|%s|%s' "$OS_TOKEN" "$OS_CACERT" "$OS_AUTH_TYPE""#;
    for shell in ["bash", "dash", "zsh"] {
        let out = Command::new(shell)
            .args(["-c", script, "sh"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "gAAAAA-fake-token|/home/user/My Certs/ca.pem|token",
            "{shell}"
        );
    }
}
