//! Shared by the integration tests: a fake daemon (a std `UnixListener`
//! speaking the `wrs_proto` codec) and the real `wrs-token` binary run in
//! an environment isolated from the user's.
#![allow(dead_code)]

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use wrs_proto::frame::{Mode, decode_request, read_frame, write_frame};
use wrs_proto::{PROTOCOL_VERSION, Request, Response};

/// What the fake daemon does with one request.
pub enum Reply {
    /// Answer and keep serving.
    Answer(Response),
    /// Answer, then close the listener and remove the socket (shutdown).
    AnswerAndStop(Response),
    /// Read the request and never answer (a hung daemon).
    Hang,
}

pub struct FakeDaemon {
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeDaemon {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + 'static) -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let requests = Arc::new(Mutex::new(Vec::new()));
        serve(&socket, Arc::clone(&requests), handler);
        FakeDaemon {
            _dir: dir,
            socket,
            requests,
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// Binds `socket` now (so a client may connect as soon as this returns)
/// and serves on a thread.
pub fn serve(
    socket: &Path,
    requests: Arc<Mutex<Vec<Request>>>,
    handler: impl Fn(&Request) -> Reply + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(socket).unwrap();
    let socket = socket.to_path_buf();
    std::thread::spawn(move || {
        let mut hung = Vec::new();
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            // A connect-and-close (a liveness probe) sends nothing.
            let Some(body) = read_frame(&mut stream).unwrap() else {
                continue;
            };
            let envelope = decode_request(Mode::Binary, &body).unwrap();
            assert_eq!(envelope.version, PROTOCOL_VERSION);
            requests.lock().unwrap().push(envelope.request.clone());
            match handler(&envelope.request) {
                Reply::Answer(r) => write_frame(&mut stream, &r).unwrap(),
                Reply::AnswerAndStop(r) => {
                    write_frame(&mut stream, &r).unwrap();
                    std::fs::remove_file(&socket).unwrap();
                    return;
                }
                Reply::Hang => hung.push(stream),
            }
        }
    })
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `wrs-token --socket <socket>` with an environment isolated from the
/// user's, a daemon launcher that does not exist unless a test sets one,
/// and a `$BROWSER` that opens nothing.
pub fn wrs_token(socket: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wrs-token"));
    cmd.arg("--socket")
        .arg(socket)
        .env_remove("WRS_TOKEN_PROFILE")
        .env_remove("WRS_TOKEN_NO_AUTOSTART")
        .env_remove("WRS_TOKEN_SOCKET")
        .env_remove("WRS_TOKEN_CONFIG")
        .env_remove("WRS_TOKEN_MIN_TTL")
        .env("BROWSER", "true")
        .env("WRS_TOKEND", "/nonexistent/wrs-tokend")
        .stdin(Stdio::null());
    cmd
}

pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let stderr = String::from_utf8(stderr).unwrap();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (
        status.code().unwrap(),
        String::from_utf8(stdout).unwrap(),
        stderr,
    )
}

/// A launcher script standing in for `wrs-tokend`.
pub fn launcher(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-tokend");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// As [`run`], with `input` on the child's stdin (then closed).
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> (i32, String, String) {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A child that exits before reading everything closes the pipe: fine.
    let _ = child.stdin.take().unwrap().write_all(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(stderr).unwrap();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (
        status.code().unwrap(),
        String::from_utf8(stdout).unwrap(),
        stderr,
    )
}
