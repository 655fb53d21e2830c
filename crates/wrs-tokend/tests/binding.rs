//! Stored secrets belong to the server and client that issued them: a
//! profile moved to another server or client never sends them there, a
//! public client keeps no secret, and "login required" is final only after
//! the store was read again.
#![allow(clippy::unwrap_used)]

mod mock_env;

use wrs_config::StoreKind;
use wrs_mock::config::{DEMO_SERVICE_CLIENT, DEMO_SERVICE_SECRET};
use wrs_mock::{MockConfig, MockServer};
use wrs_proto::{ErrorKind, Request, Response, Secret};
use wrs_store::SecretKind;
use wrs_tokend::binding::{self, Owner};

use mock_env::{Env, public_profile};

async fn reload(env: &Env) {
    let answer = env.call(Request::Reload {}).await;
    assert!(matches!(answer, Response::Reloaded { .. }), "{answer:?}");
}

/// Revokes a refresh token of the public client at the mock (RFC 7009),
/// as an administrator or another device would.
async fn revoke(mock: &MockServer, token: &str) {
    let status = mock_env::browser()
        .post(mock.revocation_endpoint())
        .form(&[("client_id", mock_env::PUBLIC), ("token", token)])
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
}

async fn invalidate(env: &Env, profile: &str) {
    env.call(Request::Invalidate {
        profile: Some(profile.into()),
        token: None,
    })
    .await;
}

#[tokio::test]
async fn a_login_for_one_server_is_never_sent_to_another() {
    let env = Env::public(MockConfig::default()).await;
    env.import_fresh_grant("plm").await;
    // The profile is re-pointed at another server (profile add --force, or
    // an edit and a reload).
    let other = MockServer::start(MockConfig::default().auto_approve(true))
        .await
        .unwrap();
    env.write_config(&public_profile("plm", &other, "memory", ""));
    reload(&env).await;
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LoginRequired, "{err:?}");
    assert!(
        err.message.contains(&format!(
            "belongs to client wrs-cli at {}",
            env.mock.issuer().trim_end_matches('/')
        )),
        "{}",
        err.message
    );
    assert_eq!(other.counters().token, 0, "nothing reached the new server");
    // A login at the new server works as usual.
    env.browser_login("plm").await;
    assert!(env.token("plm").await.is_ok());
    assert_eq!(other.counters().token_code, 1);
}

/// A client-credentials profile at `mock` for `client_id`, secret in memory.
fn service_profile(mock: &MockServer, client_id: &str, auth: &str) -> String {
    format!(
        "[profiles.svc]\ntoken_endpoint = \"{}\"\nclient_id = \"{client_id}\"\nauth = \"{auth}\"\n\
         grant = \"client-credentials\"\nstore = \"memory\"\n",
        mock.token_endpoint()
    )
}

#[tokio::test]
async fn a_client_secret_stays_with_its_client() {
    let env = Env::start(
        MockConfig::default(),
        |m| service_profile(m, DEMO_SERVICE_CLIENT, "basic"),
        std::sync::Arc::new(wrs_tokend::clock::SystemClock),
    )
    .await;
    let stored = env
        .call(Request::SetClientSecret {
            profile: "svc".into(),
            client_secret: Secret::new(DEMO_SERVICE_SECRET),
        })
        .await;
    assert!(
        matches!(stored, Response::SecretStored { .. }),
        "{stored:?}"
    );
    assert!(env.token("svc").await.is_ok());
    let requests = env.mock.counters().token;

    // Another client id: the old secret is not sent with it.
    env.write_config(&service_profile(&env.mock, "someone-else", "basic"));
    reload(&env).await;
    let err = env.token("svc").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config, "{err:?}");
    assert!(err.message.contains("set-secret svc"), "{}", err.message);
    assert_eq!(env.mock.counters().token, requests);

    // A public client now: the secret that no longer applies is deleted.
    env.write_config(&public_profile("svc", &env.mock, "memory", ""));
    reload(&env).await;
    let err = env.token("svc").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LoginRequired);
    let left = env
        .runtime
        .source()
        .stores()
        .get(StoreKind::Memory, "svc", SecretKind::ClientSecret)
        .await
        .unwrap();
    assert!(left.is_none(), "the client secret is still stored");
}

#[tokio::test]
async fn login_required_is_final_only_after_the_store_was_read_again() {
    let env = Env::public(MockConfig::default()).await;
    let first = env.import_fresh_grant("plm").await;
    // Behind the daemon's back, a valid grant lands in the store (another
    // process logged in); then the one the daemon holds is revoked.
    let second = env
        .mock
        .issue_tokens_for_test(mock_env::PUBLIC, "demo", "")
        .unwrap()
        .refresh_token
        .unwrap();
    let profile = wrs_config::Profile {
        issuer: Some(env.mock.issuer().to_string()),
        client_id: mock_env::PUBLIC.into(),
        ..Default::default()
    };
    env.runtime
        .source()
        .stores()
        .set(
            StoreKind::Memory,
            "plm",
            SecretKind::RefreshToken,
            &binding::seal(&Owner::of(&profile), &Secret::new(second.clone())),
        )
        .await
        .unwrap();
    revoke(&env.mock, &first).await;
    invalidate(&env, "plm").await;
    let token = env.token("plm").await.unwrap();
    assert!(env.mock.is_access_token_valid(token.access_token.expose()));
    assert_eq!(
        env.stored_refresh_token("plm", StoreKind::Memory)
            .await
            .as_deref(),
        Some(second.as_str())
    );
    // When the store holds the same rejected token: login required.
    revoke(&env.mock, &second).await;
    invalidate(&env, "plm").await;
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LoginRequired);
}

#[tokio::test]
async fn a_refresh_token_stored_before_binding_is_used_then_sealed() {
    let env = Env::public(MockConfig::default()).await;
    let legacy = env
        .mock
        .issue_tokens_for_test(mock_env::PUBLIC, "demo", "")
        .unwrap()
        .refresh_token
        .unwrap();
    // As an older wrs-token stored it: the bare token.
    env.runtime
        .source()
        .stores()
        .set(
            StoreKind::Memory,
            "plm",
            SecretKind::RefreshToken,
            &Secret::new(legacy.clone()),
        )
        .await
        .unwrap();
    assert!(env.token("plm").await.is_ok());
    let stored = env
        .runtime
        .source()
        .stores()
        .get(StoreKind::Memory, "plm", SecretKind::RefreshToken)
        .await
        .unwrap()
        .unwrap();
    let opened = binding::open(stored);
    assert!(!opened.is_legacy(), "sealed after the first refresh");
}
