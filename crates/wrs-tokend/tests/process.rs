//! The real `wrs-tokend` binary: background start with its ready signal,
//! exit 75 for a second start, permissions under umask 000, signals.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use wrs_proto::{ErrorKind, Request, Response};
use wrs_testkit::daemon::{StopOnDrop, call};
use wrs_testkit::{require, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_wrs-tokend");

/// How long another process gets to change its state.
const TEN_SECS: Duration = Duration::from_secs(10);

fn start_background(socket: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--socket")
        .arg(socket)
        .args(extra)
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn background_start_is_ready_on_exit_and_a_second_start_exits_75() {
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("rt").join("agent.sock");
    // `output()` also proves the daemon does not keep our stdout/stderr
    // pipes open: it would hang here otherwise.
    let out = start_background(&socket, &["--test-source", "profile=ci,lifetime=600"]);
    let _stopper = StopOnDrop(socket.clone());
    assert!(out.status.success(), "{out:?}");

    // Exit 0 means ready: the very first connect must work, no retry.
    match call(
        &socket,
        Request::GetToken {
            profile: None,
            min_ttl_secs: Some(60),
            env_min_ttl_secs: None,
        },
    ) {
        Response::Token(t) => assert_eq!(t.access_token.expose(), "wrs-test-ci-1"),
        other => panic!("{other:?}"),
    }
    let pid = match call(&socket, Request::Status {}) {
        Response::Status(s) => s.pid,
        other => panic!("{other:?}"),
    };
    assert_ne!(pid, std::process::id());

    let second = start_background(&socket, &[]);
    assert_eq!(second.status.code(), Some(75), "{second:?}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!(
            "wrs-tokend is already running (pid {pid}, socket {})",
            socket.display()
        )),
        "{stderr}"
    );

    assert_eq!(
        call(&socket, Request::Shutdown {}),
        Response::ShuttingDown {}
    );
    let lock = PathBuf::from(format!("{}.lock", socket.display()));
    assert!(
        wait_until(TEN_SECS, || !socket.exists() && !lock.exists()),
        "the socket and the lock were not removed"
    );
}

/// Where journald listens: with it, a background daemon logs there instead.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

#[test]
fn without_a_journal_the_background_daemon_logs_to_a_private_file_beside_its_socket() {
    require!(
        !Path::new(JOURNAL_SOCKET).exists(),
        "a host without a journal ({JOURNAL_SOCKET} exists: the daemon logs there)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("rt").join("agent.sock");
    let out = start_background(&socket, &["--test-source", "profile=ci,lifetime=600"]);
    let _stopper = StopOnDrop(socket.clone());
    assert!(out.status.success(), "{out:?}");
    let log = socket.with_file_name("wrs-tokend.log");
    assert_eq!(mode(&log), 0o600);
}

#[test]
fn background_start_under_umask_000_keeps_dir_and_socket_private() {
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("fresh").join("agent.sock");
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000; exec "$0" --socket "$1""#)
        .arg(BIN)
        .arg(&socket)
        .env_remove("LISTEN_FDS")
        .output()
        .unwrap();
    let _stopper = StopOnDrop(socket.clone());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&socket), 0o600);

    // The shipped daemon without profiles still answers, with a typed error.
    match call(
        &socket,
        Request::GetToken {
            profile: None,
            min_ttl_secs: Some(0),
            env_min_ttl_secs: None,
        },
    ) {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::NoProfile);
            assert_eq!(e.message, "no profile configured");
        }
        other => panic!("{other:?}"),
    }
    match call(&socket, Request::Status {}) {
        Response::Status(s) => assert!(s.profiles.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_directory_open_to_others_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = start_background(&dir.join("agent.sock"), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("0755") && stderr.contains("0700"),
        "{stderr}"
    );
}

#[test]
fn the_foreground_daemon_stops_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("rt").join("agent.sock");
    let mut child = Command::new(BIN)
        .arg("--foreground")
        .arg("--socket")
        .arg(&socket)
        .env_remove("LISTEN_FDS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _stopper = StopOnDrop(socket.clone());
    assert!(
        wait_until(TEN_SECS, || UnixStream::connect(&socket).is_ok()),
        "the daemon never listened"
    );
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let mut status = None;
    assert!(
        wait_until(TEN_SECS, || {
            status = child.try_wait().unwrap();
            status.is_some()
        }),
        "daemon did not stop"
    );
    assert!(status.unwrap().success(), "{status:?}");
    assert!(!socket.exists());
}
