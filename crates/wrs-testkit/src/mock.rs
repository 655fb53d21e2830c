//! The real `wrs-mock` binary on a free port, as benchmarks and scripts run
//! it: spawned, read through its ready line, stopped on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use wrs_mock::{Counters, ReadyMessage};

use crate::http::HttpClient;
use crate::process::bin;

/// A running `wrs-mock`, stopped on drop.
#[derive(Debug)]
pub struct Mock {
    child: Child,
    /// Where it listens and whom it knows, from its ready line.
    pub ready: ReadyMessage,
    /// Plain, or trusting the mock's own CA when it serves TLS.
    http: HttpClient,
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
            if let Some(ready) = ReadyMessage::from_line(&line) {
                break ready.unwrap_or_else(|e| panic!("bad ready line {line:?}: {e}"));
            }
        };
        // Keep draining the summary so the mock never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let http = match &ready.ca_file {
            Some(ca) => HttpClient::trusting(&std::fs::read(ca).expect("the mock's CA file")),
            None => HttpClient::plain(),
        };
        Mock { child, ready, http }
    }

    /// `POST <admin_url><path>` with a JSON body; the answer's JSON (or null).
    pub fn admin(&self, path: &str, body: &str) -> serde_json::Value {
        let url = format!("{}{path}", self.ready.admin_url);
        let (status, body) = self.http.send(
            "POST",
            &url,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert!((200..300).contains(&status), "{url}: HTTP {status}");
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
    }

    /// The mock's request counters.
    pub fn counters(&self) -> Counters {
        let url = format!("{}counters", self.ready.admin_url);
        let (status, body) = self.http.send("GET", &url, &[], b"");
        assert_eq!(status, 200, "{url}");
        serde_json::from_slice(&body).expect("counters JSON")
    }

    /// Moves the mock's clock forward (tokens it issued expire for it).
    pub fn advance_clock(&self, secs: u64) {
        self.admin("clock", &format!("{{\"advance_secs\":{secs}}}"));
    }

    /// Whether the mock's introspection endpoint calls `token` active
    /// (see [`HttpClient::token_is_active`]).
    pub fn token_is_active(&self, token: &str) -> bool {
        self.http
            .token_is_active(&self.ready.introspection_endpoint, token)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
