use std::sync::Arc;
use std::time::Duration;

use wrs_proto::{ErrorKind, Secret, SessionState};

use super::*;
use crate::clock::{Clock, FakeClock, unix_secs};
use crate::source::{NoProfiles, TestFailure, TestSource, TestSourceSpec};

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
        .get_token(None, Duration::from_secs(min_ttl))
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
async fn min_ttl_above_the_cached_remaining_time_refetches() {
    let f = fixture("profile=p,lifetime=300");
    token(&f.sessions, 0).await.unwrap();
    f.clock.advance(Duration::from_secs(200));
    assert_eq!(token(&f.sessions, 90).await.unwrap(), "wrs-test-p-1");
    assert_eq!(token(&f.sessions, 150).await.unwrap(), "wrs-test-p-2");
    assert_eq!(f.source.fetch_count(), 2);
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
async fn a_freshly_issued_but_already_expired_token_is_refused() {
    let f = fixture("profile=p,lifetime=0");
    let err = token(&f.sessions, 0).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthorizationServer);
    assert!(err.message.contains("already expired"), "{}", err.message);
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
    let err = sessions.get_token(None, Duration::ZERO).await.unwrap_err();
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
    let b = f
        .sessions
        .get_token(Some("b"), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(b.access_token.expose(), "wrs-test-b-1");
    assert_eq!(token(&f.sessions, 0).await.unwrap(), "wrs-test-a-1");
    let err = f
        .sessions
        .get_token(Some("c"), Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownProfile);
    assert!(err.hint.unwrap().contains("a, b"));
}

#[tokio::test]
async fn status_reports_state_expiry_and_last_error() {
    let f = fixture("profile=p,lifetime=300");
    assert_eq!(f.sessions.status()[0].state, SessionState::LoggedOut);
    let reply = f.sessions.get_token(None, Duration::ZERO).await.unwrap();
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
