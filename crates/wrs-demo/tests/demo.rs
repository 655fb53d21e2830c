//! `wrs-token demo` end to end: the real client, daemon and demo binaries
//! from the target directory (`cargo build --workspace --bins` first: this
//! package's tests only build `wrs-demo`).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The whole demo takes ~10 s; this only stops a hung one.
const DEMO_TIMEOUT: Duration = Duration::from_secs(120);

/// `wrs-token` beside this package's `wrs-demo` (checked for `wrs-tokend`
/// too), or a failure that says how to build them.
fn wrs_token() -> PathBuf {
    let demo = PathBuf::from(env!("CARGO_BIN_EXE_wrs-demo"));
    let dir = demo.parent().unwrap();
    let exe = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    for name in ["wrs-token", "wrs-tokend"] {
        assert!(
            exe(name).is_file(),
            "{} is missing: run `cargo build --workspace --bins` before this test",
            exe(name).display()
        );
    }
    exe("wrs-token")
}

/// Starts `wrs-token demo` with its temporary directory under `tmp`.
fn spawn_demo(tmp: &Path) -> Child {
    let mut command = Command::new(wrs_token());
    command
        .arg("demo")
        .env("TMPDIR", tmp)
        // The variable `wrs-token demo` documents; this package's build of
        // the binary, not a stale one on PATH.
        .env(wrs_sys::env::DEMO, env!("CARGO_BIN_EXE_wrs-demo"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        wrs_sys::env::SOCKET,
        wrs_sys::env::CONFIG,
        wrs_sys::env::PROFILE,
        wrs_sys::env::TOKEND,
        "BROWSER",
    ] {
        command.env_remove(var);
    }
    command.spawn().unwrap()
}

/// Reads a pipe on a thread, line by line, into a channel.
fn lines_of(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the child (killing it after [`DEMO_TIMEOUT`]) and collects
/// what is left of both pipes.
fn finish(
    child: &mut Child,
    stdout: &mpsc::Receiver<String>,
    stderr: &mpsc::Receiver<String>,
    mut out: String,
) -> (ExitStatus, String, String) {
    let deadline = Instant::now() + DEMO_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not finish within {DEMO_TIMEOUT:?}:\n{out}");
        }
        while let Ok(line) = stdout.try_recv() {
            out.push_str(&line);
            out.push('\n');
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The pipes close when the demo exits (the daemon's stdio is /dev/null).
    for line in stdout.iter() {
        out.push_str(&line);
        out.push('\n');
    }
    let err: Vec<String> = stderr.iter().collect();
    (status, out, err.join("\n"))
}

/// The temporary directory the demo announced.
fn announced_dir(stdout: &str) -> PathBuf {
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("directory: "))
        .unwrap_or_else(|| panic!("no `directory:` line in\n{stdout}"));
    PathBuf::from(line)
}

/// The daemon pid from `wrs-token status` (`daemon   running, pid N, …`).
fn daemon_pid(stdout: &str) -> u32 {
    let line = stdout
        .lines()
        .find(|l| l.contains("daemon") && l.contains("running, pid "))
        .unwrap_or_else(|| panic!("no daemon status line in\n{stdout}"));
    let rest = line.split("pid ").nth(1).unwrap();
    rest.split(',').next().unwrap().trim().parse().unwrap()
}

/// Whether the process runs (Linux: a zombie waiting for init is gone).
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            let state = stat.rsplit_once(')').map(|(_, r)| r.trim_start());
            !state.is_some_and(|s| s.starts_with('Z') || s.starts_with('X'))
        })
    } else {
        false
    }
}

fn assert_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "the demo's daemon (pid {pid}) still runs");
}

/// Every access token shown is cut after 12 characters (`wrsat_` + 6) and
/// marked `…`; refresh tokens and codes never appear at all.
fn assert_no_full_token(text: &str) {
    for (at, _) in text.match_indices("wrsat_") {
        let rest = &text[at + "wrsat_".len()..];
        let shown: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            shown.len() <= 6 && rest[shown.len()..].starts_with('…'),
            "an access token is shown in full: wrsat_{shown}"
        );
    }
    for secret in ["wrsrt_", "wrsac_"] {
        assert!(!text.contains(secret), "{secret}… appears in the output");
    }
}

#[test]
fn demo_runs_every_step_shows_no_token_in_full_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn_demo(tmp.path());
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());

    let (status, out, err) = finish(&mut child, &stdout, &stderr, String::new());

    assert!(
        status.success(),
        "demo failed ({status}):\n{out}\nstderr:\n{err}"
    );
    for marker in [
        "[1/7] Start a mock",
        "authorization server  https://127.0.0.1:",
        "[2/7]",
        "$ wrs-token profile add demo --issuer https://127.0.0.1:",
        "--client-id wrs-cli --auth none",
        "--store memory",
        "[3/7]",
        "browse --ca-file ",
        "$ wrs-token login demo",
        "→ 302 → http://127.0.0.1:",
        "/callback → 200 OK",
        "Logged in to profile demo",
        "[4/7]",
        "$ wrs-token print -p demo",
        "$ wrs-token status",
        "[5/7]",
        "ProdMgmt/Parts",
        "200 OK, 3 parts: 0000000001 Bracket",
        "[6/7]",
        "the daemon refreshed after",
        "prints meanwhile, all from the daemon's cache; 1 refresh at the authorization server",
        "$ wrs-token print -p demo --json",
        "with the new token → 200 OK",
        "1 code exchange",
        "[7/7]",
        "$ wrs-token daemon stop",
        "daemon stopped",
        "stopped the mock",
        "removed ",
        "Next, for your own server:",
        "wrs-token login plm",
        "wrs-token doctor plm",
    ] {
        assert!(out.contains(marker), "no {marker:?} in\n{out}");
    }
    assert_no_full_token(&out);
    assert_no_full_token(&err);
    let dir = announced_dir(&out);
    assert!(
        dir.starts_with(tmp.path()),
        "{} not under TMPDIR",
        dir.display()
    );
    assert!(!dir.exists(), "{} was not removed", dir.display());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the demo left files in TMPDIR"
    );
    assert_gone(daemon_pid(&out));
}

#[cfg(unix)]
#[test]
fn demo_interrupted_by_ctrl_c_still_stops_the_daemon_and_removes_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn_demo(tmp.path());
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    // Interrupt once the daemon runs and the demo waits for the renewal.
    let mut out = String::new();
    let deadline = Instant::now() + DEMO_TIMEOUT;
    loop {
        let line = stdout
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the demo never reached step 6:\n{out}"));
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("[6/7]") {
            break;
        }
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());

    let (status, out, err) = finish(&mut child, &stdout, &stderr, out);

    assert_eq!(status.code(), Some(130), "{out}\nstderr:\n{err}");
    assert!(err.contains("interrupted during step 6/7"), "{err}");
    assert!(out.contains("daemon stopped"), "{out}");
    let dir = announced_dir(&out);
    assert!(!dir.exists(), "{} was not removed", dir.display());
    assert_gone(daemon_pid(&out));
}
