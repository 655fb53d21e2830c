//! A locked keyring, then a restarted one, under the real daemon and a real
//! gnome-keyring: the user gets a clear error naming the fix, nothing
//! stored is lost, and once the keyring is back the session resumes
//! without a new login.
//!
//! This test needs a keyring of its own that it can lock and restart, so it
//! runs its scenario in a private `dbus-run-session` rather than the shared
//! session of `scripts/with-keyring`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use wrs_testkit::{Mock, Sandbox, describe, path_with_binaries, stderr, stdout};

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
        .env_remove(wrs_sys::env::PROFILE)
        .env("PATH", path_with_binaries())
        .env("BROWSER", &browser)
        .env("ISSUER", mock.ready.base_url.trim_end_matches('/'))
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
    assert_eq!(counters.authorization, 1, "one login only: {counters:?}");
}

/// The keyring locks while the daemon runs and the server rolls refresh
/// tokens: the rolled token cannot be saved, so the new access token is not
/// handed out (exit 1, "locked"), the daemon keeps the rolled refresh token
/// in memory, and once the keyring is back the next call saves it and works
/// without a login.
const MID_RUN: &str = r#"
set -u
keyring() { printf %s test-password | gnome-keyring-daemon "$@" --unlock --components=secrets >/dev/null; }
lock() {
    dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
        org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
}
# git-credential erase is how a client reports a rejected token: the daemon
# drops its cached one, so the next print refreshes.
drop_cached() {
    printf 'protocol=http\nhost=%s\npath=Windchill/oauth/servlet/odata/\n\n' "$WRS_HOST" | wrs-token git-credential erase
}
keyring || exit 90
wrs-token profile add plm --issuer "$ISSUER" --client-id wrs-cli --auth none \
    --scope openid --scope offline_access --resource "$WRS_ROOT" >/dev/null || exit 91
wrs-token login plm >/dev/null || exit 92
wrs-token print >/dev/null || exit 93
lock || exit 94
drop_cached || exit 95
echo "== locked"
wrs-token print; echo "LOCKED_PRINT_RC=$?"
echo "== unlocked"
keyring --replace || exit 96
# The failed save backs off for about a second.
rc=1
for _ in 1 2 3 4 5 6 7 8 9 10; do
    if wrs-token print 2>/dev/null; then rc=0; break; fi
    sleep 0.5
done
echo "UNLOCKED_PRINT_RC=$rc"
wrs-token daemon stop >/dev/null
wrs-token print; echo "RESTARTED_PRINT_RC=$?"
wrs-token daemon stop >/dev/null
"#;

#[test]
fn a_keyring_locked_mid_run_keeps_the_rolled_refresh_token_until_it_can_be_saved() {
    let mock = Mock::start_with(&["--auto-approve", "--roll-refresh-tokens"]);
    let sb = Sandbox::new();
    let root = mock.ready.wrs_root.clone();
    let host = root.split('/').nth(2).unwrap().to_owned();
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", MID_RUN])
        .current_dir(sb.root.path())
        .envs(sb.env())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("GNOME_KEYRING_CONTROL")
        .env_remove(wrs_sys::env::PROFILE)
        .env("PATH", path_with_binaries())
        .env("BROWSER", sb.browser())
        .env("ISSUER", mock.ready.base_url.trim_end_matches('/'))
        .env("WRS_ROOT", &root)
        .env("WRS_HOST", &host)
        .output()
        .expect("dbus-run-session (scripts/setup-test-env installs dbus)");
    assert!(out.status.success(), "{}", describe(&out));
    let (text, err) = (stdout(&out), stderr(&out));
    let (locked, unlocked) = text.split_once("== unlocked").unwrap();
    assert!(locked.contains("LOCKED_PRINT_RC=1"), "{}", describe(&out));
    assert!(err.contains("locked"), "{err}");
    assert!(
        !locked.contains("wrsat_"),
        "a token whose refresh token is unsaved:\n{locked}"
    );
    assert!(
        unlocked.contains("UNLOCKED_PRINT_RC=0"),
        "{}",
        describe(&out)
    );
    // A new daemon reads the refresh token saved after the unlock.
    assert!(
        unlocked.contains("RESTARTED_PRINT_RC=0"),
        "{}",
        describe(&out)
    );
    let counters = mock.counters();
    assert_eq!(counters.authorization, 1, "one login only: {counters:?}");
    assert!(counters.token_refresh >= 2, "{counters:?}");
}
