//! The renewer: one task per session that makes the planned fetch happen.
//!
//! The plan itself is made by the session after every fetch and login
//! ([`super::SessionInner::plan_after`]); the renewer sleeps until it is
//! due, in a loop over `select!(sleep_until(deadline), plan changed,
//! shutdown)` after mini-redis' `db.rs`, and then:
//!
//! - a renewal fetches when the token was used (answered a request from
//!   the cache) and the profile is still in use (a token request within
//!   `keep_warm` before the deadline); a retry needs only the latter;
//!   otherwise the session goes idle, keeping only its keepalive;
//! - a keepalive fetches whatever the use, so a grant with an idle timeout
//!   at the server survives a quiet week;
//! - nothing starts before a failure's backoff ends.
//!
//! The task ends when nothing is planned. Deadlines are wall-clock instants
//! slept through the [`crate::clock::Clock`], so an overdue renewal of a
//! profile in use fires right after a resume.

use std::sync::Arc;

use wrs_proto::PlannedFetch;

use super::{Plan, Session, SessionInner, Shared, profile_info, start_fetch, wait_outcome};

/// Starts the session's renewer when a plan exists and none runs, and wakes
/// it to re-read the plan; the caller holds the session lock.
pub(super) fn ensure_running(
    shared: &Arc<Shared>,
    session: &Arc<Session>,
    inner: &mut SessionInner,
) {
    if inner.plan.is_some() && !inner.renewer_running && !inner.closed {
        inner.renewer_running = true;
        tokio::spawn(run(Arc::clone(shared), Arc::clone(session)));
    }
    session.changed.notify_one();
}

/// The renewer of one session.
async fn run(shared: Arc<Shared>, session: Arc<Session>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let deadline = {
            let mut inner = session.lock();
            match inner.plan {
                Some(plan) if !inner.closed && !*shutdown.borrow() => plan.at,
                _ => {
                    inner.renewer_running = false;
                    return;
                }
            }
        };
        tokio::select! {
            () = shared.clock.sleep_until(deadline) => {}
            () = session.changed.notified() => continue,
            _ = shutdown.wait_for(|stop| *stop) => {
                session.lock().renewer_running = false;
                return;
            }
        }
        let Some(info) = profile_info(&shared, &session.name) else {
            // The profile is gone; `remove` closes the session.
            continue;
        };
        let rx = {
            let mut inner = session.lock();
            let now = shared.clock.now();
            let Some(plan) = inner.plan else { continue };
            if plan.at != deadline || now < deadline {
                continue;
            }
            if let Some(retry_at) = inner.retry_at.filter(|at| *at > now) {
                // A caller's fetch failed meanwhile: its backoff binds us.
                inner.plan = Some(Plan {
                    at: retry_at,
                    ..plan
                });
                continue;
            }
            let wanted = match plan.kind {
                PlannedFetch::Renewal => inner.worth_renewing(info.keep_warm, deadline),
                PlannedFetch::Retry => inner.in_use_at(info.keep_warm, deadline),
                PlannedFetch::Keepalive => true,
            };
            if !wanted {
                tracing::debug!(profile = %session.name, "not in use: renewal stops");
                inner.plan = inner.idle_plan(&info, now);
                continue;
            }
            // Consumed: the fetch's outcome plans the next one.
            inner.plan = None;
            match &inner.inflight {
                Some(rx) => rx.clone(),
                None => {
                    tracing::debug!(profile = %session.name, kind = ?plan.kind, "scheduled token request");
                    start_fetch(&shared, &session, &mut inner)
                }
            }
        };
        let _ = wait_outcome(rx).await;
    }
}
