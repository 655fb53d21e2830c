//! Refresh, rotation, single-flight, scheduled renewal, backoff and
//! failure handling of the OAuth source against the real mock.
#![allow(clippy::unwrap_used)]

mod mock_env;

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, SystemTime};

use mock_env::{Env, eventually};
use wrs_config::StoreKind;
use wrs_mock::{Endpoint, Fault, MockConfig, RefreshTokenState};
use wrs_proto::{ErrorKind, Request, Secret, SessionState};
use wrs_store::{MemoryStore, SecretKind, SecretStore, StoreError};
use wrs_tokend::stores::Stores;

/// Drops the cached access token so the next GetToken refreshes.
async fn invalidate(env: &Env) {
    env.call(Request::Invalidate {
        profile: Some("plm".into()),
        token: None,
    })
    .await;
}

/// With rotation the old refresh token is spent once the server answers,
/// so the new access token may be handed out only after the new refresh
/// token is stored. The file store's write is held up (see [`HeldStore`]):
/// meanwhile the caller gets nothing, though the server has rotated; what
/// the store is writing is the new refresh token; and when that write then
/// fails the token is never served.
#[tokio::test]
async fn a_rotated_refresh_token_is_stored_before_the_access_token_is_served() {
    let store = Arc::new(HeldStore::default());
    let file: Arc<dyn SecretStore> = store.clone();
    let env = Env::start_with_stores(
        MockConfig::default()
            .auto_approve(true)
            .roll_refresh_tokens(true),
        |m| mock_env::public_profile("plm", m, "file", ""),
        Arc::new(wrs_tokend::clock::SystemClock),
        |_| Stores::with_file_store(file, None),
    )
    .await;
    let first = env.import_fresh_grant("plm").await;
    // The import's refresh rotated the token already.
    let second = env
        .stored_refresh_token("plm", StoreKind::File)
        .await
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        env.mock.refresh_token_state(&first),
        RefreshTokenState::Rolled
    );

    let held = store.hold_next_refresh_token();
    invalidate(&env).await;
    let served = env.token("plm");
    tokio::pin!(served);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut served)
            .await
            .is_err(),
        "an access token was served before its refresh token was stored"
    );
    // Not for want of an answer: the server rotated, `second` is spent.
    assert_eq!(env.mock.counters().token_refresh, 2);
    assert_eq!(
        env.mock.refresh_token_state(&second),
        RefreshTokenState::Rolled
    );

    // What the store was writing meanwhile: the new refresh token.
    let HeldWrite { written, verdict } = held;
    let written =
        tokio::task::spawn_blocking(move || written.recv_timeout(Duration::from_secs(10)).unwrap())
            .await
            .unwrap();
    let sealed: serde_json::Value = serde_json::from_str(&written).unwrap();
    let third = sealed["secret"].as_str().unwrap();
    assert_eq!(
        env.mock.refresh_token_state(third),
        RefreshTokenState::Active
    );
    // The write fails: the access token that came with `third` is never
    // handed out.
    verdict.send(false).unwrap();
    let err = served.await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Store, "{err:?}");
}

/// A file store that can hold up its next write of a refresh token until
/// the test says whether it succeeds. The daemon runs store calls on
/// blocking threads, so the held write blocks one of those.
#[derive(Default)]
struct HeldStore {
    memory: MemoryStore,
    hold: Mutex<Option<Hold>>,
}

/// The store's end of a held write.
struct Hold {
    written: mpsc::Sender<String>,
    verdict: mpsc::Receiver<bool>,
}

/// The test's end of a held write: what is being written, and whether the
/// write succeeds (`true`) or fails. Dropping it fails the write, so a
/// test that fails early leaves no store thread blocked.
struct HeldWrite {
    written: mpsc::Receiver<String>,
    verdict: mpsc::Sender<bool>,
}

impl HeldStore {
    fn hold_next_refresh_token(&self) -> HeldWrite {
        let (written_tx, written) = mpsc::channel();
        let (verdict, verdict_rx) = mpsc::channel();
        *self.hold.lock().unwrap() = Some(Hold {
            written: written_tx,
            verdict: verdict_rx,
        });
        HeldWrite { written, verdict }
    }
}

impl SecretStore for HeldStore {
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, StoreError> {
        self.memory.get(profile, kind)
    }

    fn set(&self, profile: &str, kind: SecretKind, value: &Secret) -> Result<(), StoreError> {
        let hold = match kind {
            SecretKind::RefreshToken => self.hold.lock().unwrap().take(),
            SecretKind::ClientSecret => None,
        };
        if let Some(hold) = hold {
            let _ = hold.written.send(value.expose().to_owned());
            if !hold.verdict.recv().unwrap_or(false) {
                return Err(StoreError::Io {
                    path: "held".into(),
                    source: std::io::Error::other("the test failed this write"),
                });
            }
        }
        self.memory.set(profile, kind, value)
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<(), StoreError> {
        self.memory.delete(profile, kind)
    }

    fn describe(&self) -> String {
        "held (test)".into()
    }
}

#[tokio::test]
async fn without_rotation_the_old_refresh_token_is_kept() {
    let env = Env::public(MockConfig::default().echo_refresh_token(false)).await;
    let rt = env.import_fresh_grant("plm").await;
    invalidate(&env).await;
    env.token("plm").await.unwrap();
    assert_eq!(
        env.stored_refresh_token("plm", StoreKind::Memory)
            .await
            .as_deref(),
        Some(rt.as_str())
    );
    invalidate(&env).await;
    env.token("plm").await.unwrap();
    assert_eq!(env.mock.counters().token_refresh, 3);
}

#[tokio::test]
async fn fifty_concurrent_callers_on_an_expired_token_make_one_refresh() {
    let (env, clock) = Env::public_fake(MockConfig::default().roll_refresh_tokens(true)).await;
    env.browser_login("plm").await;
    // Past expiry (the mock's tokens live an hour).
    clock.advance(Duration::from_secs(3700));
    let env = Arc::new(env);
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move { env.token("plm").await })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap().unwrap().access_token);
    }
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(env.mock.counters().token_refresh, 1);
    assert!(env.mock.is_access_token_valid(tokens[0].expose()));
}

#[tokio::test]
async fn invalid_grant_means_login_required_and_no_more_attempts() {
    let (env, clock) = Env::public_fake(MockConfig::default()).await;
    env.browser_login("plm").await;
    env.mock.set_fault(
        Endpoint::Token,
        Fault::OAuthError {
            error: "invalid_grant".into(),
            description: Some("refresh token revoked".into()),
            status: 400,
        },
        Some(1),
    );
    clock.advance(Duration::from_secs(3700));
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LoginRequired);
    assert_eq!(err.hint.as_deref(), Some("run `wrs-token login plm`"));
    let requests = env.mock.counters().token;
    let status = env.status("plm").await;
    assert_eq!(status.state, SessionState::NeedsLogin);
    assert_eq!(status.next_refresh_at, None);

    // Neither callers nor the scheduler ask the server again.
    assert_eq!(
        env.token("plm").await.unwrap_err().kind,
        ErrorKind::LoginRequired
    );
    clock.advance(Duration::from_secs(7200));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.mock.counters().token, requests);

    // A new login recovers.
    env.browser_login("plm").await;
    assert!(env.token("plm").await.is_ok());
    assert_eq!(env.status("plm").await.state, SessionState::Active);
}

/// A profile that stays "in use" for a day after a request, so renewals of
/// the mock's hour-long tokens happen while the clock is moved by hand.
const KEEP_WARM_A_DAY: &str = "keep_warm = 86400";

#[tokio::test]
async fn transient_failures_back_off_while_the_cached_token_is_served() {
    let (env, clock) = Env::public_fake_with(MockConfig::default(), KEEP_WARM_A_DAY).await;
    env.browser_login("plm").await;
    let cached = env.token("plm").await.unwrap();
    env.mock.set_fault(
        Endpoint::Token,
        Fault::Status {
            code: 503,
            retry_after: None,
            body: None,
        },
        None,
    );
    // Past the planned renewal (80 % of an hour), well before expiry.
    clock.advance(Duration::from_secs(2900));
    eventually("the first failed renewal", || {
        env.mock.counters().token_refresh >= 1
    })
    .await;
    eventually_state(&env, SessionState::BackingOff).await;
    let status = env.status("plm").await;
    assert!(status.last_error.unwrap().contains("503"));
    let retry_at = status.next_refresh_at.unwrap();
    let now = mock_env_now(&clock);
    assert!(
        retry_at <= now + 2,
        "first retry within ~1 s: {retry_at} vs {now}"
    );

    // The still-valid token keeps being served, without a request.
    let attempts = env.mock.counters().token_refresh;
    assert_eq!(env.token("plm").await.unwrap(), cached);
    assert_eq!(env.mock.counters().token_refresh, attempts);

    // Next attempt after the backoff, still failing; then an HTML page.
    clock.advance(Duration::from_secs(2));
    eventually("a second attempt", || {
        env.mock.counters().token_refresh > attempts
    })
    .await;
    env.mock.clear_faults();
    env.mock
        .set_fault(Endpoint::Token, Fault::HtmlLoginPage200, None);
    let attempts = env.mock.counters().token_refresh;
    clock.advance(Duration::from_secs(5));
    eventually("a third attempt", || {
        env.mock.counters().token_refresh > attempts
    })
    .await;
    eventually_state(&env, SessionState::BackingOff).await;

    // Recovery once the server is back.
    env.mock.clear_faults();
    clock.advance(Duration::from_secs(10));
    eventually_state(&env, SessionState::Active).await;
    let fresh = env.token("plm").await.unwrap();
    assert_ne!(fresh.access_token, cached.access_token);
    assert!(env.mock.is_access_token_valid(fresh.access_token.expose()));
    assert_eq!(env.status("plm").await.last_error, None);
}

fn mock_env_now(clock: &wrs_tokend::testing::FakeClock) -> u64 {
    use wrs_tokend::clock::Clock;
    wrs_tokend::clock::unix_secs(clock.now())
}

async fn eventually_state(env: &Env, want: SessionState) {
    for _ in 0..500 {
        if env.status("plm").await.state == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("state never became {want:?}: {:?}", env.status("plm").await);
}

#[tokio::test]
async fn a_timeout_is_transient_too() {
    let (env, clock) = Env::public_fake(MockConfig::default()).await;
    env.browser_login("plm").await;
    // Longer than the test runtime's 2 s HTTP timeout.
    env.mock.set_fault(
        Endpoint::Token,
        Fault::Delay(Duration::from_secs(4)),
        Some(1),
    );
    clock.advance(Duration::from_secs(3700));
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Network);
    assert!(
        env.status("plm").await.next_refresh_at.is_some(),
        "retry planned"
    );
    clock.advance(Duration::from_secs(2));
    eventually_state(&env, SessionState::Active).await;
    assert!(env.token("plm").await.is_ok());
}

#[tokio::test]
async fn a_forward_clock_jump_refreshes_at_once_without_a_caller() {
    let (env, clock) = Env::public_fake_with(MockConfig::default(), KEEP_WARM_A_DAY).await;
    env.browser_login("plm").await;
    // In use: a client asked for the login's token.
    env.token("plm").await.unwrap();
    assert_eq!(env.mock.counters().token_refresh, 0);
    // As after a suspend of a profile in use: the wall clock is suddenly
    // past the expiry.
    clock.advance(Duration::from_secs(4000));
    eventually("the overdue renewal", || {
        env.mock.counters().token_refresh == 1
    })
    .await;
    eventually_state(&env, SessionState::Active).await;
    let token = env.token("plm").await.unwrap();
    assert!(env.mock.is_access_token_valid(token.access_token.expose()));
    assert_eq!(env.mock.counters().token_refresh, 1);
}

#[tokio::test]
async fn short_lifetimes_never_hand_out_an_expired_token() {
    let env =
        Env::public(MockConfig::default().access_token_lifetime(Duration::from_secs(2))).await;
    env.browser_login("plm").await;
    let until = SystemTime::now() + Duration::from_secs(5);
    let mut served = 0;
    while SystemTime::now() < until {
        let token = env.token("plm").await.unwrap();
        // Whole seconds on the wire, rounded down: never later than the truth.
        let now = wrs_tokend::clock::unix_secs(SystemTime::now());
        assert!(token.expires_at >= now, "expired token served");
        assert!(
            env.mock.is_access_token_valid(token.access_token.expose()),
            "the server rejects a served token"
        );
        served += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served > 20);
    // Renewed ahead of expiry in the background, not once per caller.
    let refreshes = env.mock.counters().token_refresh;
    assert!((2..=6).contains(&refreshes), "{refreshes} refreshes");
}

#[tokio::test]
async fn a_restart_with_a_file_store_comes_back_logged_in() {
    let env = Env::start(
        MockConfig::default().auto_approve(true),
        |m| mock_env::public_profile("plm", m, "file", ""),
        Arc::new(wrs_tokend::clock::SystemClock),
    )
    .await;
    env.browser_login("plm").await;
    // A new daemon: new runtime and sessions over the same files.
    let runtime = mock_env::runtime_over(
        &env.config_path,
        &env.data_dir,
        Arc::new(wrs_tokend::clock::SystemClock),
        None,
    );
    let token = runtime
        .sessions()
        .get_token(Some("plm"), Some(Duration::ZERO), None)
        .await
        .unwrap();
    assert!(env.mock.is_access_token_valid(token.access_token.expose()));
    assert_eq!(env.mock.counters().token_refresh, 1);
    let secrets = env.data_dir.join("secrets");
    assert!(secrets.join("plm.json").exists());
}

/// A store that cannot save (a full disk, a directory gone) when the server
/// rolls the refresh token: the new access token is not served (its refresh
/// token is not safe yet), the user is told why, and nothing is lost: the
/// new refresh token is held in memory and saved once the store works.
#[tokio::test]
async fn a_store_that_cannot_save_a_rolled_refresh_token_loses_nothing() {
    let env = Env::start(
        MockConfig::default()
            .auto_approve(true)
            .roll_refresh_tokens(true),
        |m| mock_env::public_profile("plm", m, "file", ""),
        Arc::new(wrs_tokend::clock::SystemClock),
    )
    .await;
    env.browser_login("plm").await;
    let saved = env
        .stored_refresh_token("plm", StoreKind::File)
        .await
        .unwrap();

    // Every write into the secrets directory now fails.
    let secrets = env.data_dir.join("secrets");
    let aside = env.data_dir.join("secrets.aside");
    std::fs::rename(&secrets, &aside).unwrap();
    std::fs::write(&secrets, b"not a directory").unwrap();

    invalidate(&env).await;
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Store, "{err:?}");
    assert!(err.message.contains("secret"), "{}", err.message);
    // The server did roll the token: the saved one is spent.
    assert_eq!(env.mock.counters().token_refresh, 1);
    assert_eq!(
        env.mock.refresh_token_state(&saved),
        RefreshTokenState::Rolled
    );

    // The store works again: the first request after the failure's
    // backoff renews with the token held in memory, without a new login,
    // and saves the newest one. Requests during the backoff get the store
    // error at once and never reach the server.
    std::fs::remove_file(&secrets).unwrap();
    std::fs::rename(&aside, &secrets).unwrap();
    let token = loop {
        match env.token("plm").await {
            Ok(token) => break token,
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::Store, "{e:?}");
                assert!(e.hint.unwrap().contains("again in"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(env.mock.counters().token_refresh, 2);
    assert!(env.mock.is_access_token_valid(token.access_token.expose()));
    let now_saved = env
        .stored_refresh_token("plm", StoreKind::File)
        .await
        .unwrap();
    assert_eq!(
        env.mock.refresh_token_state(&now_saved),
        RefreshTokenState::Active
    );
    assert_eq!(env.mock.counters().authorization, 1);
}

/// Regression: a response without `expires_in` was taken to live 300 s, so
/// a server whose opaque tokens lived 6 s got dead tokens served for
/// minutes. Now it is the short conservative default, and a client's 401
/// drops the token at once.
#[tokio::test]
async fn without_expires_in_an_opaque_token_gets_the_short_default_lifetime() {
    let env = Env::public(MockConfig::default()).await;
    env.import_fresh_grant("plm").await;
    env.mock.set_fault(
        Endpoint::Token,
        Fault::MissingField("expires_in".into()),
        None,
    );
    invalidate(&env).await;
    let token = env.token("plm").await.unwrap();
    assert_eq!(
        Duration::from_secs(token.lifetime_secs),
        wrs_oauth::lifetime::DEFAULT_LIFETIME
    );
    // The caller got a 401 with it: the next request fetches another.
    let refreshes = env.mock.counters().token_refresh;
    env.call(Request::Invalidate {
        profile: Some("plm".into()),
        token: Some(token.access_token.clone()),
    })
    .await;
    let next = env.token("plm").await.unwrap();
    assert_ne!(next.access_token, token.access_token);
    assert_eq!(env.mock.counters().token_refresh, refreshes + 1);
}
