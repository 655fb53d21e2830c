//! `wrs-token demo`: a complete login → token → Windchill call → renewal
//! against a local mock, in an isolated temporary environment.
//!
//! The thin client stays thin: the mock server, its HTTPS and the
//! orchestration live in the `wrs-demo` binary (`wrs-demo demo`), which in
//! turn runs *this* executable for every user-visible step. This module only
//! finds `wrs-demo` and runs it in our place, with our stdio and exit code.
//! It never resolves the daemon's endpoint nor reads the config file, so the
//! user's own set-up is not touched.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::DemoArgs;
use crate::exit::{Exit, Failure};

/// The binary that runs the demo, beside `wrs-token` or on `PATH`.
const DEMO_PROGRAM: &str = "wrs-demo";

/// How to get the binaries the demo needs, for the error message.
pub const BUILD_HINT: &str = "build all binaries first: `cargo build --workspace --bins`, \
     then run `target/debug/wrs-token demo` (or set WRS_DEMO to the wrs-demo binary)";

/// `wrs-token demo`.
pub fn run(_args: &DemoArgs) -> Result<(), Failure> {
    let me = std::env::current_exe().map_err(|e| {
        Failure::new(
            Exit::Failure,
            format!("cannot find the path of this wrs-token executable: {e}"),
        )
    })?;
    let env_override = std::env::var_os(wrs_sys::env::DEMO).filter(|v| !v.is_empty());
    let from_env = env_override.is_some();
    let program = demo_program(env_override, Some(&me));
    let mut command = Command::new(&program);
    command.arg("demo").arg("--wrs-token").arg(&me);
    hand_over(command, &program, from_env)
}

/// The demo binary: `$WRS_DEMO`, else `wrs-demo` beside `current_exe` when
/// it exists there, else `wrs-demo` to be looked up on `PATH`.
pub fn demo_program(env_override: Option<OsString>, current_exe: Option<&Path>) -> PathBuf {
    crate::client::autostart::sibling_program(DEMO_PROGRAM, env_override, current_exe)
}

/// The failure for a demo binary that cannot be run; `from_env`: named by
/// `$WRS_DEMO` rather than found beside us or on `PATH`.
fn start_failure(program: &Path, e: &std::io::Error, from_env: bool) -> Failure {
    if e.kind() == std::io::ErrorKind::NotFound {
        let where_ = if from_env {
            format!(
                "{} names {}, which does not exist",
                wrs_sys::env::DEMO,
                program.display()
            )
        } else {
            "it is neither beside wrs-token nor on PATH".to_owned()
        };
        Failure::new(
            Exit::Failure,
            format!("the demo needs the {DEMO_PROGRAM} binary: {where_}"),
        )
        .with_hint(BUILD_HINT)
    } else {
        Failure::new(
            Exit::Failure,
            format!("cannot run {}: {e}", program.display()),
        )
        .with_hint(BUILD_HINT)
    }
}

/// Replaces this process with `wrs-demo demo`: Ctrl-C, stdio and the exit
/// code are then the demo's own, with no parent in between that could die
/// first and hand the prompt back while the demo still cleans up.
#[cfg(unix)]
fn hand_over(mut command: Command, program: &Path, from_env: bool) -> Result<(), Failure> {
    use std::os::unix::process::CommandExt as _;
    // `exec` only returns on failure.
    let e = command.exec();
    Err(start_failure(program, &e, from_env))
}

/// Runs `wrs-demo demo` and exits with its code (no `exec` on Windows).
#[cfg(not(unix))]
fn hand_over(mut command: Command, program: &Path, from_env: bool) -> Result<(), Failure> {
    let status = command
        .status()
        .map_err(|e| start_failure(program, &e, from_env))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => std::process::exit(code),
        None => Err(Failure::new(Exit::Failure, "the demo was stopped")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_override_wins_and_empty_is_ignored() {
        let me = Path::new("/usr/bin/wrs-token");
        assert_eq!(
            demo_program(Some("/opt/demo".into()), Some(me)),
            PathBuf::from("/opt/demo")
        );
        assert_eq!(
            demo_program(Some("".into()), Some(Path::new("/nonexistent/wrs-token"))),
            PathBuf::from(format!("wrs-demo{}", std::env::consts::EXE_SUFFIX))
        );
    }

    #[test]
    fn demo_beside_the_client_is_preferred_to_path() {
        let dir = tempfile::tempdir().unwrap();
        let beside = dir
            .path()
            .join(format!("wrs-demo{}", std::env::consts::EXE_SUFFIX));
        std::fs::write(&beside, b"").unwrap();
        assert_eq!(
            demo_program(None, Some(&dir.path().join("wrs-token"))),
            beside
        );
    }

    #[test]
    fn a_missing_demo_binary_says_how_to_build_it() {
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        let f = start_failure(Path::new("wrs-demo"), &e, false);
        assert_eq!(f.exit, Exit::Failure);
        assert!(
            f.message.contains("neither beside wrs-token nor on PATH"),
            "{}",
            f.message
        );
        let f = start_failure(Path::new("/opt/wrs-demo"), &e, true);
        assert!(
            f.message.contains("WRS_DEMO names /opt/wrs-demo"),
            "{}",
            f.message
        );
        assert!(
            f.report().contains("cargo build --workspace --bins"),
            "{}",
            f.report()
        );
    }
}
