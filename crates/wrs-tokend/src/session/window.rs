//! Counting events over the last hour in constant space: sixty one-minute
//! buckets, each stamped with its minute so a stale bucket reads as empty.

use std::time::SystemTime;

use crate::clock::unix_secs;

const BUCKETS: usize = 60;

/// Events in the last hour (to the minute).
#[derive(Debug, Clone)]
pub(super) struct HourWindow {
    /// `(minute since the epoch, events in it)`, indexed by minute mod 60.
    buckets: [(u64, u64); BUCKETS],
}

impl Default for HourWindow {
    fn default() -> Self {
        HourWindow {
            buckets: [(0, 0); BUCKETS],
        }
    }
}

impl HourWindow {
    /// Counts one event at `now`.
    pub(super) fn add(&mut self, now: SystemTime) {
        let minute = unix_secs(now) / 60;
        let bucket = &mut self.buckets[bucket_of(minute)];
        if bucket.0 != minute {
            *bucket = (minute, 0);
        }
        bucket.1 = bucket.1.saturating_add(1);
    }

    /// Events in the sixty minutes up to and including `now`'s.
    pub(super) fn count(&self, now: SystemTime) -> u64 {
        let minute = unix_secs(now) / 60;
        self.buckets
            .iter()
            .filter(|(m, _)| *m <= minute && minute - *m < BUCKETS as u64)
            .map(|(_, n)| n)
            .sum()
    }
}

fn bucket_of(minute: u64) -> usize {
    // Below 60, so the cast cannot truncate.
    (minute % BUCKETS as u64) as usize
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn counts_the_last_sixty_minutes_and_forgets_older_ones() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut w = HourWindow::default();
        assert_eq!(w.count(t0), 0);
        for i in 0..120u64 {
            // One event a minute for two hours.
            w.add(t0 + Duration::from_secs(60 * i));
        }
        let end = t0 + Duration::from_secs(60 * 119);
        assert_eq!(w.count(end), 60);
        assert_eq!(w.count(end + Duration::from_secs(30 * 60)), 30);
        assert_eq!(w.count(end + Duration::from_secs(2 * 3600)), 0);
        // Many events in one minute.
        let mut w = HourWindow::default();
        for _ in 0..1000 {
            w.add(t0);
        }
        assert_eq!(w.count(t0 + Duration::from_secs(59)), 1000);
    }
}
