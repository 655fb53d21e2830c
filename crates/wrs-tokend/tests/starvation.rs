//! Regression tests for "the token path cannot be starved by its own user's
//! clients": 500 idle connections made `print` fail after 32 s, 64
//! connections sending `status` every 4 s blocked it for as long as they
//! ran, 70 `login_wait` long-polls stalled it 24 s, and a full daemon left
//! its clients in the listen backlog until their own 30 s timeout.
//!
//! Each attack runs scaled down against a daemon on a real socket, and a
//! token request (connect, `get_token`, as `wrs-token print` does) must be
//! answered within [`PROMPTLY`].
#![allow(clippy::unwrap_used)]

mod common;
mod mock_env;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wrs_mock::{MockConfig, MockServer};
use wrs_proto::{ErrorKind, LoginMethod, Request, RequestEnvelope, Response, frame};
use wrs_tokend::clock::SystemClock;
use wrs_tokend::daemon::Daemon;
use wrs_tokend::server::Limits;

/// Generous: an unstarved daemon answers in about a millisecond.
const PROMPTLY: Duration = Duration::from_secs(2);

fn get_token(profile: Option<&str>) -> Request {
    Request::GetToken {
        profile: profile.map(str::to_owned),
        min_ttl_secs: Some(0),
        env_min_ttl_secs: None,
    }
}

/// What `wrs-token print` does: a fresh connection, one request, within
/// [`PROMPTLY`] or the test fails.
async fn print(socket: &Path, profile: Option<&str>) -> Response {
    let ask = async {
        let mut s = UnixStream::connect(socket).await.unwrap();
        binary_call(&mut s, get_token(profile)).await
    };
    let started = Instant::now();
    match tokio::time::timeout(PROMPTLY, ask).await {
        Ok(answer) => answer,
        Err(_) => panic!(
            "the token path is starved: no answer within {:?}",
            started.elapsed()
        ),
    }
}

fn assert_token(answer: &Response) {
    assert!(matches!(answer, Response::Token(_)), "{answer:?}");
}

/// Sends `request` and reads the answer; `None` when the daemon closed the
/// connection (or answered nothing within 5 s).
async fn try_call(stream: &mut UnixStream, request: &Request) -> Option<Response> {
    let bytes = frame::encode_binary(&RequestEnvelope::new(request.clone())).unwrap();
    stream.write_all(&bytes).await.ok()?;
    tokio::time::timeout(Duration::from_secs(5), read_binary_response(stream))
        .await
        .ok()?
}

#[tokio::test]
async fn print_is_answered_while_many_idle_connections_sit_open() {
    let limits = Limits {
        max_connections: 8,
        // Long enough that the old loop, which left new clients in the
        // backlog until a silent one timed out, needed many rounds of it.
        io_timeout: Duration::from_secs(2),
        evict_silent_after: Duration::from_millis(100),
        ..Limits::default()
    };
    let daemon = TestDaemon::start("profile=p", limits).await;
    let mut idle = Vec::new();
    for _ in 0..150 {
        idle.push(daemon.connect().await);
    }
    // Longer than the grace a silent connection gets.
    tokio::time::sleep(Duration::from_millis(300)).await;

    for _ in 0..3 {
        assert_token(&print(&daemon.socket(), None).await);
    }
    // The oldest idle connection gave its slot away: closed, no answer.
    let closed = tokio::time::timeout(PROMPTLY, read_binary_response(&mut idle[0])).await;
    assert!(matches!(closed, Ok(None)), "{closed:?}");
    daemon.stop().await;
}

/// A keep-alive client that asks for the status every `every`, connecting
/// again whenever the daemon closed its connection.
fn status_loop(
    socket: PathBuf,
    start_after: Duration,
    every: Duration,
    answers: Arc<AtomicUsize>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(start_after).await;
        let mut conn: Option<UnixStream> = None;
        loop {
            let mut stream = match conn.take() {
                Some(stream) => stream,
                None => match UnixStream::connect(&socket).await {
                    Ok(stream) => stream,
                    Err(_) => {
                        tokio::time::sleep(every).await;
                        continue;
                    }
                },
            };
            if let Some(Response::Status(_)) = try_call(&mut stream, &Request::Status {}).await {
                answers.fetch_add(1, Ordering::SeqCst);
                conn = Some(stream);
            }
            tokio::time::sleep(every).await;
        }
    })
}

#[tokio::test]
async fn print_is_answered_while_keep_alive_clients_ask_for_status_every_second() {
    let limits = Limits {
        max_connections: 8,
        // Each client asks well within the per-request timeout, and the
        // test ends long before its idle budget: only taking idle slots
        // for newcomers keeps the token path open.
        io_timeout: Duration::from_secs(2),
        max_idle: Duration::from_secs(60),
        ..Limits::default()
    };
    let daemon = TestDaemon::start("profile=p", limits).await;
    let answers = Arc::new(AtomicUsize::new(0));
    let every = Duration::from_secs(1);
    // Spread over the second, as independent clients would be.
    let loops: Vec<_> = (0..limits.max_connections)
        .map(|i| {
            let start_after = every * u32::try_from(i).unwrap() / 8;
            status_loop(daemon.socket(), start_after, every, answers.clone())
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = answers.load(Ordering::SeqCst);
    assert!(before >= limits.max_connections, "{before} status answers");

    for _ in 0..3 {
        assert_token(&print(&daemon.socket(), None).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The chatty clients were not locked out either: they connect again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(answers.load(Ordering::SeqCst) >= before + limits.max_connections);
    for task in loops {
        task.abort();
    }
    daemon.stop().await;
}

#[tokio::test]
async fn a_connection_that_keeps_asking_is_closed_once_its_idle_time_is_used_up() {
    let limits = Limits {
        io_timeout: Duration::from_millis(500),
        max_idle: Duration::from_secs(1),
        ..Limits::default()
    };
    let daemon = TestDaemon::start("profile=p", limits).await;
    let mut s = daemon.connect().await;
    let started = Instant::now();
    let mut answered = 0;
    // Every request arrives within the per-request timeout, so only the
    // per-connection budget can end this.
    while started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        match try_call(&mut s, &Request::Status {}).await {
            Some(Response::Status(_)) => answered += 1,
            // Closed without an answer: an unasked one could be taken for
            // the reply to the next request.
            None => break,
            Some(other) => panic!("{other:?}"),
        }
    }
    let lasted = started.elapsed();
    assert!(
        lasted < Duration::from_secs(3),
        "still open after {lasted:?} and {answered} requests"
    );
    assert!(
        lasted >= Duration::from_millis(900),
        "closed after {lasted:?}"
    );
    assert!((3..=6).contains(&answered), "{answered} answers");
    daemon.stop().await;
}

#[tokio::test]
async fn a_full_daemon_answers_busy_at_once_in_the_clients_mode() {
    let limits = Limits {
        max_connections: 2,
        io_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    // Token requests wait 3 s for their (shared) fetch: two of them fill
    // every slot with work.
    let daemon = TestDaemon::start("profile=p,delay_ms=3000", limits).await;
    let mut working = Vec::new();
    for _ in 0..2 {
        let mut s = daemon.connect().await;
        let bytes = frame::encode_binary(&RequestEnvelope::new(get_token(None))).unwrap();
        s.write_all(&bytes).await.unwrap();
        working.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let mut s = daemon.connect().await;
    let answer = tokio::time::timeout(Duration::from_secs(1), binary_call(&mut s, get_token(None)))
        .await
        .expect("a full daemon must answer at once");
    let err = expect_error(Some(answer), ErrorKind::DaemonBusy);
    assert!(
        err.message
            .starts_with("the daemon is busy: 2 connections are being answered"),
        "{}",
        err.message
    );
    assert!(err.hint.is_some());
    assert!(read_binary_response(&mut s).await.is_none(), "then closed");

    let mut c = JsonClient::new(daemon.connect().await);
    let answer = tokio::time::timeout(Duration::from_secs(1), c.call(Request::Status {}))
        .await
        .expect("a full daemon must answer at once");
    expect_error(Some(answer), ErrorKind::DaemonBusy);
    assert!(started.elapsed() < Duration::from_secs(2));

    // The work in progress was not disturbed.
    for mut s in working {
        assert_token(&read_binary_response(&mut s).await.unwrap());
    }
    daemon.stop().await;
}

#[tokio::test]
async fn with_every_busy_answer_under_way_a_new_connection_is_closed_at_once() {
    let limits = Limits {
        max_connections: 1,
        max_busy_answers: 1,
        io_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let daemon = TestDaemon::start("profile=p,delay_ms=3000", limits).await;
    let mut working = daemon.connect().await;
    let bytes = frame::encode_binary(&RequestEnvelope::new(get_token(None))).unwrap();
    working.write_all(&bytes).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Silent: its busy answer waits for its request.
    let silent = daemon.connect().await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut s = daemon.connect().await;
    let closed = tokio::time::timeout(Duration::from_secs(1), read_binary_response(&mut s)).await;
    assert!(matches!(closed, Ok(None)), "{closed:?}");
    drop(silent);
    assert_token(&read_binary_response(&mut working).await.unwrap());
    daemon.stop().await;
}

/// A daemon serving the OAuth runtime over a `wrs-mock` server.
struct OAuthDaemon {
    _mock: MockServer,
    _tmp: tempfile::TempDir,
    socket: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    _task: JoinHandle<()>,
}

impl OAuthDaemon {
    async fn start(limits: Limits) -> OAuthDaemon {
        let mock = MockServer::start(MockConfig::default().auto_approve(true))
            .await
            .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let config_path = tmp.path().join("config.toml");
        std::fs::write(
            &config_path,
            mock_env::public_profile("plm", &mock, "memory", ""),
        )
        .unwrap();
        let runtime = mock_env::runtime_over(
            &config_path,
            &tmp.path().join("data"),
            Arc::new(SystemClock),
            None,
        );
        let config = config_in(&tmp, limits);
        let socket = config.endpoint.socket.clone();
        let daemon = Daemon::start_with_runtime(config, runtime).unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(daemon.serve(async move {
            let _ = stopped.await;
        }));
        OAuthDaemon {
            _mock: mock,
            _tmp: tmp,
            socket,
            stop: Some(stop),
            _task: task,
        }
    }
}

impl Drop for OAuthDaemon {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A `wrs-token login` waiting for `login_id`: long-polls of `wait`,
/// asking again after a quick answer the way the client does. Counts
/// answers that came back within a second.
fn login_waiter(
    socket: PathBuf,
    login_id: String,
    wait: Duration,
    quick: Arc<AtomicUsize>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let request = Request::LoginWait {
            login_id,
            timeout_secs: wait.as_secs(),
        };
        loop {
            let Ok(mut s) = UnixStream::connect(&socket).await else {
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            };
            let asked = Instant::now();
            let answer = try_call(&mut s, &request).await;
            if asked.elapsed() < Duration::from_secs(1) {
                if let Some(Response::LoginPending {}) = answer {
                    quick.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    })
}

#[tokio::test]
async fn print_is_answered_while_login_waits_block() {
    let limits = Limits {
        max_connections: 4,
        max_long_polls: 2,
        ..Limits::default()
    };
    let daemon = OAuthDaemon::start(limits).await;
    let socket = daemon.socket.clone();
    let mut s = UnixStream::connect(&socket).await.unwrap();
    let begin = Request::LoginBegin {
        profile: Some("plm".into()),
        method: LoginMethod::NoBrowser,
    };
    let login_id = match binary_call(&mut s, begin).await {
        Response::LoginStarted(prompt) => prompt.login_id,
        other => panic!("{other:?}"),
    };
    drop(s);

    // Twice as many waits, each asking to block 30 s, as there are slots.
    let quick = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..2 * limits.max_connections)
        .map(|_| {
            login_waiter(
                socket.clone(),
                login_id.clone(),
                Duration::from_secs(30),
                quick.clone(),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;

    for _ in 0..3 {
        // Not logged in yet: the token path answers that, promptly.
        let answer = print(&socket, Some("plm")).await;
        expect_error(Some(answer), ErrorKind::LoginRequired);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The waits beyond the long-poll slots were answered at once and asked
    // again; they were not turned away.
    assert!(quick.load(Ordering::SeqCst) >= 6, "{quick:?}");
    for task in waiters {
        task.abort();
    }
}
