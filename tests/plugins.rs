//! The reference plugin clients under examples/ (Python and Node, no
//! third-party packages) against the real daemon, in JSON mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use wrs_e2e::{Sandbox, describe, stderr, stdout};

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

fn run_example(
    sb: &Sandbox,
    interpreter: &str,
    script: &str,
    args: &[&str],
) -> std::process::Output {
    Command::new(interpreter)
        .arg(example(script))
        .args(args)
        .envs(sb.env())
        .output()
        .unwrap_or_else(|e| {
            panic!("{interpreter} is needed for this test (scripts/setup-test-env): {e}")
        })
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
