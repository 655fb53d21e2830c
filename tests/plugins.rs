//! The reference plugin clients under examples/ (Python and Node, no
//! third-party packages) against the real daemon, in JSON mode, and
//! against another user's listener, which they must refuse before sending
//! anything (as `wrs-token` does, tests/trust.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use wrs_testkit::impostor::{Impostor, OtherUser, Received, SharedTmp};
use wrs_testkit::{Sandbox, describe, stderr, stdout};

fn example(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(rel)
}

fn started() -> Sandbox {
    let sb = Sandbox::new();
    sb.start_daemon(&["--test-source", "profile=plm,lifetime=300"]);
    sb
}

fn example_command(sb: &Sandbox, interpreter: &str, script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(interpreter);
    cmd.arg(example(script)).args(args).envs(sb.env());
    cmd
}

fn output(mut cmd: Command, interpreter: &str) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("{interpreter} is needed for this test (scripts/setup-test-env): {e}")
    })
}

fn run_example(
    sb: &Sandbox,
    interpreter: &str,
    script: &str,
    args: &[&str],
) -> std::process::Output {
    output(example_command(sb, interpreter, script, args), interpreter)
}

/// The example client refuses another user's listener: in a directory
/// that user created under the shared temp dir, and (moved there by root)
/// in our own private directory. `peer_problem` is how the client words the
/// second case; `connects` whether the client connects before refusing
/// (to ask for the listener's uid). Exit 4, the path named, and not a byte
/// received.
fn check_client_refuses_other_users(
    interpreter: &str,
    script: &str,
    peer_problem: &str,
    connects: bool,
) {
    let other = OtherUser::get();
    let sb = Sandbox::new();
    let tmp = SharedTmp::new();

    // No XDG_RUNTIME_DIR: $TMPDIR/wrs-token-<uid>/, created first by them.
    let endpoint = tmp.fallback_endpoint();
    other.mkdir(&endpoint.dir, 0o777);
    let impostor = Impostor::listen(&other, &endpoint.socket);
    let mut cmd = example_command(&sb, interpreter, script, &["plm"]);
    cmd.env_remove(wrs_sys::env::SOCKET)
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", tmp.path());
    let out = output(cmd, interpreter);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&endpoint.dir.display().to_string())
            && err.contains(&format!("belongs to uid {}", other.uid)),
        "{}",
        describe(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", describe(&out));
    assert_eq!(
        impostor.finish(),
        Received {
            connections: 0,
            bytes: 0
        }
    );

    // Our private directory, their listener.
    let ours = sb.socket.parent().unwrap();
    std::fs::create_dir_all(ours).unwrap();
    std::fs::set_permissions(ours, std::fs::Permissions::from_mode(0o700)).unwrap();
    let theirs = tmp.path().join("theirs");
    other.mkdir(&theirs, 0o700);
    let mut impostor = Impostor::listen(&other, &theirs.join("agent.sock"));
    impostor.move_to(&sb.socket);
    let out = run_example(&sb, interpreter, script, &["plm"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&sb.socket.display().to_string())
            && err.contains(&format!("{peer_problem} {}", other.uid)),
        "{}",
        describe(&out)
    );
    let received = impostor.finish();
    assert_eq!(received.bytes, 0, "{received:?}");
    assert_eq!(received.connections > 0, connects, "{received:?}");
}

fn check_client(interpreter: &str, script: &str) {
    let sb = started();
    let from_cli = stdout(&sb.run(&["print", "-p", "plm"])).trim().to_owned();
    assert!(from_cli.starts_with("wrs-test-plm-"), "{from_cli}");

    // The same cached token as the Rust client's.
    let out = run_example(&sb, interpreter, script, &["plm"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(stdout(&out).trim(), from_cli);

    let out = run_example(&sb, interpreter, script, &["--status"]);
    assert!(out.status.success(), "{}", describe(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["profiles"][0]["name"], "plm", "{status}");

    // A typed error reaches the plugin with its kind.
    let out = run_example(&sb, interpreter, script, &["nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("unknown_profile"),
        "{}",
        describe(&out)
    );

    // No daemon: a clear "unreachable" with exit 4.
    drop(sb);
    let empty = Sandbox::new();
    let out = run_example(&empty, interpreter, script, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
}

#[test]
fn python_reference_client_gets_tokens_status_and_typed_errors() {
    check_client("python3", "python/wrs_token_client.py");
}

#[test]
fn node_reference_client_gets_tokens_status_and_typed_errors() {
    check_client("node", "node/wrs-token-client.mjs");
}

#[test]
fn python_reference_client_refuses_another_users_directory_and_listener() {
    // Python asks the kernel for the listener's uid (SO_PEERCRED).
    check_client_refuses_other_users(
        "python3",
        "python/wrs_token_client.py",
        "the process listening on it runs as uid",
        true,
    );
}

#[test]
fn node_reference_client_refuses_another_users_directory_and_socket() {
    // Node has no peer credentials: it refuses the socket file's owner.
    check_client_refuses_other_users(
        "node",
        "node/wrs-token-client.mjs",
        "it belongs to uid",
        false,
    );
}
