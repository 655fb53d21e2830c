//! The accept loop: connection limit, per-connection timeouts, shutdown.
//!
//! Shape after mini-redis: [`run`] takes the shutdown signal as an argument,
//! fans it out to every connection task, and waits for them with a bounded
//! drain.
//!
//! Connection limit: at most [`Limits::max_connections`] connections are
//! served at once. Beyond that the loop stops *accepting*, so new clients
//! wait in the kernel's listen backlog until a slot frees. Every slot is
//! bounded in time (each request must arrive within
//! [`Limits::io_timeout`], each answer must be taken within it too), so the
//! wait is bounded as well, and a client never gets a spurious `Busy`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::traits::tokio::Listener as _;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;
use wrs_proto::{ErrorKind, ErrorResponse, Response, WireError};

use crate::connection::Connection;
use crate::handler::{Handler, version_mismatch};

/// Bounds that keep one client from starving the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time allowed to receive one complete request (including the wait
    /// for its first byte) and to send one answer.
    pub io_timeout: Duration,
    /// Time in-flight connections get to finish at shutdown.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            io_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(2),
        }
    }
}

/// Serves `listener` until `shutdown` resolves, then stops accepting, lets
/// connections finish the request they are handling (up to the drain
/// timeout) and returns. Removing the socket is the caller's business.
pub async fn run(
    listener: &Listener,
    handler: Arc<Handler>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Sender kept alive until the drain is over: a dropped sender would read
    // as "shut down" to every connection.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        if slots.available_permits() == 0 {
            tracing::debug!("at the connection limit; new connections wait in the backlog");
        }
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // closed: cannot happen, we never close it
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(stream) => stream,
                Err(e) => {
                    // EMFILE and friends: back off a little instead of
                    // spinning on an error that will repeat at once.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        while let Some(done) = tasks.try_join_next() {
            log_task_end(done);
        }
        let handler = Arc::clone(&handler);
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            let _slot = permit;
            serve_connection(stream, handler, limits, stop).await;
        });
    }

    tracing::info!("shutting down: no new connections");
    stop_tx.send_replace(true);
    let drain = async {
        while let Some(done) = tasks.join_next().await {
            log_task_end(done);
        }
    };
    if timeout(limits.drain_timeout, drain).await.is_err() {
        tracing::warn!(
            "{} connection(s) still busy after {:?}; closing them",
            tasks.len(),
            limits.drain_timeout
        );
        tasks.abort_all();
    }
}

fn log_task_end(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!("a connection task panicked (a bug): {e}");
    }
}

/// Serves requests on one connection until clean end of stream, an error,
/// a timeout or shutdown (checked between requests).
async fn serve_connection(
    stream: Stream,
    handler: Arc<Handler>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    if !crate::trust::peer_is_trusted(&stream) {
        return;
    }
    let mut conn = Connection::new(stream);
    loop {
        let read = tokio::select! {
            read = timeout(limits.io_timeout, conn.read_request()) => read,
            _ = stop.wait_for(|stopping| *stopping) => return,
        };
        let envelope = match read {
            Ok(Ok(Some(envelope))) => envelope,
            Ok(Ok(None)) => return,
            Err(_elapsed) => {
                tracing::debug!("client too slow; closing its connection");
                let err = ErrorResponse::new(
                    ErrorKind::BadRequest,
                    format!(
                        "no complete request within {} ms",
                        limits.io_timeout.as_millis()
                    ),
                );
                answer_and_close(&mut conn, err, limits).await;
                return;
            }
            Ok(Err(WireError::VersionMismatch { peer })) => {
                tracing::info!(
                    peer_version = peer,
                    "client speaks another protocol version"
                );
                answer_and_close(&mut conn, version_mismatch(peer), limits).await;
                return;
            }
            Ok(Err(WireError::Io(e))) => {
                tracing::debug!("connection error: {e}");
                return;
            }
            // The peer is gone; there is nobody to answer.
            Ok(Err(WireError::Truncated)) => return,
            Ok(Err(e)) => {
                tracing::debug!("bad request: {e}");
                answer_and_close(
                    &mut conn,
                    ErrorResponse::new(ErrorKind::BadRequest, e.to_string()),
                    limits,
                )
                .await;
                return;
            }
        };
        tracing::debug!(request = ?envelope.request, "request");
        let response = handler.handle(envelope.request).await;
        match timeout(limits.io_timeout, conn.write_response(&response)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!("cannot answer: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!("client does not read its answer; closing");
                return;
            }
        }
    }
}

/// Best effort: the stream may already be unusable.
async fn answer_and_close(conn: &mut Connection<Stream>, error: ErrorResponse, limits: Limits) {
    let _ = timeout(
        limits.io_timeout,
        conn.write_response(&Response::Error(error)),
    )
    .await;
}
