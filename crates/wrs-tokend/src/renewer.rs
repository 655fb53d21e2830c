//! Scheduled renewal: when each profile's next refresh happens, and the
//! per-profile loop that makes it happen.
//!
//! After every fetch, and after a login:
//!
//! - success → renew at 75–80 % of the token's lifetime (jittered, counted
//!   from when its request was sent), earlier if the profile's `min_ttl`
//!   needs it;
//! - transient failure (network, 5xx, `temporarily_unavailable`) → retry
//!   after a bounded exponential backoff with jitter (1 s, 2 s, 4 s, … up to
//!   5 min), never sooner than the server's `Retry-After`; a cached token
//!   that is still valid keeps being served meanwhile;
//! - anything else (login required, configuration, store) → no renewal
//!   until something changes (a login, a logout, a reload).
//!
//! One renewer task per session runs while a renewal is planned: a loop over
//! `select!(sleep_until(deadline), plan changed, shutdown)`, after
//! mini-redis' `db.rs`. Deadlines are wall-clock instants slept through the
//! [`crate::clock::Clock`], so an overdue renewal fires right after a resume.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::unix_secs;
use crate::session::{FetchOutcome, Session, SessionInner, Shared, start_fetch, wait_outcome};

/// When to renew and how to back off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenewalPolicy {
    /// Renewal happens at a random point in this range of the lifetime.
    pub renew_fraction: (f64, f64),
    /// The first retry delay after a transient failure; it doubles.
    pub backoff_base: Duration,
    /// The longest retry delay.
    pub backoff_cap: Duration,
    /// No renewal is planned sooner than this after the last fetch, so a
    /// server issuing very short tokens cannot make us spin.
    pub min_interval: Duration,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        RenewalPolicy {
            renew_fraction: (0.75, 0.80),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(300),
            min_interval: Duration::from_millis(250),
        }
    }
}

impl RenewalPolicy {
    /// When a token issued (requested) at `issued_at` and expiring at
    /// `expires_at` is renewed, for a profile wanting `min_ttl` left.
    pub fn next_renewal(
        &self,
        issued_at: SystemTime,
        expires_at: SystemTime,
        min_ttl: Duration,
    ) -> SystemTime {
        let lifetime = expires_at.duration_since(issued_at).unwrap_or_default();
        let (low, high) = self.renew_fraction;
        let fraction = if high > low {
            rand::random_range(low..high)
        } else {
            low
        };
        let mut due = issued_at + lifetime.mul_f64(fraction.clamp(0.0, 1.0));
        // Keep `min_ttl` servable from the cache, when the lifetime allows.
        if let Some(latest) = expires_at.checked_sub(min_ttl)
            && latest < due
            && latest > issued_at
        {
            due = latest;
        }
        due.max(issued_at + self.min_interval)
    }

    /// The wait before retry number `failures` (1 = the first retry).
    pub fn backoff(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        let full = self
            .backoff_base
            .saturating_mul(1u32 << exponent)
            .min(self.backoff_cap);
        // Jitter within the upper fifth: clients that failed together do
        // not come back together, and the backoff still grows.
        let jittered = full.mul_f64(rand::random_range(0.8..=1.0));
        let floor = retry_after
            .unwrap_or_default()
            .min(self.backoff_cap.max(full));
        jittered.max(floor).max(self.min_interval)
    }
}

/// Plans the next renewal after a fetch's `outcome` (or a login's token)
/// and wakes or starts the renewer; the caller holds the session lock.
pub(crate) fn after_fetch(
    shared: &Arc<Shared>,
    session: &Arc<Session>,
    inner: &mut SessionInner,
    started: SystemTime,
    min_ttl: Duration,
    outcome: &FetchOutcome,
) {
    let policy = &shared.policy;
    let name = &session.name;
    inner.next_refresh_at = match outcome {
        Ok(token) => {
            inner.failures = 0;
            let due = policy.next_renewal(started, token.expires_at, min_ttl);
            tracing::debug!(profile = %name, at = unix_secs(due), "renewal planned");
            Some(due)
        }
        Err(e) if e.is_transient() => {
            inner.failures = inner.failures.saturating_add(1);
            let wait = policy.backoff(inner.failures, e.retry_after());
            tracing::info!(
                profile = %name,
                attempt = inner.failures,
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "renewal failed, backing off: {e}"
            );
            Some(shared.clock.now() + wait)
        }
        Err(e) => {
            inner.failures = 0;
            match e {
                crate::source::SourceError::LoginRequired { .. } => {
                    tracing::info!(profile = %name, "login required; renewal stopped");
                }
                _ => tracing::info!(profile = %name, "renewal stopped: {e}"),
            }
            None
        }
    };
    if inner.next_refresh_at.is_some() && !inner.renewer_running && !inner.closed {
        inner.renewer_running = true;
        tokio::spawn(run(Arc::clone(shared), Arc::clone(session)));
    }
    session.changed.notify_one();
}

/// The renewer of one session: sleeps until the planned renewal, fetches
/// (or joins a fetch already running), and ends when nothing is planned.
async fn run(shared: Arc<Shared>, session: Arc<Session>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let deadline = {
            let mut inner = session.lock();
            match inner.next_refresh_at {
                Some(deadline) if !inner.closed && !*shutdown.borrow() => deadline,
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
        let rx = {
            let mut inner = session.lock();
            if inner.next_refresh_at != Some(deadline) || shared.clock.now() < deadline {
                continue;
            }
            // Consumed: the fetch's outcome plans the next one.
            inner.next_refresh_at = None;
            match &inner.inflight {
                Some(rx) => rx.clone(),
                None => {
                    tracing::debug!(profile = %session.name, "scheduled renewal");
                    start_fetch(&shared, &session, &mut inner)
                }
            }
        };
        let _ = wait_outcome(rx).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_falls_at_75_to_80_percent_of_the_lifetime() {
        let policy = RenewalPolicy::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for _ in 0..100 {
            let due = policy.next_renewal(t0, t0 + Duration::from_secs(100), Duration::ZERO);
            let after = due.duration_since(t0).unwrap();
            assert!(
                after >= Duration::from_secs(75) && after <= Duration::from_secs(80),
                "{after:?}"
            );
        }
    }

    #[test]
    fn renewal_leaves_the_profile_min_ttl_when_the_lifetime_allows() {
        let policy = RenewalPolicy::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let due = policy.next_renewal(t0, t0 + Duration::from_secs(100), Duration::from_secs(60));
        assert_eq!(due, t0 + Duration::from_secs(40));
        // A min_ttl longer than the lifetime cannot be met: plan as usual.
        let due = policy.next_renewal(t0, t0 + Duration::from_secs(10), Duration::from_secs(60));
        assert!(due >= t0 + Duration::from_millis(7500), "{due:?}");
        // Tiny lifetimes do not make the renewer spin.
        let due = policy.next_renewal(t0, t0, Duration::ZERO);
        assert_eq!(due, t0 + policy.min_interval);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() {
        let policy = RenewalPolicy::default();
        let within = |d: Duration, full: u64| {
            d <= Duration::from_secs(full) && d >= Duration::from_secs(full).mul_f64(0.8)
        };
        assert!(within(policy.backoff(1, None), 1));
        assert!(within(policy.backoff(2, None), 2));
        assert!(within(policy.backoff(3, None), 4));
        assert!(within(policy.backoff(30, None), 300));
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        // An absurd Retry-After is bounded by the cap.
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(86_400))),
            Duration::from_secs(300)
        );
    }
}
