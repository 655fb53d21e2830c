//! Logins as a new user meets them, through the real binaries against the real
//! `wrs-mock`: a failed import or re-login never throws a working session
//! away; an interrupted login is cancelled at the daemon at once (its
//! loopback port closed, the profile free for a new one); `--device` opens
//! no browser; `--no-browser` over SSH says how to get the redirect home;
//! error hints fit the situation (a login is not "retried by itself", a TLS
//! failure names the `ca_file` fix).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use wrs_testkit::process::read_until_line;
use wrs_testkit::{Mock, Sandbox, describe, stderr, stdout};

fn add_profile(sb: &Sandbox, mock: &Mock, name: &str) {
    sb.add_public_profile(
        name,
        &mock.ready.issuer,
        "memory",
        &["--resource", &mock.ready.wrs_root],
    );
}

/// A browser login through the sandbox's scripted browser.
fn login(sb: &Sandbox, name: &str) {
    let out = sb
        .client()
        .args(["login", name, "--timeout", "30"])
        .env("BROWSER", sb.browser())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

fn token(sb: &Sandbox, name: &str) -> String {
    let out = sb.run(&["print", "-p", name]);
    assert!(out.status.success(), "{}", describe(&out));
    stdout(&out).trim().to_owned()
}

/// The session still serves, and its refresh token still works: after the
/// cached token is dropped (as after a 401), a new one is fetched with it.
fn assert_session_serves(sb: &Sandbox, mock: &Mock, name: &str) {
    assert!(mock.token_is_active(&token(sb, name)));
    sb.invalidate(name);
    assert!(
        mock.token_is_active(&token(sb, name)),
        "the stored refresh token still works"
    );
}

/// `login NAME --no-browser` as a child, read until it printed the URL;
/// returns the child, the rest of its stderr and the loopback port.
fn start_pending_login(
    sb: &Sandbox,
    name: &str,
    env: &[(&str, &str)],
) -> (Child, BufReader<std::process::ChildStderr>, String, u16) {
    let mut child = sb
        .client()
        .args(["login", name, "--no-browser", "--timeout", "60"])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let url = read_until_line(&mut err, "redirect_uri=").expect("the login URL");
    let port = redirect_port(&url);
    (child, err, url.trim().to_owned(), port)
}

/// The loopback port in an authorization URL's `redirect_uri`.
fn redirect_port(url: &str) -> u16 {
    let url = url::Url::parse(url.trim()).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    url::Url::parse(&redirect).unwrap().port().unwrap()
}

fn port_is_closed(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_err()
}

fn rest(mut err: impl Read) -> String {
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn a_rejected_refresh_token_import_keeps_the_working_session() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    login(&sb, "plm");
    let before = token(&sb, "plm");
    let out = sb.run_with_stdin(
        &["login", "plm", "--refresh-token-stdin"],
        "not-a-refresh-token-this-server-issued\n",
    );
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the imported refresh token was rejected: invalid_grant"),
        "{err}"
    );
    assert!(err.contains("your previous session is kept"), "{err}");
    // The cached access token is the same one, and the stored refresh
    // token is the old, working one.
    assert_eq!(token(&sb, "plm"), before);
    assert_session_serves(&sb, &mock, "plm");
}

/// A login made elsewhere, imported: a working session without a browser.
fn import_minted(sb: &Sandbox, mock: &Mock, name: &str) {
    let minted = mock.admin(
        "tokens",
        r#"{"client_id":"wrs-cli","scope":"openid offline_access WINDCHILL"}"#,
    );
    let refresh = minted["refresh_token"].as_str().unwrap();
    let out = sb.run_with_stdin(
        &["login", name, "--refresh-token-stdin"],
        &format!("{refresh}\n"),
    );
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn a_re_login_the_user_denies_keeps_the_working_session() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    import_minted(&sb, &mock, "plm");
    let before = token(&sb, "plm");
    // A browser whose user presses "Deny" on the mock's sign-on page.
    let browser = sb.root.path().join("deny.sh");
    wrs_testkit::process::write_script(
        &browser,
        &format!(
            "page=$(curl -fsS \"$1\") || exit 1\n\
             txn=$(printf '%s' \"$page\" | sed -n 's/.*name=\"txn\" value=\"\\([^\"]*\\)\".*/\\1/p')\n\
             exec curl -sSL -o /dev/null --data \"txn=$txn&decision=deny\" '{}/as/authorization.oauth2'",
            mock.ready.issuer.trim_end_matches('/')
        ),
    );
    let out = sb
        .client()
        .args(["login", "plm", "--timeout", "30"])
        .env("BROWSER", &browser)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(stderr(&out).contains("access_denied"), "{}", describe(&out));
    assert_eq!(token(&sb, "plm"), before);
    assert_session_serves(&sb, &mock, "plm");
}

#[test]
fn a_re_login_that_times_out_keeps_the_session_and_frees_the_profile() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    login(&sb, "plm");
    let before = token(&sb, "plm");
    let out = sb.run(&["login", "plm", "--no-browser", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("login timed out"),
        "{}",
        describe(&out)
    );
    let port = redirect_port(
        stderr(&out)
            .lines()
            .find(|l| l.contains("redirect_uri="))
            .unwrap(),
    );
    // The client cancelled its login on the way out.
    assert!(port_is_closed(port), "the loopback port {port} is closed");
    assert_eq!(token(&sb, "plm"), before);
    assert_session_serves(&sb, &mock, "plm");
    // And a new login is not refused as "in progress".
    login(&sb, "plm");
}

#[test]
fn ctrl_c_during_login_cancels_it_at_the_daemon_at_once() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    let (mut child, err, _url, port) = start_pending_login(&sb, "plm", &[]);
    assert!(!port_is_closed(port), "the daemon listens for the redirect");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    let text = rest(err);
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(
        text.contains("the login for profile plm was cancelled"),
        "{text}"
    );
    // At once: no 15 s of silence for the daemon to notice.
    assert!(
        port_is_closed(port),
        "the old loopback port {port} is closed"
    );
    let out = sb
        .client()
        .args(["login", "plm", "--timeout", "30"])
        .env("BROWSER", sb.browser())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!stderr(&out).contains("in progress"), "{}", describe(&out));
    assert!(mock.token_is_active(&token(&sb, "plm")));
}

#[test]
fn sigterm_and_sighup_cancel_the_login_too() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    for (signal, code) in [("-TERM", 143), ("-HUP", 129)] {
        let (mut child, err, _url, port) = start_pending_login(&sb, "plm", &[]);
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        let text = rest(err);
        assert_eq!(status.code(), Some(code), "{signal}: {text}");
        assert!(port_is_closed(port), "{signal}: port {port} is closed");
    }
}

#[test]
fn login_cancel_ends_a_login_pending_in_another_process() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    let (mut child, err, _url, port) = start_pending_login(&sb, "plm", &[]);
    // A second login is refused, and told how to end the first.
    let out = sb.run(&["login", "plm", "--no-browser", "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr(&out).contains("in progress"), "{}", describe(&out));
    assert!(
        stderr(&out).contains("wrs-token login --cancel plm"),
        "{}",
        describe(&out)
    );
    let out = sb.run(&["login", "--cancel", "plm"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stderr(&out).contains("Cancelled the pending login for profile plm"),
        "{}",
        describe(&out)
    );
    assert!(port_is_closed(port), "the loopback port {port} is closed");
    // The first client hears it and fails saying so.
    let status = child.wait().unwrap();
    let text = rest(err);
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("cancelled"), "{text}");
    // Nothing left to cancel.
    let out = sb.run(&["login", "--cancel", "plm"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stderr(&out).contains("No login for profile plm was pending"));
    // JSON mode on the socket: the same request by its documented name.
    let answer = sb.request_json(r#"{"version":3,"request":{"login_cancel":{"profile":"plm"}}}"#);
    assert_eq!(
        answer,
        serde_json::json!({"login_cancelled": {"profile": "plm", "cancelled": false}})
    );
}

#[test]
fn a_device_login_opens_no_browser() {
    let mock = Mock::start_with(&["--device-interval", "1"]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    let mut child = sb
        .client()
        .args(["login", "plm", "--device", "--timeout", "30"])
        // Records every invocation in browser.log.
        .env("BROWSER", sb.browser())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let code = loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "no user code shown");
        let t = line.trim();
        if t.len() == 9 && t.as_bytes()[4] == b'-' {
            break t.to_owned();
        }
    };
    mock.admin("devices/approve", &format!("{{\"user_code\":\"{code}\"}}"));
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", rest(err));
    assert!(mock.token_is_active(&token(&sb, "plm")));
    assert!(
        !sb.root.path().join("browser.log").exists(),
        "the device login started $BROWSER"
    );
}

#[test]
fn no_browser_over_ssh_names_device_and_the_exact_port_forward() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    let ssh = [
        ("SSH_CONNECTION", "192.0.2.7 50022 192.0.2.1 22"),
        ("USER", "alice"),
    ];
    let (mut child, err, _url, port) = start_pending_login(&sb, "plm", &ssh);
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let text = rest(err);
    assert!(text.contains("wrs-token login plm --device"), "{text}");
    assert!(
        text.contains(&format!("ssh -L {port}:127.0.0.1:{port} alice@192.0.2.1")),
        "{text}"
    );
    // Not on SSH: no such advice.
    let out = sb
        .client()
        .args(["login", "plm", "--no-browser", "--timeout", "1"])
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_TTY")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("ssh -L"), "{}", describe(&out));
}

#[test]
fn a_login_failing_at_the_token_endpoint_is_not_said_to_be_retried() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    add_profile(&sb, &mock, "plm");
    mock.admin(
        "faults",
        r#"{"endpoint":"token","fault":{"status":{"code":503}},"times":1}"#,
    );
    let out = sb
        .client()
        .args(["login", "plm", "--timeout", "30"])
        .env("BROWSER", sb.browser())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("503"), "{err}");
    assert!(!err.contains("retries by itself"), "{err}");
    assert!(err.contains("wrs-token login plm"), "{err}");
}

#[test]
fn a_tls_failure_names_the_ca_file_command_for_print_and_login() {
    let mock = Mock::start_with(&["--tls", "--auto-approve"]);
    let sb = Sandbox::new();
    // Unchecked: `profile add` would refuse the untrusted chain itself.
    sb.add_public_profile(
        "plm",
        &mock.ready.issuer,
        "memory",
        &["--resource", &mock.ready.wrs_root, "--no-check"],
    );
    let fix = "wrs-token profile set plm ca_file PATH";
    // A login from elsewhere: the import cannot be checked over TLS.
    let minted = mock.admin(
        "tokens",
        r#"{"client_id":"wrs-cli","scope":"openid offline_access WINDCHILL"}"#,
    );
    let refresh = minted["refresh_token"].as_str().unwrap();
    let out = sb.run_with_stdin(
        &["login", "plm", "--refresh-token-stdin"],
        &format!("{refresh}\n"),
    );
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(stderr(&out).contains(fix), "{}", describe(&out));
    // Asked for a token, first and again during the backoff.
    for _ in 0..2 {
        let out = sb.run(&["print", "-p", "plm"]);
        assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
        assert!(stderr(&out).contains(fix), "{}", describe(&out));
    }
    let out = sb
        .client()
        .args(["login", "plm", "--timeout", "30"])
        .env("BROWSER", sb.browser())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains(fix), "{err}");
    assert!(!err.contains("retries by itself"), "{err}");
}
