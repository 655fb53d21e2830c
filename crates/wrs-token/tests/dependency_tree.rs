//! The thin client must stay free of async runtimes and HTTP stacks: it is
//! started for every `curl`/`git` call. This pins that promise.
#![allow(clippy::unwrap_used)]

use std::process::Command;

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
    let output = match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!(
                "skipped: `cargo tree` failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return;
        }
        Err(e) => {
            eprintln!("skipped: cannot run cargo: {e}");
            return;
        }
    };
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
