//! Where the daemon's log goes, chosen once before the fork.
//!
//! | how it runs | log |
//! | --- | --- |
//! | `--log-file PATH` (or `WRS_TOKEND_LOG_FILE`), any mode | that file, rotated ([`crate::log_file`]) |
//! | `--foreground`, systemd socket activation | stderr (under systemd: the journal) |
//! | background, stderr already the journal (`JOURNAL_STREAM` names it) | stderr, kept open |
//! | background, `/run/systemd/journal/socket` answers | the journal, natively (`journalctl -t wrs-tokend`) |
//! | background, no journal | `<runtime dir>/wrs-tokend.log`, 0600, rotated at 1 MiB, two old files kept |
//!
//! `-v`/`-q` set the default level ([`Options::level`]) and `RUST_LOG`
//! directives are added on top, whatever the destination. In the journal, events carry their level
//! as the priority and their fields as `WRS_<NAME>` (`journalctl
//! WRS_PROFILE=plm`).
//!
//! Everything here is chosen and opened before the daemonize fork and
//! starts no thread: the journal layer is one datagram socket, the file is
//! written synchronously.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::log_file::LogFile;

/// The log file name inside the runtime directory.
pub const LOG_FILE: &str = "wrs-tokend.log";

/// Where journald listens for native messages.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// The identifier the daemon's journal entries carry (`journalctl -t`).
pub const SYSLOG_IDENTIFIER: &str = "wrs-tokend";

/// The default log file for a runtime directory.
pub fn default_log_path(dir: &Path) -> PathBuf {
    dir.join(LOG_FILE)
}

/// What the command line asks of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--log-file`: log to this rotating file whatever the mode.
    pub file: Option<PathBuf>,
    /// The default level (`-v`, `-q`); `RUST_LOG` adds directives.
    pub level: LevelFilter,
}

/// Where the log goes.
pub enum Target {
    /// Standard error: the terminal, or the journal under systemd.
    Stderr {
        /// stderr is a journal stream: the journal adds timestamps.
        journal: bool,
    },
    /// The journal, over its native socket.
    Journal(tracing_journald::Layer),
    /// A rotating file.
    File(Arc<LogFile>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Stderr { journal } => {
                f.debug_struct("Stderr").field("journal", journal).finish()
            }
            Target::Journal(_) => f.write_str("Journal"),
            Target::File(file) => f.debug_tuple("File").field(&file.path()).finish(),
        }
    }
}

impl Target {
    /// Chooses (and opens) the destination, see the module doc.
    /// `background` is whether the process is about to detach; `runtime_dir`
    /// is the verified private directory of the socket.
    pub fn choose(options: &Options, background: bool, runtime_dir: &Path) -> io::Result<Target> {
        if let Some(path) = &options.file {
            // Absolute now: the daemon changes to `/` when it detaches.
            return Target::open_file(&std::path::absolute(path)?);
        }
        let journal_stream = stderr_is_journal();
        if !background || journal_stream {
            return Ok(Target::Stderr {
                journal: journal_stream,
            });
        }
        if Path::new(JOURNAL_SOCKET).exists()
            && let Ok(layer) = tracing_journald::layer()
        {
            return Ok(Target::Journal(
                layer
                    .with_syslog_identifier(SYSLOG_IDENTIFIER.into())
                    .with_field_prefix(Some("WRS".into())),
            ));
        }
        // No journal answered: quietly use the file.
        Target::open_file(&default_log_path(runtime_dir))
    }

    /// The rotating log file at `path`, or an error naming it.
    fn open_file(path: &Path) -> io::Result<Target> {
        let file = LogFile::open(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open the log file {}: {e}", path.display()),
            )
        })?;
        Ok(Target::File(Arc::new(file)))
    }

    /// Whether a background daemon keeps the launcher's stderr.
    pub fn keeps_stderr(&self) -> bool {
        matches!(self, Target::Stderr { .. })
    }

    /// Where a person finds the log, for messages such as "see …".
    pub fn describe(&self) -> String {
        match self {
            Target::Stderr { journal: true } => "the journal".into(),
            Target::Stderr { journal: false } => "its standard error".into(),
            Target::Journal(_) => format!("`journalctl -t {SYSLOG_IDENTIFIER}`"),
            Target::File(file) => file.path().display().to_string(),
        }
    }

    /// The rotating file, if that is the target.
    pub fn file(&self) -> Option<&Arc<LogFile>> {
        match self {
            Target::File(file) => Some(file),
            _ => None,
        }
    }

    /// Installs the global subscriber: `options`' level plus `RUST_LOG`.
    /// A panic is logged there too (stderr may be `/dev/null`).
    pub fn init(self, options: &Options) {
        let filter = EnvFilter::builder()
            .with_default_directive(options.level.into())
            .from_env_lossy();
        let (mut stderr, mut stderr_bare, mut journal, mut file) = (None, None, None, None);
        match self {
            Target::Stderr { journal: true } => {
                stderr_bare = Some(
                    tracing_subscriber::fmt::layer()
                        .with_writer(io::stderr)
                        .with_ansi(false)
                        .without_time(),
                );
            }
            Target::Stderr { journal: false } => {
                stderr = Some(
                    tracing_subscriber::fmt::layer()
                        .with_writer(io::stderr)
                        .with_ansi(io::stderr().is_terminal()),
                );
            }
            Target::Journal(layer) => journal = Some(layer),
            Target::File(log) => {
                file = Some(
                    tracing_subscriber::fmt::layer()
                        .with_writer(log)
                        .with_ansi(false),
                );
            }
        }
        let log_panics = stderr.is_none();
        let installed = tracing_subscriber::registry()
            .with(filter)
            .with(stderr)
            .with(stderr_bare)
            .with(journal)
            .with(file)
            .try_init()
            .is_ok();
        if installed && log_panics {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                tracing::error!("panic (a bug, please report it): {info}");
                previous(info);
            }));
        }
    }
}

/// Whether our stderr is the journal: systemd sets `JOURNAL_STREAM` to
/// `device:inode` of the stream it connected; an inherited variable whose
/// stream is no longer our stderr does not count.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    use std::os::fd::AsFd;
    match rustix::fs::fstat(io::stderr().as_fd()) {
        Ok(stat) => stat.st_dev == dev && stat.st_ino == ino,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(file: Option<PathBuf>) -> Options {
        Options {
            file,
            level: LevelFilter::INFO,
        }
    }

    #[test]
    fn log_file_flag_forces_a_rotating_file_in_the_foreground() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("custom.log");
        let target = Target::choose(&options(Some(path.clone())), false, dir.path()).unwrap();
        assert_eq!(target.file().unwrap().path(), path);
        assert!(!target.keeps_stderr());
        assert_eq!(target.describe(), path.display().to_string());
    }

    #[test]
    fn the_foreground_logs_to_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::choose(&options(None), false, dir.path()).unwrap();
        assert!(target.keeps_stderr(), "{target:?}");
        assert!(!default_log_path(dir.path()).exists());
    }

    #[test]
    fn the_background_without_a_journal_logs_to_the_runtime_dir() {
        if Path::new(JOURNAL_SOCKET).exists() || stderr_is_journal() {
            eprintln!("skipped: this machine has a journal");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let target = Target::choose(&options(None), true, dir.path()).unwrap();
        assert_eq!(
            target.file().unwrap().path(),
            dir.path().join("wrs-tokend.log")
        );
    }
}
