//! One isolated world for the real `wrs-token` and `wrs-tokend` binaries:
//! a temp socket and temp XDG directories, so a test never touches the
//! user's daemon, config or keyring, and tests can run in parallel.
//!
//! The binaries are the ones `cargo build --workspace --bins` left beside
//! the test executable (`scripts/test` builds them first; see
//! [`bin`]).

use std::ffi::OsString;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Output};

use wrs_proto::{Request, Response};
use wrs_sys::env;

use crate::daemon;
use crate::process::{bin, describe, isolate, output_with_stdin, write_script};

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
            (env::SOCKET, self.socket.clone().into_os_string()),
            ("XDG_RUNTIME_DIR", p("run")),
            ("XDG_CONFIG_HOME", p("config")),
            ("XDG_DATA_HOME", p("data")),
            ("XDG_CACHE_HOME", p("cache")),
            ("HOME", p("home")),
            (env::TOKEND, bin("wrs-tokend").into_os_string()),
            ("RUST_BACKTRACE", "0".into()),
        ]
    }

    fn command(&self, program: PathBuf) -> Command {
        let mut cmd = Command::new(program);
        isolate(&mut cmd).envs(self.env());
        cmd
    }

    /// A `$BROWSER` that follows the authorization redirect to the loopback
    /// listener with curl, as a person's browser would after an
    /// auto-approved login. Each URL it opens is appended to `browser.log`.
    pub fn browser(&self) -> PathBuf {
        let path = self.root.path().join("browser.sh");
        let log = self.root.path().join("browser.log");
        write_script(
            &path,
            &format!(
                "echo \"$1\" >> '{}'\nexec curl -fsSL -o /dev/null \"$1\"",
                log.display()
            ),
        );
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
        output_with_stdin(self.client().args(args), input.as_bytes())
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
        daemon::call(&self.socket, request)
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
        daemon::call_json(&self.socket, line)
    }

    /// A raw connection to the daemon, with a read timeout so a test never
    /// hangs.
    pub fn connect(&self) -> UnixStream {
        daemon::connect(&self.socket)
    }

    /// The daemon's pid from its lock file, if one is running.
    pub fn daemon_pid(&self) -> Option<u32> {
        // With an explicit socket path the lock sits beside it (wrs_sys::endpoint).
        let lock_path = wrs_sys::endpoint::Endpoint::at(&self.socket).ok()?.lock;
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
        daemon::shutdown(&self.socket);
        if let Some(pid) = self.daemon_pid() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}
