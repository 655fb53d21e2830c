//! `wrs-token doctor` with the real client, daemon and `wrs-mock` (plain
//! HTTP, and HTTPS with a CA of its own), in a sandbox. The network checks
//! come from `wrs-tokend probe` (crates/wrs-tokend/tests/probe.rs tests it
//! alone); here, that doctor shows them.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use wrs_testkit::{Mock, Sandbox, describe, stdout};

/// Variables that would change what the network checks see.
const HOST_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    wrs_sys::env::CURL,
];

fn doctor(sb: &Sandbox, args: &[&str]) -> Output {
    let mut cmd = sb.client();
    for var in HOST_VARS {
        cmd.env_remove(var);
    }
    cmd.arg("doctor").args(args).output().unwrap()
}

fn add_profile(sb: &Sandbox, name: &str, issuer: &str, extra: &[&str]) {
    let mut args = vec![
        "profile",
        "add",
        name,
        "--issuer",
        issuer,
        "--client-id",
        "wrs-cli",
        "--auth",
        "none",
        "--scope",
        "openid",
        "--scope",
        "offline_access",
        // Not the keyring: this test is about doctor, not the Secret Service.
        "--store",
        "file",
        // Broken set-ups are added on purpose: `profile add`'s own checks
        // (the same probe) would refuse them.
        "--no-check",
    ];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    assert!(out.status.success(), "{}", describe(&out));
}

/// The checklist's status lines (`STATUS  check: detail`), without the
/// `fix:` lines and the summary.
fn status_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            ["ok    ", "warn  ", "FAIL  "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect()
}

/// The status of the line for `check` (check names hold ": " themselves,
/// e.g. `plm: tls`, so the line is matched by its whole check name).
fn status_of(text: &str, check: &str) -> String {
    status_lines(text)
        .into_iter()
        .find(|l| l[6..].starts_with(&format!("{check}: ")))
        .map(|l| l[..4].trim().to_owned())
        .unwrap_or_else(|| panic!("no {check:?} line in\n{text}"))
}

#[test]
fn a_working_profile_against_the_mock_passes_and_doctor_starts_no_daemon() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, "plm", &mock.ready.issuer, &[]);
    let out = doctor(&sb, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    for check in [
        "config",
        "profile plm",
        "plm: secret store",
        "plm: scopes",
        "plm: proxy",
        "plm: tls",
        "plm: discovery",
        "plm: issuer",
        "plm: token endpoint",
        "plm: client auth",
        "plm: clock",
    ] {
        assert_eq!(status_of(&text, check), "ok", "{check}\n{text}");
    }
    // Not running is reported, and left so: doctor only looks.
    assert_eq!(status_of(&text, "daemon"), "warn", "{text}");
    assert!(text.contains("not running"), "{text}");
    assert!(!sb.daemon_answers(), "doctor started the daemon");

    // With the daemon up: its version and the session are checked too.
    sb.start_daemon(&[]);
    let out = doctor(&sb, &["plm"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    assert_eq!(status_of(&text, "daemon"), "ok", "{text}");
    let v = wrs_proto::PROTOCOL_VERSION;
    assert!(
        text.contains(&format!("protocol {v} (ours: {v})")),
        "{text}"
    );
    assert_eq!(status_of(&text, "socket"), "ok", "{text}");
    assert_eq!(status_of(&text, "runtime dir"), "ok", "{text}");
    assert_eq!(
        status_of(&text, "plm: session"),
        "warn",
        "not logged in\n{text}"
    );
}

#[test]
fn without_wrs_tokend_the_network_checks_are_skipped_with_the_fix() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, "plm", &mock.ready.issuer, &[]);
    let missing = sb.root.path().join("no/wrs-tokend");
    let mut cmd = sb.client();
    for var in HOST_VARS {
        cmd.env_remove(var);
    }
    let out = cmd
        .env(wrs_sys::env::TOKEND, &missing)
        .arg("doctor")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(status_of(&text, "network checks"), "warn", "{text}");
    assert!(
        text.contains(&format!("{} not found", missing.display())),
        "{text}"
    );
    assert!(text.contains("fix: install wrs-tokend"), "{text}");
    // The local checks still ran; no network line pretends otherwise.
    assert_eq!(status_of(&text, "plm: scopes"), "ok", "{text}");
    assert!(!text.contains("plm: tls"), "{text}");
}

#[test]
fn a_stopped_daemon_fails_when_autostart_is_off() {
    let sb = Sandbox::new();
    let out = doctor(&sb, &["--no-autostart"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert_eq!(status_of(&text, "daemon"), "FAIL", "{text}");
    assert!(
        text.contains("fix: start it: `wrs-token daemon start`"),
        "{text}"
    );
}

#[test]
fn a_typo_in_the_config_fails_naming_the_line_and_key() {
    let sb = Sandbox::new();
    let dir = sb.root.path().join("config/wrs-token");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[profiles.plm]\nissuer = \"https://sso.example.com\"\nclientid = \"wrs-cli\"\n",
    )
    .unwrap();
    let out = doctor(&sb, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert_eq!(status_of(&text, "config"), "FAIL", "{text}");
    assert!(text.contains("config.toml:3:"), "line 3 named:\n{text}");
    assert!(
        text.contains("unknown field `clientid`"),
        "key named:\n{text}"
    );
    assert!(text.contains("fix: edit "), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 check failed"),
        "{}",
        describe(&out)
    );
}

#[test]
fn an_untrusted_ca_is_named_in_plain_words_and_the_ca_file_fixes_it() {
    let sb = Sandbox::new();
    let ca = sb.root.path().join("mock-ca.pem");
    let mock = Mock::start_with(&["--tls", "--ca-out", ca.to_str().unwrap()]);
    let issuer = mock.ready.issuer.clone();
    assert!(issuer.starts_with("https://"), "{issuer}");

    add_profile(&sb, "plm", &issuer, &[]);
    let out = doctor(&sb, &["plm"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert_eq!(status_of(&text, "plm: tls"), "FAIL", "{text}");
    assert!(
        text.contains("the server's certificate is signed by a CA this machine does not trust"),
        "{text}"
    );
    assert!(
        text.contains("`wrs-token profile add plm … --ca-file /path/to/corp-ca.pem --force`")
            && text.contains("ca_file = \"/path/to/corp-ca.pem\""),
        "{text}"
    );
    // One failure, one line: discovery is not reported failing as well.
    assert_eq!(
        status_lines(&text)
            .iter()
            .filter(|l| l.starts_with("FAIL"))
            .count(),
        1,
        "{text}"
    );

    // A ca_file with another CA (another mock's) is not enough, and says so.
    let other_ca = sb.root.path().join("other-ca.pem");
    let _other = Mock::start_with(&["--tls", "--ca-out", other_ca.to_str().unwrap()]);
    add_profile(
        &sb,
        "plm",
        &issuer,
        &["--ca-file", other_ca.to_str().unwrap(), "--force"],
    );
    let out = doctor(&sb, &["plm"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert_eq!(status_of(&text, "plm: ca_file"), "ok", "{text}");
    assert_eq!(status_of(&text, "plm: tls"), "FAIL", "{text}");
    assert!(
        text.contains(&format!(
            "and ca_file {} does not hold it either",
            other_ca.display()
        )),
        "{text}"
    );

    add_profile(
        &sb,
        "plm",
        &issuer,
        &["--ca-file", ca.to_str().unwrap(), "--force"],
    );
    let out = doctor(&sb, &["plm"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    assert_eq!(status_of(&text, "plm: tls"), "ok", "{text}");
    assert!(text.contains("verified with ca_file"), "{text}");
    assert_eq!(status_of(&text, "plm: discovery"), "ok", "{text}");
    assert_eq!(status_of(&text, "plm: token endpoint"), "ok", "{text}");
}

#[test]
fn json_output_parses_and_carries_the_same_statuses() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, "plm", &mock.ready.issuer, &[]);
    // A second, broken profile: an issuer nobody answers on.
    add_profile(&sb, "gone", "http://127.0.0.1:9/", &[]);
    let text_out = doctor(&sb, &[]);
    let json_out = doctor(&sb, &["--json"]);
    assert_eq!(text_out.status.code(), Some(1), "{}", describe(&text_out));
    assert_eq!(json_out.status.code(), Some(1), "{}", describe(&json_out));
    let json: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    let items = json.as_array().unwrap();
    let from_json: Vec<(String, String)> = items
        .iter()
        .map(|c| {
            let obj = c.as_object().unwrap();
            let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["check", "detail", "fix", "status"]);
            let status = match c["status"].as_str().unwrap() {
                "ok" => "ok",
                "warn" => "warn",
                "fail" => "FAIL",
                other => panic!("status {other}"),
            };
            assert_eq!(c["fix"].is_null(), status == "ok", "{c}");
            (status.to_owned(), c["check"].as_str().unwrap().to_owned())
        })
        .collect();
    let text = stdout(&text_out);
    let from_text = status_lines(&text);
    assert_eq!(from_json.len(), from_text.len(), "{text}");
    for ((status, check), line) in from_json.iter().zip(&from_text) {
        assert!(
            line.starts_with(&format!("{status:<4}  {check}: ")),
            "{line:?} vs {status} {check}"
        );
    }
    assert!(
        from_json.contains(&("FAIL".into(), "gone: discovery".into())),
        "{from_json:?}"
    );
}

/// A rotated or mistyped client secret: doctor's client check (the
/// daemon's own token request with the stored secret) fails and says how
/// to store the right one.
#[test]
fn a_wrong_client_secret_fails_the_client_check() {
    let sb = Sandbox::new();
    let mock = Mock::start();
    let out = sb.run_with_stdin(
        &[
            "profile",
            "add",
            "plm",
            "--issuer",
            &mock.ready.issuer,
            "--client-id",
            "wrs-confidential",
            "--client-secret-stdin",
            "--store",
            "file",
            "--no-check",
        ],
        "not-the-secret\n",
    );
    assert!(out.status.success(), "{}", describe(&out));
    let out = doctor(&sb, &["plm"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert_eq!(status_of(&text, "plm: client auth"), "FAIL", "{text}");
    assert!(text.contains("wrs-token profile set-secret plm"), "{text}");
}
