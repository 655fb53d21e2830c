//! The process: flags → log target → (fork) → tracing → runtime → daemon
//! → exit code.
//!
//! The order matters: the fork into the background happens before the
//! tokio runtime (and its threads) exists; see `background`.
//!
//! This is where the plain values of the command line ([`Cli`]) become
//! what the daemon is built from: the server's `Limits`, the log's
//! options, and the hidden `--test-source` spec
//! ([`TestSourceSpec`]).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use wrs_sys::endpoint::Endpoint;

use crate::activation;
use crate::background::{self, Detached, ReadySignal};
use crate::cli::{Cli, Command};
use crate::clock::SystemClock;
use crate::daemon::{Config, Daemon};
use crate::log_file::LogFile;
use crate::logging;
use crate::runtime::Runtime;
use crate::server::Limits;
use crate::session::Sessions;
use crate::source::{NoProfiles, TokenSource};
use crate::testing::{TestSource, TestSourceSpec};
use crate::trust;

/// Runs the daemon process for `cli` (or its one-shot job) and returns its
/// exit code.
pub fn main(cli: Cli) -> ExitCode {
    if let Some(Command::Probe(args)) = &cli.command {
        // It reads a client secret: the same protections as the daemon.
        harden();
        return crate::probe::main(args);
    }
    if let Some(Command::Stored(args)) = &cli.command {
        // It reads refresh tokens: the same protections as the daemon.
        harden();
        return crate::stored::main(args);
    }
    // Refused like any flag clap refuses, before anything happens.
    let test_source = match test_source(&cli) {
        Ok(spec) => spec,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
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
    let log_options = logging::Options {
        file: cli.log_file.clone(),
        level: cli.log_level(),
    };
    // Opened before the fork (no thread involved), so a log that cannot be
    // opened is reported to the user, not lost.
    let target = match logging::Target::choose(&log_options, background, &endpoint.dir) {
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

    target.init(&log_options);
    // Built by hand, only now: no thread may exist at fork time.
    // One thread for everything async: a cached token costs well under a
    // microsecond of it, one thread out-serves two workers, and it leaves
    // out the multi-thread scheduler's code and per-worker memory
    // (docs/benchmarks.md, "Second step"). The secret store's blocking
    // calls go to tokio's blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
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
    let code = runtime.block_on(serve(endpoint, limits(&cli), test_source, ready, log));
    // Connection tasks were drained or aborted; do not wait on stragglers
    // such as a token fetch that nobody awaits any more.
    runtime.shutdown_background();
    code
}

/// The `--test-source` spec, if the flag was given; a bad spec is a bad
/// flag.
fn test_source(cli: &Cli) -> Result<Option<TestSourceSpec>, clap::Error> {
    let Some(value) = &cli.test_source else {
        return Ok(None);
    };
    value
        .parse()
        .map(Some)
        .map_err(|why: String| Cli::invalid_value("--test-source <SPEC>", value, &why))
}

/// The connection limits: the defaults, with what the hidden tuning flags
/// change (at least one connection, at least 1 ms).
fn limits(cli: &Cli) -> Limits {
    let defaults = Limits::default();
    Limits {
        max_connections: cli
            .max_connections
            .map_or(defaults.max_connections, |n| n.max(1)),
        io_timeout: cli
            .io_timeout_ms
            .map_or(defaults.io_timeout, |ms| Duration::from_millis(ms.max(1))),
        ..defaults
    }
}

async fn serve(
    endpoint: Endpoint,
    limits: Limits,
    test_source: Option<TestSourceSpec>,
    mut ready: ReadySignal,
    log: Option<Arc<LogFile>>,
) -> ExitCode {
    let clock = Arc::new(SystemClock);
    let mut config = Config::new(endpoint);
    config.limits = limits;
    let fake_tokens = test_source.is_some();
    // The configuration is read here, after the fork; the keyring is opened
    // even later, on first use.
    let runtime = match (&test_source, wrs_config::Paths::resolve()) {
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
            let source: Arc<dyn TokenSource> = match test_source {
                Some(spec) => Arc::new(TestSource::new(spec, clock.clone())),
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
    if fake_tokens {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("wrs-tokend").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn tuning_flags_change_only_their_own_limit() {
        assert_eq!(limits(&cli(&[])), Limits::default());
        let tuned = limits(&cli(&["--io-timeout-ms", "200", "--max-connections", "0"]));
        assert_eq!(tuned.io_timeout, Duration::from_millis(200));
        assert_eq!(tuned.max_connections, 1);
        assert_eq!(
            Limits {
                io_timeout: Limits::default().io_timeout,
                max_connections: Limits::default().max_connections,
                ..tuned
            },
            Limits::default()
        );
    }

    #[test]
    fn a_bad_test_source_spec_is_a_bad_flag() {
        assert_eq!(test_source(&cli(&[])).unwrap(), None);
        let spec = test_source(&cli(&["--test-source", "profile=a,lifetime=7"])).unwrap();
        assert_eq!(spec.unwrap().profiles, ["a"]);
        let err = test_source(&cli(&["--test-source", "bogus"])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--test-source"), "{err}");
    }
}
