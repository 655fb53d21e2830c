//! The real `wrs-token` binary against a fake daemon: a std `UnixListener`
//! speaking the `wrs_proto` codec, so these tests need nothing from the
//! daemon crate. Cross-process tests with the real daemon live in the
//! workspace's `tests/`.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wrs_proto::{
    ErrorKind, ErrorResponse, PROTOCOL_VERSION, ProfileStatus, Request, Response, Secret,
    SessionState, StatusReport, TokenReply,
};
use wrs_testkit::fake_daemon::{FakeDaemon, Reply, launcher, now, serve, wrs_token};
use wrs_testkit::process::run;
use wrs_testkit::wait_until;

fn token(expires_in: u64) -> Response {
    Response::Token(TokenReply {
        profile: "plm".into(),
        access_token: Secret::new("eyJ.fake-token"),
        token_type: "Bearer".into(),
        expires_at: now() + expires_in,
        lifetime_secs: 3600,
        min_ttl_secs: 10,
        min_ttl_met: true,
        warning: None,
        scope: None,
    })
}

fn report(socket: &Path) -> StatusReport {
    StatusReport {
        daemon_version: "9.8.7".into(),
        protocol_version: PROTOCOL_VERSION,
        pid: 4242,
        uptime_secs: 90,
        socket: socket.display().to_string(),
        profiles: vec![ProfileStatus {
            name: "plm".into(),
            state: SessionState::Active,
            expires_at: Some(now() + 600),
            next_refresh_at: Some(now() + 450),
            last_error: None,
            next_refresh: Some(wrs_proto::PlannedFetch::Renewal),
            token_lifetime_secs: Some(900),
            last_used_at: Some(now()),
            served_last_hour: 12,
            token_requests_last_hour: 1,
            token_request_budget_per_hour: Some(7),
            keep_warm_secs: 600,
            keepalive_secs: 21_600,
            user: None,
            ended: None,
        }],
        config_file: String::new(),
        config_error: None,
    }
}

#[test]
fn print_writes_the_bare_token_and_sends_profile_and_min_ttl() {
    let daemon = FakeDaemon::start(|_| Reply::Answer(token(300)));
    let (code, out, err) =
        run(wrs_token(&daemon.socket).args(["print", "-p", "plm", "--min-ttl", "60"]));
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "eyJ.fake-token\n", "")
    );
    assert_eq!(
        daemon.requests(),
        [Request::GetToken {
            profile: Some("plm".into()),
            min_ttl_secs: Some(60),
            env_min_ttl_secs: None
        }]
    );
}

#[test]
fn profile_falls_back_to_the_environment_then_to_the_daemon_default() {
    let daemon = FakeDaemon::start(|_| Reply::Answer(token(300)));
    let (code, ..) = run(wrs_token(&daemon.socket)
        .arg("print")
        .env(wrs_sys::env::PROFILE, "from-env"));
    assert_eq!(code, 0);
    let (code, ..) = run(wrs_token(&daemon.socket)
        .args(["print", "-p", "flag"])
        .env(wrs_sys::env::PROFILE, "from-env"));
    assert_eq!(code, 0);
    let (code, ..) = run(wrs_token(&daemon.socket).arg("print"));
    assert_eq!(code, 0);
    let profiles: Vec<Option<String>> = daemon
        .requests()
        .into_iter()
        .map(|r| match r {
            Request::GetToken {
                profile,
                min_ttl_secs,
                env_min_ttl_secs,
            } => {
                // No minimum given: the daemon decides.
                assert_eq!(min_ttl_secs, None);
                assert_eq!(env_min_ttl_secs, None);
                profile
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        profiles,
        [Some("from-env".into()), Some("flag".into()), None]
    );
}

#[test]
fn wrs_token_min_ttl_travels_as_the_callers_default_and_a_bad_one_is_a_usage_error() {
    let daemon = FakeDaemon::start(|_| Reply::Answer(token(300)));
    let (code, ..) = run(wrs_token(&daemon.socket)
        .arg("print")
        .env(wrs_sys::env::MIN_TTL, "30"));
    assert_eq!(code, 0);
    let (code, ..) = run(wrs_token(&daemon.socket)
        .args(["print", "--min-ttl", "5"])
        .env(wrs_sys::env::MIN_TTL, "30"));
    assert_eq!(code, 0);
    assert_eq!(
        daemon.requests(),
        [
            Request::GetToken {
                profile: None,
                min_ttl_secs: None,
                env_min_ttl_secs: Some(30),
            },
            Request::GetToken {
                profile: None,
                min_ttl_secs: Some(5),
                env_min_ttl_secs: Some(30),
            }
        ]
    );
    let (code, out, err) = run(wrs_token(&daemon.socket)
        .arg("print")
        .env(wrs_sys::env::MIN_TTL, "a minute"));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains(&format!("{}=\"a minute\"", wrs_sys::env::MIN_TTL)),
        "{err}"
    );
    assert_eq!(daemon.requests().len(), 2, "nothing sent");
}

#[test]
fn an_unmet_minimum_is_one_warning_line_and_still_the_token() {
    let daemon = FakeDaemon::start(|_| {
        let Response::Token(mut reply) = token(7) else {
            unreachable!()
        };
        reply.lifetime_secs = 7;
        reply.min_ttl_secs = 60;
        reply.min_ttl_met = false;
        reply.warning = Some("profile plm's tokens live 7.0s and are renewed with about 1.5s left, less than the 60s asked for; this one has 6.9s left".into());
        Reply::Answer(Response::Token(reply))
    });
    let (code, out, err) = run(wrs_token(&daemon.socket).args(["print", "--min-ttl", "60"]));
    assert_eq!((code, out.as_str()), (0, "eyJ.fake-token\n"));
    assert_eq!(
        err,
        "wrs-token: warning: profile plm's tokens live 7.0s and are renewed with about 1.5s left, \
         less than the 60s asked for; this one has 6.9s left\n"
    );
    let (code, out, err) =
        run(wrs_token(&daemon.socket).args(["print", "--json", "--min-ttl", "60"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["min_ttl"], 60);
    assert_eq!(v["min_ttl_met"], false);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_busy_daemon_is_asked_again_then_reported_as_unreachable() {
    use std::sync::atomic::{AtomicU32, Ordering};
    // Busy for the first three requests, then a token.
    let asked = Arc::new(AtomicU32::new(0));
    let counter = asked.clone();
    let daemon = FakeDaemon::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) < 3 {
            Reply::Answer(Response::Error(ErrorResponse::new(
                ErrorKind::DaemonBusy,
                "the daemon is busy",
            )))
        } else {
            Reply::Answer(token(300))
        }
    });
    let (code, out, _) = run(wrs_token(&daemon.socket).arg("print"));
    assert_eq!((code, out.as_str()), (0, "eyJ.fake-token\n"));
    assert_eq!(asked.load(Ordering::SeqCst), 4);

    // Busy for good: given up after the retry window, exit 4.
    let daemon = FakeDaemon::start(|_| {
        Reply::Answer(Response::Error(ErrorResponse::new(
            ErrorKind::DaemonBusy,
            "the daemon is busy: 64 connections are being answered",
        )))
    });
    let started = Instant::now();
    let (code, _, err) = run(wrs_token(&daemon.socket).arg("print"));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("busy"), "{err}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[test]
fn header_and_print_header_write_the_authorization_line() {
    let daemon = FakeDaemon::start(|_| Reply::Answer(token(300)));
    let (code, out, _) = run(wrs_token(&daemon.socket).arg("header"));
    assert_eq!(
        (code, out.as_str()),
        (0, "Authorization: Bearer eyJ.fake-token\n")
    );
    let (code, out, _) = run(wrs_token(&daemon.socket).args(["print", "--header", "--no-newline"]));
    assert_eq!(
        (code, out.as_str()),
        (0, "Authorization: Bearer eyJ.fake-token")
    );
}

#[test]
fn print_json_has_token_type_and_expiry() {
    let daemon = FakeDaemon::start(|_| Reply::Answer(token(300)));
    let (code, out, _) = run(wrs_token(&daemon.socket).args(["print", "--json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["access_token"], "eyJ.fake-token");
    assert_eq!(v["token_type"], "Bearer");
    let expires_in = v["expires_in"].as_u64().unwrap();
    assert!((295..=300).contains(&expires_in), "{expires_in}");
    let at = v["expires_at"].as_str().unwrap();
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "{at}"
    );
}

#[test]
fn login_required_exits_3_with_the_login_command() {
    let daemon = FakeDaemon::start(|_| {
        Reply::Answer(Response::Error(ErrorResponse::new(
            ErrorKind::LoginRequired,
            "refresh token rejected (invalid_grant)",
        )))
    });
    let (code, out, err) = run(wrs_token(&daemon.socket).args(["print", "-p", "plm"]));
    assert_eq!(code, 3);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "wrs-token: login required: run `wrs-token login plm` (refresh token rejected (invalid_grant))\n"
    );
}

#[test]
fn authorization_server_error_exits_5_with_hint() {
    let daemon = FakeDaemon::start(|_| {
        Reply::Answer(Response::Error(
            ErrorResponse::new(ErrorKind::Network, "token endpoint unreachable")
                .with_hint("check HTTPS_PROXY"),
        ))
    });
    let (code, _, err) = run(wrs_token(&daemon.socket).arg("print"));
    assert_eq!(code, 5);
    assert_eq!(
        err,
        "wrs-token: token endpoint unreachable\nhint: check HTTPS_PROXY\n"
    );
}

#[test]
fn version_mismatch_exits_4_and_says_how_to_restart() {
    let daemon = FakeDaemon::start(|_| {
        let mut e = ErrorResponse::new(ErrorKind::VersionMismatch, "version mismatch");
        e.protocol_version = PROTOCOL_VERSION + 1;
        Reply::Answer(Response::Error(e))
    });
    let (code, _, err) = run(wrs_token(&daemon.socket).arg("print"));
    assert_eq!(code, 4);
    assert!(
        err.contains(&format!("protocol version {}", PROTOCOL_VERSION + 1))
            && err.contains(&format!("version {PROTOCOL_VERSION}")),
        "{err}"
    );
    assert!(
        err.contains("hint: run `wrs-token daemon stop`, then retry"),
        "{err}"
    );
}

#[test]
fn no_daemon_with_autostart_off_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let (code, out, err) = run(wrs_token(&socket).args(["print", "--no-autostart"]));
    assert_eq!((code, out.as_str()), (4, ""));
    assert!(err.starts_with("wrs-token: daemon not running"), "{err}");
    let (code, _, _) = run(wrs_token(&socket)
        .arg("print")
        .env(wrs_sys::env::NO_AUTOSTART, "1"));
    assert_eq!(code, 4);
    // "0" means autostart stays on: the (missing) launcher is tried.
    let (code, _, err) = run(wrs_token(&socket)
        .arg("print")
        .env(wrs_sys::env::NO_AUTOSTART, "0"));
    assert_eq!(code, 4);
    assert!(err.contains("cannot start the daemon"), "{err}");
}

#[test]
fn status_never_starts_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let marker = dir.path().join("started");
    let script = launcher(dir.path(), &format!("touch '{}'; exit 1", marker.display()));
    // `status` answers without a daemon, from the config file alone.
    let (code, out, _) = run(wrs_token(&socket)
        .arg("status")
        .env(wrs_sys::env::CONFIG, dir.path().join("none.toml"))
        .env(wrs_sys::env::TOKEND, &script));
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("daemon   not running"), "{out}");
    let (code, out, err) = run(wrs_token(&socket)
        .args(["daemon", "status"])
        .env(wrs_sys::env::TOKEND, &script));
    assert_eq!((code, out.as_str()), (4, ""));
    assert!(err.starts_with("wrs-token: daemon not running"), "{err}");
    assert!(!marker.exists(), "status ran the launcher");
}

#[test]
fn launcher_failure_is_reported_with_its_stderr_and_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let script = launcher(
        dir.path(),
        "echo 'wrs-tokend: cannot read config: line 3' >&2; exit 1",
    );
    let started = Instant::now();
    let (code, _, err) = run(wrs_token(&socket)
        .arg("print")
        .env(wrs_sys::env::TOKEND, &script));
    assert_eq!(code, 4);
    assert!(
        err.starts_with("wrs-token: the daemon failed to start")
            && err.contains("cannot read config: line 3"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn missing_daemon_binary_exits_4_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(wrs_token(&dir.path().join("agent.sock")).arg("print"));
    assert_eq!(code, 4);
    assert!(err.contains("/nonexistent/wrs-tokend not found"), "{err}");
    assert!(err.contains("hint: install wrs-tokend"), "{err}");
}

#[test]
fn hung_launcher_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let script = launcher(dir.path(), "exec sleep 30");
    let started = Instant::now();
    let (code, _, err) = run(wrs_token(&dir.path().join("agent.sock"))
        .arg("print")
        .env(wrs_sys::env::TOKEND, &script));
    assert_eq!(code, 4);
    assert!(err.contains("did not become ready"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Entry point for the tests that need the fake daemon in its own process:
/// serves on `$FAKE_DAEMON_SOCKET`. With `FAKE_DAEMON_MODE=mismatch` it
/// answers everything with a version mismatch until killed; otherwise it
/// serves one token request. Ignored (and a no-op) in normal runs.
#[test]
#[ignore = "run by the autostart and stop tests as a fake daemon process"]
fn fake_daemon_process() {
    let Some(socket) = std::env::var_os("FAKE_DAEMON_SOCKET") else {
        return;
    };
    let mismatch = std::env::var_os("FAKE_DAEMON_MODE").is_some_and(|m| m == "mismatch");
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let _server = serve(Path::new(&socket), Arc::default(), move |_| {
        if mismatch {
            let mut e = ErrorResponse::new(ErrorKind::VersionMismatch, "version mismatch");
            e.protocol_version = PROTOCOL_VERSION + 1;
            return Reply::Answer(Response::Error(e));
        }
        let _ = tx.lock().unwrap().send(());
        Reply::Answer(token(300))
    });
    // Bounded, so a broken test cannot leave it behind.
    let _ = rx.recv_timeout(Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn daemon_stop_terminates_a_daemon_of_another_protocol_version() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let mut daemon = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fake_daemon_process", "--ignored"])
        .env("FAKE_DAEMON_SOCKET", &socket)
        .env("FAKE_DAEMON_MODE", "mismatch")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || socket.exists()),
        "fake daemon did not bind"
    );
    // What the user sees first, and the fix it advertises:
    let (code, _, err) = run(wrs_token(&socket).arg("print"));
    assert_eq!(code, 4);
    assert!(err.contains("daemon stop"), "{err}");
    let (code, out, err) = run(wrs_token(&socket).args(["daemon", "stop"]));
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "daemon stopped\n", "")
    );
    assert_eq!(
        daemon.wait().unwrap().signal(),
        Some(15),
        "not ended by SIGTERM"
    );
}

/// A launcher that forks the fake daemon, waits until its socket exists,
/// then exits with `code` (0: started; 75: another daemon already runs).
fn forking_launcher(dir: &Path, code: i32) -> PathBuf {
    let test_exe = std::env::current_exe().unwrap();
    launcher(
        dir,
        &format!(
            r#"[ "$1" = "--socket" ] || {{ echo "bad args: $*" >&2; exit 9; }}
FAKE_DAEMON_SOCKET="$2" '{exe}' --exact fake_daemon_process --ignored --nocapture >/dev/null 2>&1 &
i=0
while [ ! -S "$2" ]; do i=$((i+1)); [ $i -gt 500 ] && exit 1; sleep 0.01; done
exit {code}"#,
            exe = test_exe.display()
        ),
    )
}

#[test]
fn autostart_runs_the_launcher_then_connects() {
    for code in [0, 75] {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let script = forking_launcher(dir.path(), code);
        let (status, out, err) = run(wrs_token(&socket)
            .arg("print")
            .env(wrs_sys::env::TOKEND, &script));
        assert_eq!(
            (status, out.as_str(), err.as_str()),
            (0, "eyJ.fake-token\n", ""),
            "launcher exit {code}"
        );
    }
}

#[test]
fn closed_stdout_is_not_an_error() {
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let daemon = FakeDaemon::start(move |_| {
        // Answer only once the reader is gone, so the write hits EPIPE.
        let _ = rx.lock().unwrap().recv_timeout(Duration::from_secs(10));
        Reply::Answer(token(300))
    });
    let mut child = wrs_token(&daemon.socket)
        .arg("print")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    tx.send(()).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
}

#[test]
fn hung_daemon_times_out_with_exit_4() {
    let daemon = FakeDaemon::start(|_| Reply::Hang);
    let started = Instant::now();
    let (code, _, err) = run(wrs_token(&daemon.socket).args(["daemon", "status"]));
    assert_eq!(code, 4);
    assert!(err.contains("did not answer within 5 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn status_shows_the_table_and_the_json_report() {
    let daemon = FakeDaemon::start(|_| Reply::Answer(Response::Status(report(Path::new("/s")))));
    let (code, out, _) = run(wrs_token(&daemon.socket).arg("status"));
    assert_eq!(code, 0);
    assert!(out.contains("pid 4242, version 9.8.7"), "{out}");
    assert!(
        out.contains("PROFILE") && out.contains("plm") && out.contains("active"),
        "{out}"
    );
    let (code, out, _) = run(wrs_token(&daemon.socket).args(["status", "--json"]));
    assert_eq!(code, 0);
    let back: StatusReport = serde_json::from_str(&out).unwrap();
    assert_eq!(back.pid, 4242);
    assert_eq!(back.profiles[0].name, "plm");
}

#[test]
fn daemon_status_and_start_report_a_running_daemon() {
    let daemon = FakeDaemon::start(|_| Reply::Answer(Response::Status(report(Path::new("/s")))));
    let (code, out, _) = run(wrs_token(&daemon.socket).args(["daemon", "status"]));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("running\npid       4242\nversion   9.8.7\n"),
        "{out}"
    );
    let (code, out, _) = run(wrs_token(&daemon.socket).args(["daemon", "start"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("daemon already running (pid 4242"), "{out}");
}

#[test]
fn daemon_stop_sends_shutdown_and_waits_for_the_socket_to_go() {
    let daemon = FakeDaemon::start(|r| match r {
        Request::Shutdown {} => Reply::AnswerAndStop(Response::ShuttingDown {}),
        _ => Reply::Answer(Response::Error(ErrorResponse::new(
            ErrorKind::BadRequest,
            "?",
        ))),
    });
    let (code, out, err) = run(wrs_token(&daemon.socket).args(["daemon", "stop"]));
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "daemon stopped\n", "")
    );
    assert_eq!(daemon.requests(), [Request::Shutdown {}]);
    let (code, out, _) = run(wrs_token(&daemon.socket).args(["daemon", "stop"]));
    assert_eq!((code, out.as_str()), (0, "daemon not running\n"));
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let (code, out, err) = run(wrs_token(&socket).args(["print", "--bogus"]));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("--bogus"), "{err}");
    let (code, out, _) = run(wrs_token(&socket).arg("--help"));
    assert_eq!(code, 0);
    assert!(
        out.contains("Exit codes:") && out.contains("3  login required"),
        "{out}"
    );
}
