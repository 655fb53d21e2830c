//! The fast path against clap, on one table of argument lists.
//!
//! clap reads the environment itself, from the process (and `set_var` is
//! unsafe, which this workspace denies), so the comparison runs in a child
//! of this test binary for each environment: [`table_in_this_environment`]
//! is that child's test, ignored in a plain run.

use std::ffi::OsString;
use std::process::Command as Process;

use clap::Parser;

use super::parse;
use crate::cli::Cli;
use crate::cmd::completions::COMPLETE_VAR;

/// What the fast path does with a row in an environment that sets none of
/// the variables clap reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Taken, with the very `Cli` clap builds.
    Takes,
    /// Left to clap.
    Declines,
}
use Expect::{Declines, Takes};

const LONG_NAME: &str =
    "a-profile-name-that-is-far-longer-than-the-sixty-four-characters-a-config-allows";

/// The argument lists (after the program's name).
const TABLE: &[(&[&str], Expect)] = &[
    // print
    (&["print"], Takes),
    (&["print", "-p", "plm"], Takes),
    (&["print", "--profile", "plm"], Takes),
    (&["print", "--profile=plm"], Takes),
    (&["print", "plm"], Takes),
    (&["print", "plm", "-p", "plm"], Takes),
    // Two different names parse; `print` itself reports them.
    (&["print", "plm", "-p", "other"], Takes),
    (&["print", "-p", ""], Takes),
    (&["print", "--profile="], Takes),
    (&["print", "-p", "print"], Takes),
    (&["print", "help"], Takes),
    (&["print", "--min-ttl", "60"], Takes),
    (&["print", "--min-ttl=60"], Takes),
    (&["print", "--min-ttl", "007"], Takes),
    (&["print", "--min-ttl", "0"], Takes),
    (&["print", "--json"], Takes),
    (&["print", "--header"], Takes),
    (&["print", "--no-newline"], Takes),
    (
        &[
            "print",
            "-p",
            "plm",
            "--min-ttl",
            "60",
            "--json",
            "--no-newline",
        ],
        Takes,
    ),
    (&["print", "--json", "-p", "plm"], Takes),
    (&["print", "plm", "--header", "--no-newline"], Takes),
    (&["print", "--no-autostart"], Takes),
    (&["--no-autostart", "print"], Takes),
    (&["--socket", "/tmp/x.sock", "print"], Takes),
    (&["--socket=/tmp/x.sock", "print", "-p", "plm"], Takes),
    (&["print", "--socket", "/tmp/x.sock"], Takes),
    (
        &[
            "--no-autostart",
            "--socket",
            "/tmp/s",
            "print",
            "plm",
            "--min-ttl",
            "0",
        ],
        Takes,
    ),
    (
        &["print", "--socket=relative.sock", "--no-autostart"],
        Takes,
    ),
    // header
    (&["header"], Takes),
    (&["header", "-p", "plm"], Takes),
    (&["header", "plm"], Takes),
    (
        &["header", "--profile=plm", "--min-ttl", "30", "--no-newline"],
        Takes,
    ),
    (&["--no-autostart", "header", "plm"], Takes),
    (&["header", "--socket", "/tmp/x.sock", "-p", "plm"], Takes),
    // git-credential get
    (&["git-credential", "get"], Takes),
    (&["git-credential", "-p", "plm", "get"], Takes),
    (&["git-credential", "get", "-p", "plm"], Takes),
    (&["git-credential", "--profile=plm", "get"], Takes),
    (&["git-credential", "-p", "", "get"], Takes),
    (&["git-credential", "--username", "bob", "get"], Takes),
    (
        &["git-credential", "--username=bob", "--min-ttl", "60", "get"],
        Takes,
    ),
    (&["git-credential", "--no-autostart", "get"], Takes),
    (&["--socket", "/tmp/s", "git-credential", "get"], Takes),
    // Help, version, nothing at all.
    (&[], Declines),
    (&["--help"], Declines),
    (&["-h"], Declines),
    (&["help"], Declines),
    (&["help", "print"], Declines),
    (&["--version"], Declines),
    (&["-V"], Declines),
    (&["print", "--help"], Declines),
    (&["print", "-h"], Declines),
    (&["header", "--help"], Declines),
    (&["git-credential", "--help"], Declines),
    (&["print", "--version"], Declines),
    // clap's errors.
    (&["print", "--header", "--json"], Declines),
    (&["print", "plm", "other"], Declines),
    (&["print", ""], Declines),
    (&["print", "bad/name"], Declines),
    (&["print", "-p", "bad/name"], Declines),
    (&["print", "-p", LONG_NAME], Declines),
    (&["print", LONG_NAME], Declines),
    (&["print", "-p"], Declines),
    (&["print", "-p", "-x"], Declines),
    (&["print", "--profile"], Declines),
    (&["print", "--min-ttl"], Declines),
    (&["print", "--min-ttl", "-1"], Declines),
    (&["print", "--min-ttl", "+5"], Declines),
    (&["print", "--min-ttl", "abc"], Declines),
    (&["print", "--min-ttl", "99999999999999999999"], Declines),
    (&["print", "--min-ttl="], Declines),
    (&["print", "--json=true"], Declines),
    (&["print", "--no-autostart=1"], Declines),
    (&["print", "--unknown"], Declines),
    (&["print", "-x"], Declines),
    (&["header", "--json"], Declines),
    (&["header", "--header"], Declines),
    (&["header", "a", "b"], Declines),
    (&["git-credential"], Declines),
    (&["git-credential", "get", "extra"], Declines),
    (&["git-credential", "--username", "", "get"], Declines),
    (&["git-credential", "--json", "get"], Declines),
    (&["git-credential", "get", "--no-newline"], Declines),
    (&["git-credential", "bad/name", "get"], Declines),
    (&["plm", "print"], Declines),
    (&["-p", "plm", "print"], Declines),
    (&["--socket", "print"], Declines),
    (&["--socket=", "print"], Declines),
    (&["print", "--socket="], Declines),
    // Repeated options: clap's rules for them stay clap's.
    (&["print", "-p", "plm", "-p", "plm"], Declines),
    (&["print", "-p", "plm", "--profile=other"], Declines),
    (&["print", "--json", "--json"], Declines),
    (&["print", "--no-autostart", "--no-autostart"], Declines),
    (&["--no-autostart", "print", "--no-autostart"], Declines),
    (&["--socket", "/a", "print", "--socket", "/b"], Declines),
    (&["git-credential", "get", "get"], Declines),
    // Forms clap reads that are rare enough to leave to it.
    (&["print", "-pplm"], Declines),
    (&["print", "-p=plm"], Declines),
    (&["print", "--"], Declines),
    (&["print", "--", "plm"], Declines),
    (&["print", "-"], Declines),
    (&["--", "print"], Declines),
    // Other commands, and the other git-credential actions.
    (&["status"], Declines),
    (&["whoami", "plm"], Declines),
    (&["login", "plm"], Declines),
    (&["profile", "list"], Declines),
    (&["curl", "-p", "plm", "https://example.com/"], Declines),
    (&["exec", "--", "env"], Declines),
    (&["git-credential", "store"], Declines),
    (&["git-credential", "erase"], Declines),
    (&["git-credential", "capability"], Declines),
    (&["completions", "bash"], Declines),
    (&["prin"], Declines),
];

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn clap(words: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("wrs-token").chain(words.iter().copied()))
}

/// An environment for the comparison: the variables set (all others clap
/// reads are removed), and whether the table's `Takes` rows stay taken.
struct Environment {
    set: Vec<(&'static str, OsString)>,
    takes_stay_taken: bool,
}

fn env(set: &[(&'static str, &str)], takes_stay_taken: bool) -> Environment {
    Environment {
        set: set.iter().map(|(k, v)| (*k, OsString::from(v))).collect(),
        takes_stay_taken,
    }
}

/// The variables clap reads for the commands taken here.
const READ_BY_CLAP: [&str; 3] = [
    wrs_sys::env::PROFILE,
    wrs_sys::env::SOCKET,
    wrs_sys::env::NO_AUTOSTART,
];

fn environments() -> Vec<Environment> {
    use wrs_sys::env::{NO_AUTOSTART, PROFILE, SOCKET};
    let mut all = vec![
        env(&[], true),
        env(&[(PROFILE, "plm")], true),
        env(&[(PROFILE, "")], true),
        // clap refuses such a value unless -p is given.
        env(&[(PROFILE, "bad/name")], false),
        env(&[(SOCKET, "/tmp/from-env.sock")], true),
        // clap refuses an empty path.
        env(&[(SOCKET, "")], false),
        env(&[(NO_AUTOSTART, "1")], true),
        env(&[(NO_AUTOSTART, "0")], true),
        env(&[(NO_AUTOSTART, "off")], true),
        env(&[(NO_AUTOSTART, "OFF")], true),
        env(&[(NO_AUTOSTART, "No")], true),
        env(&[(NO_AUTOSTART, "yes")], true),
        env(&[(NO_AUTOSTART, "")], true),
        env(&[(NO_AUTOSTART, "whatever")], true),
        env(
            &[
                (PROFILE, "plm"),
                (SOCKET, "/tmp/s.sock"),
                (NO_AUTOSTART, "true"),
            ],
            true,
        ),
    ];
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let not_utf8 = || OsString::from_vec(vec![b'a', 0xff, b'b']);
        all.push(Environment {
            set: vec![(SOCKET, not_utf8())],
            takes_stay_taken: true,
        });
        all.push(Environment {
            set: vec![(PROFILE, not_utf8())],
            takes_stay_taken: false,
        });
        all.push(Environment {
            set: vec![(NO_AUTOSTART, not_utf8())],
            takes_stay_taken: false,
        });
    }
    all
}

/// Which of [`environments`] a child runs the table in.
const CASE_VAR: &str = "WRS_TOKEN_FAST_PATH_TEST_CASE";

/// Every row in every environment: each child compares the two parsers.
#[test]
fn the_fast_path_builds_what_clap_builds_in_every_environment() {
    let exe = std::env::current_exe().unwrap();
    for (case, environment) in environments().iter().enumerate() {
        let mut child = Process::new(&exe);
        child.args([
            "fast_path::tests::table_in_this_environment",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
        for name in READ_BY_CLAP.iter().chain([&COMPLETE_VAR]) {
            child.env_remove(name);
        }
        for (name, value) in &environment.set {
            child.env(name, value);
        }
        child.env(CASE_VAR, case.to_string());
        let output = child.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "environment {:?}:\n{stdout}\n{}",
            environment.set,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The child's side of the test above (it does nothing unless started by
/// it).
#[test]
#[ignore = "run by the_fast_path_builds_what_clap_builds_in_every_environment"]
fn table_in_this_environment() {
    let Some(case) = std::env::var(CASE_VAR).ok() else {
        return;
    };
    let environment = &environments()[case.parse::<usize>().unwrap()];
    let mut taken = 0;
    for (words, expect) in TABLE {
        let fast = parse(&os(words), |k| std::env::var_os(k));
        let slow = clap(words);
        if let Some(cli) = fast {
            taken += 1;
            assert_eq!(*expect, Takes, "{words:?} should be left to clap");
            match slow {
                Ok(slow) => assert_eq!(cli, slow, "{words:?}"),
                Err(e) => panic!("{words:?}: taken, but clap says {e}"),
            }
        } else {
            assert!(
                *expect == Declines || !environment.takes_stay_taken,
                "{words:?} was declined"
            );
        }
    }
    let table_takes = TABLE.iter().filter(|(_, e)| *e == Takes).count();
    if environment.takes_stay_taken {
        assert_eq!(taken, table_takes);
    } else {
        assert!(
            taken < table_takes,
            "a value clap refuses made no difference"
        );
    }
}

/// The same table without any child: a pure check of the declines.
#[test]
fn every_declines_row_is_left_to_clap_and_every_takes_row_is_taken() {
    for (words, expect) in TABLE {
        let fast = parse(&os(words), |_| None);
        assert_eq!(
            fast.is_some(),
            *expect == Takes,
            "{words:?}: {fast:?}, expected {expect:?}"
        );
    }
}

#[test]
fn the_table_has_dozens_of_rows_of_each_kind() {
    let takes = TABLE.iter().filter(|(_, e)| *e == Takes).count();
    let declines = TABLE.len() - takes;
    assert!(takes >= 30 && declines >= 50, "{takes} / {declines}");
}

#[test]
fn a_completion_request_is_left_to_clap() {
    let env = |name: &str| (name == COMPLETE_VAR).then(|| OsString::from("bash"));
    assert!(parse(&os(&["print"]), env).is_none());
    // Even set to nothing: clap_complete's reading of it stays its own.
    let env = |name: &str| (name == COMPLETE_VAR).then(OsString::new);
    assert!(parse(&os(&["print"]), env).is_none());
}

#[cfg(unix)]
#[test]
fn a_word_that_is_not_utf8_is_left_to_clap() {
    use std::os::unix::ffi::OsStringExt;
    let mut args = os(&["print", "-p"]);
    args.push(OsString::from_vec(vec![b'p', 0xff]));
    assert!(parse(&args, |_| None).is_none());
}

#[test]
fn values_from_the_environment_are_read_as_clap_reads_them() {
    use wrs_sys::env::{NO_AUTOSTART, PROFILE, SOCKET};
    let with = |name: &'static str, value: &'static str| {
        move |k: &str| (k == name).then(|| OsString::from(value))
    };
    let cli = parse(&os(&["print"]), with(PROFILE, "plm")).unwrap();
    let crate::cli::Command::Print(args) = cli.command else {
        panic!("not print")
    };
    assert_eq!(args.token.profile.as_deref(), Some("plm"));
    // `-p` wins over the variable; git-credential's `-p` has none.
    let cli = parse(&os(&["print", "-p", "x"]), with(PROFILE, "bad/name")).unwrap();
    let crate::cli::Command::Print(args) = cli.command else {
        panic!("not print")
    };
    assert_eq!(args.token.profile.as_deref(), Some("x"));
    assert!(parse(&os(&["print"]), with(PROFILE, "bad/name")).is_none());
    let cli = parse(&os(&["git-credential", "get"]), with(PROFILE, "plm")).unwrap();
    assert!(matches!(
        cli.command,
        crate::cli::Command::GitCredential(crate::cli::GitCredentialArgs { profile: None, .. })
    ));
    for (value, on) in [
        ("1", true),
        ("yes", true),
        ("0", false),
        ("Off", false),
        ("", false),
    ] {
        let cli = parse(&os(&["print"]), with(NO_AUTOSTART, value)).unwrap();
        assert_eq!(cli.global.no_autostart, on, "{value:?}");
    }
    let cli = parse(&os(&["header"]), with(SOCKET, "/tmp/a.sock")).unwrap();
    assert_eq!(
        cli.global.socket.as_deref(),
        Some(std::path::Path::new("/tmp/a.sock"))
    );
    assert!(parse(&os(&["header"]), with(SOCKET, "")).is_none());
}
