//! The first day of a real user, through the real binaries and the real
//! mock: a config file edited by hand applies without `daemon reload` (a
//! broken one is reported with its line while the old profiles keep
//! working), `status` without a daemon (with the logins kept in the
//! stores), `whoami` after a login and after a
//! daemon restart (never a token in its output), `status` naming the user
//! and why a session ended, and a second `logout`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use wrs_testkit::{Mock, Sandbox, describe, precondition, stderr, stdout};

/// The keyring when a Secret Service is reachable (as in `scripts/test`),
/// else the opt-in file store: either survives a daemon restart.
fn store() -> &'static str {
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some();
    if precondition(
        bus,
        "a session bus with a Secret Service (scripts/with-keyring); the file store stands in",
    ) {
        "keyring"
    } else {
        "file"
    }
}

fn config_file(sb: &Sandbox) -> PathBuf {
    sb.root.path().join("config/wrs-token/config.toml")
}

fn add_profile(sb: &Sandbox, mock: &Mock, name: &str, store: &str) {
    sb.add_public_profile(
        name,
        &mock.ready.issuer,
        store,
        &["--resource", &mock.ready.wrs_root],
    );
}

/// Logs `name` in with a refresh token the mock minted for `user`, as
/// `login --refresh-token-stdin` does; returns the refresh token.
fn import_login(sb: &Sandbox, mock: &Mock, name: &str, user: &str) -> String {
    let minted = mock.admin(
        "tokens",
        &format!(
            r#"{{"client_id":"wrs-cli","user":"{user}","scope":"openid offline_access WINDCHILL"}}"#
        ),
    );
    let refresh = minted["refresh_token"].as_str().unwrap().to_owned();
    let out = sb.run_with_stdin(
        &["login", name, "--refresh-token-stdin"],
        &format!("{refresh}\n"),
    );
    assert!(out.status.success(), "{}", describe(&out));
    refresh
}

fn token(sb: &Sandbox, name: &str) -> String {
    let out = sb.run(&["print", "-p", name]);
    assert!(out.status.success(), "{}", describe(&out));
    stdout(&out).trim().to_owned()
}

fn ok_stdout(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.run(args);
    assert!(out.status.success(), "{args:?}: {}", describe(&out));
    stdout(&out)
}

#[test]
fn a_hand_edited_config_applies_without_reload_and_a_broken_one_is_reported_with_its_line() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "memory");
    import_login(&sb, &mock, "plm", "alice");
    let first = token(&sb, "plm");
    let path = config_file(&sb);
    let good = std::fs::read_to_string(&path).unwrap();

    // A profile added by hand is there at once: no `daemon reload`.
    let with_extra = format!(
        "{good}\n[profiles.extra]\nissuer = \"{}\"\nclient_id = \"wrs-cli\"\nauth = \"none\"\nstore = \"memory\"\n",
        mock.ready.issuer
    );
    std::fs::write(&path, &with_extra).unwrap();
    let status = ok_stdout(&sb, &["status"]);
    assert!(status.contains("extra"), "{status}");
    let out = sb.run(&["print", "-p", "extra"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "known, not logged in: {}",
        describe(&out)
    );
    assert_eq!(
        token(&sb, "plm"),
        first,
        "an unchanged profile keeps its session"
    );

    // A broken file: reported with file and line; the old profiles work.
    let broken_line = with_extra.lines().count() + 1;
    std::fs::write(&path, format!("{with_extra}colour = \"red\"\n")).unwrap();
    let status = ok_stdout(&sb, &["status"]);
    assert!(status.contains("config   BROKEN"), "{status}");
    assert!(
        status.contains(&format!("config.toml:{broken_line}:")),
        "{status}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok_stdout(&sb, &["status", "--json"])).unwrap();
    let error = json["config_error"].as_str().unwrap();
    assert!(error.contains(&format!(":{broken_line}:")), "{error}");
    assert_eq!(json["daemon"]["running"], true);
    assert_eq!(
        token(&sb, "plm"),
        first,
        "the previous configuration still serves"
    );
    let doctor = sb.run(&["doctor", "plm"]);
    let text = stdout(&doctor);
    assert!(
        text.contains("daemon: config") && text.contains(&format!("config.toml:{broken_line}:")),
        "{}",
        describe(&doctor)
    );

    // Fixed: the error is gone, and the fixed file applies.
    std::fs::write(&path, &good).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok_stdout(&sb, &["status", "--json"])).unwrap();
    assert_eq!(json["config_error"], serde_json::Value::Null, "{json}");
    let names: Vec<&str> = json["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["plm"], "the removed profile is gone");
    assert!(!ok_stdout(&sb, &["status"]).contains("BROKEN"));
    assert_eq!(token(&sb, "plm"), first);
}

#[test]
fn an_edit_that_keeps_size_and_mtime_is_noticed() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "memory");
    import_login(&sb, &mock, "plm", "alice");
    let path = config_file(&sb);
    let good = std::fs::read_to_string(&path).unwrap();
    // The same length, the mtime put back: only the content differs.
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let renamed = good.replace("plm", "pl2");
    assert_eq!(renamed.len(), good.len());
    std::fs::write(&path, &renamed).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let status = ok_stdout(&sb, &["status"]);
    assert!(status.contains("pl2"), "{status}");
}

#[test]
fn status_without_a_daemon_lists_the_config_and_stored_logins_and_never_starts_one() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", store());
    add_profile(&sb, &mock, "ci", "memory");
    add_profile(&sb, &mock, "new", store());
    let refresh = import_login(&sb, &mock, "plm", "alice");
    let stop = sb.run(&["daemon", "stop"]);
    assert!(stop.status.success(), "{}", describe(&stop));
    assert!(!sb.daemon_answers());
    let refreshes = mock.counters().token_refresh;

    let out = sb.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("daemon   not running"), "{text}");
    assert!(
        !text.contains(&refresh),
        "a refresh token in status: {text}"
    );
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}: {text}"))
            .to_owned()
    };
    // Read from the store the daemon left behind, with whose login it is.
    let plm = row("plm (default)");
    assert!(plm.contains("logged in as alice@example.com"), "{text}");
    assert!(row("ci ").contains("memory store"), "{text}");
    assert!(
        row("new ").contains("not logged in: run `wrs-token login new`"),
        "{text}"
    );

    let out = sb.run(&["status", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!stdout(&out).contains(&refresh));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["daemon"]["running"], false);
    assert_eq!(json["pid"], serde_json::Value::Null);
    assert_eq!(json["profiles"][0]["name"], "plm");
    assert_eq!(json["profiles"][0]["state"], "unknown");
    assert_eq!(json["profiles"][0]["stored_session"], "logged_in");
    assert_eq!(json["profiles"][0]["user"], "alice@example.com");
    assert!(json["profiles"][0]["logged_in_at"].as_u64().is_some());
    assert_eq!(json["config_error"], serde_json::Value::Null);
    assert_eq!(
        mock.counters().token_refresh,
        refreshes,
        "status asks no server"
    );

    // A broken file is broken, with its line, never "no profiles".
    let path = config_file(&sb);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().count() + 1;
    text.push_str("colour = \"red\"\n");
    std::fs::write(&path, text).unwrap();
    let out = sb.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let shown = stdout(&out);
    assert!(shown.contains(&format!("config.toml:{line}:")), "{shown}");
    assert!(!shown.contains("no profiles configured"), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&ok_stdout(&sb, &["status", "--json"])).unwrap();
    assert!(
        json["config_error"]
            .as_str()
            .unwrap()
            .contains(&format!(":{line}:")),
        "{json}"
    );
    assert!(!sb.daemon_answers(), "status never starts the daemon");
}

#[test]
fn whoami_after_a_browser_login_and_a_daemon_restart_shows_the_user_never_a_token() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", store());
    let out = sb
        .client()
        .args(["login", "plm", "--timeout", "30"])
        .env("BROWSER", sb.browser())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let access = token(&sb, "plm");

    let text = ok_stdout(&sb, &["whoami", "plm"]);
    // The mock's auto-approval logs in as `demo`.
    assert!(text.contains("user           demo@example.com"), "{text}");
    assert!(
        text.contains("openid offline_access WINDCHILL (granted)"),
        "{text}"
    );
    assert!(
        text.contains("logged in") && text.contains("access token   lives"),
        "{text}"
    );
    assert!(!text.contains(&access), "an access token in whoami: {text}");
    let json: serde_json::Value =
        serde_json::from_str(&ok_stdout(&sb, &["whoami", "--json", "-p", "plm"])).unwrap();
    assert_eq!(json["email"], "demo@example.com");
    assert_eq!(json["username"], "demo");
    assert_eq!(json["scope_granted"], true);
    assert!(json["logged_in_at"].as_u64().is_some());
    assert!(!json.to_string().contains(&access));

    let json: serde_json::Value =
        serde_json::from_str(&ok_stdout(&sb, &["print", "--json", "-p", "plm"])).unwrap();
    assert_eq!(json["scope"], "openid offline_access WINDCHILL");

    let status = ok_stdout(&sb, &["status"]);
    assert!(status.contains("demo@example.com"), "{status}");

    // A new daemon knows the user from the store alone, before any refresh.
    let stop = sb.run(&["daemon", "stop"]);
    assert!(stop.status.success(), "{}", describe(&stop));
    let refreshes = mock.counters().token_refresh;
    let text = ok_stdout(&sb, &["whoami", "plm"]);
    assert!(text.contains("user           demo@example.com"), "{text}");
    assert_eq!(
        mock.counters().token_refresh,
        refreshes,
        "whoami asks no server"
    );
}

#[test]
fn whoami_never_shows_a_token_and_status_says_whose_session_ended_and_why() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "memory");
    let refresh = import_login(&sb, &mock, "plm", "alice");
    let access = token(&sb, "plm");
    for args in [
        &["whoami"][..],
        &["whoami", "--json"],
        &["status"],
        &["status", "--json"],
    ] {
        let out = sb.run(args);
        assert!(out.status.success(), "{}", describe(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(all.contains("alice@example.com"), "{args:?}: {all}");
        assert!(!all.contains(&refresh), "{args:?} shows the refresh token");
        assert!(!all.contains(&access), "{args:?} shows the access token");
    }

    // The grant is revoked at the server: the next refresh is refused.
    let (code, _) = wrs_testkit::http::http(
        "POST",
        &mock.ready.revocation_endpoint,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("client_id=wrs-cli&token={refresh}").as_bytes(),
    );
    assert_eq!(code, 200);
    sb.invalidate("plm");
    assert_eq!(sb.run(&["print", "-p", "plm"]).status.code(), Some(3));
    let status = ok_stdout(&sb, &["status"]);
    let row = status.lines().find(|l| l.starts_with("plm")).unwrap();
    assert!(row.contains("alice@example.com"), "{status}");
    assert!(
        row.contains("needs login (refresh token revoked or expired)"),
        "{status}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok_stdout(&sb, &["status", "--json"])).unwrap();
    assert_eq!(json["profiles"][0]["ended"], "revoked");
    let out = sb.run(&["whoami", "plm"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(stdout(&out).contains("invalid_grant"), "{}", describe(&out));
}

#[test]
fn a_second_logout_says_not_logged_in_and_exits_1() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "memory");
    import_login(&sb, &mock, "plm", "alice");
    let out = sb.run(&["logout", "plm"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = sb.run(&["logout", "plm"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("not logged in to profile plm"),
        "{}",
        describe(&out)
    );
    assert_eq!(mock.counters().revocation, 1, "nothing more to revoke");
    let status = ok_stdout(&sb, &["status"]);
    assert!(status.contains("logged out"), "{status}");
    let out = sb.run(&["whoami", "plm"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
}
