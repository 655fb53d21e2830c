//! Processes: the workspace binaries, commands isolated from the
//! developer's own settings, and their output made readable.

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Names a directory whose workspace binaries the tests run instead of
/// the ones built beside them: `scripts/test` points it at the release
/// build as it ships (`scripts/build-release`: the client linked with
/// static glibc), so the end-to-end tests run against what users install.
pub const BIN_DIR_ENV: &str = "WRS_TEST_BIN_DIR";

/// Path of a workspace binary: from [`BIN_DIR_ENV`] when set, else built
/// beside the running test.
///
/// A crate's own binaries are built for its tests; the others are there
/// after `cargo build --workspace --bins` (`scripts/test` runs it first).
pub fn bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os(BIN_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let exe = std::env::current_exe().expect("current_exe");
            // target/<profile>/deps/<test>-<hash> → target/<profile>/<name>
            exe.parent()
                .and_then(Path::parent)
                .expect("target dir")
                .to_path_buf()
        }
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test does), \
         or `scripts/build-release` when {BIN_DIR_ENV} names target/release",
        path.display()
    );
    path
}

/// `PATH` with the workspace binaries first, for shell scripts that call
/// `wrs-token` by name as a user would.
pub fn path_with_binaries() -> OsString {
    let dir = bin("wrs-token").parent().expect("bin dir").to_path_buf();
    let mut path = dir.into_os_string();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

/// Clears from `cmd`'s environment whatever of the developer's own setup
/// would steer the client or the daemon: every `WRS_TOKEN*` variable
/// (profile, socket, config, minimum TTL, autostart, daemon path, log
/// file…) and `RUST_LOG`. A test then sets what it means; stdin is null.
pub fn isolate(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WRS_TOKEN") {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("RUST_LOG").stdin(Stdio::null())
}

/// Exit code, stdout and stderr of a finished process, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// stdout as a string.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as a string.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `cmd` with `input` on its stdin, then closed (secrets travel this
/// way, never in argv), and collects its output.
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // A child that exits before reading everything closes the pipe: fine.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    child.wait_with_output().expect("wait")
}

/// Runs `cmd`; its exit code, stdout and stderr, after checking that it
/// neither panicked nor died of a signal.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    parts(cmd.output().expect("spawn"))
}

/// As [`run`], with `input` on the child's stdin (then closed).
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> (i32, String, String) {
    parts(output_with_stdin(cmd, input))
}

fn parts(out: Output) -> (i32, String, String) {
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?}\n{stderr}", out.status));
    (
        code,
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr,
    )
}

/// Writes an executable `/bin/sh` script with `body` at `path` (a stand-in
/// for a browser, a daemon launcher, curl…).
pub fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod script");
}

/// Reads lines from a child's stream until one contains `needle`; `None`
/// at the end of the stream.
pub fn read_until_line(reader: &mut impl BufRead, needle: &str) -> Option<String> {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) if line.contains(needle) => return Some(line),
            Ok(_) => {}
        }
    }
}

/// Marks the child process of [`run_test_in_child`].
const CHILD_ENV: &str = "WRS_TESTKIT_CHILD_TEST";

/// Whether this process is the child that [`run_test_in_child`] started.
pub fn is_child_test() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Runs the test `name` of the running test binary again, in a child
/// process whose environment `adjust` changed, and fails unless that one
/// test ran there and passed. For a test whose precondition is an
/// environment the others must keep (no session bus, while the rest of the
/// suite runs under `scripts/with-keyring`): the test starts with
/// `if !is_child_test() { run_test_in_child(…); return; }`.
pub fn run_test_in_child(name: &str, adjust: impl FnOnce(&mut Command)) {
    let mut cmd = Command::new(std::env::current_exe().expect("current_exe"));
    cmd.args(["--exact", name, "--test-threads", "1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null());
    adjust(&mut cmd);
    let out = cmd.output().expect("spawn the test binary");
    // A filter that matches nothing passes too: count the test.
    assert!(
        out.status.success() && stdout(&out).contains(" 1 passed"),
        "{name}, run in a child process: {}",
        describe(&out)
    );
}
