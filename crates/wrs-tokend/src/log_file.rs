//! A size-bounded, rotating log file, written synchronously.
//!
//! The background daemon logs here when no journal is reachable (see
//! [`crate::logging`]). Each tracing event is one `write` on the open file
//! under a mutex: no writer thread, so the file can be opened before the
//! daemonize fork and carried across it (a thread would not survive the
//! fork). The daemon logs a few lines an hour at the default level, so
//! writing in the caller's thread costs nothing worth a queue.
//!
//! Before a write would take the file past its limit, `wrs-tokend.log`
//! becomes `wrs-tokend.log.1` (`.1` becomes `.2`, and so on up to the number
//! kept; the oldest is dropped) and a fresh file is started. Every file is
//! created 0600 and re-chmodded, whatever the umask or an older build left.
//!
//! Rotation only starts once [`LogFile::arm`] is called: a daemon that is
//! refused because another one holds the lock appends its one error line,
//! but never renames the files the running daemon writes to.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The size at which the log file is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;

/// How many rotated files (`.1`, `.2`) are kept beside the current one.
pub const DEFAULT_KEEP: usize = 2;

/// The rotating log file. Use `Arc<LogFile>` as a tracing `MakeWriter`.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    armed: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    file: File,
    /// Bytes in the current file (ours and whatever was there before).
    size: u64,
}

impl LogFile {
    /// Opens (creates, appends to) the log at `path` with the default
    /// limits. Rotation is off until [`LogFile::arm`].
    pub fn open(path: &Path) -> io::Result<LogFile> {
        LogFile::with_limits(path, DEFAULT_MAX_BYTES, DEFAULT_KEEP)
    }

    /// Opens the log at `path`, rotated before it would grow past
    /// `max_bytes`, keeping `keep` old files (at least one).
    pub fn with_limits(path: &Path, max_bytes: u64, keep: usize) -> io::Result<LogFile> {
        let file = open_private(path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            path: path.to_owned(),
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            armed: AtomicBool::new(false),
            state: Mutex::new(State { file, size }),
        })
    }

    /// The current file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Allows rotation: call once this process owns the log (it holds the
    /// daemon lock, or was given the file explicitly).
    pub fn arm(&self) {
        self.armed.store(true, Ordering::Relaxed);
    }

    /// The path of rotated file number `n` (1 = the most recent).
    pub fn rotated_path(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while writing a log line leaves nothing half-done that
        // matters: carry on with the file as it is.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shifts `.1` → `.2` … and the current file to `.1`, then opens a
    /// fresh one. On failure the old handle stays in use: losing the bound
    /// beats losing the log.
    fn rotate(&self, state: &mut State) -> io::Result<()> {
        for n in (1..self.keep).rev() {
            let from = self.rotated_path(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated_path(n + 1))?;
            }
        }
        std::fs::rename(&self.path, self.rotated_path(1))?;
        state.file = open_private(&self.path)?;
        state.size = state.file.metadata()?.len();
        Ok(())
    }
}

/// Creates or opens `path` for appending, 0600.
fn open_private(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // An existing file from an older build may have looser permissions.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

impl Write for &LogFile {
    /// Writes all of `buf` (one formatted event) or fails: lines are never
    /// split across files.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.lock();
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if self.armed.load(Ordering::Relaxed)
            && state.size > 0
            && state.size.saturating_add(len) > self.max_bytes
        {
            // Nowhere to report a failure but the log itself; the next
            // event tries again.
            let _ = self.rotate(&mut state);
        }
        state.file.write_all(buf)?;
        state.size = state.size.saturating_add(len);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock().file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn line(n: usize) -> String {
        format!("line {n:04} {}\n", "x".repeat(40))
    }

    #[test]
    fn rotation_keeps_every_file_within_the_bound_and_the_newest_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrs-tokend.log");
        let log = LogFile::with_limits(&path, 1000, 2).unwrap();
        log.arm();
        let lines: Vec<String> = (0..200).map(line).collect();
        for l in &lines {
            (&log).write_all(l.as_bytes()).unwrap();
        }
        let current = std::fs::read_to_string(&path).unwrap();
        let one = std::fs::read_to_string(log.rotated_path(1)).unwrap();
        let two = std::fs::read_to_string(log.rotated_path(2)).unwrap();
        for (name, text) in [("current", &current), (".1", &one), (".2", &two)] {
            assert!(text.len() <= 1000, "{name} has {} bytes", text.len());
            assert!(text.ends_with('\n'), "{name} ends mid-line");
        }
        assert!(!log.rotated_path(3).exists(), "only two old files are kept");
        // The newest lines survive, in order, across the three files.
        let all = format!("{two}{one}{current}");
        let expected: String = lines[lines.len() - all.lines().count()..].concat();
        assert_eq!(all, expected);
        assert!(current.ends_with(&lines[199]));
    }

    #[test]
    fn log_files_are_0600_whatever_existed_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrs-tokend.log");
        std::fs::write(&path, "from an older build\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let log = LogFile::with_limits(&path, 100, 1).unwrap();
        assert_eq!(mode(&path), 0o600);
        log.arm();
        for n in 0..10 {
            (&log).write_all(line(n).as_bytes()).unwrap();
        }
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&log.rotated_path(1)), 0o600);
        assert!(!log.rotated_path(2).exists());
    }

    #[test]
    fn an_unarmed_log_appends_without_rotating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrs-tokend.log");
        std::fs::write(&path, "x".repeat(500)).unwrap();
        let log = LogFile::with_limits(&path, 100, 1).unwrap();
        (&log)
            .write_all(b"refused: another daemon is running\n")
            .unwrap();
        assert!(!log.rotated_path(1).exists());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("xxx") && text.ends_with("running\n"));
    }

    #[test]
    fn a_line_longer_than_the_bound_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrs-tokend.log");
        let log = LogFile::with_limits(&path, 10, 1).unwrap();
        log.arm();
        (&log).write_all(b"short\n").unwrap();
        let long = format!("{}\n", "y".repeat(50));
        (&log).write_all(long.as_bytes()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), long);
        assert_eq!(
            std::fs::read_to_string(log.rotated_path(1)).unwrap(),
            "short\n"
        );
    }
}
