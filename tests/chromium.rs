//! The browser login with a real browser: Debian's headless Chromium,
//! started by the real `wrs-token login` as `$BROWSER` (through a small
//! wrapper script), against the real `wrs-mock` in auto-approve mode (its
//! authorization endpoint redirects at once, as a signed-in user's single
//! sign-on would). Chromium follows the redirect to the daemon's loopback
//! listener, renders its "Login complete" page (checked in the DOM it
//! dumps), and the daemon then serves a token.
//!
//! The scripted browser of the other tests (curl) proves the protocol; this
//! one proves a real browser accepts what the loopback listener answers
//! (status line, headers, HTML) and that `$BROWSER` is started the way a
//! real browser needs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use wrs_testkit::process::write_script;
use wrs_testkit::{Mock, Sandbox, describe, require, stdout, wait_until};

fn chromium_runs() -> bool {
    Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// A `$BROWSER` that runs headless Chromium on its URL and leaves the
/// rendered DOM in `dom.html` (written whole: renamed when complete).
fn chromium_browser(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("chromium.sh");
    let d = dir.display();
    write_script(
        &script,
        &format!(
            "chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
             --disable-background-networking --disable-component-update --disable-sync \
             --no-first-run --user-data-dir='{d}/chromium-profile' --dump-dom \"$1\" \
             >'{d}/dom.part' 2>'{d}/chromium.log'\n\
             echo $? >'{d}/chromium.status'\n\
             mv '{d}/dom.part' '{d}/dom.html'"
        ),
    );
    script
}

#[test]
fn a_browser_login_with_headless_chromium_completes() {
    require!(
        chromium_runs(),
        "Debian's chromium (scripts/setup-test-env installs it)"
    );
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    sb.add_public_profile(
        "plm",
        &mock.ready.issuer,
        "memory",
        &["--resource", &mock.ready.wrs_root],
    );
    let browser = chromium_browser(sb.root.path());
    let out = sb
        .client()
        .args(["login", "plm", "--timeout", "120"])
        .env("BROWSER", &browser)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    // Chromium asked the authorization endpoint itself, once.
    assert_eq!(mock.counters().authorization, 1);

    // The page Chromium rendered at the end of the redirect.
    let dom = sb.root.path().join("dom.html");
    assert!(
        wait_until(Duration::from_secs(60), || dom.exists()),
        "chromium wrote no DOM; its log: {}",
        std::fs::read_to_string(sb.root.path().join("chromium.log")).unwrap_or_default()
    );
    let status = std::fs::read_to_string(sb.root.path().join("chromium.status")).unwrap();
    assert_eq!(status.trim(), "0", "chromium's exit status");
    let dom = std::fs::read_to_string(dom).unwrap();
    assert!(
        dom.contains("<h1>Login complete</h1>"),
        "the callback page: {dom}"
    );
    assert!(dom.contains("Login complete for profile plm"), "{dom}");

    let out = sb.run(&["print", "-p", "plm"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(mock.token_is_active(stdout(&out).trim()));
}
