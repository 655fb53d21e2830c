//! Waiting for another process's change of state (a socket appearing or
//! going away, a file written, a counter moving), by polling. Not for
//! timing assertions: a test that needs time to pass uses a fake clock.

use std::time::{Duration, Instant};

/// Waits until `cond` holds, polling every 10 ms, for at most `limit`;
/// whether it held. Blocks the thread: not for use inside an async runtime.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}
