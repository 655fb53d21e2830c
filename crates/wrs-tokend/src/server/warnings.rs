//! Warnings the accept loop would write once per connection, rate-limited.
//!
//! A connection from another user is worth a warning (someone else tries
//! to reach this user's tokens), and so is a daemon so full that it answers
//! `busy`. But a process connecting in a loop would write one line per
//! attempt, and the log keeps 1 MiB and two old files: a flood would rotate
//! away everything before it, the first warning included. So each kind of
//! warning is written in full a few times, then summarised with a count
//! once per period while the flood lasts; after a quiet period the next
//! one is written in full again.

use std::time::{Duration, Instant};

use crate::trust::PeerRefused;

/// How often a kind of warning is written: the first `burst` events in
/// full, then one summary per `period`. Pure: time is passed in.
#[derive(Debug)]
pub(crate) struct Limiter {
    burst: u32,
    period: Duration,
    /// The current window, `None` while quiet.
    window: Option<Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    /// Events written in full since the last quiet period.
    written: u32,
    /// Events not written in this window.
    suppressed: u64,
}

/// Events that were not written, reported when their window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    /// How many.
    pub(crate) suppressed: u64,
    /// Over how long.
    pub(crate) over: Duration,
}

impl Limiter {
    /// `burst` events written in full, then one summary per `period`.
    pub(crate) fn new(burst: u32, period: Duration) -> Self {
        Limiter {
            burst,
            period,
            window: None,
        }
    }

    /// An event at `now`: the summary of a window that ended before it (if
    /// any was due and not yet taken), and whether to write this event.
    pub(crate) fn record(&mut self, now: Instant) -> (Option<Summary>, bool) {
        let summary = self.take_summary(now);
        let window = self.window.get_or_insert(Window {
            started: now,
            written: 0,
            suppressed: 0,
        });
        if window.written < self.burst {
            window.written += 1;
            (summary, true)
        } else {
            window.suppressed += 1;
            (summary, false)
        }
    }

    /// When a summary is due: the end of a window in which events were
    /// suppressed.
    pub(crate) fn summary_due(&self) -> Option<Instant> {
        self.window
            .filter(|w| w.suppressed > 0)
            .map(|w| w.started + self.period)
    }

    /// The summary of the current window if it ended by `now`. A window
    /// that ends with events suppressed is followed by another that goes
    /// on summarising; one that ends quiet resets the limiter, so the next
    /// event is written in full.
    pub(crate) fn take_summary(&mut self, now: Instant) -> Option<Summary> {
        let window = self.window.as_mut()?;
        if now.saturating_duration_since(window.started) < self.period {
            return None;
        }
        if window.suppressed == 0 {
            self.window = None;
            return None;
        }
        let summary = Summary {
            suppressed: window.suppressed,
            over: now.saturating_duration_since(window.started),
        };
        window.started = now;
        window.suppressed = 0;
        Some(summary)
    }
}

/// The accept loop's rate-limited warnings.
#[derive(Debug)]
pub(crate) struct Warnings {
    refused: Limiter,
    full: Limiter,
}

impl Warnings {
    /// Each kind: `burst` in full, then one summary per `period`.
    pub(crate) fn new(burst: u32, period: Duration) -> Self {
        Warnings {
            refused: Limiter::new(burst, period),
            full: Limiter::new(burst, period),
        }
    }

    /// A connection from a peer we do not serve was dropped.
    pub(crate) fn peer_refused(&mut self, refused: &PeerRefused, now: Instant) {
        let (summary, write) = self.refused.record(now);
        if let Some(summary) = summary {
            refused_summary(summary);
        }
        if write {
            match refused {
                PeerRefused::OtherUser { uid, pid } => tracing::warn!(
                    peer_uid = ?uid,
                    peer_pid = ?pid,
                    "dropping a connection from another user"
                ),
                PeerRefused::Unidentified(e) => {
                    tracing::warn!("dropping a connection whose peer cannot be identified: {e}");
                }
            }
        }
    }

    /// A connection was answered `busy` (or closed) because every slot was
    /// working.
    pub(crate) fn daemon_full(&mut self, working: usize, now: Instant) {
        let (summary, write) = self.full.record(now);
        if let Some(summary) = summary {
            full_summary(summary);
        }
        if write {
            tracing::warn!(
                "all {working} connection slots are working on requests; answering `busy` to a new connection"
            );
        }
    }

    /// When the next summary is due, if one is.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        match (self.refused.summary_due(), self.full.summary_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Writes the summaries due by `now`.
    pub(crate) fn write_due(&mut self, now: Instant) {
        if let Some(summary) = self.refused.take_summary(now) {
            refused_summary(summary);
        }
        if let Some(summary) = self.full.take_summary(now) {
            full_summary(summary);
        }
    }
}

fn refused_summary(summary: Summary) {
    tracing::warn!(
        "dropped {} more connection(s) from other users or unidentified peers in the last {} s",
        summary.suppressed,
        summary.over.as_secs()
    );
}

fn full_summary(summary: Summary) {
    tracing::warn!(
        "answered `busy` to {} more connection(s) in the last {} s: every slot was working",
        summary.suppressed,
        summary.over.as_secs()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn the_first_few_are_written_then_one_summary_per_period_with_a_count() {
        let mut limiter = Limiter::new(3, MINUTE);
        let t0 = Instant::now();
        let written: Vec<bool> = (0..1000).map(|_| limiter.record(t0).1).collect();
        assert_eq!(written.iter().filter(|w| **w).count(), 3);
        assert!(written[..3].iter().all(|w| *w), "the first ones in full");

        // Nothing is due before the period is over.
        assert_eq!(limiter.summary_due(), Some(secs(t0, 60)));
        assert_eq!(limiter.take_summary(secs(t0, 59)), None);
        assert_eq!(
            limiter.take_summary(secs(t0, 60)),
            Some(Summary {
                suppressed: 997,
                over: MINUTE
            })
        );
        assert_eq!(limiter.take_summary(secs(t0, 61)), None, "taken once");

        // The flood goes on: still no line per event, one summary a minute.
        for i in 0..500 {
            let (summary, write) = limiter.record(secs(t0, 61 + i / 10));
            assert!(!write && summary.is_none());
        }
        assert_eq!(limiter.summary_due(), Some(secs(t0, 120)));
        let (summary, write) = limiter.record(secs(t0, 125));
        assert!(!write, "the flood is not over: no new burst");
        assert_eq!(
            summary,
            Some(Summary {
                suppressed: 500,
                over: Duration::from_secs(65)
            })
        );
    }

    #[test]
    fn after_a_quiet_period_the_next_event_is_written_in_full() {
        let mut limiter = Limiter::new(2, MINUTE);
        let t0 = Instant::now();
        for _ in 0..5 {
            limiter.record(t0);
        }
        assert!(limiter.take_summary(secs(t0, 60)).is_some());
        // A whole minute without events: the summary window ends empty.
        assert_eq!(limiter.summary_due(), None, "nothing to report");
        let (summary, write) = limiter.record(secs(t0, 121));
        assert!(write && summary.is_none());
        assert!(limiter.record(secs(t0, 121)).1);
        assert!(!limiter.record(secs(t0, 121)).1, "a new burst of two");
    }

    #[test]
    fn a_few_events_never_need_a_summary() {
        let mut limiter = Limiter::new(5, MINUTE);
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(limiter.record(secs(t0, i)).1);
        }
        assert_eq!(limiter.summary_due(), None);
        assert_eq!(limiter.take_summary(secs(t0, 600)), None);
        assert!(limiter.record(secs(t0, 601)).1, "quiet since: in full");
    }

    #[test]
    fn a_summary_not_taken_on_time_comes_with_the_next_event() {
        let mut limiter = Limiter::new(1, MINUTE);
        let t0 = Instant::now();
        limiter.record(t0);
        limiter.record(t0);
        let (summary, _) = limiter.record(secs(t0, 300));
        assert_eq!(
            summary,
            Some(Summary {
                suppressed: 1,
                over: Duration::from_secs(300)
            })
        );
    }

    #[test]
    fn the_next_due_summary_is_the_earliest_of_both_kinds() {
        let mut warnings = Warnings::new(1, MINUTE);
        let t0 = Instant::now();
        assert_eq!(warnings.next_due(), None);
        warnings.daemon_full(4, t0);
        warnings.daemon_full(4, t0);
        let refused = PeerRefused::OtherUser {
            uid: Some(1234),
            pid: None,
        };
        warnings.peer_refused(&refused, secs(t0, 10));
        warnings.peer_refused(&refused, secs(t0, 10));
        assert_eq!(warnings.next_due(), Some(secs(t0, 60)));
        warnings.write_due(secs(t0, 60));
        assert_eq!(warnings.next_due(), Some(secs(t0, 70)));
        warnings.write_due(secs(t0, 70));
        assert_eq!(warnings.next_due(), None);
    }
}
