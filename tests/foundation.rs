//! The token path between real processes: the real `wrs-token` client and
//! the real `wrs-tokend` daemon over a real Unix socket, each test in its
//! own sandbox (socket, runtime, config dirs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::process::Command;
use std::time::Duration;

use wrs_proto::{ErrorKind, Request, Response};
use wrs_testkit::impostor::OtherUser;
use wrs_testkit::{Sandbox, bin, describe, require, stderr, stdout, wait_until};

/// A daemon with the built-in test source: profile `test`, 300 s tokens.
const TEST_SOURCE: &[&str] = &["--test-source", "profile=test,lifetime=300"];

fn started() -> Sandbox {
    let sb = Sandbox::new();
    sb.start_daemon(TEST_SOURCE);
    sb
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn print_hands_out_the_daemons_token() {
    let sb = started();
    let out = sb.run(&["print", "-p", "test"]);
    assert!(out.status.success(), "{}", describe(&out));
    let token = stdout(&out);
    assert!(token.starts_with("wrs-test-test-"), "{token:?}");
    assert!(token.ends_with('\n'));
    // The cached token is served again: no second fetch.
    let again = sb.run(&["print", "-p", "test", "--no-newline"]);
    assert_eq!(stdout(&again), token.trim_end());
}

#[test]
fn header_and_print_header_give_the_authorization_line() {
    let sb = started();
    let token = stdout(&sb.run(&["print", "-p", "test"])).trim().to_owned();
    for args in [
        &["header", "-p", "test"][..],
        &["print", "--header", "-p", "test"][..],
    ] {
        let out = sb.run(args);
        assert!(out.status.success(), "{}", describe(&out));
        assert_eq!(stdout(&out), format!("Authorization: Bearer {token}\n"));
    }
}

#[test]
fn print_json_has_the_documented_fields() {
    let sb = started();
    let out = sb.run(&["print", "--json", "-p", "test"]);
    assert!(out.status.success(), "{}", describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["access_token"]
            .as_str()
            .unwrap()
            .starts_with("wrs-test-test-")
    );
    assert_eq!(v["token_type"], "Bearer");
    let expires_in = v["expires_in"].as_u64().unwrap();
    assert!((290..=300).contains(&expires_in), "{v}");
    let at = v["expires_at"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.contains('T'), "RFC 3339 UTC: {at}");
}

#[test]
fn profile_falls_back_to_the_environment() {
    let sb = started();
    let out = sb
        .client()
        .args(["print"])
        .env(wrs_sys::env::PROFILE, "nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr(&out).contains("nope"), "{}", describe(&out));
    let out = sb
        .client()
        .args(["print"])
        .env(wrs_sys::env::PROFILE, "test")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn status_reports_profiles_as_table_and_json() {
    let sb = started();
    sb.run(&["print", "-p", "test"]);
    let out = sb.run(&["status", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["protocol_version"], wrs_proto::PROTOCOL_VERSION);
    assert_eq!(v["profiles"][0]["name"], "test");
    assert_eq!(v["profiles"][0]["state"], "active");
    assert_eq!(v["pid"].as_u64().unwrap() as u32, sb.daemon_pid().unwrap());
    let table = stdout(&sb.run(&["status"]));
    assert!(
        table.contains("test") && table.contains("active"),
        "{table}"
    );
}

#[test]
fn autostart_brings_up_the_shipped_daemon_which_asks_for_a_profile() {
    let sb = Sandbox::new();
    assert!(!sb.daemon_answers());
    let out = sb.run(&["print"]);
    // The daemon the client started has no profile configured.
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("no profile configured"), "{err}");
    assert!(
        err.contains("wrs-token profile add"),
        "the hint names the fix: {err}"
    );
    assert!(sb.daemon_answers(), "the autostarted daemon keeps running");
    let status = sb.run(&["daemon", "status"]);
    assert!(status.status.success(), "{}", describe(&status));
}

#[test]
fn no_autostart_means_exit_4_and_no_daemon() {
    let sb = Sandbox::new();
    for cmd in [
        sb.client()
            .args(["--no-autostart", "print"])
            .output()
            .unwrap(),
        sb.client()
            .args(["print"])
            .env(wrs_sys::env::NO_AUTOSTART, "1")
            .output()
            .unwrap(),
    ] {
        assert_eq!(cmd.status.code(), Some(4), "{}", describe(&cmd));
    }
    // status answers without a daemon (exit 0) and never starts one.
    let status = sb.run(&["status"]);
    assert_eq!(status.status.code(), Some(0), "{}", describe(&status));
    assert!(
        stdout(&status).contains("daemon   not running"),
        "{}",
        describe(&status)
    );
    assert!(!sb.daemon_answers());
}

#[test]
fn a_request_with_another_protocol_version_gets_a_typed_error() {
    let sb = started();
    // Binary: a version-99 request whose body this daemon cannot parse.
    let mut s = sb.connect();
    let body = [99u8, 0xff, 0xff];
    s.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let reply = wrs_proto::frame::read_frame(&mut s).unwrap().unwrap();
    match wrs_proto::frame::decode_binary::<Response>(&reply).unwrap() {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::VersionMismatch);
            assert!(e.message.contains("99"), "{}", e.message);
            assert!(e.hint.unwrap_or_default().contains("wrs-token daemon stop"));
        }
        other => panic!("{other:?}"),
    }
    // JSON mode.
    let v = sb.request_json(r#"{"version":42,"request":{"status":{}}}"#);
    assert_eq!(v["error"]["kind"], "version_mismatch", "{v}");
}

#[test]
fn json_mode_serves_plugins_on_the_same_socket() {
    let sb = started();
    let v = sb.request_json(
        r#"{"version":3,"request":{"get_token":{"profile":"test","min_ttl_secs":60}}}"#,
    );
    assert!(
        v["token"]["access_token"]
            .as_str()
            .unwrap()
            .starts_with("wrs-test-test-"),
        "{v}"
    );
    assert_eq!(v["token"]["token_type"], "Bearer");
    let v = sb.request_json(r#"{"version":3,"request":{"status":{}}}"#);
    assert_eq!(v["status"]["profiles"][0]["name"], "test", "{v}");
}

#[test]
fn a_second_daemon_for_the_same_user_is_refused() {
    let sb = started();
    let out = sb.daemon().args(TEST_SOURCE).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", describe(&out));
    assert!(
        stderr(&out).contains("already running"),
        "{}",
        describe(&out)
    );
    // Also in the foreground.
    let out = sb
        .daemon()
        .arg("--foreground")
        .args(TEST_SOURCE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", describe(&out));
    assert!(
        sb.run(&["print", "-p", "test"]).status.success(),
        "the first one still serves"
    );
}

#[test]
fn a_stale_socket_is_replaced() {
    let sb = Sandbox::new();
    let dir = sb.socket.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // A socket file nobody listens on, as a killed daemon leaves behind.
    drop(UnixListener::bind(&sb.socket).unwrap());
    assert!(sb.socket.exists());
    assert!(UnixStream::connect(&sb.socket).is_err());
    sb.start_daemon(TEST_SOURCE);
    assert!(sb.run(&["print", "-p", "test"]).status.success());
}

#[test]
fn a_regular_file_at_the_socket_path_is_not_deleted() {
    let sb = Sandbox::new();
    let dir = sb.socket.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(&sb.socket, "not a socket").unwrap();
    let out = sb.daemon().args(TEST_SOURCE).output().unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    assert_eq!(std::fs::read_to_string(&sb.socket).unwrap(), "not a socket");
}

#[test]
fn daemon_stop_removes_the_socket() {
    let sb = started();
    let out = sb.run(&["daemon", "stop"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        wait_until(Duration::from_secs(5), || !sb.socket.exists()),
        "socket removed"
    );
    assert!(!sb.daemon_answers());
    let out = sb.run(&["daemon", "status"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let sb = started();
    let pid = sb.daemon_pid().unwrap();
    assert!(
        Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success()
    );
    assert!(
        wait_until(Duration::from_secs(5), || !sb.socket.exists()),
        "socket removed on SIGTERM"
    );
    // A new daemon can take over at once: the lock was released.
    sb.start_daemon(TEST_SOURCE);
}

#[test]
fn socket_and_directory_are_private_whatever_the_umask() {
    let sb = Sandbox::new();
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(bin("wrs-tokend"))
        .arg("--socket")
        .arg(&sb.socket)
        .args(TEST_SOURCE)
        .envs(sb.env())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(mode(sb.socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&sb.socket), 0o600);
}

#[test]
fn foreground_daemon_notifies_systemd_when_ready() {
    let sb = Sandbox::new();
    let notify_path = sb.root.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut child = sb
        .daemon()
        .arg("--foreground")
        .args(TEST_SOURCE)
        .env("NOTIFY_SOCKET", &notify_path)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY=1 within 10 s");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    // Ready means ready: the very next connect is served.
    assert!(
        sb.run(&["print", "-p", "test", "--no-autostart"])
            .status
            .success()
    );
    assert!(sb.run(&["daemon", "stop"]).status.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// Other users must not get tokens, even if someone loosened the socket's
/// permissions: the daemon checks the peer's uid on every connection.
#[test]
fn a_connection_from_another_uid_is_refused() {
    // Root, to act as the other user that scripts/setup-test-env creates.
    let other = require!(OtherUser::find());
    let sb = started();
    // Open every door the file system has, so only the uid check remains.
    for dir in sb.socket.ancestors().skip(1).take(3) {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&sb.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = other
        .command(bin("wrs-token").to_str().unwrap())
        .args(["--no-autostart", "print", "-p", "test"])
        .env(wrs_sys::env::SOCKET, &sb.socket)
        .env("HOME", "/")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        !stdout(&out).contains("wrs-test-"),
        "no token for another user: {}",
        describe(&out)
    );
    // The owner is still served.
    assert!(sb.run(&["print", "-p", "test"]).status.success());
}

#[test]
fn garbage_oversize_and_stalled_clients_do_not_stop_the_daemon() {
    let sb = Sandbox::new();
    sb.start_daemon(&[
        "--test-source",
        "profile=test,lifetime=300",
        "--io-timeout-ms",
        "300",
    ]);
    // A client that stalls mid-frame holds its connection, not the daemon.
    let mut stalled = sb.connect();
    stalled.write_all(&[0, 0, 0, 50, 1, 2]).unwrap();
    // Random bytes.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..50 {
        let mut s = sb.connect();
        let bytes: Vec<u8> = (0..64)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    // An oversize length prefix gets an error answer, not an allocation.
    let mut s = sb.connect();
    s.write_all(&u32::MAX.to_be_bytes()).unwrap();
    if let Ok(Some(body)) = wrs_proto::frame::read_frame(&mut s) {
        let reply: Response = wrs_proto::frame::decode_binary(&body).unwrap();
        assert!(
            matches!(reply, Response::Error(ref e) if e.kind == ErrorKind::BadRequest),
            "{reply:?}"
        );
    }
    // A JSON line that never ends is cut off at the cap.
    let mut s = sb.connect();
    let _ = s.write_all(&vec![b'{'; 200 * 1024]);
    // Other clients are served meanwhile.
    assert!(sb.run(&["print", "-p", "test"]).status.success());
    match sb.request(Request::Status {}) {
        Response::Status(st) => assert_eq!(st.profiles.len(), 1),
        other => panic!("{other:?}"),
    }
    // The stalled client is dropped after the io timeout.
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let n = stalled.read_to_end(&mut buf);
    assert!(n.is_ok(), "the daemon closed the stalled connection: {n:?}");
    assert!(sb.daemon_answers());
}

/// systemd socket activation, with systemd's own activator: the first
/// client connect starts the daemon on the inherited socket.
#[test]
fn socket_activation_serves_on_the_inherited_socket() {
    let activator = std::path::Path::new("/usr/bin/systemd-socket-activate");
    assert!(
        activator.exists(),
        "systemd-socket-activate missing: run scripts/setup-test-env"
    );
    let sb = Sandbox::new();
    let dir = sb.socket.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut activate = Command::new(activator)
        .arg("-l")
        .arg(&sb.socket)
        .arg(bin("wrs-tokend"))
        .arg("--foreground")
        .arg("--socket")
        .arg(&sb.socket)
        .args(TEST_SOURCE)
        .envs(sb.env())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || sb.socket.exists()),
        "activator listening"
    );
    // Nothing runs yet; this connect starts the daemon, which must answer it.
    let out = sb.run(&["print", "-p", "test", "--no-autostart"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout(&out).starts_with("wrs-test-test-"));
    assert!(sb.run(&["daemon", "stop"]).status.success());
    let status = activate.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        sb.socket.exists(),
        "a socket systemd passed in is not the daemon's to remove"
    );
}
