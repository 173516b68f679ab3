//! `$NAME`s, tildes, `read` and `unset`: how a value is looked up as the shell would.

use super::super::{Expansion, Value};
use super::{computed, known, literal, parsed, warned_lines};

#[test]
fn computed_values_are_recorded_not_run() {
    let text = "A=${HOME:-/x}\nB=\"$$\"\nC=$(cat /etc/passwd)\nD=`id -u`\nE=~root/x\nF=\"$(echo \"nested\")\"\nG=$'ansi\\n'\nH=$0\nI=x${#HOME}\nJ=x~\nread OS_K < /etc/hostname\n";
    let p = parsed(text);
    let want = [
        ("A", (1, Expansion::Parameter)),
        ("B", (2, Expansion::Special)),
        ("C", (3, Expansion::Command)),
        ("D", (4, Expansion::Backquote)),
        ("E", (5, Expansion::Tilde)),
        ("F", (6, Expansion::Command)),
        ("G", (7, Expansion::AnsiC)),
        ("H", (8, Expansion::Special)),
        ("I", (9, Expansion::Parameter)),
        ("OS_K", (11, Expansion::RedirectedRead)),
    ];
    for (name, value) in want {
        assert_eq!(computed(&p, name), value, "{name}");
    }
    assert_eq!(literal(&p, "J").as_deref(), Some("x~"));
}

#[test]
fn references_are_looked_up_in_the_file_then_the_environment() {
    let text = "PW='fake pw'\nexport OS_PASSWORD=\"$PW\"-${PW}\nPW=later\nexport OS_CACERT=$HOME/ca.pem\nexport OS_USERNAME=$USER\nHOME=/elsewhere\nOS_X=$HOME\n";
    let p = parsed(text);
    assert_eq!(
        literal(&p, "OS_PASSWORD").as_deref(),
        Some("fake pw-fake pw")
    );
    assert!(known(&p, "OS_PASSWORD").from_env.is_empty());
    assert_eq!(
        literal(&p, "OS_CACERT").as_deref(),
        Some("/home/test/ca.pem")
    );
    assert_eq!(known(&p, "OS_CACERT").from_env, ["HOME"]);
    assert_eq!(literal(&p, "OS_USERNAME").as_deref(), Some("tester"));
    assert_eq!(literal(&p, "OS_X").as_deref(), Some("/elsewhere"));
    assert!(
        known(&p, "OS_X").from_env.is_empty(),
        "the file's HOME wins"
    );
}

#[test]
fn names_the_shell_expands_to_nothing_are_recorded() {
    let text = "export OS_PASSWORD=fake$word-pw\nexport OS_A=a${nothing}b$1$@\nUSER=x; unset USER; OS_B=$USER\nOS_C=$OS_PASSWORD\n";
    let p = parsed(text);
    let pw = known(&p, "OS_PASSWORD");
    assert_eq!(
        (pw.text.expose(), pw.empty.as_slice()),
        ("fake-pw", &["word".to_owned()][..])
    );
    let a = known(&p, "OS_A");
    assert_eq!(
        (a.text.expose(), a.empty.as_slice()),
        (
            "ab",
            &["nothing".to_owned(), "1".to_owned(), "@".to_owned()][..]
        )
    );
    assert_eq!(
        known(&p, "OS_B").empty,
        ["USER"],
        "unset hides the environment too"
    );
    assert_eq!(
        known(&p, "OS_C").empty,
        ["word"],
        "carried along by a reference"
    );
}

#[test]
fn tildes_expand_where_bash_expands_them_in_assignments() {
    let text =
        "A=~/x\nB=x:~/y\nC=~\"/x\"\nD=\"~/x\"\nE=~\nF=a~\nG=x:~\nexport I=~/e\nN=~:~/n\nO=~$USER\n";
    let p = parsed(text);
    for (name, want) in [
        ("A", "/home/test/x"),
        ("B", "x:/home/test/y"),
        ("C", "~/x"),
        ("D", "~/x"),
        ("E", "/home/test"),
        ("F", "a~"),
        ("G", "x:/home/test"),
        ("I", "/home/test/e"),
        ("N", "/home/test:/home/test/n"),
        ("O", "~tester"),
    ] {
        assert_eq!(literal(&p, name).as_deref(), Some(want), "{name}");
    }
}

#[test]
fn read_marks_its_names_as_typed_at_the_terminal() {
    let text = "read -sr OS_PASSWORD_INPUT\nexport OS_PASSWORD=$OS_PASSWORD_INPUT\nread -p 'Client secret: ' -s OS_CLIENT_SECRET\nread -rp\"User: \" OS_USERNAME OS_X\nread\nread -t 5 -- OS_Y\nread -a OS_Z\n";
    let p = parsed(text);
    let read = |name: &str| match p.get(name).map(|a| (a.line, &a.value)) {
        Some((line, Value::Read { line: at, hidden })) => (line, *at, *hidden),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(read("OS_PASSWORD_INPUT"), (1, 1, true));
    assert_eq!(
        read("OS_PASSWORD"),
        (2, 1, true),
        "a value made of read input"
    );
    assert_eq!(read("OS_CLIENT_SECRET"), (3, 3, true));
    assert_eq!(read("OS_USERNAME"), (4, 4, false));
    assert_eq!(read("OS_X"), (4, 4, false));
    assert_eq!(read("REPLY"), (5, 5, false));
    assert_eq!(read("OS_Y"), (6, 6, false));
    assert!(p.get("OS_Z").is_none());
    assert_eq!(warned_lines(&p), [7], "only `read -a` is skipped");
}

#[test]
fn unset_forgets_unless_it_is_conditional() {
    let text = "export OS_A=1 OS_B=2 OS_C=3\nunset OS_A\nunset -v OS_B\nif true; then unset OS_C; fi\n[ -n \"$X\" ] && unset OS_C\n";
    let p = parsed(text);
    assert!(p.get("OS_A").is_none() && p.get("OS_B").is_none());
    assert_eq!(literal(&p, "OS_C").as_deref(), Some("3"));
    assert_eq!(warned_lines(&p), [4, 5]);
}
