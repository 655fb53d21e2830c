//! The LaunchAgent plist as `wrs-token service install` writes it on macOS,
//! parsed for real by Python's `plistlib` (our machines have no macOS to
//! run launchd on), and the shipped template too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use wrs_token::cmd::service::units;

/// Parses `plist` with plistlib and prints the keys we rely on as JSON.
fn parse_with_plistlib(plist: &str) -> serde_json::Value {
    const SCRIPT: &str = "import json, plistlib, sys\n\
d = plistlib.loads(sys.stdin.buffer.read())\n\
print(json.dumps(d))\n";
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed to parse the plist");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(plist.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "plistlib rejects the plist: {}\n{plist}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_agent_keys(d: &serde_json::Value, daemon: &str) {
    assert_eq!(d["Label"], "com.wrs-token.wrs-tokend");
    assert_eq!(d["Label"], units::LAUNCHD_LABEL);
    assert_eq!(
        d["ProgramArguments"],
        serde_json::json!([daemon, "--foreground"])
    );
    assert_eq!(d["RunAtLoad"], true);
    // Restarted when it crashes, not after a clean `daemon stop`.
    assert_eq!(d["KeepAlive"], serde_json::json!({"SuccessfulExit": false}));
}

#[test]
fn rendered_launch_agent_is_a_valid_plist_with_real_paths() {
    let plist = units::launchd_plist(
        Path::new("/Users/ann smith/.cargo/bin/wrs-tokend"),
        Path::new("/Users/ann smith"),
    )
    .unwrap();
    let d = parse_with_plistlib(&plist);
    assert_agent_keys(&d, "/Users/ann smith/.cargo/bin/wrs-tokend");
    assert_eq!(
        d["StandardErrorPath"],
        "/Users/ann smith/Library/Logs/wrs-tokend.log"
    );
    assert!(!plist.contains("USERNAME"), "{plist}");
}

#[test]
fn xml_special_characters_in_paths_survive_the_round_trip() {
    let plist = units::launchd_plist(
        Path::new("/Users/R&D/<bin>/wrs-tokend"),
        Path::new("/Users/R&D"),
    )
    .unwrap();
    let d = parse_with_plistlib(&plist);
    assert_agent_keys(&d, "/Users/R&D/<bin>/wrs-tokend");
}

#[test]
fn shipped_template_is_a_valid_plist_too() {
    let d = parse_with_plistlib(units::LAUNCHD_PLIST_TEMPLATE);
    assert_agent_keys(&d, "/Users/USERNAME/.cargo/bin/wrs-tokend");
}
