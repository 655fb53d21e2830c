//! A clock that only moves when told to.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::clock::Clock;
use crate::future::BoxFuture;

/// A clock that only moves when told to (a test aid). Sleepers wake when
/// [`FakeClock::advance`] moves the clock past their deadline.
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<watch::Sender<SystemTime>>,
}

impl FakeClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        FakeClock {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    /// Moves the clock forward, waking sleepers whose deadline has come.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }
}

impl Default for FakeClock {
    /// A clock at a fixed, recognisable instant (2026-01-01T00:00:00Z).
    fn default() -> Self {
        FakeClock::new(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture<'static, ()> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            if rx.wait_for(|now| *now >= deadline).await.is_err() {
                // The clock is gone, so time can never reach the deadline.
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fake_sleepers_wake_only_when_the_clock_passes_their_deadline() {
        let clock = FakeClock::default();
        let deadline = clock.now() + Duration::from_secs(10);
        let mut sleep = tokio::spawn(clock.sleep_until(deadline));
        clock.advance(Duration::from_secs(9));
        tokio::task::yield_now().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(20), &mut sleep)
                .await
                .is_err()
        );
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(1), sleep)
            .await
            .unwrap()
            .unwrap();
    }
}
