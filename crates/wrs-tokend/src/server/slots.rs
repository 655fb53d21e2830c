//! Who holds a connection slot, and who gives it up when the daemon is full.
//!
//! An admitted connection is in one of three states:
//!
//! - waiting for its next request (a fresh connection waits for its
//!   first): the daemon does no work for it, so closing it loses nothing
//!   but a socket its client can open again;
//! - working: a request was read and is being handled or answered;
//! - long-polling: a `login_wait` that blocks until a login finishes.
//!
//! Waiting and working connections share the serving slots; long-polls
//! have slots of their own, so no number of login waits takes a slot a
//! token request needs. When every serving slot is taken, a newcomer takes
//! the slot of a waiting connection: an idle keep-alive connection (one
//! that was served before) first, then one that has been silent since it
//! connected for longer than the grace period; the longest waiting goes
//! first. Only when every slot is working is the daemon full.
//!
//! The state lives in one mutex-guarded table, not in semaphores, because
//! giving a slot to a newcomer and marking its old holder for closing must
//! happen as one step: the newcomer is served at once instead of waiting
//! for the old holder's task to notice and exit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The slot table of one server.
#[derive(Debug)]
pub(crate) struct Slots {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    max_serving: usize,
    max_long_polls: usize,
    /// A connection that has sent nothing yet may lose its slot only after
    /// waiting this long: a client sends its request right after connecting,
    /// so a younger one is most likely about to.
    evict_silent_after: Duration,
    next_id: u64,
    entries: HashMap<u64, Entry>,
    /// Entries waiting or working.
    serving: usize,
    /// Entries long-polling.
    long_polls: usize,
}

#[derive(Debug)]
struct Entry {
    state: State,
    /// Whether the connection has had a request answered: a waiting
    /// connection that was served is an idle keep-alive connection.
    served: bool,
    evict: Arc<Notify>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting { since: Instant },
    Working,
    LongPoll,
}

/// The outcome of [`Slots::admit`].
#[derive(Debug)]
pub(crate) enum Admission {
    /// The connection holds a serving slot, waiting for its first request.
    Admitted(Slot),
    /// Every serving slot holds a request being worked on.
    Full {
        /// How many connections are working.
        working: usize,
    },
}

impl Slots {
    /// A table with `max_serving` serving slots (at least one) and
    /// `max_long_polls` long-poll slots.
    pub(crate) fn new(
        max_serving: usize,
        max_long_polls: usize,
        evict_silent_after: Duration,
    ) -> Arc<Slots> {
        Arc::new(Slots {
            inner: Mutex::new(Inner {
                max_serving: max_serving.max(1),
                max_long_polls,
                evict_silent_after,
                next_id: 0,
                entries: HashMap::new(),
                serving: 0,
                long_polls: 0,
            }),
        })
    }

    /// A serving slot for a new connection: a free one, or one taken from
    /// a waiting connection (which is told through [`Slot::evicted`]).
    pub(crate) fn admit(self: &Arc<Self>, now: Instant) -> Admission {
        let mut inner = self.lock();
        if inner.serving >= inner.max_serving {
            let Some(victim) = inner.victim(now) else {
                return Admission::Full {
                    working: inner.serving,
                };
            };
            if let Some(entry) = inner.entries.remove(&victim) {
                inner.serving -= 1;
                entry.evict.notify_one();
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let evict = Arc::new(Notify::new());
        inner.entries.insert(
            id,
            Entry {
                state: State::Waiting { since: now },
                served: false,
                evict: Arc::clone(&evict),
            },
        );
        inner.serving += 1;
        Admission::Admitted(Slot {
            id,
            slots: Arc::clone(self),
            evict,
        })
    }

    /// How many connections hold a serving slot and a long-poll slot.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.serving, inner.long_polls)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The table stays consistent across a panic (every update is a
        // few plain assignments), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// The waiting connection to close for a newcomer, if any may be.
    fn victim(&self, now: Instant) -> Option<u64> {
        self.entries
            .iter()
            .filter_map(|(&id, entry)| match entry.state {
                State::Waiting { since }
                    if entry.served
                        || now.saturating_duration_since(since) >= self.evict_silent_after =>
                {
                    // Keep-alive connections first (`!served` is false),
                    // then the longest waiting.
                    Some(((!entry.served, since, id), id))
                }
                _ => None,
            })
            .min_by_key(|(key, _)| *key)
            .map(|(_, id)| id)
    }
}

/// One connection's hold on the table; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    slots: Arc<Slots>,
    evict: Arc<Notify>,
}

impl Slot {
    /// Resolves once the slot went to another connection while this one
    /// was waiting. Cancel-safe: an eviction that happens while nobody
    /// awaits this is kept for the next call.
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// A complete request arrived: the connection is working and its slot
    /// can no longer be taken. `false` when it was taken already (the
    /// connection must not be served: its slot is someone else's now).
    pub(crate) fn start_request(&self) -> bool {
        let mut inner = self.slots.lock();
        match inner.entries.get_mut(&self.id) {
            Some(entry) => {
                entry.state = State::Working;
                entry.served = true;
                true
            }
            None => false,
        }
    }

    /// Moves a working connection to a long-poll slot, giving its serving
    /// slot back. `false` (and no change) when every long-poll slot is
    /// taken.
    pub(crate) fn start_long_poll(&self) -> bool {
        let mut inner = self.slots.lock();
        if inner.long_polls >= inner.max_long_polls {
            return false;
        }
        let Some(entry) = inner.entries.get_mut(&self.id) else {
            return false;
        };
        if entry.state != State::Working {
            return false;
        }
        entry.state = State::LongPoll;
        inner.serving -= 1;
        inner.long_polls += 1;
        true
    }

    /// The answer is out: the connection waits for its next request. After
    /// a long-poll this needs a free serving slot (it does not take one
    /// from others); `false` when there is none and the connection should
    /// close.
    pub(crate) fn await_next(&self, now: Instant) -> bool {
        let mut inner = self.slots.lock();
        let Inner {
            entries,
            serving,
            long_polls,
            max_serving,
            ..
        } = &mut *inner;
        let Some(entry) = entries.get_mut(&self.id) else {
            return false;
        };
        match entry.state {
            State::Working | State::Waiting { .. } => {}
            State::LongPoll if *serving < *max_serving => {
                *long_polls -= 1;
                *serving += 1;
            }
            State::LongPoll => return false,
        }
        entry.state = State::Waiting { since: now };
        true
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.slots.lock();
        // Absent when the slot was taken: its count went to the newcomer.
        if let Some(entry) = inner.entries.remove(&self.id) {
            match entry.state {
                State::LongPoll => inner.long_polls -= 1,
                State::Waiting { .. } | State::Working => inner.serving -= 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;

    use super::*;

    const GRACE: Duration = Duration::from_secs(1);

    fn admitted(admission: Admission) -> Slot {
        match admission {
            Admission::Admitted(slot) => slot,
            Admission::Full { working } => panic!("full ({working} working)"),
        }
    }

    /// Whether `slot` was told it lost its slot, without waiting.
    fn was_evicted(slot: &Slot) -> bool {
        let evicted = std::pin::pin!(slot.evicted());
        let waker = std::task::Waker::noop();
        evicted
            .poll(&mut std::task::Context::from_waker(waker))
            .is_ready()
    }

    #[test]
    fn an_idle_keep_alive_connection_goes_before_a_silent_fresh_one() {
        let slots = Slots::new(2, 1, GRACE);
        let t0 = Instant::now();
        let keep_alive = admitted(slots.admit(t0));
        let fresh = admitted(slots.admit(t0));
        assert!(keep_alive.start_request());
        assert!(keep_alive.await_next(t0 + GRACE));

        // Both are waiting and the fresh one has waited longer, but the
        // keep-alive one was served already: it goes first.
        let newcomer = admitted(slots.admit(t0 + 2 * GRACE));
        assert!(was_evicted(&keep_alive));
        assert!(!keep_alive.start_request(), "its slot is the newcomer's");
        assert!(!was_evicted(&fresh));
        assert_eq!(slots.counts(), (2, 0));
        drop(keep_alive);
        assert_eq!(slots.counts(), (2, 0), "an evicted slot is not freed twice");

        // Next the longest-waiting silent one.
        let _third = admitted(slots.admit(t0 + 3 * GRACE));
        assert!(was_evicted(&fresh));
        assert!(!was_evicted(&newcomer));
    }

    #[test]
    fn a_connection_silent_for_less_than_the_grace_keeps_its_slot() {
        let slots = Slots::new(1, 1, GRACE);
        let t0 = Instant::now();
        let fresh = admitted(slots.admit(t0));
        assert!(matches!(
            slots.admit(t0 + GRACE / 2),
            Admission::Full { working: 1 }
        ));
        assert!(!was_evicted(&fresh));
        let _later = admitted(slots.admit(t0 + GRACE));
        assert!(was_evicted(&fresh));
    }

    #[test]
    fn working_connections_are_never_evicted_and_make_the_table_full() {
        let slots = Slots::new(2, 1, GRACE);
        let t0 = Instant::now();
        let a = admitted(slots.admit(t0));
        let b = admitted(slots.admit(t0));
        assert!(a.start_request() && b.start_request());
        let late = t0 + 100 * GRACE;
        assert!(matches!(slots.admit(late), Admission::Full { working: 2 }));
        assert!(!was_evicted(&a) && !was_evicted(&b));
        // A finished request frees the slot for the next newcomer.
        drop(a);
        let _c = admitted(slots.admit(late));
        assert_eq!(slots.counts(), (2, 0));
    }

    #[test]
    fn a_long_poll_gives_its_serving_slot_back_within_its_own_limit() {
        let slots = Slots::new(1, 1, GRACE);
        let t0 = Instant::now();
        let poller = admitted(slots.admit(t0));
        assert!(poller.start_request());
        assert!(poller.start_long_poll());
        assert_eq!(slots.counts(), (0, 1));

        // The serving slot is free for a token request meanwhile.
        let other = admitted(slots.admit(t0));
        assert!(other.start_request());
        // A second long-poll finds its pool full and stays where it is.
        assert!(!other.start_long_poll());
        assert_eq!(slots.counts(), (1, 1));

        // Back from the poll with no serving slot free: it closes instead
        // of pushing someone out.
        assert!(!poller.await_next(t0));
        drop(poller);
        assert_eq!(slots.counts(), (1, 0));

        // With a free slot it stays open.
        drop(other);
        let poller = admitted(slots.admit(t0));
        assert!(poller.start_request() && poller.start_long_poll());
        assert!(poller.await_next(t0));
        assert_eq!(slots.counts(), (1, 0));
    }

    #[test]
    fn no_long_poll_slots_means_no_long_polls() {
        let slots = Slots::new(1, 0, GRACE);
        let slot = admitted(slots.admit(Instant::now()));
        assert!(slot.start_request());
        assert!(!slot.start_long_poll());
    }
}
