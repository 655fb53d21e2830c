//! Log in once, stay logged in — through the real binaries: the real client
//! and daemon against the real `wrs-mock` authorization server, a scripted
//! "browser" (curl following the auto-approved redirect to the daemon's
//! loopback listener), the real secret store (gnome-keyring's Secret
//! Service when the suite runs under `scripts/with-keyring`, else the file
//! store), and a daemon killed with SIGKILL coming back logged in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use wrs_proto::{Request, Response, SessionState};
use wrs_testkit::{Mock, Sandbox, describe, precondition, stderr, stdout, wait_until};

/// The keyring when a Secret Service is reachable (as in `scripts/test`,
/// and always under CI), else the opt-in file store.
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

fn add_profile(sb: &Sandbox, mock: &Mock, name: &str, store: &str) {
    sb.add_public_profile(
        name,
        &mock.ready.issuer,
        store,
        &["--resource", &mock.ready.wrs_root],
    );
}

/// The keyring service name of `profile` in `sb`: namespaced, since the
/// sandbox's config is away from its usual place.
fn keyring_service(sb: &Sandbox, profile: &str) -> String {
    let env = sb.env();
    let paths = wrs_config::Paths::resolve_with(|k| {
        env.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    assert!(paths.keyring_namespace.is_some());
    wrs_store::keyring_service_name(profile, paths.keyring_namespace.as_deref())
}

fn login(sb: &Sandbox, name: &str) {
    let out = sb
        .client()
        .args(["login", name, "--timeout", "30"])
        .env("BROWSER", sb.browser())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stderr(&out).contains(&format!("Logged in to profile {name}")),
        "{}",
        describe(&out)
    );
}

/// A token as a caller asks for it, with the default flags: the daemon's
/// own schedule, not the caller, decides when to renew.
fn token(sb: &Sandbox, name: &str) -> String {
    let out = sb.run(&["print", "-p", name]);
    assert!(out.status.success(), "{}", describe(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn browser_login_then_renewal_then_sigkill_restart_stays_logged_in() {
    let mock = Mock::start_with(&[
        "--auto-approve",
        "--access-token-lifetime",
        "4",
        "--roll-refresh-tokens",
    ]);
    let sb = Sandbox::new();
    // A name of its own, though each sandbox's config has its own keyring
    // namespace: this test checks the entry under its exact name.
    let name = "renewal-kill";
    add_profile(&sb, &mock, name, store());
    login(&sb, name);
    let log = std::fs::read_to_string(sb.root.path().join("browser.log")).unwrap();
    assert!(
        log.contains("code_challenge_method=S256") && log.contains("state="),
        "{log}"
    );
    // offline_access was asked for, so consent is prompted: OpenID servers
    // issue no refresh token for it otherwise.
    assert!(log.contains("prompt=consent"), "{log}");

    if store() == "keyring" {
        // The refresh token is in the Secret Service, readable by its tools,
        // and nowhere on disk.
        let out = Command::new("secret-tool")
            .args([
                "lookup",
                "service",
                &keyring_service(&sb, name),
                "username",
                "refresh_token",
            ])
            .output()
            .expect("secret-tool (scripts/setup-test-env installs libsecret-tools)");
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "{}",
            describe(&out)
        );
        assert!(!sb.root.path().join("data/wrs-token/secrets").exists());
    }

    let first = token(&sb, name);
    assert!(
        mock.token_is_active(&first),
        "the daemon's token is valid at the server"
    );

    // The daemon renews ahead of expiry by itself; every token handed out
    // meanwhile is valid at the server.
    let mut seen = vec![first.clone()];
    assert!(
        wait_until(Duration::from_secs(15), || {
            let t = token(&sb, name);
            assert!(mock.token_is_active(&t), "a handed-out token was not valid");
            if !seen.contains(&t) {
                seen.push(t);
            }
            seen.len() >= 3
        }),
        "two renewals within 15 s of 4 s tokens"
    );
    assert!(mock.counters().token_refresh >= 2);

    // SIGKILL: nothing runs at exit. The rolled refresh token must already be
    // in the store, so a new daemon carries on without a login. Killed
    // between renewals, not during one: a refresh whose answer is lost with
    // the process is another case (sigkill_mid_refresh_then_restart…), and
    // this mock has no grace period for the rolled token. Under load the
    // loop above can see its third token late, close to the next renewal.
    assert!(
        wait_until(Duration::from_secs(15), || {
            let Response::Status(report) = sb.request(Request::Status {}) else {
                return false;
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            report.profiles.iter().any(|p| {
                p.state == SessionState::Active && p.next_refresh_at.is_some_and(|at| at >= now + 2)
            })
        }),
        "a moment at least 2 s before the next renewal"
    );
    let pid = sb.daemon_pid().unwrap();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert!(wait_until(Duration::from_secs(5), || !sb.daemon_answers()));
    let after = token(&sb, name); // autostarts a new daemon
    assert_ne!(sb.daemon_pid().unwrap(), pid);
    assert!(mock.token_is_active(&after));
}

/// Two installations (a second identity, or two tests at once) with a
/// profile of the same name: each config's secrets stay its own, in the
/// one keyring of the user.
#[test]
fn two_configs_with_a_profile_of_the_same_name_keep_their_own_secrets() {
    let mocks = [
        Mock::start_with(&["--auto-approve"]),
        Mock::start_with(&["--auto-approve"]),
    ];
    let sandboxes = [Sandbox::new(), Sandbox::new()];
    for (sb, mock) in sandboxes.iter().zip(&mocks) {
        add_profile(sb, mock, "twin", store());
        login(sb, "twin");
    }
    // New daemons: the refresh tokens must come from the store.
    for sb in &sandboxes {
        let out = sb.run(&["daemon", "stop"]);
        assert!(out.status.success(), "{}", describe(&out));
    }
    for (sb, mock) in sandboxes.iter().zip(&mocks) {
        let token = token(sb, "twin");
        assert!(mock.token_is_active(&token), "each config its own grant");
    }
    // Logging out of one forgets only its own refresh token.
    let out = sandboxes[0].run(&["logout", "twin"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = sandboxes[1].run(&["daemon", "stop"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(mocks[1].token_is_active(&token(&sandboxes[1], "twin")));
    assert_eq!(
        sandboxes[0].run(&["print", "-p", "twin"]).status.code(),
        Some(3)
    );
}

#[test]
fn a_profile_never_logged_in_exits_3_with_the_command_to_run() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "memory");
    let out = sb.run(&["print", "-p", "plm"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr(&out).contains("wrs-token login plm"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        mock.counters().authorization,
        0,
        "no browser, no login attempt from a background call"
    );
}

#[test]
fn device_login_completes_when_the_user_approves() {
    let mock = Mock::start_with(&["--device-interval", "1"]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "memory");
    let mut child = sb
        .client()
        .args(["login", "plm", "--device", "--timeout", "30"])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    // The user code is shown on its own line, as XXXX-XXXX.
    let code = loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "login ended before showing a code"
        );
        let t = line.trim();
        if t.len() == 9
            && t.as_bytes()[4] == b'-'
            && t.chars().all(|c| c == '-' || c.is_ascii_alphanumeric())
        {
            break t.to_owned();
        }
    };
    mock.admin("devices/approve", &format!("{{\"user_code\":\"{code}\"}}"));
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(mock.token_is_active(&token(&sb, "plm")));
}

#[test]
fn logout_revokes_the_refresh_token_once_and_forgets_it() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "memory");
    login(&sb, "plm");
    token(&sb, "plm");
    let out = sb.run(&["logout", "plm"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(mock.counters().revocation, 1);
    // Logged out: exit 3, and a second logout does not call the server
    // again: there is nothing to log out of (exit 1, as `gh auth logout`).
    assert_eq!(sb.run(&["print", "-p", "plm"]).status.code(), Some(3));
    let out = sb.run(&["logout", "plm"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(mock.counters().revocation, 1, "revoked exactly once");
}

#[test]
fn an_imported_refresh_token_is_used_and_a_rejected_one_means_login_required() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "memory");
    let minted = mock.admin(
        "tokens",
        r#"{"client_id":"wrs-cli","scope":"openid offline_access WINDCHILL"}"#,
    );
    let refresh = minted["refresh_token"].as_str().unwrap();
    let out = sb.run_with_stdin(
        &["login", "plm", "--refresh-token-stdin"],
        &format!("{refresh}\n"),
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(mock.token_is_active(&token(&sb, "plm")));
    // The grant is revoked at the server (as an admin would): the next
    // refresh gets invalid_grant and the user is told to log in again.
    let (status, _) = wrs_testkit::http::http(
        "POST",
        &mock.ready.revocation_endpoint,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("client_id=wrs-cli&token={refresh}").as_bytes(),
    );
    assert_eq!(status, 200);
    // The token is rejected (as after a 401): the next print refreshes.
    sb.invalidate("plm");
    let out = sb.run(&["print", "-p", "plm"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
}

/// Nothing secret reaches the log, even at trace level: access tokens,
/// refresh tokens (before and after rotation), the PKCE verifier's output,
/// through login, refresh, rotation, curl, git, logout and errors. Nor does
/// any reach the client's stderr.
#[test]
fn no_token_appears_in_the_daemon_log_at_trace_level() {
    let mock = Mock::start_with(&[
        "--auto-approve",
        "--access-token-lifetime",
        "3",
        "--roll-refresh-tokens",
    ]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "file");
    // Every process of this sandbox logs everything, the daemon to a file
    // even where a journal runs.
    let log_file = sb.socket.with_file_name("wrs-tokend.log");
    let run = |args: &[&str]| {
        sb.client()
            .args(args)
            .env("RUST_LOG", "trace")
            .env(wrs_sys::env::TOKEND_LOG_FILE, &log_file)
            .env("BROWSER", sb.browser())
            .output()
            .unwrap()
    };
    assert!(run(&["login", "plm", "--timeout", "30"]).status.success());
    let secrets_file = sb.root.path().join("data/wrs-token/secrets/plm.json");
    let mut secrets = Vec::new();
    let mut outputs = Vec::new();
    for _ in 0..3 {
        // As after a 401: a refresh (and a rotation) each time.
        sb.invalidate("plm");
        let out = run(&["print", "-p", "plm"]);
        assert!(out.status.success(), "{}", describe(&out));
        secrets.push(stdout(&out).trim().to_owned());
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&secrets_file).unwrap()).unwrap();
        // Sealed with the server and client it belongs to.
        let sealed: serde_json::Value =
            serde_json::from_str(stored["refresh_token"].as_str().unwrap()).unwrap();
        assert_eq!(sealed["client_id"], "wrs-cli");
        secrets.push(sealed["secret"].as_str().unwrap().to_owned());
    }
    let distinct: std::collections::HashSet<_> = secrets.iter().collect();
    assert_eq!(
        distinct.len(),
        secrets.len(),
        "every refresh rotated the refresh token"
    );
    // curl: the real curl through `wrs-token curl` against the Windchill
    // stand-in; its output is the OData body, never the token.
    let parts = format!("{}ProdMgmt/Parts", mock.ready.wrs_root);
    let out = run(&["curl", "-fsS", &parts]);
    assert!(
        stdout(&out).contains("@odata.context"),
        "{}",
        describe(&out)
    );
    outputs.push(out);
    // git: the credential helper's get (Bearer) and erase (a 401).
    let git_input = format!(
        "capability[]=authtype\nprotocol=http\nhost={}\npath=Windchill/oauth/servlet/odata/\n\n",
        parts.split('/').nth(2).unwrap()
    );
    let git = |action: &str| {
        let mut child = sb
            .client()
            .args(["git-credential", action])
            .env("RUST_LOG", "trace")
            .env(wrs_sys::env::TOKEND_LOG_FILE, &log_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, git_input.as_bytes()).unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    };
    let out = git("get");
    let credential = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("credential="))
        .unwrap_or_else(|| panic!("a Bearer credential: {}", describe(&out)))
        .to_owned();
    secrets.push(credential);
    outputs.push(out);
    outputs.push(git("erase"));
    // Errors too: an invalid token reported, a logout with revocation.
    outputs.push(run(&["logout", "plm"]));
    outputs.push(run(&["print", "-p", "plm"]));
    for out in &outputs {
        let err = stderr(out);
        for secret in &secrets {
            assert!(!err.contains(secret.as_str()), "a secret on stderr: {err}");
        }
    }
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logging was on: {log}"
    );
    for secret in &secrets {
        assert!(secret.len() > 16);
        assert!(!log.contains(secret.as_str()), "a secret is in the log");
    }
}

/// A client-credentials profile: every fetch goes to the token endpoint,
/// which makes it the simplest way to put a fault in the daemon's path.
fn add_service_profile(sb: &Sandbox, mock: &Mock, store: &str) {
    let out = sb.run_with_stdin(
        &[
            "profile",
            "add",
            "svc",
            "--token-endpoint",
            &mock.ready.token_endpoint,
            "--grant",
            "client-credentials",
            "--client-id",
            "wrs-service",
            "--client-secret-stdin",
            "--store",
            store,
        ],
        "wrs-service-secret\n",
    );
    assert!(out.status.success(), "{}", describe(&out));
}

/// Every fault the mock can put on the token endpoint: the daemon survives,
/// the caller gets exit 5 with words for what went wrong, and the next call
/// after the fault clears works.
#[test]
fn token_endpoint_faults_are_reported_and_survived() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_service_profile(&sb, &mock, "memory");
    let faults = [
        (r#"{"status":{"code":500}}"#, "500"),
        (r#"{"status":{"code":503,"retry_after":1}}"#, "503"),
        (r#""drop_connection""#, ""),
        (r#""non_json_body""#, ""),
        (r#""html_login_page_200""#, "not JSON"),
        (r#"{"missing_field":"access_token"}"#, "access_token"),
        (
            r#"{"oauth_error":{"error":"temporarily_unavailable","status":503}}"#,
            "temporarily_unavailable",
        ),
    ];
    for (fault, words) in faults {
        mock.admin(
            "faults",
            &format!(r#"{{"endpoint":"token","fault":{fault},"times":1}}"#),
        );
        // As after a 401: the daemon must go to the server now.
        sb.invalidate("svc");
        let requests = mock.counters().token;
        let out = sb.run(&["print", "-p", "svc"]);
        assert_eq!(out.status.code(), Some(5), "{fault}: {}", describe(&out));
        assert!(stderr(&out).contains(words), "{fault}: {}", describe(&out));
        assert!(!stdout(&out).contains("wrsat_"), "no token on a failure");
        // Until the backoff ends, callers get the error at once and the
        // server hears nothing; then the next call recovers.
        let out = loop {
            let out = sb.run(&["print", "-p", "svc"]);
            if out.status.success() {
                break out;
            }
            assert!(
                stderr(&out).contains("again in"),
                "{fault}: {}",
                describe(&out)
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(
            mock.counters().token,
            requests + 2,
            "{fault}: the failure and the recovery, nothing between"
        );
        assert!(mock.token_is_active(stdout(&out).trim()));
    }
    // A string `expires_in` is a quirk, not a failure.
    mock.admin(
        "faults",
        r#"{"endpoint":"token","fault":"expires_in_as_string","times":1}"#,
    );
    sb.invalidate("svc");
    let out = sb.run(&["print", "-p", "svc"]);
    assert!(out.status.success(), "{}", describe(&out));
    // invalid_client is a configuration problem: exit 1, named.
    mock.admin("faults", r#"{"endpoint":"token","fault":{"oauth_error":{"error":"invalid_client","status":401}},"times":1}"#);
    sb.invalidate("svc");
    let out = sb.run(&["print", "-p", "svc"]);
    assert!(
        stderr(&out).contains("invalid_client"),
        "{}",
        describe(&out)
    );
    assert!(sb.daemon_answers(), "the daemon survived every fault");
}

/// The daemon is killed while a refresh is on the wire. The refresh token it
/// holds must still be good (or, if the server rotated it, within the
/// server's grace period), so a restarted daemon carries on without a login.
#[test]
fn sigkill_mid_refresh_then_restart_stays_logged_in() {
    let mock = Mock::start_with(&[
        "--auto-approve",
        "--roll-refresh-tokens",
        "--roll-grace-period",
        "60",
    ]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm", "file");
    login(&sb, "plm");
    token(&sb, "plm");
    mock.admin(
        "faults",
        r#"{"endpoint":"token","fault":{"delay":3000},"times":1}"#,
    );
    sb.invalidate("plm");
    // Counted before the client starts: its refresh may reach the mock
    // (and be counted, then held 3 s) before this test looks again.
    let before = mock.counters().token;
    let refreshing = sb
        .client()
        .args(["print", "-p", "plm"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || mock.counters().token > before),
        "refresh sent"
    );
    let pid = sb.daemon_pid().unwrap();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    // The waiting client saw its connection close without an answer: it
    // asks again, which starts a new daemon, and that one carries on.
    let mut refreshing = refreshing;
    assert!(refreshing.wait().unwrap().success(), "the client recovered");
    assert_ne!(sb.daemon_pid(), Some(pid), "a new daemon");
    let out = sb.run(&["print", "-p", "plm"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(mock.token_is_active(stdout(&out).trim()));
    assert_eq!(mock.counters().authorization, 1, "one login only");
}

/// HTTP(S)_PROXY is honoured and NO_PROXY exempts hosts, as curl does: the
/// daemon (autostarted with the client's environment) goes through a proxy
/// that does not exist and fails, or is told to go direct and succeeds.
#[test]
fn proxy_variables_are_honoured() {
    let mock = Mock::start();
    let dead_proxy = "http://127.0.0.1:9"; // the discard port: nothing listens
    for (no_proxy, works) in [("", false), ("127.0.0.1", true)] {
        let sb = Sandbox::new();
        add_service_profile(&sb, &mock, "file");
        // `profile add` started a daemon without the proxy; the next one
        // starts with the client's environment below.
        assert!(sb.run(&["daemon", "stop"]).status.success());
        let mut print = sb.client();
        print.args(["print", "-p", "svc"]);
        for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] {
            print.env(var, dead_proxy);
        }
        let out = print
            .env("NO_PROXY", no_proxy)
            .env("no_proxy", no_proxy)
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            works,
            "NO_PROXY={no_proxy:?}: {}",
            describe(&out)
        );
        if !works {
            assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
        }
    }
}
