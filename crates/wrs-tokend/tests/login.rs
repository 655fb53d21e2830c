//! Logins through the handler against the real mock: code flow with the
//! loopback listener, paste mode, device flow, client credentials, logout.
#![allow(clippy::unwrap_used)]

mod mock_env;

use std::sync::Arc;
use std::time::Duration;

use mock_env::{Env, authorize, browser, public_profile};
use wrs_config::StoreKind;
use wrs_mock::{ClientConfig, MockConfig};
use wrs_proto::{ErrorKind, LoginMethod, Request, Response, Secret, SessionState};
use wrs_testkit::process::{is_child_test, run_test_in_child};
use wrs_tokend::clock::SystemClock;

#[tokio::test]
async fn code_flow_login_serves_a_token_the_server_accepts() {
    let env = Env::public(MockConfig::default()).await;
    let expires_at = env.browser_login("plm").await;
    assert!(expires_at > 0);

    let before = env.mock.counters();
    let token = env.token("plm").await.unwrap();
    assert_eq!(
        token.expires_at, expires_at,
        "served from the login's cache"
    );
    assert!(env.mock.is_access_token_valid(token.access_token.expose()));
    assert_eq!(env.mock.counters().token, before.token, "no extra request");

    let rt = env
        .stored_refresh_token("plm", StoreKind::Memory)
        .await
        .unwrap();
    assert_eq!(
        env.mock.refresh_token_state(&rt),
        wrs_mock::RefreshTokenState::Active
    );
    let status = env.status("plm").await;
    assert_eq!(status.state, SessionState::Active);
    assert!(status.next_refresh_at.unwrap() < expires_at);
    assert_eq!(env.mock.counters().token_code, 1);
}

#[tokio::test]
async fn a_second_login_while_one_is_pending_is_busy() {
    let env = Env::public(MockConfig::default()).await;
    let first = env.begin("plm", LoginMethod::Browser).await;
    match env
        .call(Request::LoginBegin {
            profile: Some("plm".into()),
            method: LoginMethod::NoBrowser,
        })
        .await
    {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::Busy);
            assert!(e.message.contains("a login for plm is already in progress"));
        }
        other => panic!("{other:?}"),
    }
    // The first one still completes.
    let location = authorize(first.url.as_deref().unwrap()).await;
    browser().get(&location).send().await.unwrap();
    assert!(matches!(
        env.wait(&first.login_id, 10).await,
        Response::LoginFinished { .. }
    ));
}

#[tokio::test]
async fn login_wait_answers_pending_until_the_browser_comes_back() {
    let env = Env::public(MockConfig::default()).await;
    let prompt = env.begin("plm", LoginMethod::NoBrowser).await;
    assert!(matches!(
        env.wait(&prompt.login_id, 0).await,
        Response::LoginPending {}
    ));
    assert_eq!(prompt.expires_in, 600);
    assert!(prompt.url.unwrap().contains("code_challenge_method=S256"));
    match env.wait("no-such-login", 0).await {
        Response::Error(e) => assert_eq!(e.kind, ErrorKind::LoginFailed),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn access_denied_in_the_browser_fails_the_login() {
    let env = Env::public(MockConfig::default()).await;
    let prompt = env.begin("plm", LoginMethod::Browser).await;
    // The user pressed "Deny": the server redirects back with an error.
    let url = url::Url::parse(prompt.url.as_deref().unwrap()).unwrap();
    let get = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let denied = format!(
        "{}?error=access_denied&state={}&iss={}",
        get("redirect_uri"),
        get("state"),
        env.mock.issuer()
    );
    browser().get(&denied).send().await.unwrap();
    match env.wait(&prompt.login_id, 10).await {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::AuthorizationServer);
            assert_eq!(e.oauth_error.as_deref(), Some("access_denied"));
        }
        other => panic!("{other:?}"),
    }
}

const PASTE_CLIENT: &str = "wrs-paste";
const PASTE_REDIRECT: &str = "https://plm.example.com/wrs-token/callback";

#[tokio::test]
async fn paste_mode_completes_with_the_redirected_url_and_survives_a_bad_paste() {
    let mock = MockConfig::default()
        .auto_approve(true)
        .client(ClientConfig::public(PASTE_CLIENT).redirect_uris([PASTE_REDIRECT]));
    let env = Env::start(
        mock,
        |m| {
            format!(
                "[profiles.plm]\nissuer = \"{}\"\nclient_id = \"{PASTE_CLIENT}\"\nauth = \"none\"\n\
                 redirect_uri = \"{PASTE_REDIRECT}\"\nscopes = [\"openid\", \"offline_access\"]\nstore = \"memory\"\n",
                m.issuer()
            )
        },
        Arc::new(SystemClock),
    )
    .await;
    // Whatever the method: a non-loopback redirect means paste.
    let prompt = env.begin("plm", LoginMethod::Browser).await;
    assert!(prompt.expects_paste);
    let location = authorize(prompt.url.as_deref().unwrap()).await;
    assert!(location.starts_with(PASTE_REDIRECT), "{location}");

    // A URL from a stale tab (another state) is refused; the login stays.
    let stale = format!(
        "{PASTE_REDIRECT}?code=abc&state=not-this-one&iss={}",
        env.mock.issuer()
    );
    match env
        .call(Request::LoginPaste {
            login_id: prompt.login_id.clone(),
            redirected_url: Secret::new(stale),
        })
        .await
    {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::LoginFailed);
            assert!(e.message.contains("state mismatch"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    match env
        .call(Request::LoginPaste {
            login_id: prompt.login_id.clone(),
            redirected_url: Secret::new(location),
        })
        .await
    {
        Response::LoginFinished { profile, .. } => assert_eq!(profile, "plm"),
        other => panic!("{other:?}"),
    }
    let token = env.token("plm").await.unwrap();
    assert!(env.mock.is_access_token_valid(token.access_token.expose()));
    // A later wait on the same login gets the same outcome.
    assert!(matches!(
        env.wait(&prompt.login_id, 0).await,
        Response::LoginFinished { .. }
    ));
}

fn device_mock() -> MockConfig {
    MockConfig::default().device_poll_interval(Duration::from_secs(1))
}

fn device_profile(m: &wrs_mock::MockServer) -> String {
    public_profile("plm", m, "memory", "grant = \"device\"")
}

#[tokio::test]
async fn device_flow_logs_in_once_approved() {
    let env = Env::start(device_mock(), device_profile, Arc::new(SystemClock)).await;
    let prompt = env.begin("plm", LoginMethod::Browser).await;
    let user_code = prompt.user_code.clone().unwrap();
    assert!(prompt.url.is_some() && !prompt.expects_paste);
    assert!(matches!(
        env.wait(&prompt.login_id, 0).await,
        Response::LoginPending {}
    ));
    assert!(env.mock.approve_device(&user_code));
    match env.wait(&prompt.login_id, 20).await {
        Response::LoginFinished { profile, .. } => assert_eq!(profile, "plm"),
        other => panic!("{other:?}"),
    }
    let token = env.token("plm").await.unwrap();
    assert!(env.mock.is_access_token_valid(token.access_token.expose()));
    assert!(
        env.stored_refresh_token("plm", StoreKind::Memory)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn device_flow_denied_is_an_authorization_server_error() {
    let env = Env::start(device_mock(), device_profile, Arc::new(SystemClock)).await;
    let prompt = env.begin("plm", LoginMethod::Device).await;
    assert!(env.mock.deny_device(&prompt.user_code.unwrap()));
    match env.wait(&prompt.login_id, 20).await {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::AuthorizationServer);
            assert_eq!(e.oauth_error.as_deref(), Some("access_denied"));
        }
        other => panic!("{other:?}"),
    }
    match env.token("plm").await {
        Err(e) => assert_eq!(e.kind, ErrorKind::LoginRequired),
        Ok(_) => panic!("no token without a login"),
    }
}

fn service_profile(m: &wrs_mock::MockServer) -> String {
    format!(
        "[profiles.ci]\nissuer = \"{}\"\nclient_id = \"{}\"\nauth = \"basic\"\n\
         grant = \"client-credentials\"\nstore = \"memory\"\n",
        m.issuer(),
        wrs_mock::config::DEMO_SERVICE_CLIENT
    )
}

#[tokio::test]
async fn client_credentials_need_the_secret_then_log_in_without_a_user() {
    let env = Env::start(
        MockConfig::default(),
        service_profile,
        Arc::new(SystemClock),
    )
    .await;
    match env.token("ci").await {
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Config);
            assert!(e.message.contains("no client secret"), "{}", e.message);
        }
        Ok(_) => panic!("no secret stored yet"),
    }
    match env
        .call(Request::SetClientSecret {
            profile: "ci".into(),
            client_secret: Secret::new(wrs_mock::config::DEMO_SERVICE_SECRET),
        })
        .await
    {
        Response::SecretStored { profile, store } => {
            assert_eq!(profile, "ci");
            assert!(!store.is_empty());
        }
        other => panic!("{other:?}"),
    }
    match env
        .call(Request::LoginBegin {
            profile: Some("ci".into()),
            method: LoginMethod::Automatic,
        })
        .await
    {
        Response::LoginFinished { profile, .. } => assert_eq!(profile, "ci"),
        other => panic!("{other:?}"),
    }
    let token = env.token("ci").await.unwrap();
    assert!(env.mock.is_access_token_valid(token.access_token.expose()));
    assert_eq!(env.mock.counters().token_client_credentials, 1);
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_configuration_error_not_retried() {
    let env = Env::start(
        MockConfig::default(),
        service_profile,
        Arc::new(SystemClock),
    )
    .await;
    env.call(Request::SetClientSecret {
        profile: "ci".into(),
        client_secret: Secret::new("wrong"),
    })
    .await;
    let err = env.token("ci").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(
        err.message.contains("rejected the client"),
        "{}",
        err.message
    );
    let status = env.status("ci").await;
    assert_eq!(status.next_refresh_at, None, "no retry planned");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(env.mock.counters().token, 1, "the scheduler did not retry");
}

#[tokio::test]
async fn logout_revokes_once_and_a_second_logout_does_not_call_the_server() {
    let env = Env::public(MockConfig::default()).await;
    env.browser_login("plm").await;
    let rt = env
        .stored_refresh_token("plm", StoreKind::Memory)
        .await
        .unwrap();
    let logout = Request::Logout {
        profile: Some("plm".into()),
        revoke: true,
    };
    match env.call(logout.clone()).await {
        Response::LoggedOut { profile, revoked } => {
            assert_eq!(profile, "plm");
            assert!(revoked);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.mock.revocation_count(&rt), 1);
    assert_eq!(
        env.mock.refresh_token_state(&rt),
        wrs_mock::RefreshTokenState::Revoked
    );
    assert_eq!(
        env.stored_refresh_token("plm", StoreKind::Memory).await,
        None
    );
    assert_eq!(env.status("plm").await.state, SessionState::LoggedOut);

    // Nothing left to log out of: said so, and the server is not asked.
    match env.call(logout).await {
        Response::NotLoggedIn { profile } => assert_eq!(profile, "plm"),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.mock.counters().revocation, 1);
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LoginRequired);
    assert_eq!(err.hint.as_deref(), Some("run `wrs-token login plm`"));
}

#[tokio::test]
async fn logout_without_revoke_only_deletes_locally() {
    let env = Env::public(MockConfig::default()).await;
    env.browser_login("plm").await;
    let rt = env
        .stored_refresh_token("plm", StoreKind::Memory)
        .await
        .unwrap();
    match env
        .call(Request::Logout {
            profile: None,
            revoke: false,
        })
        .await
    {
        Response::LoggedOut { revoked, .. } => assert!(!revoked),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.mock.counters().revocation, 0);
    assert_eq!(
        env.mock.refresh_token_state(&rt),
        wrs_mock::RefreshTokenState::Active
    );
    assert_eq!(
        env.stored_refresh_token("plm", StoreKind::Memory).await,
        None
    );
}

#[tokio::test]
async fn import_validates_the_refresh_token_at_once() {
    let env = Env::public(MockConfig::default()).await;
    env.import_fresh_grant("plm").await;
    assert_eq!(env.mock.counters().token_refresh, 1);
    assert!(env.token("plm").await.is_ok());
    match env
        .call(Request::ImportRefreshToken {
            profile: Some("plm".into()),
            refresh_token: Secret::new("not-a-token"),
        })
        .await
    {
        Response::Error(e) => {
            // Refused, but nothing working was thrown away: not "login
            // required", and the message says the session is kept.
            assert_eq!(e.kind, ErrorKind::AuthorizationServer);
            assert_eq!(e.oauth_error.as_deref(), Some("invalid_grant"));
            assert!(
                e.message.contains("your previous session is kept"),
                "{}",
                e.message
            );
        }
        other => panic!("{other:?}"),
    }
    // The stored refresh token is still the working one.
    env.call(Request::Invalidate {
        profile: Some("plm".into()),
        token: None,
    })
    .await;
    assert!(env.token("plm").await.is_ok());
    assert_eq!(env.mock.counters().token_refresh, 3);
}

#[tokio::test]
async fn forget_profile_logs_out_and_deletes_the_client_secret() {
    let env = Env::start(
        MockConfig::default(),
        service_profile,
        Arc::new(SystemClock),
    )
    .await;
    env.call(Request::SetClientSecret {
        profile: "ci".into(),
        client_secret: Secret::new(wrs_mock::config::DEMO_SERVICE_SECRET),
    })
    .await;
    assert!(env.token("ci").await.is_ok());
    assert!(matches!(
        env.call(Request::ForgetProfile {
            profile: "ci".into(),
            revoke: true
        })
        .await,
        Response::LoggedOut { .. }
    ));
    let secret = env
        .runtime
        .source()
        .stores()
        .get(StoreKind::Memory, "ci", wrs_store::SecretKind::ClientSecret)
        .await
        .unwrap();
    assert!(secret.is_none());
}

#[tokio::test]
async fn a_missing_keyring_is_a_store_error_naming_the_alternatives() {
    // A host without a session bus, made for this test alone: a child
    // process without `DBUS_SESSION_BUS_ADDRESS` and with an empty runtime
    // dir (no `$XDG_RUNTIME_DIR/bus`), while the other tests keep the
    // keyring session of scripts/with-keyring.
    if !is_child_test() {
        let runtime_dir = tempfile::tempdir().unwrap();
        run_test_in_child(
            "a_missing_keyring_is_a_store_error_naming_the_alternatives",
            |child| {
                child
                    .env_remove("DBUS_SESSION_BUS_ADDRESS")
                    .env("XDG_RUNTIME_DIR", runtime_dir.path());
            },
        );
        return;
    }
    let env = Env::start(
        MockConfig::default(),
        |m| public_profile("plm", m, "keyring", ""),
        Arc::new(SystemClock),
    )
    .await;
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Store, "{err:?}");
    let hint = err.hint.unwrap();
    assert!(
        hint.contains("--store file") && hint.contains("--store memory"),
        "{hint}"
    );
}

#[tokio::test]
async fn an_abandoned_login_is_replaced_but_a_polled_one_is_not() {
    use wrs_tokend::login::Logins;
    use wrs_tokend::runtime::Runtime;
    let base = Env::public(MockConfig::default()).await;
    // The same source and sessions, with a 300 ms abandonment threshold.
    let runtime = base.runtime.clone();
    let logins = Logins::new(runtime.source().clone(), runtime.sessions().clone())
        .with_abandon_after(Duration::from_millis(300));
    let runtime =
        Runtime::with_logins(runtime.source().clone(), runtime.sessions().clone(), logins);
    let begin = || runtime.login_begin(Some("plm"), LoginMethod::NoBrowser);
    let Response::LoginStarted(first) = begin().await else {
        panic!("first login did not start");
    };
    // A client that is waiting keeps its login alive past the threshold.
    let waiting = runtime.login_wait(&first.login_id, Duration::from_millis(600));
    let (waited, second) = tokio::join!(waiting, async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        begin().await
    });
    assert!(matches!(waited, Response::LoginPending {}));
    match second {
        Response::Error(e) => assert_eq!(e.kind, ErrorKind::Busy),
        other => panic!("{other:?}"),
    }
    // Silent for longer than the threshold: replaced.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let Response::LoginStarted(third) = begin().await else {
        panic!("the abandoned login was not replaced");
    };
    assert_ne!(third.login_id, first.login_id);
    match runtime
        .login_wait(&first.login_id, Duration::from_secs(1))
        .await
    {
        Response::Error(e) => assert_eq!(e.kind, ErrorKind::LoginFailed),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn paste_method_on_a_loopback_profile_takes_the_pasted_url() {
    let env = Env::public(MockConfig::default()).await;
    let prompt = env.begin("plm", LoginMethod::Paste).await;
    assert!(prompt.expects_paste);
    let location = authorize(prompt.url.as_deref().unwrap()).await;
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    match env
        .call(Request::LoginPaste {
            login_id: prompt.login_id.clone(),
            redirected_url: Secret::new(location),
        })
        .await
    {
        Response::LoginFinished { profile, .. } => assert_eq!(profile, "plm"),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.mock.counters().token_code, 1, "exchanged exactly once");
    assert!(env.token("plm").await.is_ok());
}
