//! Runs `tests/interop/server.mjs` (oidc-provider under Node) for one test:
//! starts it on an ephemeral port, waits for its `OIDC_READY` line, and
//! kills it on drop. Its stdin is a pipe the server watches, so even a test
//! process killed outright leaves no server behind.
//!
//! A missing `node` or npm install is a test failure naming
//! `scripts/setup-test-env`, never a silent skip.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long Node may take to load oidc-provider and listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The fixed account of server.mjs; the user agent logs in with it.
pub const ACCOUNT_ID: &str = "engineer";

/// The public client (code and device flows, refresh).
pub const PUBLIC_CLIENT: &str = "wrs-cli";

/// The confidential client (client credentials, `client_secret_basic`).
pub const CI_CLIENT: &str = "wrs-ci";

/// Its secret: characters that RFC 6749 2.3.1's form-encoding must survive.
pub const CI_SECRET: &str = "ci-secret: with spaces & symbols/+=";

const SETUP_HINT: &str =
    "run scripts/setup-test-env (it installs Node.js and `npm ci`s tests/interop)";

/// A running oidc-provider.
pub struct Provider {
    child: Child,
    // Closed on drop, after the kill: the server's lifeline.
    _stdin: Option<ChildStdin>,
    issuer: String,
    log: tempfile::NamedTempFile,
}

impl Provider {
    /// Starts a fresh provider (its state — grants, tokens — is its own).
    pub fn start() -> Provider {
        let dir = interop_dir();
        check_installed(&dir);
        let log = tempfile::Builder::new()
            .prefix("wrs-interop-")
            .suffix(".log")
            .tempfile()
            .expect("temp file for the provider's log");
        let stderr = File::options()
            .append(true)
            .open(log.path())
            .expect("open the provider's log");
        let mut child = match Command::new("node")
            .arg(dir.join("server.mjs"))
            .arg("0")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("`node` is not installed, and the interop tests need it: {SETUP_HINT}")
            }
            Err(e) => panic!("cannot start node: {e}"),
        };
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            // Keep draining after the ready line, so the server never blocks
            // on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("OIDC_READY ")
                    && let Some(tx) = ready.take()
                {
                    let _ = tx.send(rest.to_owned());
                }
            }
        });
        let mut provider = Provider {
            child,
            _stdin: stdin,
            issuer: String::new(),
            log,
        };
        let ready = match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(ready) => ready,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "oidc-provider did not report OIDC_READY within {} s; its log:\n{}",
                START_TIMEOUT.as_secs(),
                provider.log()
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = provider.child.wait().ok();
                panic!(
                    "oidc-provider exited before it was ready ({status:?}); its log:\n{}\n\
                     (oidc-provider 9 needs Node.js >= 20.18: {SETUP_HINT})",
                    provider.log()
                )
            }
        };
        let ready: serde_json::Value = serde_json::from_str(&ready)
            .unwrap_or_else(|e| panic!("bad OIDC_READY line {ready:?}: {e}"));
        provider.issuer = ready["issuer"]
            .as_str()
            .unwrap_or_else(|| panic!("OIDC_READY without an issuer: {ready}"))
            .to_owned();
        provider
    }

    /// The issuer, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// What the server wrote to stderr so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Fails unless the installed oidc-provider is the locked one.
fn check_installed(dir: &Path) {
    let read_json = |path: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    };
    let locked = read_json(dir.join("package-lock.json"))
        .and_then(|lock| {
            lock["packages"]["node_modules/oidc-provider"]["version"]
                .as_str()
                .map(str::to_owned)
        })
        .expect("tests/interop/package-lock.json names no oidc-provider version");
    let installed = read_json(dir.join("node_modules/oidc-provider/package.json"))
        .and_then(|p| p["version"].as_str().map(str::to_owned));
    match installed {
        None => {
            panic!("oidc-provider is not installed in tests/interop/node_modules: {SETUP_HINT}")
        }
        Some(v) if v != locked => panic!(
            "tests/interop/node_modules has oidc-provider {v}, the lock file says {locked}: {SETUP_HINT}"
        ),
        Some(_) => {}
    }
}
