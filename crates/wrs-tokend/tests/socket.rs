//! The daemon over a real socket in a temp dir, served in this process.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wrs_proto::{ErrorKind, PROTOCOL_VERSION, Request, RequestEnvelope, Response, Secret};
use wrs_sys::exit::ALREADY_RUNNING;
use wrs_tokend::daemon::{Daemon, StartError};
use wrs_tokend::server::Limits;
use wrs_tokend::trust::TrustError;

fn token_of(response: Response) -> String {
    match response {
        Response::Token(reply) => reply.access_token.expose().to_owned(),
        other => panic!("expected a token, got {other:?}"),
    }
}

#[tokio::test]
async fn binary_mode_serves_several_requests_on_one_connection() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;
    let mut s = daemon.connect().await;
    let get = || Request::GetToken {
        profile: None,
        min_ttl_secs: Some(10),
        env_min_ttl_secs: None,
    };
    assert_eq!(token_of(binary_call(&mut s, get()).await), "wrs-test-p-1");
    match binary_call(&mut s, Request::Status {}).await {
        Response::Status(status) => {
            assert_eq!(status.protocol_version, PROTOCOL_VERSION);
            assert_eq!(status.pid, std::process::id());
            assert_eq!(status.profiles.len(), 1);
            assert_eq!(status.socket, daemon.socket().display().to_string());
        }
        other => panic!("{other:?}"),
    }
    let invalidate = Request::Invalidate {
        profile: None,
        token: Some(Secret::new("wrs-test-p-1")),
    };
    assert_eq!(
        binary_call(&mut s, invalidate).await,
        Response::Invalidated {
            profile: "p".into(),
            dropped: true
        }
    );
    assert_eq!(token_of(binary_call(&mut s, get()).await), "wrs-test-p-2");
    drop(s);
    daemon.stop().await;
}

#[tokio::test]
async fn json_mode_serves_several_requests_on_one_connection() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;
    let mut c = JsonClient::new(daemon.connect().await);
    // Hand-written, as a plugin author would.
    c.send_line(r#"{"version":3,"request":{"get_token":{"profile":"p","min_ttl_secs":0}}}"#)
        .await;
    assert_eq!(token_of(c.read().await.unwrap()), "wrs-test-p-1");
    assert!(matches!(
        c.call(Request::Status {}).await,
        Response::Status(_)
    ));
    let response = c
        .call(Request::Invalidate {
            profile: Some("p".into()),
            token: Some(Secret::new("not-the-cached-one")),
        })
        .await;
    assert_eq!(
        response,
        Response::Invalidated {
            profile: "p".into(),
            dropped: false
        }
    );
    assert_eq!(
        token_of(
            c.call(Request::GetToken {
                profile: None,
                min_ttl_secs: Some(0),
                env_min_ttl_secs: None
            })
            .await
        ),
        "wrs-test-p-1"
    );
    daemon.stop().await;
}

async fn assert_still_serving(daemon: &TestDaemon) {
    let mut s = daemon.connect().await;
    assert!(matches!(
        binary_call(&mut s, Request::Status {}).await,
        Response::Status(_)
    ));
}

#[tokio::test]
async fn malformed_input_gets_bad_request_and_the_daemon_keeps_serving() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;

    // A well-framed binary body that is not a request (our version, then
    // no such variant).
    let mut s = daemon.connect().await;
    let version = u8::try_from(wrs_proto::PROTOCOL_VERSION).unwrap();
    s.write_all(&[0, 0, 0, 3, version, 0xff, 0xff])
        .await
        .unwrap();
    expect_error(read_binary_response(&mut s).await, ErrorKind::BadRequest);
    assert!(read_binary_response(&mut s).await.is_none(), "closed after");

    // A length prefix far above the cap: refused, not allocated.
    let mut s = daemon.connect().await;
    s.write_all(&[0x7a, 0xff, 0xff, 0xff]).await.unwrap();
    let err = expect_error(read_binary_response(&mut s).await, ErrorKind::BadRequest);
    assert!(err.message.contains("exceeds"), "{}", err.message);

    // Random bytes.
    let mut s = daemon.connect().await;
    let noise: Vec<u8> = (0..2000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = s.write_all(&noise).await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut sink)).await;

    // JSON that is not a request, and JSON that is not JSON.
    let mut c = JsonClient::new(daemon.connect().await);
    c.send_line(r#"{"version":3,"request":{"no_such_request":{}}}"#)
        .await;
    expect_error(c.read().await, ErrorKind::BadRequest);
    assert!(c.read().await.is_none());
    let mut c = JsonClient::new(daemon.connect().await);
    c.send_line("{this is not json").await;
    expect_error(c.read().await, ErrorKind::BadRequest);

    // An over-long JSON line.
    let mut s = daemon.connect().await;
    let long = format!("{{\"version\":1,\"pad\":\"{}\"}}\n", "x".repeat(100_000));
    // The daemon may hang up before taking it all: a failed write is fine.
    let _ = s.write_all(long.as_bytes()).await;
    let mut c = JsonClient::new(s);
    let err = expect_error(c.read().await, ErrorKind::BadRequest);
    assert!(err.message.contains("exceeds"), "{}", err.message);

    assert_still_serving(&daemon).await;
    daemon.stop().await;
}

#[tokio::test]
async fn a_client_stalling_mid_frame_is_cut_off_while_others_are_served() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;
    let mut stalled = daemon.connect().await;
    stalled.write_all(&[0, 0, 0, 50, 1, 2, 3]).await.unwrap();

    assert_still_serving(&daemon).await;

    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_binary_response(&mut stalled))
        .await
        .unwrap();
    expect_error(answer, ErrorKind::BadRequest);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(read_binary_response(&mut stalled).await.is_none());
    daemon.stop().await;
}

#[tokio::test]
async fn a_version_mismatch_is_a_typed_error_in_both_modes() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;
    let future = PROTOCOL_VERSION + 98;

    let mut s = daemon.connect().await;
    let frame = wrs_proto::frame::encode_binary(&RequestEnvelope {
        version: future,
        request: Request::Status {},
    })
    .unwrap();
    s.write_all(&frame).await.unwrap();
    let err = expect_error(
        read_binary_response(&mut s).await,
        ErrorKind::VersionMismatch,
    );
    assert!(err.message.contains(&future.to_string()));
    assert!(err.message.contains(&PROTOCOL_VERSION.to_string()));
    assert_eq!(
        err.hint.as_deref(),
        Some("restart the daemon: `wrs-token daemon stop` (the next command starts the new one)")
    );

    let mut c = JsonClient::new(daemon.connect().await);
    // A future client may send requests this daemon cannot even parse.
    c.send_line(&format!(
        r#"{{"version":{future},"request":{{"teleport":{{"to":"mars"}}}}}}"#
    ))
    .await;
    let err = expect_error(c.read().await, ErrorKind::VersionMismatch);
    assert!(err.hint.unwrap().contains("wrs-token daemon stop"));
    daemon.stop().await;
}

#[tokio::test]
async fn unsupported_requests_get_a_clear_error() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;
    let mut s = daemon.connect().await;
    let response = binary_call(&mut s, Request::Reload {}).await;
    let err = expect_error(Some(response), ErrorKind::Config);
    assert!(err.message.contains("not supported"), "{}", err.message);
    match binary_call(&mut s, Request::ListProfiles {}).await {
        Response::Profiles(list) => {
            assert_eq!(list.len(), 1);
            assert!(list[0].is_default);
        }
        other => panic!("{other:?}"),
    }
    daemon.stop().await;
}

#[tokio::test]
async fn the_shutdown_request_is_answered_then_socket_and_lock_are_removed() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;
    let (socket, lock) = (daemon.socket(), daemon.endpoint.lock.clone());
    assert!(socket.exists() && lock.exists());
    let mut s = daemon.connect().await;
    assert_eq!(
        binary_call(&mut s, Request::Shutdown {}).await,
        Response::ShuttingDown {}
    );
    let mut daemon = daemon;
    let task = daemon.task.take().unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(!socket.exists(), "socket removed");
    assert!(!lock.exists(), "lock removed");
}

#[tokio::test]
async fn an_in_flight_request_finishes_during_shutdown() {
    let daemon = TestDaemon::start("profile=p,delay_ms=300", fast_limits()).await;
    let mut s = daemon.connect().await;
    let frame = wrs_proto::frame::encode_binary(&RequestEnvelope::new(Request::GetToken {
        profile: None,
        min_ttl_secs: Some(0),
        env_min_ttl_secs: None,
    }))
    .unwrap();
    s.write_all(&frame).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stopping = tokio::spawn(daemon.stop());
    let answer = read_binary_response(&mut s).await.unwrap();
    assert_eq!(token_of(answer), "wrs-test-p-1");
    stopping.await.unwrap();
}

/// Whether the daemon closed `stream` (within a second), as opposed to
/// keeping it open.
async fn was_closed(stream: &mut tokio::net::UnixStream) -> bool {
    let read = tokio::time::timeout(Duration::from_secs(1), read_binary_response(stream)).await;
    match read {
        Ok(None) => true,
        Err(_elapsed) => false,
        Ok(Some(answer)) => panic!("an unasked answer: {answer:?}"),
    }
}

/// Used to be `connections_beyond_the_limit_wait_for_a_free_slot`: a full
/// daemon left newcomers in the listen backlog behind idle connections.
#[tokio::test]
async fn idle_connections_give_their_slots_to_new_ones_keep_alive_first() {
    let limits = Limits {
        max_connections: 2,
        // Far beyond the test: only the newcomers close anything.
        io_timeout: Duration::from_secs(10),
        evict_silent_after: Duration::from_millis(200),
        ..Limits::default()
    };
    let daemon = TestDaemon::start("profile=p", limits).await;
    let status = || async {
        let mut s = daemon.connect().await;
        let answer = tokio::time::timeout(
            Duration::from_secs(1),
            binary_call(&mut s, Request::Status {}),
        )
        .await
        .expect("answered at once");
        assert!(matches!(answer, Response::Status(_)), "{answer:?}");
        s
    };
    // Served once, now idle between requests.
    let mut keep_alive = status().await;
    // Silent since it connected, and for longer than its grace.
    let mut silent = daemon.connect().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut newer = status().await;
    assert!(
        was_closed(&mut keep_alive).await,
        "the keep-alive one went first"
    );
    assert!(!was_closed(&mut silent).await);
    // `newer` is an idle keep-alive connection now: it goes before the
    // older silent one.
    let _newest = status().await;
    assert!(was_closed(&mut newer).await);
    assert!(!was_closed(&mut silent).await);
    daemon.stop().await;
}

#[tokio::test]
async fn directory_and_socket_are_private() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&daemon.endpoint.dir), 0o700);
    assert_eq!(mode(&daemon.socket()), 0o600);
    assert_eq!(mode(&daemon.endpoint.lock), 0o600);
    daemon.stop().await;
}

#[tokio::test]
async fn a_second_daemon_is_refused_while_the_lock_is_held() {
    let daemon = TestDaemon::start("profile=p", fast_limits()).await;
    let config = wrs_tokend::daemon::Config {
        endpoint: daemon.endpoint.clone(),
        limits: fast_limits(),
        socket_activation: false,
    };
    let (_, sessions) = sessions_for("profile=p");
    let err = Daemon::start(config, sessions).unwrap_err();
    assert_eq!(err.exit_code(), ALREADY_RUNNING);
    let pid = std::process::id();
    assert_eq!(
        err.to_string(),
        format!(
            "wrs-tokend is already running (pid {pid}, socket {})",
            daemon.socket().display()
        )
    );
    // The refused start must not have touched the running daemon.
    assert_still_serving(&daemon).await;
    daemon.stop().await;
}

#[tokio::test]
async fn a_stale_socket_is_replaced_but_a_live_one_refuses_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_in(&tmp, fast_limits());
    wrs_tokend::trust::ensure_private_dir(&config.endpoint.dir).unwrap();

    // Bound, then abandoned (as after a crash): the file stays, nobody listens.
    drop(std::os::unix::net::UnixListener::bind(&config.endpoint.socket).unwrap());
    assert!(config.endpoint.socket.exists());
    let (_, sessions) = sessions_for("profile=p");
    let daemon = Daemon::start(config.clone(), sessions).unwrap();
    drop(daemon);

    // Something live on the socket (not holding our lock): refused, untouched.
    let _ = std::fs::remove_file(&config.endpoint.socket);
    let live = std::os::unix::net::UnixListener::bind(&config.endpoint.socket).unwrap();
    let (_, sessions) = sessions_for("profile=p");
    let err = Daemon::start(config.clone(), sessions).unwrap_err();
    assert!(
        matches!(err, StartError::Trust(TrustError::AlreadyRunning { .. })),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), ALREADY_RUNNING);
    assert!(config.endpoint.socket.exists());
    drop(live);

    // A regular file in the way is not deleted.
    let _ = std::fs::remove_file(&config.endpoint.socket);
    std::fs::write(&config.endpoint.socket, "not a socket").unwrap();
    let (_, sessions) = sessions_for("profile=p");
    let err = Daemon::start(config.clone(), sessions).unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(err.exit_code(), 1);
    assert!(config.endpoint.socket.exists());
}
