//! The mock's clock: wall time plus an offset tests can advance.
//!
//! Every expiry in the mock (tokens, codes, device codes, grace periods) is
//! measured on this clock, so a test jumps an hour ahead in a microsecond
//! with [`crate::MockServer::advance_clock`] instead of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the Unix epoch, shifted by an offset.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_ms: AtomicU64,
}

impl Clock {
    /// Milliseconds since the epoch, as the mock sees them.
    pub(crate) fn now_ms(&self) -> u64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        wall.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Seconds since the epoch, as the mock sees them.
    pub(crate) fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// How far the clock has been moved forward in total.
    pub(crate) fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
