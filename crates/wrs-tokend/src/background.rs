//! Starting in the background, with a ready pipe back to the launcher.
//!
//! The launching process forks (double fork + `setsid`, via `daemonize`),
//! then waits on a pipe until the daemon has bound its socket: one byte
//! `R` means ready (exit 0), `E` + exit code + message means it refused to
//! start (the message is printed, the code is the exit code: 75 when
//! another daemon is running), and an end of pipe without either means it
//! died (exit 1). So a client that runs `wrs-tokend` can connect as soon as
//! that process exits 0: no sleeping, no polling.
//!
//! This must happen before any tokio runtime, thread, HTTP client or D-Bus
//! connection exists: `fork` copies only the calling thread, so a runtime's
//! worker threads (and any lock they held) would be missing in the child,
//! and it would deadlock or misbehave at random. `launch` therefore builds
//! the runtime by hand *after* this, and has no `#[tokio::main]`.
//!
//! In the daemon, stdin and stdout are `/dev/null`, and so is stderr unless
//! it is the journal already: the log has its own destination, chosen and
//! opened before the fork (see [`crate::logging`]).

use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

/// How long the launcher waits for the daemon to report; binding takes
/// milliseconds, so this only fires when something is badly wrong.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What [`detach`] returns in each process.
#[derive(Debug)]
pub enum Detached {
    /// The launching process: exit with this code, the daemon reported.
    Launcher(u8),
    /// The daemon: carry on, and report through the signal.
    Daemon {
        /// Report readiness or failure to the launcher through this.
        ready: ReadySignal,
    },
}

/// Forks into the background. Call before any thread exists (see the
/// module doc). `keep_stderr` leaves stderr open (it is the journal);
/// otherwise it becomes `/dev/null`. `log_hint` says where the daemon's
/// log is, for the launcher's messages.
pub fn detach(keep_stderr: bool, log_hint: &str) -> io::Result<Detached> {
    let (reader, writer) = io::pipe()?;
    let stderr = if keep_stderr {
        daemonize::Stdio::keep()
    } else {
        daemonize::Stdio::devnull()
    };
    let outcome = daemonize::Daemonize::new()
        .working_directory("/")
        .umask(0o077)
        .stdout(daemonize::Stdio::devnull())
        .stderr(stderr)
        .execute();
    match outcome {
        daemonize::Outcome::Parent(Ok(_)) => {
            drop(writer);
            Ok(Detached::Launcher(wait_for_daemon(reader, log_hint)))
        }
        daemonize::Outcome::Parent(Err(e)) => Err(io::Error::other(format!(
            "cannot start in the background: {e}"
        ))),
        daemonize::Outcome::Child(Ok(_)) => {
            drop(reader);
            Ok(Detached::Daemon {
                ready: ReadySignal { pipe: Some(writer) },
            })
        }
        daemonize::Outcome::Child(Err(e)) => {
            drop(reader);
            let mut ready = ReadySignal { pipe: Some(writer) };
            ready.fail(1, &format!("wrs-tokend: cannot detach: {e}"));
            std::process::exit(1);
        }
    }
}

/// The launcher's side: wait for the daemon's report and turn it into an
/// exit code, printing any message on our stderr.
fn wait_for_daemon(mut reader: PipeReader, log_hint: &str) -> u8 {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut report = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            eprintln!(
                "wrs-tokend: the daemon did not report ready within {}s; see {}",
                READY_TIMEOUT.as_secs(),
                log_hint
            );
            return 1;
        }
        let timeout = Timespec {
            tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: left.subsec_nanos().into(),
        };
        let mut fds = [PollFd::new(&reader, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                eprintln!("wrs-tokend: cannot wait for the daemon: {e}");
                return 1;
            }
        }
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                report.extend_from_slice(&buf[..n]);
                if report.first() == Some(&b'R') || report.len() > 64 * 1024 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("wrs-tokend: cannot wait for the daemon: {e}");
                return 1;
            }
        }
    }
    match report.as_slice() {
        [b'R', ..] => 0,
        [b'E', code, message @ ..] => {
            eprintln!("{}", String::from_utf8_lossy(message).trim_end());
            if *code == 0 { 1 } else { *code }
        }
        _ => {
            eprintln!("wrs-tokend: the daemon exited before it was ready; see {log_hint}");
            1
        }
    }
}

/// The daemon's end of the ready pipe. In the foreground there is no pipe:
/// failures are printed on stderr instead.
#[derive(Debug, Default)]
pub struct ReadySignal {
    pipe: Option<PipeWriter>,
}

impl ReadySignal {
    /// No launcher is waiting (foreground, systemd).
    pub fn foreground() -> Self {
        ReadySignal { pipe: None }
    }

    /// Whether a launcher is waiting on the other end.
    pub fn is_background(&self) -> bool {
        self.pipe.is_some()
    }

    /// Reports that the socket is bound; the launcher exits 0.
    pub fn ready(&mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(b"R");
        }
    }

    /// Reports a failure to start; the launcher prints `message` and exits
    /// with `code`. In the foreground, prints `message` on stderr.
    pub fn fail(&mut self, code: u8, message: &str) {
        match self.pipe.take() {
            Some(mut pipe) => {
                let mut report = vec![b'E', code];
                report.extend_from_slice(message.as_bytes());
                let _ = pipe.write_all(&report);
            }
            None => eprintln!("{message}"),
        }
    }
}
