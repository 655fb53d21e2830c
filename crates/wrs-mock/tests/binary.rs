//! The `wrs-mock` binary as documented, and the background (sync) server.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wrs_mock::{MockConfig, MockServer, READY_PREFIX, ReadyMessage};
use wrs_testkit::wait_until;

/// Kills the child if the test fails before it does.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_ready_line_serves_https_with_its_ca_and_exits_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    let child = Command::new(env!("CARGO_BIN_EXE_wrs-mock"))
        .args(["--listen", "127.0.0.1:0", "--tls", "--ca-out"])
        .arg(&ca_path)
        .args([
            "--access-token-lifetime",
            "7",
            "--roll-refresh-tokens",
            "--auto-approve",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = Guard(child);
    let stdout = guard.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let ready = ReadyMessage::from_line(&first)
        .expect("the first line is the ready line")
        .unwrap();
    assert!(ready.base_url.starts_with("https://127.0.0.1:"));
    // No issuer path: the issuer is the base URL without its slash.
    assert_eq!(format!("{}/", ready.issuer), ready.base_url);
    assert!(ready.wrs_root.ends_with("/Windchill/oauth/servlet/odata/"));
    assert!(ready.admin_url.ends_with("/mock/admin/"));
    assert_eq!(ready.ca_file.as_deref(), ca_path.to_str());
    assert_eq!(ready.pid, guard.0.id());
    assert!(
        ready
            .clients
            .iter()
            .any(|c| c.id == "wrs-service" && c.secret.as_deref() == Some("wrs-service-secret"))
    );
    // The human-readable summary follows.
    let rest: Vec<String> = lines.by_ref().take(3).map(|l| l.unwrap()).collect();
    assert!(rest[0].starts_with("wrs-mock serving on https://"));

    let pem = std::fs::read(&ca_path).unwrap();
    let ca = reqwest::Certificate::from_pem(&pem).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let resp = client
        .post(&ready.token_endpoint)
        .basic_auth("wrs-service", Some("wrs-service-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 7);
    // Without the CA the same request fails verification.
    let strict = reqwest::Client::builder()
        .tls_certs_only([])
        .no_proxy()
        .build()
        .unwrap();
    assert!(strict.get(&ready.issuer).send().await.is_err());

    // The shell's builtin kill: no procps needed.
    let kill = format!("kill -TERM {}", guard.0.id());
    let status = Command::new("sh").args(["-c", &kill]).status().unwrap();
    assert!(status.success());
    let mut exit = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            exit = guard.0.try_wait().unwrap();
            exit.is_some()
        }),
        "wrs-mock did not exit on SIGTERM"
    );
    assert!(exit.unwrap().success(), "exit status {exit:?}");
}

#[test]
fn binary_refuses_ca_out_without_tls() {
    let out = Command::new(env!("CARGO_BIN_EXE_wrs-mock"))
        .args(["--listen", "127.0.0.1:0", "--ca-out", "/tmp/x.pem"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(READY_PREFIX));
}

/// A plain HTTP/1.1 request over a std socket: no tokio on this side.
fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn background_server_works_without_a_caller_runtime_and_stops_on_shutdown() {
    let mock = MockServer::start_background(MockConfig::default()).unwrap();
    let addr = mock.local_addr();
    let answer = raw_get(addr, "/.well-known/openid-configuration");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&format!("\"issuer\":\"{}\"", mock.issuer())));
    let set = mock.issue_tokens_for_test("wrs-cli", "demo", "").unwrap();
    assert!(mock.is_access_token_valid(&set.access_token));
    assert_eq!(mock.counters().discovery, 1);
    mock.shutdown();
    assert!(
        TcpStream::connect(addr).is_err(),
        "listener must be closed after shutdown"
    );
}

#[test]
fn binding_a_busy_port_is_an_error_not_a_panic() {
    let first = MockServer::start_background(MockConfig::default()).unwrap();
    let second = MockServer::start_background(MockConfig::default().listen(first.local_addr()));
    assert!(matches!(second, Err(wrs_mock::MockError::Bind { .. })));
}
