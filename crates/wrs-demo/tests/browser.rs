//! `wrs-demo browse`, the headless browser `wrs-token demo` puts in
//! `$BROWSER`, against a running mock and a loopback listener standing in
//! for the client's redirect receiver.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use url::Url;
use wrs_demo::browser::{CA_FILE_ENV, REPORT_ENV};
use wrs_mock::config::DEMO_PUBLIC_CLIENT as PUBLIC;
use wrs_mock::{MockConfig, MockServer};

/// A redirect URI the mock accepts for the public client, where nothing
/// listens.
const REDIRECT: &str = "http://127.0.0.1:49152/callback";
/// The S256 challenge of RFC 7636 appendix B (verifier
/// `dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`): no code is ever exchanged
/// here, so only the challenge is needed.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The mock's authorization URL for a PKCE code flow.
fn authz_url(mock: &MockServer, redirect: &str, state: &str) -> Url {
    let mut url = mock.authorization_endpoint();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", PUBLIC)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid WINDCHILL")
        .append_pair("state", state)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    url
}

/// A one-shot loopback "redirect receiver": answers 200 with a title and
/// sends back the request line it got.
fn loopback() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        // Drain the head so the client sees a clean answer.
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let body = "<html><head><title>Login complete</title></head></html>";
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        tx.send(request_line.trim_end().to_owned()).unwrap();
    });
    (port, rx)
}

fn browse(args: &[&str], ca: Option<&Path>, report: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wrs-demo"));
    command.arg("browse");
    if let Some(ca) = ca {
        command.arg("--ca-file").arg(ca);
    }
    if let Some(report) = report {
        command.arg("--report").arg(report);
    }
    command
        .args(["--timeout", "10"])
        .args(args)
        .env_remove(CA_FILE_ENV)
        .env_remove(REPORT_ENV)
        .output()
        .unwrap()
}

fn tls_mock(auto_approve: bool, dir: &Path) -> (MockServer, std::path::PathBuf) {
    let mock =
        MockServer::start_background(MockConfig::default().tls(true).auto_approve(auto_approve))
            .unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, mock.ca_pem().unwrap()).unwrap();
    (mock, ca)
}

#[test]
fn browse_follows_the_auto_approve_redirects_to_the_loopback_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, ca) = tls_mock(true, dir.path());
    let (port, received) = loopback();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let url = authz_url(&mock, &redirect, "st-123");
    let report = dir.path().join("report.log");

    let out = browse(&[url.as_str()], Some(&ca), Some(&report));

    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "stdout {stdout} stderr {:?}",
        out.stderr
    );
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    let expected = format!(
        "browse: GET {} → 302 → {redirect} → 200 OK \"Login complete\"",
        mock.authorization_endpoint()
    );
    assert_eq!(stdout.trim_end(), expected);
    // The listener got the code and state; the report shows neither.
    let request = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        request.starts_with("GET /callback?code=wrsac_"),
        "{request}"
    );
    assert!(request.contains("state=st-123"), "{request}");
    assert!(!stdout.contains("code=") && !stdout.contains("wrsac_"));
    assert_eq!(std::fs::read_to_string(&report).unwrap(), stdout);
    assert_eq!(mock.counters().authorization, 1);
}

#[test]
fn browse_without_auto_approve_stops_at_the_login_page() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, ca) = tls_mock(false, dir.path());
    let url = authz_url(&mock, REDIRECT, "s");

    let out = browse(&[url.as_str()], Some(&ca), None);

    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "browse: GET {} → 200 OK \"",
            mock.authorization_endpoint()
        )),
        "{stdout}"
    );
}

#[test]
fn browse_names_an_error_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, ca) = tls_mock(true, dir.path());
    let (port, received) = loopback();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut url = mock.authorization_endpoint();
    // No PKCE for a public client: the mock redirects with an error.
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", PUBLIC)
        .append_pair("redirect_uri", &redirect)
        .append_pair("state", "s");

    let out = browse(&[url.as_str()], Some(&ca), None);

    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("(error=invalid_request)"), "{stdout}");
    assert!(received.recv_timeout(Duration::from_secs(5)).is_ok());
}

#[test]
fn browse_fails_with_exit_1_on_an_untrusted_certificate_or_a_closed_port() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, _ca) = tls_mock(true, dir.path());

    let untrusted = browse(&[mock.discovery_url().as_str()], None, None);
    assert_eq!(untrusted.status.code(), Some(1));
    let line = String::from_utf8(untrusted.stdout).unwrap();
    assert!(line.starts_with("browse: GET https://127.0.0.1:"), "{line}");
    assert!(line.contains("failed"), "{line}");

    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = browse(
        &[&format!("http://127.0.0.1:{closed}/x?code=secret")],
        None,
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.contains("failed") && !line.contains("secret"),
        "{line}"
    );
}
