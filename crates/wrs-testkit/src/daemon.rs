//! Sync calls to a daemon's socket: one request per connection, binary or
//! JSON, as the thin client and a plugin make them.

use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wrs_proto::frame::{decode_binary, read_frame, read_json_line, write_frame};
use wrs_proto::{Request, RequestEnvelope, Response};

/// How long a call waits for its answer before the test fails: longer than
/// any refresh against the mock takes, short enough that a hang is seen.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// A connection to the daemon at `socket`, with a read timeout so a test
/// never hangs.
pub fn connect(socket: &Path) -> UnixStream {
    let stream = UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("connect to the daemon at {}: {e}", socket.display()));
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .expect("read timeout");
    stream
}

/// Sends one request over the binary protocol and reads the answer.
pub fn call(socket: &Path, request: Request) -> Response {
    let mut stream = connect(socket);
    write_frame(&mut stream, &RequestEnvelope::new(request)).expect("write");
    let body = read_frame(&mut stream).expect("read").expect("an answer");
    decode_binary(&body).expect("decode")
}

/// Sends one JSON line (without its newline) and reads one JSON line back.
pub fn call_json(socket: &Path, line: &str) -> serde_json::Value {
    let mut stream = connect(socket);
    stream.write_all(line.as_bytes()).expect("write");
    stream.write_all(b"\n").expect("write");
    let mut reader = BufReader::new(stream);
    let got = read_json_line(&mut reader).expect("read").expect("a line");
    serde_json::from_slice(&got).expect("JSON")
}

/// Asks a daemon at `socket`, if one answers, to shut down, and waits up
/// to 2 s for its answer. Never fails: for clean-up.
pub fn shutdown(socket: &Path) {
    if let Ok(mut s) = UnixStream::connect(socket) {
        let _ = write_frame(&mut s, &RequestEnvelope::new(Request::Shutdown {}));
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = read_frame(&mut s);
    }
}

/// Shuts the daemon at its socket down when dropped: a test never leaves
/// one behind, even when an assertion failed.
#[derive(Debug)]
pub struct StopOnDrop(pub PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        shutdown(&self.0);
    }
}
