//! `exec`, `git-credential` and `curl` as separate processes against the
//! fake daemon: what reaches the child's environment, git's stdout and
//! curl's argv and stdin, and which requests reach the daemon. The real
//! daemon, mock server, curl and git are exercised in the workspace's
//! `tests/integrations/`.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use wrs_proto::{ErrorKind, ErrorResponse, Request, Response, Secret, TokenReply};
use wrs_testkit::fake_daemon::{FakeDaemon, Reply, now, wrs_token};
use wrs_testkit::process::{run, run_with_stdin};

const EXPIRES_IN: u64 = 600;

fn token_reply(token: &str, expires_at: u64) -> Response {
    Response::Token(TokenReply {
        profile: "plm".into(),
        access_token: Secret::new(token),
        token_type: "Bearer".into(),
        expires_at,
        lifetime_secs: 3600,
        min_ttl_secs: 10,
        min_ttl_met: true,
        warning: None,
        scope: None,
    })
}

/// A daemon handing out `tok-1`, `tok-2`, … (a new one after each
/// invalidation) and answering invalidations.
fn daemon() -> (FakeDaemon, u64) {
    let expires_at = now() + EXPIRES_IN;
    let generation = AtomicU32::new(1);
    let daemon = FakeDaemon::start(move |request| match request {
        Request::GetToken { .. } => Reply::Answer(token_reply(
            &format!("tok-{}", generation.load(Ordering::SeqCst)),
            expires_at,
        )),
        Request::Invalidate { profile, .. } => {
            generation.fetch_add(1, Ordering::SeqCst);
            Reply::Answer(Response::Invalidated {
                profile: profile.clone().unwrap_or_default(),
                dropped: true,
            })
        }
        other => panic!("unexpected request {other:?}"),
    });
    (daemon, expires_at)
}

/// A temp dir holding a config file with profile `plm` for
/// `https://plm.example.com/Windchill/oauth/servlet/odata/`.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[profiles.plm]\n\
             token_endpoint = \"https://sso.example.com/as/token.oauth2\"\n\
             client_id = \"wrs-ci\"\n\
             grant = \"client-credentials\"\n\
             resource = \"https://plm.example.com/Windchill/oauth/servlet/odata/\"\n",
        )
        .unwrap();
        Home { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self, socket: &Path) -> std::process::Command {
        let mut cmd = wrs_token(socket);
        cmd.env(wrs_sys::env::CONFIG, self.path("config.toml"));
        cmd
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

#[test]
fn exec_passes_token_and_expiry_in_the_environment_and_the_exit_status_back() {
    let (daemon, expires_at) = daemon();
    let (code, out, err) = run(wrs_token(&daemon.socket).args([
        "exec",
        "-p",
        "plm",
        "--",
        "sh",
        "-c",
        "printf '%s %s' \"$WRS_ACCESS_TOKEN\" \"$WRS_ACCESS_TOKEN_EXPIRES_AT\"; exit 7",
    ]));
    assert_eq!(code, 7, "{err}");
    assert_eq!(out, format!("tok-1 {expires_at}"));
    assert_eq!(
        daemon.requests(),
        [Request::GetToken {
            profile: Some("plm".into()),
            min_ttl_secs: None,
            env_min_ttl_secs: None,
        }]
    );
}

#[test]
fn exec_env_names_the_variable_and_its_expiry_variable() {
    let (daemon, expires_at) = daemon();
    let (code, out, _) = run(wrs_token(&daemon.socket).args([
        "exec",
        "--env",
        "WC_TOKEN",
        "sh",
        "-c",
        "printf '%s %s %s' \"$WC_TOKEN\" \"$WC_TOKEN_EXPIRES_AT\" \"${WRS_ACCESS_TOKEN:-unset}\"",
    ]));
    assert_eq!((code, out), (0, format!("tok-1 {expires_at} unset")));
}

#[test]
fn exec_replaces_itself_so_a_signal_ends_the_caller_s_child_directly() {
    let (daemon, _) = daemon();
    let status = wrs_token(&daemon.socket)
        .args(["exec", "--", "sh", "-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

#[test]
fn exec_reports_a_missing_command_as_127_and_a_daemon_error_without_running_it() {
    let (daemon, _) = daemon();
    let (code, _, err) = run(wrs_token(&daemon.socket).args(["exec", "--", "/nonexistent/cmd"]));
    assert_eq!(code, 127);
    assert!(err.contains("cannot run /nonexistent/cmd"), "{err}");

    let refusing = FakeDaemon::start(|_| {
        Reply::Answer(Response::Error(ErrorResponse::new(
            ErrorKind::LoginRequired,
            "refresh token expired",
        )))
    });
    let (code, out, err) =
        run(wrs_token(&refusing.socket).args(["exec", "-p", "plm", "--", "echo", "ran"]));
    assert_eq!((code, out.as_str()), (3, ""), "{err}");
    assert!(err.contains("wrs-token login plm"), "{err}");
}

#[test]
fn git_get_answers_bearer_for_a_matching_host_when_git_supports_authtype() {
    let home = Home::new();
    let (daemon, expires_at) = daemon();
    let (code, out, err) = run_with_stdin(
        home.cmd(&daemon.socket).args(["git-credential", "get"]),
        b"capability[]=authtype\nprotocol=https\nhost=plm.example.com\nwwwauth[]=Bearer\n\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "capability[]=authtype\nauthtype=Bearer\ncredential=tok-1\n\
             ephemeral=true\npassword_expiry_utc={expires_at}\n"
        )
    );
    assert_eq!(
        daemon.requests(),
        [Request::GetToken {
            profile: Some("plm".into()),
            min_ttl_secs: None,
            env_min_ttl_secs: None,
        }]
    );
}

#[test]
fn git_get_falls_back_to_a_password_and_says_nothing_for_other_hosts() {
    let home = Home::new();
    let (daemon, _) = daemon();
    let (code, out, _) = run_with_stdin(
        home.cmd(&daemon.socket)
            .args(["git-credential", "--username", "svc", "get"]),
        b"protocol=https\nhost=plm.example.com",
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("username=svc\npassword=tok-1\n"), "{out}");

    let (code, out, err) = run_with_stdin(
        home.cmd(&daemon.socket).args(["git-credential", "get"]),
        b"capability[]=authtype\nprotocol=https\nhost=github.com\n\n",
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(daemon.requests().len(), 1, "no token asked for github.com");
}

#[test]
fn git_erase_invalidates_the_rejected_token_and_store_does_nothing() {
    let home = Home::new();
    let (daemon, _) = daemon();
    let (code, _, err) = run_with_stdin(
        home.cmd(&daemon.socket).args(["git-credential", "erase"]),
        b"capability[]=authtype\nprotocol=https\nhost=plm.example.com\n\
          authtype=Bearer\ncredential=tok-1\n\n",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run_with_stdin(
        home.cmd(&daemon.socket).args(["git-credential", "store"]),
        b"protocol=https\nhost=plm.example.com\nusername=oauth2\npassword=tok-2\n\n",
    );
    assert_eq!(code, 0);
    assert_eq!(
        daemon.requests(),
        [Request::Invalidate {
            profile: Some("plm".into()),
            token: Some(Secret::new("tok-1")),
        }]
    );
}

#[test]
fn git_capability_lists_authtype_and_bad_input_is_an_error() {
    let home = Home::new();
    let (daemon, _) = daemon();
    let (code, out, _) = run(home
        .cmd(&daemon.socket)
        .args(["git-credential", "capability"]));
    assert_eq!(
        (code, out.as_str()),
        (0, "version 0\ncapability authtype\n")
    );
    let (code, out, err) = run_with_stdin(
        home.cmd(&daemon.socket).args(["git-credential", "get"]),
        b"protocol=https\nhost=plm.exa\0mple.com\n\n",
    );
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("NUL"), "{err}");
    assert!(daemon.requests().is_empty());
}

/// A stand-in `curl` that records its argv and stdin per call, writes the
/// status given for that call into the `dump-header` file named on stdin,
/// prints a body and exits with the given code.
fn fake_curl(home: &Home, statuses: &[u16], exit: u8) -> PathBuf {
    let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
    home.script(
        "curl",
        &format!(
            r#"dir="{dir}"
n=$(( $(cat "$dir/calls" 2>/dev/null || echo 0) + 1 ))
echo $n > "$dir/calls"
printf '%s\n' "$@" > "$dir/argv.$n"
cat > "$dir/stdin.$n"
set -- {statuses}
shift $(( n - 1 ))
dump=$(sed -n 's/^dump-header = "\(.*\)"$/\1/p' "$dir/stdin.$n")
[ -n "$dump" ] && printf 'HTTP/1.1 %s X\r\n\r\n' "$1" > "$dump"
printf 'body %s\n' "$n"
exit {exit}"#,
            dir = home.dir.path().display(),
            statuses = statuses.join(" "),
        ),
    )
}

#[test]
fn curl_gets_the_token_on_stdin_only_and_retries_once_after_a_401() {
    let home = Home::new();
    let (daemon, _) = daemon();
    let curl = fake_curl(&home, &[401, 200], 0);
    let url = "https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts";
    let (code, out, err) = run(home
        .cmd(&daemon.socket)
        .env(wrs_sys::env::CURL, &curl)
        .args(["curl", "-sS", url]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "body 1\nbody 2\n", "curl's stdout passes through");
    for (n, token) in [(1, "tok-1"), (2, "tok-2")] {
        let argv = std::fs::read_to_string(home.path(&format!("argv.{n}"))).unwrap();
        assert_eq!(argv, format!("--config\n-\n-sS\n{url}\n"));
        assert!(!argv.contains("tok-"), "token in argv: {argv}");
        let stdin = std::fs::read_to_string(home.path(&format!("stdin.{n}"))).unwrap();
        assert!(
            stdin.starts_with(&format!("header = \"Authorization: Bearer {token}\"\n")),
            "{stdin}"
        );
    }
    assert_eq!(
        daemon.requests(),
        [
            Request::GetToken {
                profile: Some("plm".into()),
                min_ttl_secs: None,
                env_min_ttl_secs: None,
            },
            Request::Invalidate {
                profile: Some("plm".into()),
                token: Some(Secret::new("tok-1")),
            },
            Request::GetToken {
                profile: Some("plm".into()),
                min_ttl_secs: None,
                env_min_ttl_secs: None,
            },
        ]
    );
}

#[test]
fn curl_retries_only_once_and_passes_curls_exit_status_on() {
    let home = Home::new();
    let (daemon, _) = daemon();
    let curl = fake_curl(&home, &[401, 401, 401], 22);
    let (code, out, _) = run(home
        .cmd(&daemon.socket)
        .env(wrs_sys::env::CURL, &curl)
        .args(["curl", "-f", "https://elsewhere.example.com/x"]));
    assert_eq!(code, 22);
    assert_eq!(out, "body 1\nbody 2\n");
    // No profile matches that host: the daemon's default is asked for.
    assert_eq!(
        daemon.requests()[0],
        Request::GetToken {
            profile: None,
            min_ttl_secs: None,
            env_min_ttl_secs: None,
        }
    );
}

#[test]
fn curl_refuses_arguments_that_read_stdin_before_asking_for_a_token() {
    let home = Home::new();
    let (daemon, _) = daemon();
    let curl = fake_curl(&home, &[200], 0);
    for args in [
        &["-d", "@-", "https://h/"][..],
        &["--data-binary", "@-", "https://h/"],
        &["-T", "-", "https://h/"],
        &["-K", "-"],
    ] {
        let (code, out, err) = run(home
            .cmd(&daemon.socket)
            .env(wrs_sys::env::CURL, &curl)
            .arg("curl")
            .args(args));
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
        assert!(err.contains("read stdin"), "{err}");
    }
    assert!(daemon.requests().is_empty());
    assert!(!home.path("calls").exists(), "curl never ran");
}
