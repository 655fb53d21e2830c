//! Where the daemon gets the time from, and how it sleeps until a moment.
//!
//! Token expiry must keep counting while the laptop sleeps, so the clock is
//! the wall clock ([`SystemTime`]), never [`std::time::Instant`] (which stops
//! during suspend on Linux). Sleeping is behind the same trait for the same
//! reason: a renewal due at 10:00 must fire right after a resume at 10:30,
//! not 30 minutes later. The clock is a trait so session tests can move
//! time by hand instead of sleeping, with
//! [`FakeClock`](crate::testing::FakeClock) from the test aids.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::future::BoxFuture;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// Resolves at or after the wall-clock instant `deadline`, counting
    /// through suspend. It may also resolve early (the clock was set):
    /// callers compare [`Clock::now`] with their deadline and sleep again.
    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture<'static, ()>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture<'static, ()> {
        Box::pin(realtime::sleep_until(deadline))
    }
}

/// The longest a portable sleep lasts before it looks at the wall clock
/// again: the bound on how late an overdue renewal fires after a resume
/// where no wall-clock timer exists.
pub const PORTABLE_RECHECK: Duration = Duration::from_secs(60);

/// Sleeps on tokio's (monotonic) timer in steps of at most
/// [`PORTABLE_RECHECK`], re-reading the wall clock after each.
pub async fn portable_sleep_until(deadline: SystemTime) {
    loop {
        let left = match deadline.duration_since(SystemTime::now()) {
            Ok(left) if !left.is_zero() => left,
            _ => return,
        };
        tokio::time::sleep(left.min(PORTABLE_RECHECK)).await;
    }
}

#[cfg(target_os = "linux")]
mod realtime {
    //! A `timerfd` on CLOCK_REALTIME with an absolute deadline: the kernel
    //! fires it as soon as the wall clock passes the deadline, including
    //! right after a resume, with no periodic wake-ups in between.

    use std::io;
    use std::time::{SystemTime, UNIX_EPOCH};

    use rustix::io::Errno;
    use rustix::time::{
        Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
        timerfd_settime,
    };
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    pub(super) async fn sleep_until(deadline: SystemTime) {
        if let Err(e) = timerfd_sleep(deadline).await {
            tracing::debug!("timerfd unavailable ({e}); sleeping in steps");
            super::portable_sleep_until(deadline).await;
        }
    }

    async fn timerfd_sleep(deadline: SystemTime) -> io::Result<()> {
        let Ok(since_epoch) = deadline.duration_since(UNIX_EPOCH) else {
            return Ok(());
        };
        if deadline <= SystemTime::now() {
            return Ok(());
        }
        let fd = timerfd_create(
            TimerfdClockId::Realtime,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        let value = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
                // A zero value would disarm the timer; the deadline is in
                // the future, so at least one of the fields is non-zero.
                tv_nsec: i64::from(since_epoch.subsec_nanos()),
            },
        };
        // CANCEL_ON_SET: a clock change (NTP step, manual set) wakes us so
        // the caller re-reads the clock rather than trusting a stale plan.
        timerfd_settime(
            &fd,
            TimerfdTimerFlags::ABSTIME | TimerfdTimerFlags::CANCEL_ON_SET,
            &value,
        )?;
        // Tokio deprecated its safe constructors because an arbitrary `T`
        // may close the fd while registered; an `OwnedFd` moved in here is
        // owned by the `AsyncFd` until it is deregistered and dropped, so
        // the hole does not apply, and the workspace forbids `unsafe`.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(fd, Interest::READABLE)?;
        loop {
            let mut guard = fd.readable().await?;
            let mut expirations = [0u8; 8];
            match rustix::io::read(guard.get_inner(), &mut expirations) {
                Ok(_) | Err(Errno::CANCELED) => return Ok(()),
                Err(Errno::AGAIN) => guard.clear_ready(),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod realtime {
    //! No absolute wall-clock timer wired up here: sleep in capped steps.
    use std::time::SystemTime;

    pub(super) async fn sleep_until(deadline: SystemTime) {
        super::portable_sleep_until(deadline).await;
    }
}

/// Seconds since the Unix epoch, as the wire carries them (0 for times
/// before 1970, which a sane clock never gives).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn system_sleep_until_reaches_a_wall_clock_deadline() {
        let deadline = SystemTime::now() + Duration::from_millis(50);
        tokio::time::timeout(Duration::from_secs(2), SystemClock.sleep_until(deadline))
            .await
            .unwrap();
        assert!(SystemTime::now() >= deadline);
        // A deadline in the past resolves at once.
        tokio::time::timeout(
            Duration::from_millis(100),
            SystemClock.sleep_until(UNIX_EPOCH),
        )
        .await
        .unwrap();
    }
}
