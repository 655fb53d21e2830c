use std::sync::Arc;
use std::time::Duration;

use wrs_proto::{ErrorKind, PlannedFetch, Secret, SessionState, TokenReply};

use super::*;
use crate::clock::{Clock, unix_secs};
use crate::source::NoProfiles;
use crate::testing::{FakeClock, TestFailure, TestSource, TestSourceSpec};

struct Fixture {
    clock: FakeClock,
    source: Arc<TestSource>,
    sessions: Arc<Sessions>,
}

fn fixture(spec: &str) -> Fixture {
    let clock = FakeClock::default();
    let spec: TestSourceSpec = spec.parse().unwrap();
    let source = Arc::new(TestSource::new(spec, Arc::new(clock.clone())));
    let sessions = Arc::new(Sessions::new(source.clone(), Arc::new(clock.clone())));
    Fixture {
        clock,
        source,
        sessions,
    }
}

async fn token(sessions: &Sessions, min_ttl: u64) -> Result<String, ErrorResponse> {
    sessions
        .get_token(None, Some(Duration::from_secs(min_ttl)), None)
        .await
        .map(|r| r.access_token.expose().to_owned())
}

#[tokio::test]
async fn a_cached_token_is_served_without_another_fetch() {
    let f = fixture("profile=p,lifetime=300");
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-p-1");
    f.clock.advance(Duration::from_secs(100));
    assert_eq!(token(&f.sessions, 60).await.unwrap(), "wrs-test-p-1");
    assert_eq!(f.source.fetch_count(), 1);
}

#[tokio::test]
async fn refresh_is_shared_by_concurrent_callers() {
    let f = fixture("profile=p,lifetime=300,delay_ms=100");
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let sessions = f.sessions.clone();
            tokio::spawn(async move { token(&sessions, 0).await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), "wrs-test-p-1");
    }
    assert_eq!(f.source.fetch_count(), 1);
}

#[tokio::test]
async fn a_fetch_error_reaches_every_waiter_from_one_fetch() {
    let f = fixture("profile=p,delay_ms=100,fail=network");
    let callers: Vec<_> = (0..10)
        .map(|_| {
            let sessions = f.sessions.clone();
            tokio::spawn(async move { token(&sessions, 0).await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap_err().kind, ErrorKind::Network);
    }
    assert_eq!(f.source.fetch_count(), 1);
}

#[tokio::test]
async fn a_minimum_beyond_the_renewal_point_is_answered_from_the_cache_and_reported() {
    let f = fixture("profile=p,lifetime=300");
    token(&f.sessions, 0).await.unwrap();
    f.clock.advance(Duration::from_secs(200));
    // 100 s left; renewal comes at 225-240 s, leaving 60-75 s.
    let reply = f
        .sessions
        .get_token(None, Some(Duration::from_secs(90)), None)
        .await
        .unwrap();
    assert_eq!(reply.access_token.expose(), "wrs-test-p-1");
    assert!(reply.min_ttl_met);
    assert_eq!(reply.warning, None);
    let reply = f
        .sessions
        .get_token(None, Some(Duration::from_secs(150)), None)
        .await
        .unwrap();
    assert_eq!(reply.access_token.expose(), "wrs-test-p-1");
    assert!(!reply.min_ttl_met);
    assert_eq!(reply.min_ttl_secs, 150);
    assert_eq!(reply.lifetime_secs, 300);
    let warning = reply.warning.unwrap();
    assert!(warning.contains("tokens live 300s"), "{warning}");
    assert!(
        warning.contains("less than the 150s asked for"),
        "{warning}"
    );
    assert_eq!(f.source.fetch_count(), 1, "no fetch per call");
}

#[tokio::test]
async fn a_token_inside_the_safety_margin_is_not_served_from_cache() {
    let f = fixture("profile=p,lifetime=300");
    token(&f.sessions, 0).await.unwrap();
    f.clock.advance(Duration::from_secs(299));
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-p-2");
}

#[tokio::test]
async fn an_expired_token_is_never_returned() {
    let f = fixture("profile=p,lifetime=300");
    token(&f.sessions, 0).await.unwrap();
    f.clock.advance(Duration::from_secs(301));
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-p-2");

    // And when the refetch fails, the caller gets the error, not the
    // expired token.
    f.clock.advance(Duration::from_secs(301));
    f.source.set_failure(Some(TestFailure::Network));
    let err = token(&f.sessions, 0).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Network);
}

#[tokio::test]
async fn a_freshly_issued_but_already_expired_token_is_refused_with_backoff() {
    let f = fixture("profile=p,lifetime=0");
    let err = token(&f.sessions, 0).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthorizationServer);
    assert!(err.message.contains("already expired"), "{}", err.message);
    // The next caller within the backoff gets the same error at once,
    // saying when the server is asked again.
    let err = token(&f.sessions, 0).await.unwrap_err();
    assert!(err.message.contains("already expired"), "{}", err.message);
    assert!(
        err.hint.as_deref().unwrap().contains("again in"),
        "{:?}",
        err.hint
    );
    assert_eq!(f.source.fetch_count(), 1);
    assert_eq!(f.sessions.status()[0].state, SessionState::BackingOff);
}

#[tokio::test]
async fn invalidate_with_a_stale_token_keeps_the_new_one() {
    let f = fixture("profile=p,lifetime=300");
    let first = token(&f.sessions, 0).await.unwrap();
    assert_eq!(
        f.sessions.invalidate(None, None).unwrap(),
        ("p".into(), true)
    );
    let second = token(&f.sessions, 0).await.unwrap();
    assert_ne!(first, second);
    let stale = Secret::new(first);
    assert_eq!(
        f.sessions.invalidate(Some("p"), Some(&stale)).unwrap(),
        ("p".into(), false)
    );
    assert_eq!(token(&f.sessions, 0).await.unwrap(), second);
    let current = Secret::new(second);
    assert!(f.sessions.invalidate(None, Some(&current)).unwrap().1);
    assert_eq!(f.source.fetch_count(), 2);
}

#[tokio::test]
async fn a_caller_hanging_up_does_not_cancel_the_shared_fetch() {
    let f = fixture("profile=p,lifetime=300,delay_ms=100");
    let sessions = f.sessions.clone();
    let first = tokio::spawn(async move { token(&sessions, 0).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    first.abort();
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-p-1");
    assert_eq!(f.source.fetch_count(), 1);
}

#[tokio::test]
async fn no_profile_configured_is_a_typed_error_with_a_hint() {
    let sessions = Sessions::new(Arc::new(NoProfiles), Arc::new(FakeClock::default()));
    let err = sessions.get_token(None, None, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoProfile);
    assert_eq!(err.message, "no profile configured");
    assert_eq!(
        err.hint.as_deref(),
        Some("add one: `wrs-token profile add NAME --issuer URL --client-id ID`")
    );
    assert!(sessions.status().is_empty());
}

#[tokio::test]
async fn profiles_are_resolved_by_name_then_default() {
    let f = fixture("profile=a,profile=b");
    let b = f.sessions.get_token(Some("b"), None, None).await.unwrap();
    assert_eq!(b.access_token.expose(), "wrs-test-b-1");
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-a-1");
    let err = f
        .sessions
        .get_token(Some("c"), None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownProfile);
    assert!(err.hint.unwrap().contains("a, b"));
}

#[tokio::test]
async fn status_reports_state_expiry_and_last_error() {
    let f = fixture("profile=p,lifetime=300");
    assert_eq!(f.sessions.status()[0].state, SessionState::LoggedOut);
    let reply = f.sessions.get_token(None, None, None).await.unwrap();
    let status = &f.sessions.status()[0];
    assert_eq!(status.state, SessionState::Active);
    assert_eq!(status.expires_at, Some(reply.expires_at));
    assert_eq!(status.last_error, None);

    f.source.set_failure(Some(TestFailure::LoginRequired));
    f.clock.advance(Duration::from_secs(400));
    let err = token(&f.sessions, 0).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LoginRequired);
    let status = &f.sessions.status()[0];
    assert_eq!(status.state, SessionState::NeedsLogin);
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("login required")
    );
    assert_eq!(f.sessions.profiles()[0].state, SessionState::NeedsLogin);
}

/// Lets spawned renewer and fetch tasks run (current-thread runtime).
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
}

#[tokio::test]
async fn renewal_is_planned_at_75_to_80_percent_and_fires_when_the_clock_gets_there() {
    let f = fixture("profile=p,lifetime=100");
    let issued = unix_secs(f.clock.now());
    token(&f.sessions, 0).await.unwrap();
    // Used from the cache: worth renewing.
    token(&f.sessions, 0).await.unwrap();
    let next = f.sessions.status()[0].next_refresh_at.unwrap();
    assert!((issued + 75..=issued + 80).contains(&next), "{next}");

    f.clock.advance(Duration::from_secs(74));
    settle().await;
    assert_eq!(f.source.fetch_count(), 1, "not before its time");
    f.clock.advance(Duration::from_secs(7));
    settle().await;
    assert_eq!(f.source.fetch_count(), 2, "renewed without a caller");
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-p-2");
}

#[tokio::test]
async fn transient_failures_back_off_then_recover() {
    let f = fixture("profile=p,lifetime=100");
    token(&f.sessions, 0).await.unwrap();
    token(&f.sessions, 0).await.unwrap();
    f.source.set_failure(Some(TestFailure::Network));
    f.clock.advance(Duration::from_secs(81));
    settle().await;
    assert_eq!(f.source.fetch_count(), 2);
    let status = &f.sessions.status()[0];
    assert_eq!(status.state, SessionState::BackingOff);
    // The cached token is still good for ~19 s: served, no fetch.
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-p-1");
    assert_eq!(f.source.fetch_count(), 2);

    f.clock.advance(Duration::from_secs(1));
    settle().await;
    assert_eq!(f.source.fetch_count(), 3, "first retry after ~1 s");
    f.clock.advance(Duration::from_secs(1));
    settle().await;
    assert_eq!(f.source.fetch_count(), 3, "second retry waits ~2 s");
    f.source.set_failure(None);
    f.clock.advance(Duration::from_secs(1));
    settle().await;
    assert_eq!(f.source.fetch_count(), 4);
    let status = &f.sessions.status()[0];
    assert_eq!(status.state, SessionState::Active);
    assert_eq!(status.last_error, None);
}

#[tokio::test]
async fn login_required_stops_renewal_and_callers_do_not_refetch() {
    let f = fixture("profile=p,lifetime=100");
    token(&f.sessions, 0).await.unwrap();
    token(&f.sessions, 0).await.unwrap();
    f.source.set_failure(Some(TestFailure::LoginRequired));
    f.clock.advance(Duration::from_secs(81));
    settle().await;
    assert_eq!(f.source.fetch_count(), 2);
    assert_eq!(f.sessions.status()[0].next_refresh_at, None);
    f.clock.advance(Duration::from_secs(1000));
    settle().await;
    let err = token(&f.sessions, 0).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LoginRequired);
    assert_eq!(f.source.fetch_count(), 2);
    // A forced refresh (after a login or import) asks again.
    f.source.set_failure(None);
    assert!(f.sessions.refresh(None).await.is_ok());
    assert_eq!(f.sessions.status()[0].state, SessionState::Active);
}

#[tokio::test]
async fn logout_clears_the_cache_and_the_plan() {
    let f = fixture("profile=p,lifetime=100");
    token(&f.sessions, 0).await.unwrap();
    f.sessions.clear("p");
    let status = &f.sessions.status()[0];
    assert_eq!(status.state, SessionState::LoggedOut);
    assert_eq!(status.next_refresh_at, None);
    f.clock.advance(Duration::from_secs(90));
    settle().await;
    assert_eq!(f.source.fetch_count(), 1, "no renewal after logout");
}

#[tokio::test]
async fn short_lived_tokens_are_served_from_cache_for_most_of_their_life() {
    let f = fixture("profile=p,lifetime=2");
    token(&f.sessions, 0).await.unwrap();
    f.clock.advance(Duration::from_millis(1400));
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-p-1");
    assert_eq!(f.source.fetch_count(), 1);
}

// --- The authorization server's budget -------------------------------------

/// One caller's wish: no minimum, an explicit one, or the environment's.
#[derive(Clone, Copy, Debug)]
enum Ask {
    Nothing,
    Explicit(u64),
    Env(u64),
}

async fn ask(sessions: &Sessions, ask: Ask) -> Result<TokenReply, ErrorResponse> {
    let secs = Duration::from_secs;
    match ask {
        Ask::Nothing => sessions.get_token(None, None, None).await,
        Ask::Explicit(s) => sessions.get_token(None, Some(secs(s)), None).await,
        Ask::Env(s) => sessions.get_token(None, None, Some(secs(s))).await,
    }
}

/// Eight callers with every kind of wish, every `step` for `duration` of
/// injected time. Every one must get a token with at least a second left;
/// returns the replies.
async fn busy_callers(f: &Fixture, duration: Duration, step: Duration) -> Vec<TokenReply> {
    let asks = [
        Ask::Nothing,
        Ask::Explicit(0),
        Ask::Explicit(10),
        Ask::Explicit(60),
        Ask::Env(3),
        Ask::Env(600),
        Ask::Nothing,
        Ask::Explicit(5),
    ];
    let mut replies = Vec::new();
    let end = f.clock.now() + duration;
    while f.clock.now() < end {
        let calls: Vec<_> = asks
            .iter()
            .map(|&a| {
                let sessions = f.sessions.clone();
                tokio::spawn(async move { ask(&sessions, a).await })
            })
            .collect();
        let now = unix_secs(f.clock.now());
        for call in calls {
            let reply = call.await.unwrap().unwrap();
            // Never expired, never inside the safety margin (whole seconds
            // on the wire round down, so at least a second shows).
            assert!(reply.expires_at > now, "expired token served");
            assert!(reply.expires_at > now, "{reply:?} at {now}");
            replies.push(reply);
        }
        f.clock.advance(step);
        settle().await;
    }
    replies
}

#[tokio::test]
async fn seven_second_tokens_cost_one_fetch_per_renewal_period_whatever_callers_ask() {
    let f = fixture("profile=p,lifetime=7");
    let duration = Duration::from_secs(60);
    let replies = busy_callers(&f, duration, Duration::from_millis(100)).await;
    assert_eq!(replies.len(), 8 * 600);
    // Renewal at 75-80 % of 7 s: a period of at least 5.25 s.
    let bound = (60.0_f64 / 5.25).ceil() as u64 + 1;
    let fetches = f.source.fetch_count();
    assert!(
        (11..=bound).contains(&fetches),
        "{fetches} fetches in 60 s, bound {bound}"
    );
    // Consecutive fetches are a renewal period apart.
    let times = f.source.fetch_times();
    for pair in times.windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap();
        assert!(gap >= Duration::from_millis(5250), "{gap:?}");
    }
    // What could not be met was said, and only that.
    for r in &replies {
        assert_eq!(r.lifetime_secs, 7);
        if r.min_ttl_secs > 7 {
            assert!(!r.min_ttl_met, "{r:?}");
            let warning = r.warning.as_deref().unwrap();
            assert!(warning.contains("tokens live 7.0s"), "{warning}");
        }
        if r.min_ttl_secs <= 1 {
            assert!(r.min_ttl_met && r.warning.is_none(), "{r:?}");
        }
    }
    assert!(replies.iter().any(|r| r.min_ttl_met && r.warning.is_none()));
    let status = &f.sessions.status()[0];
    assert_eq!(status.state, SessionState::Active);
    assert_eq!(status.token_lifetime_secs, Some(7));
    assert_eq!(status.served_last_hour, 8 * 600);
    assert_eq!(status.token_requests_last_hour, fetches);
    assert_eq!(status.token_request_budget_per_hour, Some(687));
}

#[tokio::test]
async fn a_minimum_no_token_can_meet_is_answered_from_the_cache_with_a_warning() {
    let f = fixture("profile=p,lifetime=7");
    for _ in 0..50 {
        let reply = ask(&f.sessions, Ask::Explicit(60)).await.unwrap();
        assert_eq!(reply.access_token.expose(), "wrs-test-p-1");
        assert!(!reply.min_ttl_met);
        assert_eq!(reply.min_ttl_secs, 60);
        assert_eq!(reply.expires_at, unix_secs(f.clock.now()) + 7);
        let warning = reply.warning.unwrap();
        assert!(
            warning.contains("renewed with about 1.4s left")
                || warning.contains("renewed with about 1.5s left")
                || warning.contains("renewed with about 1.6s left")
                || warning.contains("renewed with about 1.7s left")
                || warning.contains("renewed with about 1.8s left"),
            "{warning}"
        );
        assert!(warning.contains("less than the 60s asked for"), "{warning}");
    }
    assert_eq!(f.source.fetch_count(), 1);
}

#[tokio::test]
async fn the_profile_then_the_environment_then_the_default_decide_the_minimum() {
    let f = fixture("profile=p,lifetime=100");
    assert_eq!(
        ask(&f.sessions, Ask::Nothing).await.unwrap().min_ttl_secs,
        10
    );
    assert_eq!(
        ask(&f.sessions, Ask::Env(15)).await.unwrap().min_ttl_secs,
        15
    );
    assert_eq!(
        ask(&f.sessions, Ask::Explicit(4))
            .await
            .unwrap()
            .min_ttl_secs,
        4
    );
    // The default fits short tokens: capped, without a warning.
    let f = fixture("profile=p,lifetime=7");
    let reply = ask(&f.sessions, Ask::Nothing).await.unwrap();
    assert!(reply.min_ttl_met);
    assert_eq!(reply.min_ttl_secs, 1);
    assert_eq!(reply.warning, None);
    // A profile's min_ttl lowers the default as well as raising it, and
    // beats the environment.
    let f = fixture("profile=p,lifetime=100,min_ttl=3");
    assert_eq!(
        ask(&f.sessions, Ask::Nothing).await.unwrap().min_ttl_secs,
        3
    );
    assert_eq!(
        ask(&f.sessions, Ask::Env(30)).await.unwrap().min_ttl_secs,
        3
    );
    assert_eq!(
        ask(&f.sessions, Ask::Explicit(7))
            .await
            .unwrap()
            .min_ttl_secs,
        7
    );
    assert_eq!(f.source.fetch_count(), 1);
}

#[tokio::test]
async fn while_backing_off_nothing_reaches_the_server_whoever_asks() {
    // 503 with Retry-After: 60 from the first renewal on.
    let f = fixture("profile=p,lifetime=100");
    ask(&f.sessions, Ask::Nothing).await.unwrap();
    f.source
        .set_failure(Some(TestFailure::Unavailable(Some(Duration::from_secs(
            60,
        )))));
    let mut served = 0;
    let mut refused = 0;
    // Four callers every 500 ms for 200 s.
    for _ in 0..400 {
        let calls: Vec<_> = [
            Ask::Explicit(0),
            Ask::Nothing,
            Ask::Explicit(60),
            Ask::Env(5),
        ]
        .into_iter()
        .map(|a| {
            let sessions = f.sessions.clone();
            tokio::spawn(async move { ask(&sessions, a).await })
        })
        .collect();
        let now = unix_secs(f.clock.now());
        for call in calls {
            match call.await.unwrap() {
                Ok(reply) => {
                    assert!(reply.expires_at > now, "expired token served");
                    served += 1;
                }
                Err(e) => {
                    assert_eq!(e.kind, ErrorKind::Network, "{e:?}");
                    assert!(e.message.contains("503"), "{}", e.message);
                    assert!(e.hint.as_deref().unwrap().contains("again in"), "{e:?}");
                    refused += 1;
                }
            }
        }
        f.clock.advance(Duration::from_millis(500));
        settle().await;
    }
    // The still-valid token was served until its safety margin...
    assert!(served >= 4 * 190, "{served} served");
    assert!(refused > 0);
    // ...and the server saw the first fetch, the failed renewal at 75-80 s,
    // then one attempt a minute, as it asked.
    let times = f.source.fetch_times();
    assert_eq!(times.len(), 4, "{times:?}");
    for pair in times[1..].windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap();
        assert!(
            gap >= Duration::from_secs(60) && gap <= Duration::from_millis(60_500),
            "{gap:?}"
        );
    }
    assert_eq!(f.sessions.status()[0].state, SessionState::BackingOff);

    // The server recovers: the next attempt succeeds and serving resumes.
    f.source.set_failure(None);
    f.clock.advance(Duration::from_secs(61));
    settle().await;
    assert_eq!(f.source.fetch_count(), 5);
    assert!(ask(&f.sessions, Ask::Nothing).await.is_ok());
    assert_eq!(f.sessions.status()[0].state, SessionState::Active);
}

#[tokio::test]
async fn a_failing_server_never_makes_a_still_valid_token_an_error() {
    let f = fixture("profile=p,lifetime=100");
    ask(&f.sessions, Ask::Nothing).await.unwrap();
    f.source.set_failure(Some(TestFailure::Network));
    // Past the renewal point, callers outpace the renewer: each may start
    // or join a fetch, but gets the cached token when it fails.
    f.clock.advance(Duration::from_secs(85));
    for _ in 0..20 {
        let reply = ask(&f.sessions, Ask::Explicit(0)).await.unwrap();
        assert_eq!(reply.access_token.expose(), "wrs-test-p-1");
        assert!(reply.min_ttl_met);
    }
    // With 8 s left, the default minimum (10 s, under the 20-25 s
    // guarantee) is no longer met: served anyway, with why.
    f.clock.advance(Duration::from_secs(7));
    let reply = ask(&f.sessions, Ask::Nothing).await.unwrap();
    assert!(!reply.min_ttl_met);
    let warning = reply.warning.unwrap();
    assert!(warning.contains("renewal is failing"), "{warning}");
    // The first failure's backoff (~1 s) and its doubling bound the fetches.
    assert!(f.source.fetch_count() <= 5, "{}", f.source.fetch_count());
}

#[tokio::test]
async fn a_rejected_client_backs_off_for_callers_too() {
    let f = fixture("profile=p,lifetime=100,fail=client_rejected");
    for _ in 0..10 {
        let err = ask(&f.sessions, Ask::Nothing).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
    }
    assert_eq!(f.source.fetch_count(), 1);
    // No automatic retry, but a caller after the backoff tries again.
    f.clock.advance(Duration::from_secs(2));
    settle().await;
    assert_eq!(f.source.fetch_count(), 1);
    ask(&f.sessions, Ask::Nothing).await.unwrap_err();
    assert_eq!(f.source.fetch_count(), 2);
}

#[tokio::test]
async fn a_failure_before_any_request_is_retried_by_the_next_caller_at_once() {
    // A locked keyring costs the server nothing: once unlocked, the very
    // next call works, however long it was locked.
    let f = fixture("profile=p,lifetime=100,fail=store_locked");
    for _ in 0..5 {
        let err = ask(&f.sessions, Ask::Nothing).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Store);
        assert_eq!(err.hint.as_deref(), Some("unlock it"));
    }
    assert_eq!(f.source.fetch_count(), 5);
    f.source.set_failure(None);
    assert!(ask(&f.sessions, Ask::Nothing).await.is_ok());
    assert_eq!(f.sessions.status()[0].state, SessionState::Active);
}

#[tokio::test]
async fn expires_in_zero_backs_off_instead_of_spinning() {
    let f = fixture("profile=p,lifetime=0");
    ask(&f.sessions, Ask::Nothing).await.unwrap_err();
    // Ten seconds of a caller every 100 ms, then ten idle ones.
    for _ in 0..100 {
        let _ = ask(&f.sessions, Ask::Nothing).await;
        f.clock.advance(Duration::from_millis(100));
        settle().await;
    }
    for _ in 0..10 {
        f.clock.advance(Duration::from_secs(1));
        settle().await;
    }
    // Backoff 1, 2, 4, 8 s: fetches at 0, ~1, ~3, ~7, ~15 s at most.
    let fetches = f.source.fetch_count();
    assert!((3..=5).contains(&fetches), "{fetches} fetches");
}

#[tokio::test]
async fn an_idle_profile_stops_renewing_keeps_alive_and_wakes_with_one_fetch() {
    let f = fixture("profile=p,lifetime=7,keepalive=3600");
    // Twenty seconds of a request a second, then nobody.
    for _ in 0..20 {
        ask(&f.sessions, Ask::Nothing).await.unwrap();
        f.clock.advance(Duration::from_secs(1));
        settle().await;
    }
    let busy = f.source.fetch_count();
    assert!((4..=5).contains(&busy), "{busy} fetches in 20 s");
    // Renewal stops with the first token nobody used: at most one more.
    for _ in 0..600 {
        f.clock.advance(Duration::from_secs(1));
        settle().await;
    }
    let fetches = f.source.fetch_count();
    assert!(fetches <= busy + 1, "{fetches} fetches, {busy} while busy");
    let last = *f.source.fetch_times().last().unwrap();
    let status = &f.sessions.status()[0];
    assert_eq!(status.state, SessionState::Idle);
    assert_eq!(status.next_refresh, Some(PlannedFetch::Keepalive));
    assert_eq!(status.next_refresh_at, Some(unix_secs(last) + 3600));

    // Nothing until the keepalive, which fires on time...
    let until = last + Duration::from_secs(3599);
    while f.clock.now() < until {
        let step = until.duration_since(f.clock.now()).unwrap();
        f.clock.advance(step.min(Duration::from_secs(60)));
        settle().await;
    }
    assert_eq!(f.source.fetch_count(), fetches);
    f.clock.advance(Duration::from_secs(1));
    settle().await;
    assert_eq!(f.source.fetch_count(), fetches + 1, "the keepalive");
    // ...and then waits for the next one.
    f.clock.advance(Duration::from_secs(1800));
    settle().await;
    assert_eq!(f.source.fetch_count(), fetches + 1);
    assert_eq!(f.sessions.status()[0].state, SessionState::Idle);

    // The first request after idle: exactly one fetch, a fresh token, and
    // renewal is armed again for a profile in use.
    let reply = ask(&f.sessions, Ask::Nothing).await.unwrap();
    assert_eq!(f.source.fetch_count(), fetches + 2);
    assert_eq!(reply.expires_at, unix_secs(f.clock.now()) + 7);
    assert_eq!(f.sessions.status()[0].state, SessionState::Active);
    f.clock.advance(Duration::from_secs(2));
    ask(&f.sessions, Ask::Nothing).await.unwrap();
    f.clock.advance(Duration::from_secs(4));
    settle().await;
    assert_eq!(f.source.fetch_count(), fetches + 3, "renewed while in use");
}

#[tokio::test]
async fn one_call_a_minute_costs_one_fetch_a_minute_not_a_renewal_schedule() {
    let f = fixture("profile=p,lifetime=7");
    for _ in 0..30 {
        let reply = ask(&f.sessions, Ask::Nothing).await.unwrap();
        assert_eq!(reply.expires_at, unix_secs(f.clock.now()) + 7);
        for _ in 0..6 {
            f.clock.advance(Duration::from_secs(10));
            settle().await;
        }
    }
    assert_eq!(f.source.fetch_count(), 30);
}

#[tokio::test]
async fn renewal_stops_keep_warm_after_the_last_request() {
    // Hour-long tokens used for a few minutes: at the renewal point the
    // last request is older than keep_warm, so no renewal.
    let f = fixture("profile=p,lifetime=3600,keep_warm=600,keepalive=0");
    for _ in 0..5 {
        ask(&f.sessions, Ask::Nothing).await.unwrap();
        f.clock.advance(Duration::from_secs(60));
    }
    f.clock.advance(Duration::from_secs(3000));
    settle().await;
    assert_eq!(f.source.fetch_count(), 1);
    assert_eq!(f.sessions.status()[0].next_refresh_at, None);
    // Used within keep_warm of the renewal point: renewed.
    let f = fixture("profile=p,lifetime=3600,keep_warm=600,keepalive=0");
    ask(&f.sessions, Ask::Nothing).await.unwrap();
    f.clock.advance(Duration::from_secs(2400));
    ask(&f.sessions, Ask::Nothing).await.unwrap();
    f.clock.advance(Duration::from_secs(500));
    settle().await;
    assert_eq!(f.source.fetch_count(), 2);
}

#[tokio::test]
async fn a_request_to_an_idle_profile_with_a_valid_token_rearms_renewal() {
    // Hour-long tokens, renewal paused after 10 min.
    let f = fixture("profile=p,lifetime=3600,keep_warm=600,keepalive=0");
    ask(&f.sessions, Ask::Nothing).await.unwrap();
    f.clock.advance(Duration::from_secs(2900));
    settle().await;
    assert_eq!(f.source.fetch_count(), 1, "idle at the renewal point");
    let status = &f.sessions.status()[0];
    assert_eq!(status.state, SessionState::Idle);
    assert_eq!(status.next_refresh_at, None);
    // Still 11 min left: served from the cache, renewal follows at once.
    let reply = ask(&f.sessions, Ask::Nothing).await.unwrap();
    assert_eq!(reply.access_token.expose(), "wrs-test-p-1");
    settle().await;
    assert_eq!(f.source.fetch_count(), 2);
    assert_eq!(f.sessions.status()[0].state, SessionState::Active);
}

#[tokio::test]
async fn an_overdue_renewal_of_a_profile_in_use_fires_after_a_resume() {
    let f = fixture("profile=p,lifetime=100,keep_warm=60");
    ask(&f.sessions, Ask::Nothing).await.unwrap();
    f.clock.advance(Duration::from_secs(50));
    ask(&f.sessions, Ask::Nothing).await.unwrap();
    // Suspended for an hour: the renewal due at 75-80 s fires on resume,
    // because the profile was in use then.
    f.clock.advance(Duration::from_secs(3600));
    settle().await;
    assert_eq!(f.source.fetch_count(), 2);
}
