//! Harness for the end-to-end tests: runs the real `wrs-token` and
//! `wrs-tokend` binaries in a sandbox of their own (temp socket, temp XDG
//! directories), so a test never touches the user's daemon, config or
//! keyring, and tests can run in parallel.
//!
//! The binaries are the ones `cargo build --workspace --bins` left beside
//! this test executable (`scripts/test` builds them first).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod impostor;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use wrs_proto::frame::{read_frame, read_json_line, write_frame};
use wrs_proto::{Request, RequestEnvelope, Response};

/// Path of a workspace binary built beside the running test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test does)",
        path.display()
    );
    path
}

/// `PATH` with the workspace binaries first, for shell scripts that call
/// `wrs-token` by name as a user would.
pub fn path_with_binaries() -> OsString {
    let dir = bin("wrs-token").parent().expect("bin dir").to_path_buf();
    let mut path = dir.into_os_string();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

/// One isolated world: its own socket, runtime, config and data dirs.
pub struct Sandbox {
    /// Root temp dir (removed on drop).
    pub root: tempfile::TempDir,
    /// The daemon socket path.
    pub socket: PathBuf,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A fresh sandbox under /tmp (short paths: a Unix socket path has a
    /// 108-byte limit).
    pub fn new() -> Sandbox {
        let root = tempfile::Builder::new()
            .prefix("wrs-e2e-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        for sub in ["run", "config", "data", "cache", "home"] {
            std::fs::create_dir_all(root.path().join(sub)).expect("mkdir");
        }
        let socket = root.path().join("run/wrs-token/agent.sock");
        Sandbox { root, socket }
    }

    /// Environment every process in the sandbox gets.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let p = |s: &str| self.root.path().join(s).into_os_string();
        vec![
            ("WRS_TOKEN_SOCKET", self.socket.clone().into_os_string()),
            ("XDG_RUNTIME_DIR", p("run")),
            ("XDG_CONFIG_HOME", p("config")),
            ("XDG_DATA_HOME", p("data")),
            ("XDG_CACHE_HOME", p("cache")),
            ("HOME", p("home")),
            ("WRS_TOKEND", bin("wrs-tokend").into_os_string()),
            ("RUST_BACKTRACE", "0".into()),
        ]
    }

    fn command(&self, program: PathBuf) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_remove("WRS_TOKEN_PROFILE")
            .env_remove("WRS_TOKEN_NO_AUTOSTART")
            .env_remove("WRS_TOKEN_CONFIG")
            .env_remove("RUST_LOG")
            .envs(self.env())
            .stdin(Stdio::null());
        cmd
    }

    /// A `$BROWSER` that follows the authorization redirect to the loopback
    /// listener with curl, as a person's browser would after an
    /// auto-approved login. Each URL it opens is appended to `browser.log`.
    pub fn browser(&self) -> PathBuf {
        let path = self.root.path().join("browser.sh");
        let log = self.root.path().join("browser.log");
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$1\" >> '{}'\nexec curl -fsSL -o /dev/null \"$1\"\n",
                log.display()
            ),
        )
        .expect("write browser.sh");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod browser.sh");
        path
    }

    /// The real client, pointed at this sandbox.
    pub fn client(&self) -> Command {
        self.command(bin("wrs-token"))
    }

    /// The real daemon, pointed at this sandbox.
    pub fn daemon(&self) -> Command {
        let mut cmd = self.command(bin("wrs-tokend"));
        cmd.arg("--socket").arg(&self.socket);
        cmd
    }

    /// Starts the daemon in the background with `args`; returns once it
    /// reported ready (the launcher exits 0 only after the socket is bound).
    pub fn start_daemon(&self, args: &[&str]) {
        let out = self.daemon().args(args).output().expect("spawn wrs-tokend");
        assert!(
            out.status.success(),
            "wrs-tokend failed to start: {}",
            describe(&out)
        );
    }

    /// Runs the client with `args` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.client().args(args).output().expect("spawn wrs-token")
    }

    /// Runs the client with `args`, writing `input` to its stdin (secrets
    /// travel this way, never in argv).
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .client()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wrs-token");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait for wrs-token")
    }

    /// `profile add NAME` for the mock's public client `wrs-cli` at
    /// `issuer` (scopes `openid offline_access WINDCHILL`), secrets in
    /// `store`, with `extra` flags (e.g. `--resource URL`).
    pub fn add_public_profile(&self, name: &str, issuer: &str, store: &str, extra: &[&str]) {
        let mut args = vec![
            "profile",
            "add",
            name,
            "--issuer",
            issuer,
            "--client-id",
            "wrs-cli",
            "--auth",
            "none",
            "--scope",
            "openid",
            "--scope",
            "offline_access",
            "--scope",
            "WINDCHILL",
            "--store",
            store,
        ];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert!(out.status.success(), "profile add: {}", describe(&out));
    }

    /// Sends one request over the binary protocol and reads the answer.
    pub fn request(&self, request: Request) -> Response {
        let mut stream = self.connect();
        write_frame(&mut stream, &RequestEnvelope::new(request)).expect("write");
        let body = read_frame(&mut stream).expect("read").expect("a response");
        wrs_proto::frame::decode_binary(&body).expect("decode")
    }

    /// Drops the daemon's cached token for `profile`, as a client that got
    /// a 401 does: the next request fetches a new one from the server.
    pub fn invalidate(&self, profile: &str) {
        let answer = self.request(Request::Invalidate {
            profile: Some(profile.into()),
            token: None,
        });
        assert!(
            matches!(answer, Response::Invalidated { .. }),
            "invalidate: {answer:?}"
        );
    }

    /// Sends one JSON line and reads one JSON line back.
    pub fn request_json(&self, line: &str) -> serde_json::Value {
        let mut stream = self.connect();
        stream.write_all(line.as_bytes()).expect("write");
        stream.write_all(b"\n").expect("write");
        let mut reader = BufReader::new(stream);
        let got = read_json_line(&mut reader).expect("read").expect("a line");
        serde_json::from_slice(&got).expect("json")
    }

    /// A raw connection to the daemon, with a read timeout so a test never
    /// hangs.
    pub fn connect(&self) -> UnixStream {
        let stream = UnixStream::connect(&self.socket).expect("connect to daemon");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
    }

    /// The daemon's pid from its lock file, if one is running.
    pub fn daemon_pid(&self) -> Option<u32> {
        // With an explicit socket path the lock sits beside it (wrs_proto::endpoint).
        let lock_path = wrs_proto::endpoint::Endpoint::at(&self.socket).ok()?.lock;
        let lock = std::fs::read_to_string(lock_path).ok()?;
        lock.trim().parse().ok()
    }

    /// Whether something answers on the socket.
    pub fn daemon_answers(&self) -> bool {
        UnixStream::connect(&self.socket).is_ok()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Never leave a daemon behind: ask politely, then insist.
        if let Ok(mut s) = UnixStream::connect(&self.socket) {
            let _ = write_frame(&mut s, &RequestEnvelope::new(Request::Shutdown {}));
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = read_frame(&mut s);
        }
        if let Some(pid) = self.daemon_pid() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// Exit code, stdout and stderr of a finished process, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// stdout as a string.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as a string.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until `cond` holds, polling every 10 ms, for at most `limit`.
/// For observing another process's state change (a socket going away), not
/// for timing assertions.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Reads lines from a child's stream until one contains `needle`.
pub fn read_until_line(reader: &mut impl BufRead, needle: &str) -> Option<String> {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) if line.contains(needle) => return Some(line),
            Ok(_) => {}
        }
    }
}
