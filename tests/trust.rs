//! The client checks who answers before it sends a byte.
//!
//! Regression tests for "the client trusts whoever listens": without
//! `XDG_RUNTIME_DIR` the socket is under the shared temp dir, and another
//! local user who created `wrs-token-<uid>/` first, with a listener in it,
//! received a refresh token from `login --refresh-token-stdin`, a client
//! secret from `profile add --client-secret-stdin`, and made `print` return
//! its token. Every command must now exit 4 naming the path, and the
//! listener must receive nothing.
//!
//! These tests run as root and play the other user `wrs-e2e-other`
//! (scripts/setup-test-env) through setpriv; a `TMPDIR` of their own stands
//! in for `/tmp`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use wrs_testkit::impostor::{Impostor, OtherUser, Received, SharedTmp};
use wrs_testkit::{Sandbox, bin, describe, stderr, stdout};

/// The commands that handed something to, or took something from, whoever
/// listened: (arguments, stdin).
const LEAKY: &[(&[&str], Option<&str>)] = &[
    (&["print", "-p", "plm"], None),
    (&["exec", "-p", "plm", "--", "true"], None),
    (
        &["login", "plm", "--refresh-token-stdin"],
        Some("rt-that-must-not-leak\n"),
    ),
    (&["login", "plm", "--no-browser", "--timeout", "5"], None),
    (
        &[
            "profile",
            "add",
            "plm",
            "--issuer",
            "https://sso.example.com",
            "--client-id",
            "wrs-cli",
            "--client-secret-stdin",
            // No server to check against: the point is what the client
            // sends to an impostor's socket.
            "--no-check",
        ],
        Some("client-secret-that-must-not-leak\n"),
    ),
    (&["status"], None),
    (&["daemon", "start"], None),
];

/// Runs `cmd` with `input` on stdin (or none).
fn run(mut cmd: Command, input: Option<&str>) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn wrs-token");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(input) = input {
        // The client may refuse before it reads stdin: a broken pipe is fine.
        let _ = stdin.write_all(input.as_bytes());
    }
    drop(stdin);
    child.wait_with_output().expect("wait for wrs-token")
}

/// A client of `sb` with neither `XDG_RUNTIME_DIR` nor `WRS_TOKEN_SOCKET`
/// (cron, ssh without pam_systemd): it looks under `tmp`.
fn fallback_client(sb: &Sandbox, tmp: &SharedTmp) -> Command {
    let mut cmd = sb.client();
    cmd.env_remove(wrs_sys::env::SOCKET)
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", tmp.path());
    cmd
}

/// Every command of [`LEAKY`], run by `client()`, exits 4 with a message
/// naming `path` and `what`, and prints nothing on stdout.
fn assert_every_command_refuses(client: impl Fn() -> Command, path: &Path, what: &str) {
    for (args, input) in LEAKY {
        let mut cmd = client();
        cmd.args(*args);
        let out = run(cmd, *input);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", describe(&out));
        assert!(
            err.contains(&path.display().to_string()) && err.contains(what),
            "{args:?}: the error must name {} and say {what:?}: {}",
            path.display(),
            describe(&out)
        );
        assert!(err.contains("nothing was sent"), "{args:?}: {err}");
        assert!(err.contains("hint: "), "{args:?}: no hint: {err}");
        assert!(
            stdout(&out).is_empty(),
            "{args:?} printed something: {}",
            describe(&out)
        );
    }
}

/// `profile add` refused: the config file has no trace of the profile.
fn assert_no_profile_was_added(client: Command) {
    let mut cmd = client;
    cmd.args(["profile", "list", "--json"]);
    let out = run(cmd, None);
    assert!(
        !stdout(&out).contains("\"plm\""),
        "profile add left plm behind: {}",
        describe(&out)
    );
}

#[test]
fn a_directory_another_user_created_under_the_shared_tmp_is_refused_before_connecting() {
    let other = OtherUser::get();
    let sb = Sandbox::new();
    let tmp = SharedTmp::new();
    let endpoint = tmp.fallback_endpoint();
    // The squatter of the issue: our wrs-token-<uid>/, theirs, 0777.
    other.mkdir(&endpoint.dir, 0o777);
    let impostor = Impostor::listen(&other, &endpoint.socket);

    assert_every_command_refuses(
        || fallback_client(&sb, &tmp),
        &endpoint.dir,
        &format!("belongs to uid {}", other.uid),
    );

    assert_eq!(
        impostor.finish(),
        Received {
            connections: 0,
            bytes: 0
        },
        "the directory check comes before any connection"
    );
    assert_no_profile_was_added(fallback_client(&sb, &tmp));
    // Autostart did not start a daemon into their directory either.
    assert!(!endpoint.lock.exists(), "a daemon was started there");
}

#[test]
fn a_world_writable_directory_of_ours_is_refused_before_connecting() {
    let other = OtherUser::get();
    let sb = Sandbox::new();
    let tmp = SharedTmp::new();
    let endpoint = tmp.fallback_endpoint();
    // Ours, but anyone may put a socket in it, and someone did.
    std::fs::create_dir(&endpoint.dir).unwrap();
    std::fs::set_permissions(&endpoint.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let impostor = Impostor::listen(&other, &endpoint.socket);

    assert_every_command_refuses(|| fallback_client(&sb, &tmp), &endpoint.dir, "mode 0777");

    assert_eq!(
        impostor.finish(),
        Received {
            connections: 0,
            bytes: 0
        }
    );
    assert_no_profile_was_added(fallback_client(&sb, &tmp));
    assert!(!endpoint.lock.exists(), "a daemon was started there");
}

#[test]
fn a_listener_of_another_user_in_our_private_directory_gets_a_connection_but_no_byte() {
    let other = OtherUser::get();
    let sb = Sandbox::new();
    let tmp = SharedTmp::new();
    // Our private socket directory, as the daemon makes it.
    let ours = sb.socket.parent().unwrap();
    std::fs::create_dir_all(ours).unwrap();
    std::fs::set_permissions(ours, std::fs::Permissions::from_mode(0o700)).unwrap();
    // The other user listens in a directory of its own; root moves the
    // socket into ours. The kernel still reports the listener's uid.
    let theirs = tmp.path().join("theirs");
    other.mkdir(&theirs, 0o700);
    let mut impostor = Impostor::listen(&other, &theirs.join("agent.sock"));
    impostor.move_to(&sb.socket);

    assert_every_command_refuses(
        || sb.client(),
        &sb.socket,
        &format!("runs as uid {}", other.uid),
    );

    let received = impostor.finish();
    assert_eq!(received.bytes, 0, "{received:?}");
    assert!(
        received.connections > 0,
        "the peer check must be what refused (after connecting): {received:?}"
    );
    assert_no_profile_was_added(sb.client());
}

/// Stops the daemon a test started under a fallback directory, whatever
/// happens in the test (the sandbox only knows its own socket).
struct DaemonGuard<'a> {
    sb: &'a Sandbox,
    tmp: &'a SharedTmp,
}

impl Drop for DaemonGuard<'_> {
    fn drop(&mut self) {
        let mut stop = fallback_client(self.sb, self.tmp);
        stop.args(["daemon", "stop"]);
        let _ = run(stop, None);
        let lock = self.tmp.fallback_endpoint().lock;
        if let Some(pid) = std::fs::read_to_string(lock)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}

#[test]
fn our_own_daemon_still_answers_under_the_shared_tmp_and_in_the_runtime_dir() {
    let sb = Sandbox::new();
    let tmp = SharedTmp::new();
    // The fallback path: the daemon creates wrs-token-<uid>/ 0700 itself.
    let mut daemon = Command::new(bin("wrs-tokend"));
    daemon
        .envs(sb.env())
        .env_remove(wrs_sys::env::SOCKET)
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", tmp.path())
        .args(["--test-source", "profile=plm,lifetime=300"]);
    let _guard = DaemonGuard { sb: &sb, tmp: &tmp };
    let out = run(daemon, None);
    assert!(out.status.success(), "wrs-tokend: {}", describe(&out));
    let endpoint = tmp.fallback_endpoint();
    assert!(endpoint.socket.exists(), "{}", endpoint.socket.display());

    let mut print = fallback_client(&sb, &tmp);
    print.args(["print", "-p", "plm"]);
    let out = run(print, None);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).starts_with("wrs-test-plm-"),
        "{}",
        describe(&out)
    );

    // And the usual place, through WRS_TOKEN_SOCKET.
    sb.start_daemon(&["--test-source", "profile=plm,lifetime=300"]);
    let out = sb.run(&["print", "-p", "plm"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).starts_with("wrs-test-plm-"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_huge_profile_name_is_a_usage_error_before_any_connection() {
    let other = OtherUser::get();
    let sb = Sandbox::new();
    // Something listens: the name must be refused before it is reached.
    let tmp = SharedTmp::new();
    let ours = sb.socket.parent().unwrap();
    std::fs::create_dir_all(ours).unwrap();
    std::fs::set_permissions(ours, std::fs::Permissions::from_mode(0o700)).unwrap();
    let theirs = tmp.path().join("theirs");
    other.mkdir(&theirs, 0o700);
    let mut impostor = Impostor::listen(&other, &theirs.join("agent.sock"));
    impostor.move_to(&sb.socket);

    let huge = "x".repeat(100_000);
    let cases: [Vec<&str>; 6] = [
        vec!["print", "-p", &huge],
        vec!["login", &huge],
        vec!["logout", &huge],
        vec!["profile", "show", &huge],
        vec!["profile", "remove", &huge],
        vec!["exec", "-p", &huge, "--", "true"],
    ];
    for args in cases {
        let out = sb.run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{:?}: {}",
            args[0],
            describe(&out)
        );
        let err = stderr(&out);
        assert!(err.contains("invalid profile name"), "{err:.300}");
        assert!(err.len() < 1000, "the name is not repeated: {err:.300}");
    }
    let out = sb
        .client()
        .env(wrs_sys::env::PROFILE, &huge)
        .arg("print")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));

    assert_eq!(
        impostor.finish(),
        Received {
            connections: 0,
            bytes: 0
        }
    );
}
