//! The README's "Use" walkthrough, run as written: its shell block is
//! taken from README.md, the example hosts are pointed at a real `wrs-mock`,
//! and every line runs against the real binaries, curl and git. A README
//! edit that breaks a documented command breaks this test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "integrations/mock.rs"]
#[allow(dead_code)]
mod mock;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use mock::Mock;
use wrs_e2e::{Sandbox, bin, describe, stdout};

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

#[test]
fn the_readme_walkthrough_works_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let walkthrough = sh_blocks(&readme)
        .into_iter()
        .find(|b| b.contains("wrs-token profile add plm") && b.contains("wrs-token login plm"))
        .expect("README has the Use walkthrough");
    let mock = Mock::start_with(&["--auto-approve"]);
    let base = mock.url("base_url").trim_end_matches('/').to_owned();
    let script = walkthrough
        .replace("https://sso.example.com", &base)
        .replace("https://plm.example.com", &base);

    let sb = Sandbox::new();
    let dir = sb.root.path();
    let browser = dir.join("browser.sh");
    std::fs::write(&browser, "#!/bin/sh\nexec curl -fsSL -o /dev/null \"$1\"\n").unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The README's example script: it must see the token.
    std::fs::write(
        dir.join("my_script.py"),
        "import os, sys\nt = os.environ['WRS_ACCESS_TOKEN']\nprint('script got a token' if t.startswith('wrsat_') else 'no token')\n",
    )
    .unwrap();
    let bin_dir = bin("wrs-token").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail\n{script}\necho \"README-DONE $TOKEN\"\n"
        ))
        .current_dir(dir)
        .envs(sb.env())
        .env("PATH", path)
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
    assert_eq!(mock.counters()["revocation"], 1);
}
