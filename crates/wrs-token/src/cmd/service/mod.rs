//! `wrs-token service install|uninstall|status`: the daemon as a per-user
//! service, so the OS starts it rather than the first `wrs-token` call.
//!
//! - [`units`]: the files, rendered from the repo's `systemd/` and
//!   `launchd/` definitions with real paths (pure text, every platform).
//! - `systemd` (Linux and other non-Apple Unixes): unit files in
//!   `$XDG_CONFIG_HOME/systemd/user`, `systemctl --user`; without a
//!   reachable user manager (containers, CI) the files are written and the
//!   commands to run are printed.
//! - `launchd` (macOS): a LaunchAgent and `launchctl bootstrap`. Written
//!   against launchd's documented behaviour; not compiled or run on our
//!   Linux build machines.
//!
//! Installing is idempotent: a file is written only when its content
//! changes, and the report says which were created, updated or already up
//! to date. `$WRS_TOKEN_SYSTEMCTL` / `$WRS_TOKEN_LAUNCHCTL` name the
//! service manager's tool (tests point them at a recorder).

pub mod units;

#[cfg(target_os = "macos")]
mod launchd;
#[cfg(all(unix, not(target_os = "macos")))]
mod systemd;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::ServiceCommand;
use crate::client::autostart;
use crate::exit::{Exit, Failure};

/// `wrs-token service …`.
pub fn run(command: &ServiceCommand) -> Result<(), Failure> {
    platform_run(command)
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_run(command: &ServiceCommand) -> Result<(), Failure> {
    systemd::run(command)
}

#[cfg(target_os = "macos")]
fn platform_run(command: &ServiceCommand) -> Result<(), Failure> {
    launchd::run(command)
}

#[cfg(not(unix))]
fn platform_run(_command: &ServiceCommand) -> Result<(), Failure> {
    Err(Failure::new(
        Exit::Failure,
        "`wrs-token service` supports systemd (Linux) and launchd (macOS) only",
    )
    .with_hint(
        "on Windows the daemon starts on demand; to start it at logon, add `wrs-tokend` to Task Scheduler",
    ))
}

/// The absolute, symlink-free path of the daemon the service should run:
/// `$WRS_TOKEND`, else `wrs-tokend` beside this executable, else on `PATH`.
pub fn daemon_path() -> Result<PathBuf, Failure> {
    let current_exe = std::env::current_exe().ok();
    let program = autostart::daemon_program(
        std::env::var_os(wrs_sys::env::TOKEND),
        current_exe.as_deref(),
    );
    let found = crate::programs::locate(&program).ok_or_else(|| {
        Failure::new(
            Exit::Failure,
            format!(
                "cannot find the daemon {} (beside wrs-token, or on PATH)",
                program.display()
            ),
        )
        .with_hint(format!(
            "install it (`cargo install --path crates/wrs-tokend`), or name it in {}",
            wrs_sys::env::TOKEND
        ))
    })?;
    // A service must keep working from wherever it was installed: resolve
    // relative paths and symlinks (e.g. a ~/.cargo/bin link) now.
    std::fs::canonicalize(&found).map_err(|e| {
        Failure::new(
            Exit::Failure,
            format!("cannot resolve {}: {e}", found.display()),
        )
    })
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It did not exist.
    Created,
    /// It existed with other content.
    Updated,
    /// It already had this content: not touched.
    Unchanged,
}

/// Writes `content` to `path` unless it already holds exactly that;
/// atomically (temp file + rename), creating the directory.
pub fn write_if_changed(path: &Path, content: &str) -> Result<Written, Failure> {
    let io = |what: &str, e: std::io::Error| {
        Failure::new(
            Exit::Failure,
            format!("cannot {what} {}: {e}", path.display()),
        )
    };
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        // Unreadable (or not UTF-8): rewrite it.
        Err(_) => Some(String::new()),
    };
    if existing.as_deref() == Some(content) {
        return Ok(Written::Unchanged);
    }
    let dir = path.parent().ok_or_else(|| {
        Failure::new(
            Exit::Failure,
            format!("{} has no directory", path.display()),
        )
    })?;
    std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(content.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("write", e));
    }
    Ok(if existing.is_some() {
        Written::Updated
    } else {
        Written::Created
    })
}

/// Removes `path`; `Ok(false)` when it was not there.
pub fn remove_if_present(path: &Path) -> Result<bool, Failure> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::new(
            Exit::Failure,
            format!("cannot remove {}: {e}", path.display()),
        )),
    }
}

/// Whether the file at `path` holds `content`: `None` when it is missing.
pub fn up_to_date(path: &Path, content: &str) -> Option<bool> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text == content),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => Some(false),
    }
}

/// The report line for a written file.
pub fn describe(path: &Path, written: Written) -> String {
    match written {
        Written::Created => format!("wrote {}\n", path.display()),
        Written::Updated => format!("updated {}\n", path.display()),
        Written::Unchanged => format!("{}: already installed, up to date\n", path.display()),
    }
}

/// The `--dry-run` listing of one file.
pub fn dry_run_listing(path: &Path, content: &str) -> String {
    let state = match up_to_date(path, content) {
        None => "would write (new)",
        Some(true) => "up to date, would leave",
        Some(false) => "would rewrite",
    };
    let mut out = format!("--- {} ({state})\n{content}", path.display());
    if !content.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A tool of the service manager (`systemctl`, `launchctl`), as a program
/// whose outcome is reported, never a panic.
#[derive(Debug, Clone)]
pub struct Tool {
    program: std::ffi::OsString,
}

/// What a tool run came to.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// It exited 0.
    pub success: bool,
    /// stdout, trimmed.
    pub stdout: String,
    /// stderr, trimmed to its first line.
    pub stderr: String,
}

impl Tool {
    /// `$env_var`, else `default` (looked up on PATH when run).
    pub fn new(env_var: &str, default: &str) -> Tool {
        Tool {
            program: std::env::var_os(env_var)
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| default.into()),
        }
    }

    /// The program as written in "run this yourself" advice.
    pub fn name(&self) -> String {
        Path::new(&self.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.to_string_lossy().into_owned())
    }

    /// Runs the tool with `args`, without stdin.
    pub fn run(&self, args: &[&str]) -> ToolOutput {
        match std::process::Command::new(&self.program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(out) => ToolOutput {
                success: out.status.success(),
                stdout: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
                stderr: String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
                    .to_owned(),
            },
            Err(e) => ToolOutput {
                success: false,
                stdout: String::new(),
                stderr: format!("cannot run {}: {e}", self.program.to_string_lossy()),
            },
        }
    }
}
