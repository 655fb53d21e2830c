//! The accept loop: who gets a connection slot, per-connection time limits,
//! shutdown.
//!
//! Shape after mini-redis: [`run`] takes the shutdown signal as an argument,
//! fans it out to every connection task, and waits for them with a bounded
//! drain.
//!
//! The rule it keeps: whatever other connections of the same user do, a
//! `wrs-token print` (connect, one `get_token`, close) is answered at once.
//! Every number lives in [`Limits`]:
//!
//! - The loop always accepts; no client is left in the kernel's listen
//!   backlog. A new connection takes one of [`Limits::max_connections`]
//!   serving slots.
//! - When they are all taken, it takes the slot of a connection that only
//!   waits for its next request: an idle keep-alive connection first, then
//!   one that has sent nothing for [`Limits::evict_silent_after`], the
//!   longest waiting first. That connection is closed without an answer:
//!   it has asked nothing.
//! - Only when every slot holds a request being worked on is the daemon
//!   full: the newcomer is answered `busy` at once, in its mode, and
//!   closed. At most [`Limits::max_busy_answers`] such answers are under
//!   way; beyond that a connection is closed at once, which its client
//!   notices as quickly.
//! - Waiting for a request is bounded per request ([`Limits::io_timeout`],
//!   which also bounds sending an answer) and per connection
//!   ([`Limits::max_idle`], all its waits together), so a client asking
//!   every few seconds cannot hold a slot for ever either. An idle
//!   connection that was served before is closed without an answer (an
//!   unasked answer could be taken for the reply to the client's next
//!   request); one that never sent a complete request gets `bad_request`.
//! - A `login_wait` long-poll gives its serving slot back and waits in one
//!   of [`Limits::max_long_polls`] slots of its own; when those are taken
//!   it is answered at once (the login's outcome, or `login_pending`: ask
//!   again), so any number of login waits leaves the token path alone.
//! - Connections from other users are dropped before they take anything.
//!   The warnings about them and about a full daemon are rate-limited
//!   ([`Limits::warn_burst`], then one summary per [`Limits::warn_period`])
//!   so that a flood cannot rotate the log away.

mod slots;
mod warnings;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::traits::tokio::Listener as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout, timeout_at};
use wrs_proto::{ErrorKind, ErrorResponse, Request, RequestEnvelope, Response, WireError};

use crate::connection::Connection;
use crate::handler::{Handler, version_mismatch};
use slots::{Admission, Slot, Slots};
use warnings::Warnings;

/// Bounds that keep one client from starving the others. The one place
/// these numbers live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once: waiting for a request or working on
    /// one. Long-polls do not count.
    pub max_connections: usize,
    /// `login_wait` requests that may block at once, besides
    /// `max_connections`; more are answered without waiting.
    pub max_long_polls: usize,
    /// `busy` answers under way at once when the daemon is full; beyond
    /// that a new connection is closed without one.
    pub max_busy_answers: usize,
    /// Time allowed to receive one complete request (including the wait
    /// for its first byte) and to send one answer.
    pub io_timeout: Duration,
    /// Time a connection may spend waiting for requests over its whole
    /// life, all waits added up.
    pub max_idle: Duration,
    /// A connection that has sent nothing yet keeps its slot at least this
    /// long when a newer one needs it.
    pub evict_silent_after: Duration,
    /// Time in-flight connections get to finish at shutdown.
    pub drain_timeout: Duration,
    /// Warnings of one kind (refused peer, full daemon) written in full
    /// before they are summarised.
    pub warn_burst: u32,
    /// How often the warnings not written in full are summarised.
    pub warn_period: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // A user's busiest moment is a parallel build or a CI fan-out
            // asking for tokens at once; a few dozen requests in flight
            // covers it, and a slot costs one task, one descriptor and at
            // most one 64 KiB message.
            max_connections: 64,
            // The daemon runs one login per profile at a time, and a login
            // has one waiting client: 8 leaves room for several profiles and
            // a retry from another terminal. Waits beyond it are answered at
            // once and the client asks again, so nothing breaks.
            max_long_polls: 8,
            // A `busy` answer costs one read and one write; 16 covers a
            // burst of clients arriving at a full daemon without letting a
            // flood of silent connections pile up tasks.
            max_busy_answers: 16,
            // A client sends its request right after connecting and reads
            // its answer at once; 5 s forgives a loaded machine.
            io_timeout: Duration::from_secs(5),
            // Enough to reuse one connection for a burst of requests; a
            // client asking every 4 s (within `io_timeout` each time) used
            // to keep its slot for ever, now it is closed after 15 s of
            // waiting in all and simply connects again.
            max_idle: Duration::from_secs(15),
            // Far longer than a client takes between connect and send,
            // even on a loaded machine, so a burst of fresh connections
            // does not push out members that are about to speak; short
            // enough that leaked idle connections give way within a second.
            evict_silent_after: Duration::from_secs(1),
            drain_timeout: Duration::from_secs(2),
            // The first few show who and when; the count shows how many.
            warn_burst: 5,
            warn_period: Duration::from_secs(60),
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
    let slots = Slots::new(
        limits.max_connections,
        limits.max_long_polls,
        limits.evict_silent_after,
    );
    let busy_answers = Arc::new(Semaphore::new(limits.max_busy_answers));
    let mut warnings = Warnings::new(limits.warn_burst, limits.warn_period);
    // Sender kept alive until the drain is over: a dropped sender would read
    // as "shut down" to every connection.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        let summary_due = warnings.next_due();
        let stream = tokio::select! {
            () = &mut shutdown => break,
            () = sleep_until(summary_due) => {
                warnings.write_due(std::time::Instant::now());
                continue;
            }
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
        // Before anything is spent on it: another user's connection takes
        // no slot and pushes out nobody.
        if let Err(refused) = crate::trust::check_peer(&stream) {
            warnings.peer_refused(&refused, std::time::Instant::now());
            continue;
        }
        match slots.admit(Instant::now()) {
            Admission::Admitted(slot) => {
                let handler = Arc::clone(&handler);
                let stop = stop_rx.clone();
                tasks.spawn(serve_connection(stream, slot, handler, limits, stop));
            }
            Admission::Full { working } => {
                warnings.daemon_full(working, std::time::Instant::now());
                match Arc::clone(&busy_answers).try_acquire_owned() {
                    Ok(permit) => {
                        tasks.spawn(answer_busy(stream, working, limits, permit));
                    }
                    // Closing at once still beats the backlog: the client
                    // sees the end of the stream now, not in 30 s.
                    Err(_) => tracing::debug!("full, and every busy answer is under way; closing"),
                }
            }
        }
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

/// Sleeps until `at`; never resolves for `None`.
async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

fn log_task_end(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!("a connection task panicked (a bug): {e}");
    }
}

/// What waiting for a connection's next request came to.
enum Next {
    /// A request, a clean end of stream, or a wire error.
    Read(Result<Option<RequestEnvelope>, WireError>),
    /// No byte of a request came before the deadline.
    Silent,
    /// A request started but did not complete before the deadline.
    Stalled,
}

/// Waits for the next request until `deadline`.
async fn next_request(conn: &mut Connection<Stream>, deadline: Instant) -> Next {
    match timeout_at(deadline, conn.wait_for_data()).await {
        Err(_elapsed) => return Next::Silent,
        Ok(Ok(false)) => return Next::Read(Ok(None)),
        Ok(Err(e)) => return Next::Read(Err(e)),
        Ok(Ok(true)) => {}
    }
    match timeout_at(deadline, conn.read_request()).await {
        Err(_elapsed) => Next::Stalled,
        Ok(read) => Next::Read(read),
    }
}

/// Serves requests on one connection until clean end of stream, an error,
/// a timeout, the loss of its slot to a newer connection, or shutdown
/// (checked between requests).
async fn serve_connection(
    stream: Stream,
    slot: Slot,
    handler: Arc<Handler>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn = Connection::new(stream);
    let mut idle_left = limits.max_idle;
    let mut served = false;
    loop {
        let waiting_since = Instant::now();
        let allowed = limits.io_timeout.min(idle_left);
        let next = tokio::select! {
            next = next_request(&mut conn, waiting_since + allowed) => next,
            () = slot.evicted() => {
                tracing::debug!("closing a waiting connection: a newer one needs its slot");
                return;
            }
            _ = stop.wait_for(|stopping| *stopping) => return,
        };
        idle_left = idle_left.saturating_sub(waiting_since.elapsed());
        let envelope = match next {
            Next::Read(Ok(Some(envelope))) => envelope,
            Next::Read(Ok(None)) => return,
            Next::Silent if served => {
                tracing::debug!("closing an idle connection after {allowed:?} of silence");
                return;
            }
            Next::Silent | Next::Stalled => {
                tracing::debug!("client too slow; closing its connection");
                let err = ErrorResponse::new(
                    ErrorKind::BadRequest,
                    format!("no complete request within {} ms", allowed.as_millis()),
                );
                answer_and_close(&mut conn, err, limits).await;
                return;
            }
            Next::Read(Err(WireError::VersionMismatch { peer })) => {
                tracing::info!(
                    peer_version = peer,
                    "client speaks another protocol version"
                );
                answer_and_close(&mut conn, version_mismatch(peer), limits).await;
                return;
            }
            Next::Read(Err(WireError::Io(e))) => {
                tracing::debug!("connection error: {e}");
                return;
            }
            // The peer is gone; there is nobody to answer.
            Next::Read(Err(WireError::Truncated)) => return,
            Next::Read(Err(e)) => {
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
        if !slot.start_request() {
            // The request came in just as its slot went to a newer
            // connection: serving it anyway would overrun the limit.
            let err = ErrorResponse::new(
                ErrorKind::DaemonBusy,
                "the daemon is busy: this connection's slot went to another client",
            )
            .with_hint("connect again and repeat the request");
            answer_and_close(&mut conn, err, limits).await;
            return;
        }
        let request = long_poll_or_not(envelope.request, &slot);
        tracing::debug!(?request, "request");
        let response = handler.handle(request).await;
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
        served = true;
        if idle_left.is_zero() || !slot.await_next(Instant::now()) {
            tracing::debug!("closing a connection after its answer: no room to keep it open");
            return;
        }
    }
}

/// A `login_wait` that would block takes a long-poll slot, which gives its
/// serving slot back; without one free it is asked not to block, so it
/// answers at once with the login's outcome or `login_pending`.
fn long_poll_or_not(request: Request, slot: &Slot) -> Request {
    match request {
        Request::LoginWait {
            login_id,
            timeout_secs,
        } if timeout_secs > 0 && !slot.start_long_poll() => {
            tracing::debug!("every long-poll slot is taken; answering this login wait at once");
            Request::LoginWait {
                login_id,
                timeout_secs: 0,
            }
        }
        other => other,
    }
}

/// Answers a connection that found every slot working: `busy`, in the
/// client's mode, then close. `_permit` counts it among the busy answers.
async fn answer_busy(
    stream: Stream,
    working: usize,
    limits: Limits,
    _permit: OwnedSemaphorePermit,
) {
    let mut conn = Connection::new(stream);
    // The client sends its request right after connecting: read it, so the
    // answer goes out in its mode (JSON or binary) and the client is not
    // still writing when we close.
    let _ = timeout(limits.io_timeout, conn.read_request()).await;
    let err = ErrorResponse::new(
        ErrorKind::DaemonBusy,
        format!(
            "the daemon is busy: {working} connections are being answered, the most it serves at once"
        ),
    )
    .with_hint("try again in a moment; if this keeps happening, a program of yours keeps that many requests open");
    answer_and_close(&mut conn, err, limits).await;
}

/// Best effort: the stream may already be unusable.
async fn answer_and_close(conn: &mut Connection<Stream>, error: ErrorResponse, limits: Limits) {
    let _ = timeout(
        limits.io_timeout,
        conn.write_response(&Response::Error(error)),
    )
    .await;
}
