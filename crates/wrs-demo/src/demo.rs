//! `wrs-demo demo --wrs-token PATH`: what `wrs-token demo` shows.
//!
//! In a temporary directory it removes at the end (also on failure and on
//! Ctrl-C), the demo starts the mock in-process (HTTPS with a fresh CA,
//! auto-approve, 8-second access tokens, rolling refresh tokens), then runs
//! the *real* `wrs-token` binary for every user-visible step, echoing each
//! command: add a profile, log in through `$BROWSER` = `wrs-demo browse` (a
//! headless browser, see [`crate::browser`], so the login takes the real path: client → daemon →
//! loopback listener → code exchange at the mock), print the token, show
//! the status, call the Windchill stand-in with the token, wait for the
//! daemon's scheduler to renew the token by itself, call Windchill again,
//! then stop the daemon and the mock.
//!
//! Output is for a person: numbered steps `[n/7]`, tokens abbreviated.
//! Exit code 0 on success, 1 when a step fails (stderr names the step),
//! 130 when interrupted; the clean-up runs in every case.

mod display;
mod sandbox;
mod steps;
mod windchill;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use serde_json::Value;
use wrs_mock::MockServer;

use display::{Printer, count, redact};
use sandbox::Sandbox;

/// Run the guided demo (started by `wrs-token demo`).
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The wrs-token binary to drive (wrs-tokend is expected beside it).
    #[arg(long, value_name = "PATH")]
    wrs_token: PathBuf,
}

/// The profile the demo adds.
const PROFILE: &str = "demo";
/// Bound on every client command but the login.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
const TITLES: [&str; 7] = [
    "Start a mock PingFederate and Windchill",
    "Add a profile",
    "Log in",
    "Get a token",
    "Call Windchill with it",
    "Watch the daemon renew the token",
    "Clean up",
];

/// Runs the demo; returns the exit code (0 done, 1 a step or the clean-up
/// failed, 130 interrupted).
pub fn main(args: DemoArgs) -> i32 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    match runtime {
        Ok(rt) => rt.block_on(run(args)),
        Err(e) => {
            eprintln!("wrs-token demo: cannot start the tokio runtime: {e}");
            1
        }
    }
}

/// Why the steps stopped early.
enum Stop {
    Failed(anyhow::Error),
    Interrupted,
}

/// The demo's state, shared by the steps and the clean-up.
struct Demo {
    out: Printer,
    sandbox: Sandbox,
    mock: Option<MockServer>,
    http: Option<reqwest::Client>,
    /// The step under way (1-based).
    step: usize,
    daemon_pid: Option<u32>,
}

async fn run(args: DemoArgs) -> i32 {
    let out = Printer::new(TITLES.len());
    out.line("wrs-token demo: log in, get a token, call Windchill and watch a renewal,");
    out.line("against a local mock server. Your own config, keyring and daemon are not");
    out.line("touched: everything lives in a temporary directory removed at the end.");
    let sandbox = match Sandbox::create(args.wrs_token) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wrs-token demo: cannot prepare the demo: {e:#}");
            return 1;
        }
    };
    out.line(&format!("  directory: {}", sandbox.path().display()));
    let mut demo = Demo {
        out,
        sandbox,
        mock: None,
        http: None,
        step: 0,
        daemon_pid: None,
    };
    let outcome = tokio::select! {
        r = demo.steps() => r.map_err(Stop::Failed),
        () = interrupted() => Err(Stop::Interrupted),
    };
    let failed_at = demo.step;
    match &outcome {
        Ok(()) => {}
        Err(Stop::Failed(e)) => {
            eprintln!(
                "\nwrs-token demo: step {failed_at}/{} ({}) failed: {}",
                TITLES.len(),
                title(failed_at),
                redact(&format!("{e:#}"))
            );
            if let Some(tail) = demo.sandbox.daemon_log_tail(15) {
                eprintln!("the daemon's log ends with:\n{}", redact(&tail));
            }
        }
        Err(Stop::Interrupted) => eprintln!(
            "\nwrs-token demo: interrupted during step {failed_at}/{} ({}); cleaning up",
            TITLES.len(),
            title(failed_at)
        ),
    }
    let cleaned = demo.clean_up().await;
    match (outcome, cleaned) {
        (Ok(()), Ok(summary)) => {
            demo_summary(&summary);
            0
        }
        (Ok(()), Err(e)) => {
            eprintln!("wrs-token demo: clean-up failed: {e:#}");
            1
        }
        (Err(Stop::Interrupted), _) => 130,
        (Err(Stop::Failed(_)), cleaned) => {
            if let Err(e) = cleaned {
                eprintln!("wrs-token demo: clean-up failed too: {e:#}");
            }
            1
        }
    }
}

fn title(step: usize) -> &'static str {
    step.checked_sub(1)
        .and_then(|i| TITLES.get(i))
        .copied()
        .unwrap_or("preparing")
}

/// Resolves on Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal closed);
/// never if these cannot be watched.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(mut int), Ok(mut term), Ok(mut hup)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
            }
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// `wrs-token` plus `args`, as owned words.
fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// What the clean-up reports for the summary.
struct Summary {
    refreshes: u64,
}

impl Demo {
    fn begin(&mut self, step: usize) {
        self.step = step;
        self.out.step(step, title(step));
    }

    fn mock(&self) -> anyhow::Result<&MockServer> {
        self.mock.as_ref().context("the mock is not running")
    }

    fn http(&self) -> anyhow::Result<&reqwest::Client> {
        self.http.as_ref().context("no HTTPS client")
    }

    /// Runs `wrs-token ARGS`, echoed, shows its output; fails on a
    /// non-zero exit.
    async fn client(
        &self,
        args: Vec<String>,
        extra: &[(&'static str, OsString)],
        timeout: Duration,
    ) -> anyhow::Result<sandbox::Ran> {
        let mut shown = vec!["wrs-token".to_owned()];
        shown.extend(args.iter().cloned());
        self.out.command(&shown);
        let ran = self.sandbox.run(&args, extra, timeout).await?;
        self.out.output(&ran.stdout);
        self.out.output(&ran.stderr);
        ran.check(&shown.join(" "))
    }

    /// Runs `wrs-token ARGS` without showing it (bookkeeping only).
    async fn quietly(&self, args: &[&str]) -> anyhow::Result<sandbox::Ran> {
        let extra = [(wrs_sys::env::NO_AUTOSTART, OsString::from("1"))];
        let shown = format!("wrs-token {}", args.join(" "));
        self.sandbox
            .run(&words(args), &extra, COMMAND_TIMEOUT)
            .await?
            .check(&shown)
    }

    /// The daemon's `status --json` report.
    async fn status_json(&self) -> anyhow::Result<Value> {
        let ran = self.quietly(&["status", "--json"]).await?;
        serde_json::from_str(&ran.stdout).context("`wrs-token status --json` is not JSON")
    }

    /// Remembers the daemon's pid, for the clean-up.
    async fn note_daemon(&mut self) {
        if let Ok(status) = self.status_json().await {
            self.daemon_pid = status
                .get("pid")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok());
        }
    }

    /// Step 7, in every case: stop the daemon, stop the mock, remove the
    /// directory.
    async fn clean_up(&mut self) -> anyhow::Result<Summary> {
        self.begin(7);
        self.out
            .detail("stop the daemon and the mock, remove the temporary directory");
        let mut problems = Vec::new();
        if self.daemon_pid.is_none() {
            self.note_daemon().await;
        }
        let stop = words(&["daemon", "stop"]);
        let extra = [(wrs_sys::env::NO_AUTOSTART, OsString::from("1"))];
        if let Err(e) = self.client(stop, &extra, COMMAND_TIMEOUT).await {
            problems.push(format!("{e:#}"));
        }
        if let Some(pid) = self.daemon_pid {
            let deadline = Instant::now() + Duration::from_secs(5);
            while sandbox::pid_alive(pid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if sandbox::pid_alive(pid) {
                if sandbox::terminate(pid).await {
                    self.out
                        .detail(&format!("stopped the daemon (pid {pid}) with a signal"));
                } else {
                    problems.push(format!("the daemon (pid {pid}) is still running"));
                }
            }
        }
        let refreshes = match self.mock.take() {
            Some(mock) => {
                let refreshes = mock.counters().token_refresh;
                mock.shutdown();
                self.out.detail("stopped the mock");
                refreshes
            }
            None => 0,
        };
        self.http = None;
        match self.sandbox.remove() {
            Ok(path) => self.out.detail(&format!("removed {}", path.display())),
            Err(e) => problems.push(format!("cannot remove the temporary directory: {e}")),
        }
        if problems.is_empty() {
            Ok(Summary { refreshes })
        } else {
            Err(anyhow!(problems.join("; ")))
        }
    }
}

fn demo_summary(summary: &Summary) {
    let out = Printer::new(TITLES.len());
    out.line("");
    out.line("Done. What you just saw:");
    out.line("  - wrs-token logged in once in a (headless) browser; the daemon wrs-tokend holds");
    out.line("    the refresh token and hands out access tokens over a local socket;");
    out.line(&format!(
        "  - it renewed the short-lived token by itself ({}), ahead of expiry,",
        count(summary.refreshes, "refresh", "refreshes")
    ));
    out.line("    so every Windchill call had a valid token without a new login.");
    out.line("");
    out.line("Next, for your own server:");
    out.line("  wrs-token profile add plm --issuer https://sso.example.com --client-id <your client id> \\");
    out.line("      --resource https://plm.example.com/Windchill/oauth/servlet/odata/");
    out.line("  wrs-token login plm");
    out.line("  curl -H @<(wrs-token header) https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts");
    out.line("  wrs-token doctor plm        # if something is not right: a checklist with fixes");
    out.line("  wrs-token service install   # optional: let systemd (or launchd) run the daemon");
    out.line("docs/windchill.md says what to ask your PingFederate administrator for.");
}
