use std::process::Command;

use super::*;

mod expansions;

/// The environment of these tests: HOME and USER only.
pub(super) fn test_env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/test".to_owned()),
        "USER" => Some("tester".to_owned()),
        _ => None,
    }
}

pub(super) fn parsed(text: &str) -> Parsed {
    parse(text, &test_env).unwrap_or_else(|e| panic!("line {}: {}", e.line, e.message))
}

pub(super) fn known<'a>(parsed: &'a Parsed, name: &str) -> &'a Known {
    match &parsed
        .get(name)
        .unwrap_or_else(|| panic!("{name} unset"))
        .value
    {
        Value::Known(known) => known,
        other => panic!("{name} is {other:?}"),
    }
}

pub(super) fn literal(parsed: &Parsed, name: &str) -> Option<String> {
    parsed.get(name)?;
    let known = known(parsed, name);
    assert!(known.empty.is_empty(), "{name}: {:?}", known.empty);
    Some(known.text.expose().to_owned())
}

pub(super) fn computed(parsed: &Parsed, name: &str) -> (usize, Expansion) {
    let assignment = parsed.get(name).unwrap_or_else(|| panic!("{name} unset"));
    match assignment.value {
        Value::Computed(e) => (assignment.line, e),
        ref other => panic!("{name} is {other:?}"),
    }
}

pub(super) fn warned_lines(parsed: &Parsed) -> Vec<usize> {
    parsed.warnings.iter().map(|w| w.line).collect()
}

#[test]
fn export_and_plain_assignments() {
    let p = parsed("export OS_A=1\nOS_B=two\nexport OS_C=3 OS_D=4; OS_E=5 OS_F=6\nexport OS_A\n");
    for (name, want) in [
        ("OS_A", "1"),
        ("OS_B", "two"),
        ("OS_C", "3"),
        ("OS_D", "4"),
        ("OS_E", "5"),
        ("OS_F", "6"),
    ] {
        assert_eq!(literal(&p, name).as_deref(), Some(want), "{name}");
    }
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.get("OS_C").unwrap().line, 3);
}

#[test]
fn later_assignments_win() {
    let p = parsed("OS_A=1\nexport OS_A=2\n");
    assert_eq!(literal(&p, "OS_A").as_deref(), Some("2"));
}

#[test]
fn quoting_rules() {
    let text = r#"
A='single $HOME `x` \n "dq"'
B="double \\ \" \$ \` \n 'sq'"
C='it'\''s'
D=unquoted\ space\$\'\"
E="mixed "'parts'" here"
F=""
G=cost$
H="end$"
I=a#b
J=$"locale"
"#;
    let p = parsed(text);
    let want = [
        ("A", r#"single $HOME `x` \n "dq""#),
        ("B", r#"double \ " $ ` \n 'sq'"#),
        ("C", "it's"),
        ("D", r#"unquoted space$'""#),
        ("E", "mixed parts here"),
        ("F", ""),
        ("G", "cost$"),
        ("H", "end$"),
        ("I", "a#b"),
        ("J", "locale"),
    ];
    for (name, value) in want {
        assert_eq!(literal(&p, name).as_deref(), Some(value), "{name}");
    }
}

#[test]
fn quoted_names_or_equals_are_not_assignments() {
    let p = parsed("\"OS_A\"=1\nOS_B\\=2\nexport 'OS_C=3'\n");
    assert!(p.get("OS_A").is_none() && p.get("OS_B").is_none() && p.get("OS_C").is_none());
    assert_eq!(warned_lines(&p), [1, 2]);
    assert!(
        p.warnings[0].message.starts_with("skipped a command:"),
        "{}",
        p.warnings[0].message
    );
}

#[test]
fn comments_blank_lines_and_continuations() {
    let text = "#!/usr/bin/env bash\n\n  # indented comment\nexport OS_A=1 # trailing comment\nexport \\\n  OS_B=\"two\\\nlines\"\nOS_C=\"real\nnewline\"\nOS_D=x\n";
    let p = parsed(text);
    assert_eq!(literal(&p, "OS_A").as_deref(), Some("1"));
    assert_eq!(literal(&p, "OS_B").as_deref(), Some("twolines"));
    assert_eq!(literal(&p, "OS_C").as_deref(), Some("real\nnewline"));
    assert_eq!(p.get("OS_D").unwrap().line, 10);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn crlf_is_stripped_with_one_warning() {
    let p = parsed("# c\r\nexport OS_A=1\r\nexport OS_B='b'\r\n");
    assert_eq!(literal(&p, "OS_A").as_deref(), Some("1"));
    assert_eq!(literal(&p, "OS_B").as_deref(), Some("b"));
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].line, 1);
    assert!(p.warnings[0].message.contains("CRLF"));
}

#[test]
fn commands_are_skipped_with_a_warning_naming_the_line() {
    let text = "unset OS_TENANT_ID\necho \"Please enter your password: \"\nprintf x\nexport OS_A=1\nOS_X=1 some-command\nexport -n OS_Y\nunset -f f\n";
    let p = parsed(text);
    assert_eq!(warned_lines(&p), [2, 3, 5, 6, 7], "{:?}", p.warnings);
    assert!(p.warnings[0].message.contains("`echo`"));
    assert!(p.warnings[1].message.contains("`printf`"));
    assert!(p.warnings[2].message.contains("`some-command`"));
    assert!(p.warnings[3].message.contains("`export -n`"));
    assert!(p.warnings[4].message.contains("`unset -f`"));
    assert!(
        p.get("OS_X").is_none(),
        "a prefix assignment is for that command only"
    );
}

#[test]
fn warnings_never_show_values() {
    let p = parsed("OS_PASSWORD=fake-secret-pw some-command\n");
    assert!(!format!("{:?}", p.warnings).contains("fake-secret-pw"));
    let p = parsed("export OS_PASSWORD='fake-secret-pw'\n");
    assert!(!format!("{p:?}").contains("fake-secret-pw"));
}

#[test]
fn conditional_blocks_are_skipped_and_their_assignments_flagged() {
    let text = "if [ -z \"$OS_REGION_NAME\" ]; then unset OS_REGION_NAME; fi\nif [ -n \"$X\" ]; then\n  export OS_A=inside\nfi\nexport OS_B=after\n[ -n \"$Y\" ] && export OS_C=maybe\n";
    let p = parsed(text);
    assert_eq!(literal(&p, "OS_A").as_deref(), Some("inside"));
    assert_eq!(literal(&p, "OS_B").as_deref(), Some("after"));
    assert_eq!(literal(&p, "OS_C").as_deref(), Some("maybe"));
    let conditional: Vec<_> = p
        .warnings
        .iter()
        .filter(|w| w.message.contains("under a condition"))
        .collect();
    assert_eq!(
        conditional.iter().map(|w| w.line).collect::<Vec<_>>(),
        [3, 6]
    );
    assert_eq!(
        warned_lines(&p),
        [1, 2, 3, 4, 6, 6],
        "`fi` alone is a skipped line too"
    );
    assert!(conditional[0].message.starts_with("OS_A "));
}

#[test]
fn unterminated_quotes_name_the_line_they_open_on() {
    let cases = [
        ("OS_A=1\nOS_B='open\nOS_C=3\n", 2, "single quote"),
        ("OS_A=1\n\nOS_B=\"open\n", 3, "double quote"),
        ("OS_A=`date\n", 1, "backquote"),
        ("OS_A=$(date\n", 1, "`$(`"),
        ("echo 'x\n", 1, "single quote"),
    ];
    for (text, line, what) in cases {
        let err = parse(text, &test_env)
            .err()
            .unwrap_or_else(|| panic!("{text:?} parsed"));
        assert_eq!(err.line, line, "{text:?}");
        assert!(err.message.contains(what), "{}", err.message);
    }
}

#[test]
fn from_env_keeps_only_os_variables() {
    let p = Parsed::from_env([
        (
            "OS_AUTH_URL".to_owned(),
            "https://keystone.example.test".to_owned(),
        ),
        ("HOME".to_owned(), "/root".to_owned()),
    ]);
    assert_eq!(
        literal(&p, "OS_AUTH_URL").as_deref(),
        Some("https://keystone.example.test")
    );
    assert!(p.get("HOME").is_none());
    assert_eq!(p.get("OS_AUTH_URL").unwrap().line, 0);
}

#[test]
fn horizon_style_openrc() {
    let text = r#"#!/usr/bin/env bash
export OS_AUTH_URL=https://keystone.example.test:5000/v3
export OS_PROJECT_ID=0123abcd
export OS_PROJECT_NAME="web"
export OS_USER_DOMAIN_NAME="Default"
if [ -z "$OS_USER_DOMAIN_NAME" ]; then unset OS_USER_DOMAIN_NAME; fi
unset OS_TENANT_ID
export OS_USERNAME="alice"
echo "Please enter your OpenStack Password for project $OS_PROJECT_NAME as user $OS_USERNAME: "
read -sr OS_PASSWORD_INPUT
export OS_PASSWORD=$OS_PASSWORD_INPUT
export OS_REGION_NAME="RegionOne"
export OS_INTERFACE=public
export OS_IDENTITY_API_VERSION=3
"#;
    let p = parsed(text);
    assert_eq!(
        literal(&p, "OS_AUTH_URL").as_deref(),
        Some("https://keystone.example.test:5000/v3")
    );
    assert_eq!(literal(&p, "OS_USERNAME").as_deref(), Some("alice"));
    assert!(matches!(
        p.get("OS_PASSWORD").map(|a| (a.line, &a.value)),
        Some((
            11,
            Value::Read {
                line: 10,
                hidden: true
            }
        ))
    ));
    assert_eq!(warned_lines(&p), [6, 9]);
    assert_eq!(
        p.warnings[0].message,
        "skipped `if`, `unset`, `fi`: import never runs commands"
    );
}

/// Well-formed files give what bash gives when it sources them.
#[test]
fn values_match_what_bash_sources() {
    let files = [
        "export OS_PASSWORD='fake p@ss '\\''word'\\'' $x'\n",
        "export OS_PASSWORD=\"fake \\\"dq\\\" \\$not \\\\ back \\n keep\"\n",
        "OS_PASSWORD=fake\\ esc\\'aped\\\\x\n",
        "export OS_PASSWORD='multi\nline'\n",
        "export OS_PASSWORD=\"con\\\ntinued\" # comment\n",
        "# c\n\nexport OS_PASSWORD=a'b'\"c\"d$\n",
        "export OS_PASSWORD=\"ünï  $\" ; export OS_X=1\n",
        "export OS_PASSWORD=first\nexport OS_PASSWORD=second\n",
        "export OS_PASSWORD=\\#hash#notcomment\n",
        "P1='fake '\\''one'\nexport OS_PASSWORD=\"$P1\"-${P1}~:~/x\n",
        "export OS_PASSWORD=fake$word-pw$1$@\n",
        "export OS_PASSWORD=~/a:~:~\"/q\":$USER\n",
        "OS_PASSWORD=set\nunset OS_PASSWORD\nexport OS_PASSWORD=\"$OS_PASSWORD:after\"\n",
        "if [ -z \"$X\" ]; then unset OS_REGION_NAME; fi\nexport OS_PASSWORD=\"a\\\nb\"'c\nd'\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in files.iter().enumerate() {
        let file = dir.path().join(format!("openrc{i}.sh"));
        std::fs::write(&file, text).unwrap();
        // The file by name in the environment: `bash -c … sh FILE` would make it `$1`.
        let out = Command::new("bash")
            .env_clear()
            .env("HOME", "/home/test")
            .env("USER", "tester")
            .env("OPENRC", &file)
            .args(["-c", r#"source "$OPENRC"; printf %s "$OS_PASSWORD""#])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{text:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bash = String::from_utf8(out.stdout).unwrap();
        let p = parsed(text);
        assert_eq!(known(&p, "OS_PASSWORD").text.expose(), bash, "{text:?}");
    }
}

#[test]
fn here_document_bodies_are_text_not_commands() {
    let p = parsed(
        "export OS_USERNAME=alice\n\
         cat <<EOF > /dev/null\n  export OS_USERNAME=svc\nEOF\n\
         cat <<-'END'\n\texport OS_PROJECT_ID=2222\n\tEND\n\
         cat <<< \"here string\"\n\
         export OS_PASSWORD=fake-pw\n",
    );
    assert_eq!(literal(&p, "OS_USERNAME").as_deref(), Some("alice"));
    assert_eq!(literal(&p, "OS_PROJECT_ID"), None);
    assert_eq!(literal(&p, "OS_PASSWORD").as_deref(), Some("fake-pw"));
    // Without its delimiter, a body runs to the end of the file, as bash reads it.
    let p = parsed("export A=1\ncat <<EOF\nexport A=2\n");
    assert_eq!(literal(&p, "A").as_deref(), Some("1"));
}

#[test]
fn a_nul_byte_is_an_error_on_its_line() {
    let err = parse("export A=1\nexport OS_PASSWORD=fake\0pw\n", &test_env).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("NUL"), "{}", err.message);
}
