//! Starting the daemon when no one answers on the socket.
//!
//! We run `wrs-tokend --socket <path>` in its background mode: that process
//! forks the daemon, waits until the daemon has bound the socket, and only
//! then exits. Its exit status is the ready signal, so there is no
//! sleep-and-hope here:
//!
//! | launcher exit | meaning | we |
//! | --- | --- | --- |
//! | 0 | the daemon is listening | connect |
//! | 75 ([`wrs_sys::exit::ALREADY_RUNNING`]) | another daemon already runs (a race with another client) | connect |
//! | other | the daemon could not start | report its stderr |
//!
//! The launcher is found through `WRS_TOKEND`, then beside our own
//! executable, then on `PATH`.
//!
//! Where a daemon is started ([`may_start_at`]): always at this machine's
//! default socket; at a socket given explicitly elsewhere (`--socket`,
//! `WRS_TOKEN_SOCKET`) only while nothing is at that path. A socket file
//! there that nobody answers on is someone else's endpoint, typically a
//! daemon forwarded from a workstation with `ssh -R` whose connection is
//! gone: starting a local daemon there would hide the forward behind a
//! daemon that has no login, so the client says so instead (exit 4).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wrs_sys::endpoint::Endpoint;
use wrs_sys::env;
use wrs_sys::exit::ALREADY_RUNNING;

/// How long the launcher may take to report the daemon ready.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(3);

/// How much of the launcher's stderr we keep for the error message.
const STDERR_CAP: usize = 4096;

/// Why the daemon could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The daemon binary is missing.
    #[error("cannot start the daemon: {} not found", program.display())]
    NotFound {
        /// What we tried to run.
        program: PathBuf,
    },
    /// The daemon binary could not be run.
    #[error("cannot start the daemon {}: {source}", program.display())]
    Spawn {
        /// What we tried to run.
        program: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The launcher exited with a failure.
    #[error("the daemon failed to start ({status}){}", detail(stderr))]
    Failed {
        /// The launcher's exit status.
        status: ExitStatus,
        /// What it wrote to stderr, trimmed.
        stderr: String,
    },
    /// The launcher did not report within [`STARTUP_TIMEOUT`].
    #[error("the daemon did not become ready within {} s", timeout.as_secs())]
    TimedOut {
        /// The bound that passed.
        timeout: Duration,
    },
    /// The launcher reported success, but the socket does not answer.
    #[error("the daemon started but nothing answers on {}", socket.display())]
    NoAnswer {
        /// The socket.
        socket: PathBuf,
    },
}

fn detail(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        // One line on our stderr, whatever the launcher printed.
        let joined: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        format!(": {}", joined.join("; "))
    }
}

/// The daemon binary: `$WRS_TOKEND`, else `wrs-tokend` beside `current_exe`
/// when it exists there, else `wrs-tokend` to be looked up on `PATH`.
pub fn daemon_program(env_override: Option<OsString>, current_exe: Option<&Path>) -> PathBuf {
    sibling_program("wrs-tokend", env_override, current_exe)
}

/// A companion binary of this installation: `env_override` when set, else
/// `name` beside `current_exe` when it exists there (a `cargo build` or an
/// install keeps them together), else `name` to be looked up on `PATH`.
pub fn sibling_program(
    name: &str,
    env_override: Option<OsString>,
    current_exe: Option<&Path>,
) -> PathBuf {
    if let Some(program) = env_override.filter(|p| !p.is_empty()) {
        return PathBuf::from(program);
    }
    let file_name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    if let Some(beside) = current_exe
        .and_then(Path::parent)
        .map(|dir| dir.join(&file_name))
        .filter(|p| p.is_file())
    {
        return beside;
    }
    PathBuf::from(file_name)
}

/// Whether the client may start a daemon at `endpoint`, where nobody
/// answered: yes at the default socket (`elsewhere` false); at an explicit
/// one elsewhere only if nothing is at its path (see the module doc).
pub fn may_start_at(endpoint: &Endpoint, elsewhere: bool) -> bool {
    !elsewhere || std::fs::symlink_metadata(&endpoint.socket).is_err()
}

/// Whether `socket`, given explicitly, is somewhere else than the socket
/// this machine's environment `env` (read without the override) makes the
/// default.
pub fn is_elsewhere(socket: &Path, env: impl Fn(&str) -> Option<OsString>) -> bool {
    let default = Endpoint::resolve_with(|key| if key == env::SOCKET { None } else { env(key) });
    default.map_or(true, |default| default.socket != socket)
}

/// Starts the daemon for `endpoint` and returns once it listens (or another
/// daemon already does).
pub fn start(endpoint: &Endpoint) -> Result<(), StartError> {
    let current_exe = std::env::current_exe().ok();
    let program = daemon_program(std::env::var_os(env::TOKEND), current_exe.as_deref());
    launch(&program, endpoint, STARTUP_TIMEOUT)
}

/// Runs `program --socket <socket>` and waits up to `timeout` for its verdict.
pub fn launch(program: &Path, endpoint: &Endpoint, timeout: Duration) -> Result<(), StartError> {
    let mut child = Command::new(program)
        .arg("--socket")
        .arg(&endpoint.socket)
        .stdin(Stdio::null())
        // Never hand the daemon our stdout: `TOKEN=$(wrs-token print)` would
        // wait for the daemon to exit before the shell saw its output.
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                StartError::NotFound {
                    program: program.to_path_buf(),
                }
            } else {
                StartError::Spawn {
                    program: program.to_path_buf(),
                    source,
                }
            }
        })?;
    let stderr = StderrCollector::start(&mut child);
    let status = wait_bounded(&mut child, program, timeout)?;
    if status.success() || status.code() == Some(i32::from(ALREADY_RUNNING)) {
        return Ok(());
    }
    Err(StartError::Failed {
        status,
        stderr: stderr.finish(),
    })
}

/// Waits for the launcher's exit, killing it when `timeout` passes first.
fn wait_bounded(
    child: &mut Child,
    program: &Path,
    timeout: Duration,
) -> Result<ExitStatus, StartError> {
    let deadline = Instant::now() + timeout;
    // Polling the exit status is the portable way to bound a wait on a
    // child; the poll interval grows so a quick launcher costs ~1 ms.
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError::TimedOut { timeout });
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(source) => {
                let _ = child.kill();
                return Err(StartError::Spawn {
                    program: program.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// Reads the launcher's stderr on a thread. The forked daemon inherits the
/// pipe, so end of file may never come while it runs: the reader is never
/// joined, and [`StderrCollector::finish`] waits only briefly.
struct StderrCollector {
    buffer: Arc<Mutex<Vec<u8>>>,
    done: Option<mpsc::Receiver<()>>,
}

impl StderrCollector {
    fn start(child: &mut Child) -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let Some(mut pipe) = child.stderr.take() else {
            return StderrCollector { buffer, done: None };
        };
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&buffer);
        let spawned = std::thread::Builder::new()
            .name("tokend-stderr".into())
            .spawn(move || {
                let mut chunk = [0u8; 1024];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    if let Ok(mut buf) = sink.lock() {
                        let room = STDERR_CAP.saturating_sub(buf.len());
                        buf.extend_from_slice(&chunk[..n.min(room)]);
                    }
                }
                let _ = tx.send(());
            });
        StderrCollector {
            buffer,
            done: spawned.ok().map(|_| rx),
        }
    }

    /// What the launcher wrote, once it closed stderr or after a short grace.
    fn finish(self) -> String {
        if let Some(done) = &self.done {
            let _ = done.recv_timeout(Duration::from_millis(500));
        }
        let bytes = self.buffer.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_socket_elsewhere_counts_as_someone_elses() {
        let env = |key: &str| (key == "XDG_RUNTIME_DIR").then(|| OsString::from("/run/user/1000"));
        assert!(!is_elsewhere(
            Path::new("/run/user/1000/wrs-token/agent.sock"),
            env
        ));
        assert!(is_elsewhere(
            Path::new("/home/u/.wrs-token/agent.sock"),
            env
        ));
        // The override itself never decides what the default is.
        let with_override = |key: &str| match key {
            "WRS_TOKEN_SOCKET" => Some(OsString::from("/home/u/.wrs-token/agent.sock")),
            other => env(other),
        };
        assert!(is_elsewhere(
            Path::new("/home/u/.wrs-token/agent.sock"),
            with_override
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_file_elsewhere_that_nobody_answers_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = Endpoint::at(dir.path().join("agent.sock")).unwrap();
        assert!(may_start_at(&endpoint, true), "nothing there yet");
        assert!(may_start_at(&endpoint, false));
        drop(std::os::unix::net::UnixListener::bind(&endpoint.socket).unwrap());
        assert!(!may_start_at(&endpoint, true), "a forward's leftover");
        assert!(
            may_start_at(&endpoint, false),
            "the default: a crashed daemon's"
        );
    }

    #[test]
    fn env_override_wins() {
        let p = daemon_program(
            Some("/opt/x/tokend".into()),
            Some(Path::new("/usr/bin/wrs-token")),
        );
        assert_eq!(p, PathBuf::from("/opt/x/tokend"));
    }

    #[test]
    fn empty_override_is_ignored_and_path_lookup_is_the_last_resort() {
        let p = daemon_program(
            Some("".into()),
            Some(Path::new("/nonexistent/dir/wrs-token")),
        );
        assert_eq!(
            p,
            PathBuf::from(format!("wrs-tokend{}", std::env::consts::EXE_SUFFIX))
        );
    }

    #[test]
    fn binary_beside_the_client_is_preferred_to_path() {
        let dir = tempfile::tempdir().unwrap();
        let beside = dir
            .path()
            .join(format!("wrs-tokend{}", std::env::consts::EXE_SUFFIX));
        std::fs::write(&beside, b"").unwrap();
        let p = daemon_program(None, Some(&dir.path().join("wrs-token")));
        assert_eq!(p, beside);
    }

    #[test]
    fn failure_detail_is_one_line() {
        assert_eq!(detail(""), "");
        assert_eq!(detail("error: a\n\n  b  \n"), ": error: a; b");
    }
}
