//! The README's shell walkthroughs ("Use" and the CI recipe), run as
//! written: each block is taken from README.md, the example hosts are
//! pointed at a real `wrs-mock`, and every line runs against the real
//! binaries, curl and git. A README edit that breaks a documented command
//! breaks these tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use wrs_testkit::{Mock, Sandbox, describe, path_with_binaries, stdout};

/// The fenced `sh` blocks of a markdown file.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// The README's `sh` block that contains every one of `needles`.
fn readme_block(needles: &[&str]) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    sh_blocks(&readme)
        .into_iter()
        .find(|b| needles.iter().all(|n| b.contains(n)))
        .unwrap_or_else(|| panic!("README has a sh block with {needles:?}"))
}

#[test]
fn the_ci_recipe_works_as_written() {
    let recipe = readme_block(&["--grant client-credentials", "wrs-token curl -p ci"]);
    let mock = Mock::start_with(&[]);
    let base = mock.ready.base_url.trim_end_matches('/').to_owned();
    // The README's example client is the mock's client-credentials client.
    let script = recipe
        .replace("https://sso.example.com", &base)
        .replace("https://plm.example.com", &base)
        .replace("--client-id wrs-ci", "--client-id wrs-service");
    let sb = Sandbox::new();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(sb.root.path())
        .envs(sb.env())
        .env("PATH", path_with_binaries())
        .env("CI_CLIENT_SECRET", "wrs-service-secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n--- script\n{script}",
        describe(&out)
    );
    assert_eq!(
        stdout(&out).matches("@odata.context").count(),
        1,
        "{}",
        describe(&out)
    );
    // One client-credentials grant, no browser, no refresh token.
    let counters = mock.counters();
    assert_eq!(counters.authorization, 0, "{counters:?}");
    assert!(counters.token >= 1, "{counters:?}");
    // The secret went to the memory store, not the config file.
    let config =
        std::fs::read_to_string(sb.root.path().join("config/wrs-token/config.toml")).unwrap();
    assert!(config.contains("wrs-service"), "{config}");
    assert!(!config.contains("wrs-service-secret"), "{config}");
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let walkthrough = readme_block(&["wrs-token profile add plm", "wrs-token login plm"]);
    let mock = Mock::start_with(&["--auto-approve"]);
    let base = mock.ready.base_url.trim_end_matches('/').to_owned();
    let script = walkthrough
        .replace("https://sso.example.com", &base)
        .replace("https://plm.example.com", &base);

    let sb = Sandbox::new();
    let dir = sb.root.path();
    let browser = sb.browser();
    // The README's example script: it must see the token.
    std::fs::write(
        dir.join("my_script.py"),
        "import os, sys\nt = os.environ['WRS_ACCESS_TOKEN']\nprint('script got a token' if t.startswith('wrsat_') else 'no token')\n",
    )
    .unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail\n{script}\necho \"README-DONE $TOKEN\"\n"
        ))
        .current_dir(dir)
        .envs(sb.env())
        .env("PATH", path_with_binaries())
        .env("BROWSER", &browser)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{}\n--- script\n{script}",
        describe(&out)
    );
    // Both curl lines got the OData answer, the script its token, print a token.
    assert_eq!(text.matches("@odata.context").count(), 2, "{text}");
    assert!(text.contains("script got a token"), "{text}");
    assert!(text.contains("\"token_type\":\"Bearer\""), "{text}");
    // doctor went through its checklist and found nothing to fail.
    assert!(text.contains("plm: discovery"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("README-DONE "))
        .unwrap();
    assert!(token.starts_with("wrsat_"), "{text}");
    // The git line configured the helper in the sandbox's own git config.
    let git = Command::new("git")
        .args(["config", "--global", "--get-regexp", "credential"])
        .env("HOME", dir.join("home"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .output()
        .unwrap();
    assert!(
        stdout(&git).contains("!wrs-token git-credential"),
        "{}",
        describe(&git)
    );
    // And the last line logged out: revoked at the server.
    assert_eq!(mock.counters().revocation, 1);
}

/// Neither install is run here (a release build of the daemon takes
/// minutes; `scripts/test` runs `scripts/install` after its release build
/// and checks what it installed). What can break in the README's lines is
/// checked instead: `scripts/install` is there and installs both binaries,
/// `service install` follows it, and each `cargo install --path` is a
/// workspace package that builds the binary the README then uses under
/// that name.
#[test]
fn the_install_lines_name_packages_that_build_the_documented_binaries() {
    let script = readme_block(&["scripts/install"]);
    assert!(script.contains("wrs-token service install"), "{script}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let installer = root.join("scripts/install");
    let mode = std::fs::metadata(&installer).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "scripts/install is not executable");
    let text = std::fs::read_to_string(&installer).unwrap();
    assert!(
        text.contains("target/release/wrs-token target/release/wrs-tokend"),
        "scripts/install no longer installs both binaries:\n{text}"
    );

    let install = readme_block(&["cargo install --path"]);
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let root = root.canonicalize().unwrap();
    let mut installed = Vec::new();
    for line in install.lines() {
        let Some(path) = line.trim().strip_prefix("cargo install --path ") else {
            continue;
        };
        let manifest = root.join(path.trim()).join("Cargo.toml");
        let package = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| Path::new(p["manifest_path"].as_str().unwrap()) == manifest)
            .unwrap_or_else(|| panic!("README installs {path}, which is no workspace package"));
        installed.extend(
            package["targets"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kind"][0] == "bin")
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
    }
    installed.sort();
    assert_eq!(installed, ["wrs-token", "wrs-tokend"], "{install}");
}
