//! The thin client must stay free of async runtimes and HTTP stacks: it is
//! started for every `curl`/`git` call. This pins that promise.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use wrs_testkit::require;

#[test]
fn client_links_neither_tokio_nor_reqwest() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "wrs-token",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    // Under CI (scripts/test) cargo and the registry it built from are there.
    let output = require!(output.map_err(|e| format!("cannot run cargo: {e}")));
    require!(
        output.status.success(),
        "`cargo tree` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(tree.contains("wrs-proto "), "unexpected tree:\n{tree}");
    let banned: Vec<&str> = tree
        .lines()
        .filter(|l| {
            ["tokio ", "tokio-", "reqwest ", "hyper "]
                .iter()
                .any(|b| l.starts_with(b))
        })
        .collect();
    assert!(banned.is_empty(), "the thin client links {banned:?}");
}
