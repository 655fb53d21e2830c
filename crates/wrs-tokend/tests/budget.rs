//! The authorization server's load under faults: four client loops against
//! the real OAuth source and the real mock, with the daemon's clock moved by
//! hand. Whatever the fault, the token endpoint sees the failed renewal and
//! then one attempt per backoff step, never a caller's retry, and the
//! still-valid token is served until its safety margin.
#![allow(clippy::unwrap_used)]

mod mock_env;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mock_env::Env;
use wrs_mock::{Endpoint, Fault, MockConfig};
use wrs_tokend::clock::Clock;

/// The mock's tokens live this long (on the daemon's injected clock).
const LIFETIME: u64 = 100;
/// How far the clock moves per step.
const STEP: Duration = Duration::from_millis(500);

/// What the four clients saw, and when the token endpoint was asked.
struct Run {
    /// Injected-clock seconds after login of each token-endpoint request
    /// after the login, to the step.
    requests: Vec<f64>,
    /// Calls answered with the login's token while it had its margin left.
    served_early: u64,
    /// Calls before the margin that got anything else.
    failed_early: u64,
    /// Calls after the margin answered with an error.
    refused_late: u64,
}

/// Logs in, injects `fault` on the token endpoint for good, then runs four
/// client loops (default and explicit minimums) while the clock moves to
/// `until` seconds after the login.
async fn run_with(fault: Fault, until: u64) -> Run {
    let (env, clock) = Env::public_fake_with(
        MockConfig::default().access_token_lifetime(Duration::from_secs(LIFETIME)),
        "",
    )
    .await;
    let env = Arc::new(env);
    env.browser_login("plm").await;
    let login_token = env.token("plm").await.unwrap().access_token;
    let start = clock.now();
    let base = env.mock.counters().token;
    env.mock.set_fault(Endpoint::Token, fault, None);

    let stop = Arc::new(AtomicBool::new(false));
    // Set while the login's token still has its safety margin (2 s) left.
    let early = Arc::new(AtomicBool::new(true));
    let counts: Arc<[AtomicU64; 3]> = Arc::new(Default::default());
    let clients: Vec<_> = [None, Some(0), Some(60), None]
        .into_iter()
        .map(|ask| {
            let (env, stop, early, counts) =
                (env.clone(), stop.clone(), early.clone(), counts.clone());
            let login_token = login_token.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let was_early = early.load(Ordering::SeqCst);
                    let answer = env.token_asking("plm", ask).await;
                    let i = match (&answer, was_early && early.load(Ordering::SeqCst)) {
                        (Ok(reply), true) if reply.access_token == login_token => 0,
                        (_, true) => 1,
                        (Err(e), false) => {
                            assert!(
                                e.hint.as_deref().is_some_and(|h| h.contains("again in")),
                                "{e:?}"
                            );
                            2
                        }
                        (Ok(_), false) => 3,
                    };
                    if i < 3 {
                        counts[i].fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        })
        .collect();

    let mut requests = Vec::new();
    let mut seen = 0;
    while clock.now() < start + Duration::from_secs(until) {
        clock.advance(STEP);
        let elapsed = clock.now().duration_since(start).unwrap().as_secs_f64();
        if elapsed >= (LIFETIME - 2) as f64 {
            early.store(false, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_millis(8)).await;
        let now_seen = env.mock.counters().token - base;
        for _ in seen..now_seen {
            requests.push(elapsed);
        }
        seen = now_seen;
    }
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    Run {
        requests,
        served_early: counts[0].load(Ordering::SeqCst),
        failed_early: counts[1].load(Ordering::SeqCst),
        refused_late: counts[2].load(Ordering::SeqCst),
    }
}

/// The run followed the backoff schedule: the first request at the renewal
/// point (75-80 % of the lifetime), then each gap within the jittered
/// backoff of its step (`retry_after` as a floor), give or take a step.
fn assert_backoff_schedule(run: &Run, retry_after: Option<f64>) {
    let r = &run.requests;
    assert!(r.len() >= 3, "too few attempts: {r:?}");
    assert!(
        (75.0..=81.0).contains(&r[0]),
        "first attempt at {}: {r:?}",
        r[0]
    );
    for (i, pair) in r.windows(2).enumerate() {
        let full = f64::from(1u32 << i.min(20)).min(300.0);
        let (low, high) = match retry_after {
            Some(after) => (after.max(0.8 * full), after.max(full)),
            None => (0.8 * full, full),
        };
        let gap = pair[1] - pair[0];
        let step = STEP.as_secs_f64();
        assert!(
            gap >= low - step && gap <= high + step,
            "attempt {}: gap {gap} s, expected {low}-{high} s: {r:?}",
            i + 2
        );
    }
    // The login's token kept being served until its safety margin...
    assert!(run.served_early > 100, "{} served early", run.served_early);
    assert_eq!(run.failed_early, 0, "a still-valid token was refused");
    // ...and then callers got the error at once, with when to expect more.
    assert!(run.refused_late > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_with_retry_after_is_retried_once_a_minute_by_the_renewer_only() {
    let fault = Fault::Status {
        code: 503,
        retry_after: Some(60),
        body: None,
    };
    let run = run_with(fault, 260).await;
    assert_backoff_schedule(&run, Some(60.0));
    // At ~78 s, ~138 s, ~198 s, ~258 s.
    assert_eq!(run.requests.len(), 4, "{:?}", run.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_backs_off_exponentially() {
    let fault = Fault::Status {
        code: 500,
        retry_after: None,
        body: None,
    };
    let run = run_with(fault, 150).await;
    assert_backoff_schedule(&run, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_backs_off_exponentially() {
    let fault = Fault::Status {
        code: 429,
        retry_after: None,
        body: None,
    };
    assert_backoff_schedule(&run_with(fault, 150).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_back_off_exponentially() {
    assert_backoff_schedule(&run_with(Fault::DropConnection, 150).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_page_instead_of_json_backs_off_exponentially() {
    assert_backoff_schedule(&run_with(Fault::HtmlLoginPage200, 150).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_down_backs_off_exponentially() {
    let fault = Fault::OAuthError {
        error: "slow_down".into(),
        description: None,
        status: 400,
    };
    assert_backoff_schedule(&run_with(fault, 150).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expires_in_zero_backs_off_instead_of_renewing_every_few_milliseconds() {
    assert_backoff_schedule(&run_with(Fault::ExpiresIn(0), 150).await, None);
}
