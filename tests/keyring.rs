//! A locked keyring, then a restarted one, under the real daemon and a real
//! gnome-keyring: the user gets a clear error naming the fix, nothing
//! stored is lost, and once the keyring is back the session resumes
//! without a new login.
//!
//! This test needs a keyring of its own that it can lock and restart, so it
//! runs its scenario in a private `dbus-run-session` rather than the shared
//! session of `scripts/with-keyring`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "integrations/mock.rs"]
#[allow(dead_code)]
mod mock;

use std::process::Command;

use mock::Mock;
use wrs_e2e::{Sandbox, describe, path_with_binaries, stderr, stdout};

/// The scenario, as a user's shell would run it. Markers carry exit codes.
const SCENARIO: &str = r#"
set -u
# gnome-keyring with an unlocked "login" collection; `--replace` restarts it.
keyring() { printf %s test-password | gnome-keyring-daemon "$@" --unlock --components=secrets >/dev/null; }
lock() {
    dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
        org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
}
keyring || exit 90
wrs-token profile add plm --issuer "$ISSUER" --client-id wrs-cli --auth none \
    --scope openid --scope offline_access >/dev/null || exit 91
wrs-token login plm >/dev/null || exit 92
wrs-token daemon stop >/dev/null || exit 93
lock || exit 94
echo "== locked"
wrs-token print -p plm; echo "LOCKED_PRINT_RC=$?"
wrs-token doctor plm; echo "LOCKED_DOCTOR_RC=$?"
echo "== restarted"
keyring --replace || exit 95
wrs-token print -p plm; echo "RESTARTED_PRINT_RC=$?"
wrs-token daemon stop >/dev/null
"#;

#[test]
fn a_locked_keyring_is_a_clear_error_and_the_session_resumes_when_it_is_back() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    let dir = sb.root.path();
    let browser = sb.browser();
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", SCENARIO])
        .current_dir(dir)
        .envs(sb.env())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("GNOME_KEYRING_CONTROL")
        .env_remove("WRS_TOKEN_PROFILE")
        .env("PATH", path_with_binaries())
        .env("BROWSER", &browser)
        .env("ISSUER", mock.url("base_url").trim_end_matches('/'))
        .output()
        .expect("dbus-run-session (scripts/setup-test-env installs dbus)");
    assert!(out.status.success(), "{}", describe(&out));
    let (text, err) = (stdout(&out), stderr(&out));
    let (locked, restarted) = text.split_once("== restarted").unwrap();

    // Locked: a store error (exit 1), not "login required", naming both the
    // unlock and the other stores; doctor fails the store check with the fix.
    assert!(locked.contains("LOCKED_PRINT_RC=1"), "{}", describe(&out));
    assert!(err.contains("keyring is locked"), "{err}");
    assert!(err.contains("--store file"), "{err}");
    assert!(!err.contains("login required"), "{err}");
    assert!(locked.contains("LOCKED_DOCTOR_RC=1"), "{locked}");
    assert!(locked.contains("FAIL  plm: secret store"), "{locked}");
    assert!(locked.contains("unlock the keyring"), "{locked}");
    assert!(
        !locked.contains("wrsat_"),
        "no token while locked:\n{locked}"
    );

    // Back (a new keyring daemon, so a new D-Bus session for the store):
    // the stored refresh token is still there and is used.
    assert!(
        restarted.contains("RESTARTED_PRINT_RC=0"),
        "{}",
        describe(&out)
    );
    assert!(
        restarted.lines().any(|l| l.starts_with("wrsat_")),
        "{restarted}"
    );
    let counters = mock.counters();
    assert_eq!(counters["authorization"], 1, "one login only: {counters}");
}
