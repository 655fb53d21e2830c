//! The real `wrs-mock` binary on a free port, and a minimal HTTP/1.1
//! client (std `TcpStream`) for its admin API and introspection endpoint.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wrs_e2e::bin;

/// A running `wrs-mock`, stopped on drop.
pub struct Mock {
    child: Child,
    /// The `WRS_MOCK_READY` document.
    pub ready: serde_json::Value,
}

impl Mock {
    /// Starts `wrs-mock --listen 127.0.0.1:0` and waits for its ready line.
    pub fn start() -> Mock {
        Self::start_with(&[])
    }

    /// As [`Mock::start`], with extra flags (`--auto-approve`, lifetimes…).
    pub fn start_with(args: &[&str]) -> Mock {
        let mut child = Command::new(bin("wrs-mock"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn wrs-mock");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let ready = loop {
            line.clear();
            let n = out.read_line(&mut line).expect("read wrs-mock stdout");
            assert!(n > 0, "wrs-mock exited before it was ready");
            if let Some(json) = line.strip_prefix("WRS_MOCK_READY ") {
                break serde_json::from_str(json).expect("ready JSON");
            }
        };
        // Keep draining the summary so the mock never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Mock { child, ready }
    }

    /// A URL from the ready document (`token_endpoint`, `wrs_root`, …).
    pub fn url(&self, key: &str) -> String {
        self.ready[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {}", self.ready))
            .to_owned()
    }

    /// `POST <admin_url><path>` with a JSON body; the answer's JSON (or null).
    pub fn admin(&self, path: &str, body: &str) -> serde_json::Value {
        let url = format!("{}{path}", self.url("admin_url"));
        let (status, body) = http(
            "POST",
            &url,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert!((200..300).contains(&status), "{url}: HTTP {status}");
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
    }

    /// The mock's request counters.
    pub fn counters(&self) -> serde_json::Value {
        let url = format!("{}counters", self.url("admin_url"));
        let (status, body) = http("GET", &url, &[], b"");
        assert_eq!(status, 200, "{url}");
        serde_json::from_slice(&body).expect("counters JSON")
    }

    /// Moves the mock's clock forward (tokens it issued expire for it).
    pub fn advance_clock(&self, secs: u64) {
        self.admin("clock", &format!("{{\"advance_secs\":{secs}}}"));
    }

    /// Whether the mock's introspection endpoint calls `token` active
    /// (see [`token_is_active_at`]).
    pub fn token_is_active(&self, token: &str) -> bool {
        token_is_active_at(&self.url("introspection_endpoint"), token)
    }
}

/// Whether the introspection endpoint at `url` calls `token` active, asking
/// as the resource server `windchill` (HTTP Basic), as a real Windchill or
/// git server would. A free function, so a server thread can hold the URL
/// rather than the [`Mock`], which must drop to stop.
pub fn token_is_active_at(url: &str, token: &str) -> bool {
    // base64("windchill:windchill-secret")
    let basic = "Basic d2luZGNoaWxsOndpbmRjaGlsbC1zZWNyZXQ=";
    let form = format!("token={}", form_encode(token));
    let (status, body) = http(
        "POST",
        url,
        &[
            ("Authorization", basic),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes(),
    );
    assert_eq!(
        status,
        200,
        "introspection: {}",
        String::from_utf8_lossy(&body)
    );
    let v: serde_json::Value = serde_json::from_slice(&body).expect("introspection JSON");
    v["active"] == true
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTP/1.1 request to a plain-HTTP `http://host:port/path` URL;
/// returns the status and the (de-chunked) body.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    if url.starts_with("https://") {
        return https(method, url, headers, body);
    }
    let rest = url.strip_prefix("http://").expect("plain http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    stream.write_all(body).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

/// As [`http`], for the mock's own plumbing (admin, introspection) when it
/// serves TLS: through curl, without checking the chain, which is not what
/// these calls test.
fn https(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    use std::process::Stdio;
    let mut cmd = std::process::Command::new("curl");
    cmd.args([
        "-sk",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
        "--data-binary",
        "@-",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    for (k, v) in headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    let mut child = cmd.arg(url).spawn().expect("curl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("write body");
    let out = child.wait_with_output().expect("curl");
    let text = out.stdout;
    let split = text.iter().rposition(|&b| b == b'\n').expect("status line");
    let status = String::from_utf8_lossy(&text[split + 1..])
        .trim()
        .parse()
        .expect("status");
    (status, text[..split].to_vec())
}

/// Decodes a chunked body held in memory.
pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_line = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .expect("chunk size");
        data = &data[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
