//! The process: flags → log target → (fork) → tracing → runtime → daemon
//! → exit code.
//!
//! The order matters: the fork into the background happens before the
//! tokio runtime (and its threads) exists; see [`crate::background`].

use std::process::ExitCode;
use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};
use wrs_proto::endpoint::Endpoint;

use crate::activation;
use crate::background::{self, Detached, ReadySignal};
use crate::cli::Cli;
use crate::clock::SystemClock;
use crate::daemon::{Config, Daemon};
use crate::log_file::LogFile;
use crate::logging;
use crate::runtime::Runtime;
use crate::session::Sessions;
use crate::source::{NoProfiles, TestSource, TokenSource};
use crate::trust;

/// Runs the daemon process for `cli` and returns its exit code.
pub fn main(cli: Cli) -> ExitCode {
    harden();
    let endpoint = match &cli.socket {
        Some(path) => Endpoint::at(path),
        None => Endpoint::resolve(),
    };
    let endpoint = match endpoint {
        Ok(endpoint) => endpoint,
        Err(e) => {
            eprintln!("wrs-tokend: {e}");
            return ExitCode::FAILURE;
        }
    };

    let mut ready = ReadySignal::foreground();
    // systemd's LISTEN_PID names this very process: forking would orphan
    // the passed socket, so socket activation implies the foreground.
    let background = !cli.foreground && !activation::socket_passed();
    if background {
        // Checked before forking so the log file lands in a private place
        // and a refusal is printed straight to the user.
        if let Err(e) = trust::ensure_private_dir(&endpoint.dir) {
            eprintln!("wrs-tokend: {e}");
            return ExitCode::FAILURE;
        }
    }
    // Opened before the fork (no thread involved), so a log that cannot be
    // opened is reported to the user, not lost.
    let target = match logging::Target::choose(&cli, background, &endpoint.dir) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("wrs-tokend: {e}");
            return ExitCode::FAILURE;
        }
    };
    let log = target.file().cloned();
    if background {
        match background::detach(target.keeps_stderr(), &target.describe()) {
            Ok(Detached::Launcher(code)) => return ExitCode::from(code),
            Ok(Detached::Daemon { ready: signal }) => ready = signal,
            Err(e) => {
                eprintln!("wrs-tokend: {e}");
                return ExitCode::FAILURE;
            }
        }
    }

    target.init(&cli);
    // Built by hand, only now: no thread may exist at fork time.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            ready.fail(
                1,
                &format!("wrs-tokend: cannot start the async runtime: {e}"),
            );
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(serve(cli, endpoint, ready, log));
    // Connection tasks were drained or aborted; do not wait on stragglers
    // such as a token fetch that nobody awaits any more.
    runtime.shutdown_background();
    code
}

async fn serve(
    cli: Cli,
    endpoint: Endpoint,
    mut ready: ReadySignal,
    log: Option<Arc<LogFile>>,
) -> ExitCode {
    let clock = Arc::new(SystemClock);
    let mut config = Config::new(endpoint);
    config.limits = cli.limits();
    // The configuration is read here, after the fork; the keyring is opened
    // even later, on first use.
    let runtime = match (&cli.test_source, wrs_config::Paths::resolve()) {
        (Some(_), _) => None,
        (None, Some(paths)) => Some(Runtime::load(&paths, clock.clone())),
        (None, None) => {
            tracing::error!(
                "cannot tell where the configuration lives (no HOME or XDG_CONFIG_HOME); serving no profiles"
            );
            None
        }
    };
    let started = match &runtime {
        Some(runtime) => Daemon::start_with_runtime(config, runtime.clone()),
        None => {
            let source: Arc<dyn TokenSource> = match &cli.test_source {
                Some(spec) => Arc::new(TestSource::new(spec.clone(), clock.clone())),
                None => Arc::new(NoProfiles),
            };
            Daemon::start(config, Arc::new(Sessions::new(source, clock)))
        }
    };

    let daemon = match started {
        Ok(daemon) => daemon,
        Err(e) => {
            if ready.is_background() {
                tracing::error!("{e}");
            }
            let message = e.to_string();
            let message = if message.starts_with("wrs-tokend") {
                message
            } else {
                format!("wrs-tokend: {message}")
            };
            ready.fail(e.exit_code(), &message);
            return ExitCode::from(e.exit_code());
        }
    };
    if let Some(log) = log {
        // We hold the lock: the log is ours to rotate now.
        log.arm();
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        "wrs-tokend started"
    );
    if cli.test_source.is_some() {
        tracing::warn!("serving fake tokens from the TEST token source (--test-source)");
    }
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => {
            ready.fail(1, &format!("wrs-tokend: cannot handle signals: {e}"));
            return ExitCode::FAILURE;
        }
    };
    if let Some(runtime) = runtime {
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        tracing::info!("SIGHUP received: reloading the configuration");
                        // The outcome is logged by the reload itself.
                        let _ = runtime.reload();
                    }
                });
            }
            Err(e) => {
                tracing::warn!("cannot handle SIGHUP (reload with `wrs-token daemon reload`): {e}")
            }
        }
    }
    ready.ready();
    daemon
        .serve(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        })
        .await;
    ExitCode::SUCCESS
}

/// Process-wide protections that hold for the daemon's whole life.
fn harden() {
    // Every file we create (socket, lock, log) is private even before its
    // explicit chmod.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // No core dumps or same-uid ptrace: the process holds tokens.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        eprintln!("wrs-tokend: warning: cannot disable core dumps: {e}");
    }
}
