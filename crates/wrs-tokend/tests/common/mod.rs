//! One way to start a daemon on a temp-dir socket, and small clients.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wrs_proto::frame;
use wrs_proto::{Request, RequestEnvelope, Response};
use wrs_sys::endpoint::Endpoint;
use wrs_tokend::clock::SystemClock;
use wrs_tokend::daemon::{Config, Daemon};
use wrs_tokend::server::Limits;
use wrs_tokend::session::Sessions;
use wrs_tokend::source::TokenSource;
use wrs_tokend::testing::TestSource;

/// A daemon served in this process from a temp dir.
pub struct TestDaemon {
    pub tmp: tempfile::TempDir,
    pub endpoint: Endpoint,
    pub source: Arc<TestSource>,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<()>>,
}

pub fn config_in(tmp: &tempfile::TempDir, limits: Limits) -> Config {
    let endpoint = Endpoint::at(tmp.path().join("rt").join("agent.sock")).unwrap();
    Config {
        endpoint,
        limits,
        socket_activation: false,
    }
}

pub fn sessions_for(spec: &str) -> (Arc<TestSource>, Arc<Sessions>) {
    let clock = Arc::new(SystemClock);
    let source = Arc::new(TestSource::new(spec.parse().unwrap(), clock.clone()));
    let as_dyn: Arc<dyn TokenSource> = source.clone();
    (source, Arc::new(Sessions::new(as_dyn, clock)))
}

impl TestDaemon {
    pub async fn start(spec: &str, limits: Limits) -> TestDaemon {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(&tmp, limits);
        let endpoint = config.endpoint.clone();
        let (source, sessions) = sessions_for(spec);
        let daemon = Daemon::start(config, sessions).unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(daemon.serve(async move {
            let _ = stopped.await;
        }));
        TestDaemon {
            tmp,
            endpoint,
            source,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.endpoint.socket.clone()
    }

    pub async fn connect(&self) -> UnixStream {
        UnixStream::connect(&self.endpoint.socket).await.unwrap()
    }

    /// Stops the daemon and waits until it has cleaned up.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .unwrap()
                .unwrap();
        }
    }
}

pub fn fast_limits() -> Limits {
    Limits {
        io_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

/// Sends one binary request and reads one binary answer.
pub async fn binary_call(stream: &mut UnixStream, request: Request) -> Response {
    let frame = frame::encode_binary(&RequestEnvelope::new(request)).unwrap();
    stream.write_all(&frame).await.unwrap();
    read_binary_response(stream).await.unwrap()
}

/// Reads one binary answer; `None` at end of stream.
pub async fn read_binary_response(stream: &mut UnixStream) -> Option<Response> {
    let mut prefix = [0u8; 4];
    if stream.read_exact(&mut prefix).await.is_err() {
        return None;
    }
    let len = frame::body_len(prefix).unwrap();
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.unwrap();
    Some(frame::decode_binary(&body).unwrap())
}

/// A JSON-mode client.
pub struct JsonClient {
    stream: BufReader<UnixStream>,
}

impl JsonClient {
    pub fn new(stream: UnixStream) -> Self {
        JsonClient {
            stream: BufReader::new(stream),
        }
    }

    pub async fn send_line(&mut self, line: &str) {
        self.stream
            .get_mut()
            .write_all(line.as_bytes())
            .await
            .unwrap();
        self.stream.get_mut().write_all(b"\n").await.unwrap();
    }

    /// The next answer line as a `Response`; `None` at end of stream.
    pub async fn read(&mut self) -> Option<Response> {
        let mut line = String::new();
        let n = self.stream.read_line(&mut line).await.unwrap();
        if n == 0 {
            return None;
        }
        Some(serde_json::from_str(&line).unwrap())
    }

    pub async fn call(&mut self, request: Request) -> Response {
        let line = serde_json::to_string(&RequestEnvelope::new(request)).unwrap();
        self.send_line(&line).await;
        self.read().await.unwrap()
    }
}

/// Asserts a response is an error of `kind` and returns it.
pub fn expect_error(
    response: Option<Response>,
    kind: wrs_proto::ErrorKind,
) -> wrs_proto::ErrorResponse {
    match response {
        Some(Response::Error(e)) if e.kind == kind => e,
        other => panic!("expected a {kind:?} error, got {other:?}"),
    }
}
