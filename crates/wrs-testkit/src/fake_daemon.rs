//! A fake daemon: a std `UnixListener` speaking the `wrs_proto` codec and
//! answering as a test scripts it, so client tests choose every answer
//! (a hang, a version mismatch, a shutdown) and see every request; and the
//! real client pointed at it.

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use wrs_proto::frame::{Mode, decode_request, read_frame, write_frame};
use wrs_proto::{PROTOCOL_VERSION, Request, Response};

use crate::process::{bin, isolate, write_script};

/// What the fake daemon does with one request.
#[derive(Debug)]
pub enum Reply {
    /// Answer and keep serving.
    Answer(Response),
    /// Answer, then close the listener and remove the socket (shutdown).
    AnswerAndStop(Response),
    /// Read the request and never answer (a hung daemon).
    Hang,
}

/// A fake daemon serving on a socket in a temp dir of its own.
#[derive(Debug)]
pub struct FakeDaemon {
    _dir: tempfile::TempDir,
    /// Where it listens.
    pub socket: PathBuf,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeDaemon {
    /// Listens (bound when this returns) and answers each request with
    /// `handler`'s [`Reply`].
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + 'static) -> FakeDaemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("agent.sock");
        let requests = Arc::new(Mutex::new(Vec::new()));
        serve(&socket, Arc::clone(&requests), handler);
        FakeDaemon {
            _dir: dir,
            socket,
            requests,
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("requests").clone()
    }
}

/// Binds `socket` now (so a client may connect as soon as this returns)
/// and serves on a thread, recording each request in `requests`.
pub fn serve(
    socket: &Path,
    requests: Arc<Mutex<Vec<Request>>>,
    handler: impl Fn(&Request) -> Reply + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(socket).expect("bind the fake daemon's socket");
    let socket = socket.to_path_buf();
    std::thread::spawn(move || {
        let mut hung = Vec::new();
        for stream in listener.incoming() {
            let mut stream = stream.expect("accept");
            // A connect-and-close (a liveness probe) sends nothing.
            let Some(body) = read_frame(&mut stream).expect("read") else {
                continue;
            };
            let envelope = decode_request(Mode::Binary, &body).expect("decode");
            assert_eq!(envelope.version, PROTOCOL_VERSION);
            requests
                .lock()
                .expect("requests")
                .push(envelope.request.clone());
            match handler(&envelope.request) {
                Reply::Answer(r) => write_frame(&mut stream, &r).expect("write"),
                Reply::AnswerAndStop(r) => {
                    write_frame(&mut stream, &r).expect("write");
                    std::fs::remove_file(&socket).expect("remove the socket");
                    return;
                }
                Reply::Hang => hung.push(stream),
            }
        }
    })
}

/// Unix seconds now, for the `expires_at` of scripted answers.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The real `wrs-token --socket <socket>`, isolated from the developer's
/// settings ([`isolate`]), with a daemon launcher that does not exist
/// unless a test sets one ([`launcher`]) and a `$BROWSER` that opens
/// nothing.
pub fn wrs_token(socket: &Path) -> Command {
    let mut cmd = Command::new(bin("wrs-token"));
    isolate(&mut cmd)
        .arg("--socket")
        .arg(socket)
        .env("BROWSER", "true")
        .env(wrs_sys::env::TOKEND, "/nonexistent/wrs-tokend");
    cmd
}

/// A launcher script standing in for `wrs-tokend` (for `WRS_TOKEND`),
/// written in `dir`.
pub fn launcher(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("fake-tokend");
    write_script(&path, body);
    path
}
