//! The demo's isolated world: a temporary directory holding the config
//! file, the daemon's socket and log, the XDG directories and the mock's CA,
//! and the environment that points the real `wrs-token` there. Nothing of
//! the user's own set-up (config, keyring, socket) is read or written: the
//! profile uses the in-memory store, and every path the client and daemon
//! derive comes from the variables set here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use wrs_sys::env;

/// Variables of the user's environment that would steer the client away
/// from the sandbox or change its behaviour; removed for every command.
const CLEARED_VARS: &[&str] = &[
    env::PROFILE,
    env::NO_AUTOSTART,
    "BROWSER",
    crate::browser::CA_FILE_ENV,
    crate::browser::REPORT_ENV,
];

/// What a finished command printed and how it ended.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Ran {
    /// The output, or an error naming the command, its exit code and the
    /// last thing it said.
    pub(crate) fn check(self, shown: &str) -> anyhow::Result<Ran> {
        if self.status.success() {
            return Ok(self);
        }
        let said = self
            .stderr
            .lines()
            .chain(self.stdout.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" / ");
        let code = self
            .status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| format!("code {c}"));
        Err(anyhow!(
            "`{shown}` exited with {code}: {}",
            super::display::redact(&said)
        ))
    }
}

/// The temporary directory and the paths and programs inside and around it.
#[derive(Debug)]
pub(crate) struct Sandbox {
    /// `None` once removed.
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    /// The real client binary every step runs.
    pub(crate) wrs_token: PathBuf,
    /// The daemon binary the client starts.
    pub(crate) tokend: PathBuf,
    /// This binary, for `$BROWSER`.
    pub(crate) demo_exe: PathBuf,
    /// `WRS_TOKEN_CONFIG`.
    pub(crate) config: PathBuf,
    /// `WRS_TOKEN_SOCKET`.
    pub(crate) socket: PathBuf,
    /// The mock's CA certificate.
    pub(crate) ca_file: PathBuf,
    /// Where `wrs-demo browse` reports what happened.
    pub(crate) browse_report: PathBuf,
}

/// Creates a private directory (0700 on Unix, whatever the umask).
fn private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// `wrs-tokend` beside `wrs-token`, else `$WRS_TOKEND`.
fn find_tokend(wrs_token: &Path) -> anyhow::Result<PathBuf> {
    let name = format!("wrs-tokend{}", std::env::consts::EXE_SUFFIX);
    let beside = wrs_token.parent().map(|d| d.join(&name));
    if let Some(path) = beside.as_ref().filter(|p| p.is_file()) {
        return Ok(path.clone());
    }
    if let Some(env) = std::env::var_os(env::TOKEND).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(env));
    }
    Err(anyhow!(
        "the daemon binary {} is missing; build all binaries with \
         `cargo build --workspace --bins`",
        beside.unwrap_or_else(|| PathBuf::from(name)).display()
    ))
}

impl Sandbox {
    /// Creates the directory tree and checks the binaries are there.
    pub(crate) fn create(wrs_token: PathBuf) -> anyhow::Result<Sandbox> {
        if !wrs_token.is_file() {
            return Err(anyhow!(
                "the client binary {} is missing; build all binaries with \
                 `cargo build --workspace --bins`",
                wrs_token.display()
            ));
        }
        let tokend = find_tokend(&wrs_token)?;
        let demo_exe =
            std::env::current_exe().context("cannot find the path of this wrs-demo binary")?;
        let dir = tempfile::Builder::new()
            .prefix("wrs-token-demo-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let root = dir.path().to_path_buf();
        for sub in [
            "run",
            "xdg/config",
            "xdg/data",
            "xdg/state",
            "xdg/cache",
            "xdg/runtime",
        ] {
            private_dir(&root.join(sub))
                .with_context(|| format!("cannot create {}", root.join(sub).display()))?;
        }
        Ok(Sandbox {
            wrs_token,
            tokend,
            demo_exe,
            config: root.join("config.toml"),
            socket: root.join("run").join("agent.sock"),
            ca_file: root.join("ca.pem"),
            browse_report: root.join("browser.log"),
            dir: Some(dir),
            root,
        })
    }

    /// The temporary directory.
    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    /// The daemon's log file, beside the socket. Named explicitly (see
    /// [`Sandbox::env`]) so the demo's daemon never writes to the user's
    /// journal and the demo can show its tail.
    pub(crate) fn daemon_log(&self) -> PathBuf {
        self.socket.with_file_name("wrs-tokend.log")
    }

    /// The variables every command runs with.
    pub(crate) fn env(&self) -> Vec<(&'static str, OsString)> {
        let xdg = self.path().join("xdg");
        let mut no_proxy = OsString::from("127.0.0.1,localhost,::1");
        if let Some(old) = std::env::var_os("NO_PROXY").filter(|v| !v.is_empty()) {
            no_proxy.push(",");
            no_proxy.push(old);
        }
        vec![
            (env::CONFIG, self.config.clone().into()),
            (env::SOCKET, self.socket.clone().into()),
            (env::TOKEND, self.tokend.clone().into()),
            (env::TOKEND_LOG_FILE, self.daemon_log().into()),
            ("XDG_CONFIG_HOME", xdg.join("config").into()),
            ("XDG_DATA_HOME", xdg.join("data").into()),
            ("XDG_STATE_HOME", xdg.join("state").into()),
            ("XDG_CACHE_HOME", xdg.join("cache").into()),
            ("XDG_RUNTIME_DIR", xdg.join("runtime").into()),
            // The mock is on loopback: a corporate proxy must not see it.
            ("NO_PROXY", no_proxy.clone()),
            ("no_proxy", no_proxy),
        ]
    }

    /// The `$BROWSER` value for the login: `wrs-demo browse`, trusting the
    /// mock's CA and reporting to [`Sandbox::browse_report`]. `$BROWSER` is
    /// split on whitespace, so paths with spaces go through the environment
    /// (see [`Sandbox::browser_env`]) instead of the command line.
    pub(crate) fn browser(&self) -> String {
        let demo = self.demo_exe.display().to_string();
        let ca = self.ca_file.display().to_string();
        let report = self.browse_report.display().to_string();
        let spaced = |s: &str| s.chars().any(char::is_whitespace);
        if spaced(&ca) || spaced(&report) {
            format!("{demo} browse %s")
        } else {
            format!("{demo} browse --ca-file {ca} --report {report} %s")
        }
    }

    /// Variables for the login, read by `wrs-demo browse` when its command
    /// line cannot carry the paths.
    pub(crate) fn browser_env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("BROWSER", self.browser().into()),
            (crate::browser::CA_FILE_ENV, self.ca_file.clone().into()),
            (
                crate::browser::REPORT_ENV,
                self.browse_report.clone().into(),
            ),
        ]
    }

    /// Runs `wrs-token ARGS` in the sandbox with `extra` variables, for at
    /// most `timeout`, and collects its output. A child left running when the
    /// demo is interrupted is killed.
    pub(crate) async fn run(
        &self,
        args: &[String],
        extra: &[(&'static str, OsString)],
        timeout: Duration,
    ) -> anyhow::Result<Ran> {
        let mut command = tokio::process::Command::new(&self.wrs_token);
        command
            .args(args)
            .envs(self.env())
            .envs(extra.iter().cloned())
            .current_dir(self.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for var in CLEARED_VARS {
            if !extra.iter().any(|(k, _)| k == var) {
                command.env_remove(var);
            }
        }
        // Ctrl-C in the terminal goes to the demo only: it stops its child
        // and cleans up in order, rather than every process dying at once.
        #[cfg(unix)]
        command.process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("cannot run {}", self.wrs_token.display()))?;
        let output = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .map_err(|_| anyhow!("no answer within {} s", timeout.as_secs()))?
            .context("lost the command's output")?;
        Ok(Ran {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// The last `lines` lines of the daemon's log, if it has one.
    pub(crate) fn daemon_log_tail(&self, lines: usize) -> Option<String> {
        let text = std::fs::read_to_string(self.daemon_log()).ok()?;
        let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = all.len().saturating_sub(lines);
        (!all.is_empty()).then(|| all[start..].join("\n"))
    }

    /// Deletes the directory and everything in it (once).
    pub(crate) fn remove(&mut self) -> std::io::Result<&Path> {
        if let Some(dir) = self.dir.take() {
            dir.close()?;
        }
        Ok(&self.root)
    }
}

/// Whether the process `pid` still runs (a zombie does not count).
pub(crate) fn pid_alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X"),
            Err(_) => false,
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Sends SIGTERM, then SIGKILL, to a daemon that would not stop when asked.
#[cfg(unix)]
pub(crate) async fn terminate(pid: u32) -> bool {
    use rustix::process::{Pid, Signal, kill_process};
    let Some(target) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    for signal in [Signal::TERM, Signal::KILL] {
        let _ = kill_process(target, signal);
        for _ in 0..40 {
            if !pid_alive(pid) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    !pid_alive(pid)
}

/// No signals off Unix: report that the daemon is still there.
#[cfg(not(unix))]
pub(crate) async fn terminate(_pid: u32) -> bool {
    false
}
