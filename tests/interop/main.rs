//! Interop: wrs-oauth against a certified OpenID provider instead of our own
//! mock. `tests/interop/server.mjs` runs panva's oidc-provider (OpenID
//! Certified) under Node; a scripted user agent ([`browser`]) completes its
//! login and consent pages. Each test starts its own provider.
//!
//! Needs Node.js and `npm ci` in tests/interop: `scripts/setup-test-env`.
//! Without them these tests fail, saying so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod provider;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use browser::{Browser, Outcome};
use provider::{ACCOUNT_ID, CI_CLIENT, CI_SECRET, PUBLIC_CLIENT, Provider};
use url::Url;
use wrs_oauth::{
    AuthorizationCode, AuthorizationRequest, ClientAuth, ClientIdentity, ErrorCode, HttpClient,
    HttpConfig, LoopbackListener, OAuthClient, OAuthError, PendingAuthorization, ProviderMetadata,
    Secret, TokenResponse, TokenTypeHint,
};

/// The bound on every test's protocol work (the server is already up).
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What server.mjs sets as the access token lifetime.
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(60);

/// What server.mjs advertises as the device flow's polling interval.
const DEVICE_INTERVAL: Duration = Duration::from_secs(1);

async fn bounded<T>(provider: &Provider, work: impl Future<Output = T>) -> T {
    match tokio::time::timeout(TEST_TIMEOUT, work).await {
        Ok(out) => out,
        Err(_) => panic!(
            "not done within {} s; the provider's log:\n{}",
            TEST_TIMEOUT.as_secs(),
            provider.log()
        ),
    }
}

fn http() -> HttpClient {
    HttpClient::new(&HttpConfig {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        ..HttpConfig::default()
    })
    .unwrap()
}

async fn discover(
    provider: &Provider,
    identity: ClientIdentity,
) -> (OAuthClient, ProviderMetadata) {
    OAuthClient::discover(http(), provider.issuer(), identity)
        .await
        .unwrap_or_else(|e| panic!("discovery: {e}\n{}", provider.log()))
}

/// `openid offline_access`: the refresh token comes with offline_access.
fn offline_scopes() -> Vec<String> {
    vec!["openid".into(), "offline_access".into()]
}

fn assert_invalid_grant(result: Result<TokenResponse, OAuthError>, what: &str) {
    match result {
        Err(err) => {
            assert!(
                matches!(
                    &err,
                    OAuthError::Server {
                        code: ErrorCode::InvalidGrant,
                        status: 400,
                        ..
                    }
                ),
                "{what}: expected invalid_grant, got {err:?}"
            );
            assert!(err.is_login_required(), "{what}: {err:?}");
            assert!(!err.is_transient(), "{what}: {err:?}");
        }
        Ok(_) => panic!("{what}: expected invalid_grant, got tokens"),
    }
}

/// What a browser login gave: the tokens, the redirect the user agent was
/// sent to, and the authorization it completed.
struct Login {
    client: OAuthClient,
    tokens: TokenResponse,
    redirect: Url,
    pending: PendingAuthorization,
    code: AuthorizationCode,
}

/// The whole browser login: authorization URL → login page → consent page
/// → redirect to our loopback listener → code exchange.
async fn browser_login(provider: &Provider) -> Login {
    let (client, _) = discover(provider, ClientIdentity::public(PUBLIC_CLIENT)).await;
    // Ephemeral port; the client is registered with http://127.0.0.1/callback.
    let listener = LoopbackListener::bind(None).await.unwrap();
    let port = listener.port();
    let mut request = AuthorizationRequest::new(listener.redirect_uri());
    request.scopes = offline_scopes();
    // Without it oidc-provider drops offline_access and issues no refresh
    // token (OpenID Connect Core 11).
    request.extra = vec![("prompt".into(), "consent".into())];
    let pending = client.authorize(&request).unwrap();

    let mut browser = Browser::new();
    let user = async {
        let outcome = browser
            .walk(
                pending.url(),
                &[("login", ACCOUNT_ID), ("password", "any")],
                |url| url.host_str() == Some("127.0.0.1") && url.port() == Some(port),
            )
            .await;
        let Outcome::Redirected(redirect) = outcome else {
            panic!("the provider never redirected back: {outcome:?}");
        };
        let (status, page) = browser.get(&redirect).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("Login complete for profile interop"),
            "{page}"
        );
        redirect
    };
    let (code, redirect) = tokio::join!(
        listener.wait(&pending, "interop", Duration::from_secs(20)),
        user
    );
    let code = code.unwrap_or_else(|e| panic!("loopback listener: {e}\n{}", provider.log()));
    let tokens = client
        .exchange_code(&pending, &code)
        .await
        .unwrap_or_else(|e| panic!("code exchange: {e}\n{}", provider.log()));
    Login {
        client,
        tokens,
        redirect,
        pending,
        code,
    }
}

#[tokio::test]
async fn discovery_accepts_the_providers_metadata_and_checks_the_issuer() {
    let provider = Provider::start();
    bounded(&provider, async {
        let (client, metadata) = discover(&provider, ClientIdentity::public(PUBLIC_CLIENT)).await;
        assert_eq!(metadata.issuer, provider.issuer());
        let endpoints = client.endpoints();
        let at = |path: &str| Url::parse(&format!("{}{path}", provider.issuer())).unwrap();
        assert_eq!(endpoints.authorization, Some(at("/auth")));
        assert_eq!(endpoints.token, at("/token"));
        assert_eq!(endpoints.revocation, Some(at("/token/revocation")));
        assert_eq!(endpoints.introspection, Some(at("/token/introspection")));
        assert_eq!(endpoints.device_authorization, Some(at("/device/auth")));
        assert!(
            endpoints.requires_iss,
            "oidc-provider announces RFC 9207 `iss`, so a redirect without it must be refused"
        );
        assert_eq!(
            metadata.code_challenge_methods_supported,
            Some(vec!["S256".to_owned()])
        );

        // One trailing slash in the configured issuer is tolerated …
        OAuthClient::discover(
            http(),
            &format!("{}/", provider.issuer()),
            ClientIdentity::public(PUBLIC_CLIENT),
        )
        .await
        .unwrap();
        // … but the same server under another name is not this issuer.
        let other = provider.issuer().replace("127.0.0.1", "localhost");
        match OAuthClient::discover(http(), &other, ClientIdentity::public(PUBLIC_CLIENT)).await {
            Err(OAuthError::IssuerMismatch { expected, got }) => {
                assert_eq!(expected, other);
                assert_eq!(got, provider.issuer());
            }
            other => panic!("expected an issuer mismatch, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn code_flow_with_pkce_and_loopback_listener_gives_access_and_refresh_tokens() {
    let provider = Provider::start();
    bounded(&provider, async {
        let login = browser_login(&provider).await;
        // RFC 9207: the provider sent `iss`, and the listener accepted it.
        let iss = login
            .redirect
            .query_pairs()
            .find(|(k, _)| k == "iss")
            .map(|(_, v)| v.into_owned());
        assert_eq!(iss.as_deref(), Some(provider.issuer()));
        assert_eq!(login.redirect.path(), "/callback");

        let tokens = &login.tokens;
        assert!(!tokens.access_token.expose().is_empty());
        assert_eq!(tokens.token_type, "Bearer");
        assert_eq!(tokens.expires_in, Some(ACCESS_TOKEN_TTL));
        assert!(tokens.expires_at.is_some());
        assert!(
            tokens.refresh_token.is_some(),
            "offline_access + prompt=consent gives a refresh token"
        );
        assert!(tokens.id_token.is_some(), "openid gives an ID token");
        let scope = tokens.scope.as_deref().unwrap_or_default();
        assert!(scope.split(' ').any(|s| s == "offline_access"), "{scope}");

        // The same code again: codes are single use, and the replay makes
        // the provider revoke what the code gave (RFC 6749 4.1.2).
        let Login {
            client,
            pending,
            code,
            ..
        } = login;
        assert_invalid_grant(client.exchange_code(&pending, &code).await, "code replay");
        let refresh = tokens.refresh_token.as_ref().unwrap();
        assert_invalid_grant(
            client.refresh(refresh, &[], None).await,
            "refresh token of a replayed code",
        );
    })
    .await;
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_is_then_invalid_grant() {
    let provider = Provider::start();
    bounded(&provider, async {
        let Login { client, tokens, .. } = browser_login(&provider).await;
        let first = tokens.refresh_token.unwrap();

        let renewed = client.refresh(&first, &[], None).await.unwrap();
        let second = renewed
            .refresh_token
            .expect("rotation: a new refresh token");
        assert_ne!(second.expose(), first.expose());
        assert_ne!(renewed.access_token.expose(), tokens.access_token.expose());
        assert_eq!(renewed.expires_in, Some(ACCESS_TOKEN_TTL));

        assert_invalid_grant(
            client.refresh(&first, &[], None).await,
            "rotated-out refresh token",
        );
        // oidc-provider treats that replay as theft and revokes the whole
        // grant, the new refresh token included: the daemon must never send
        // an old refresh token (it persists the new one before anything else).
        assert_invalid_grant(
            client.refresh(&second, &[], None).await,
            "refresh token of a grant revoked by replay",
        );
    })
    .await;
}

#[tokio::test]
async fn client_credentials_with_client_secret_basic() {
    let provider = Provider::start();
    bounded(&provider, async {
        let identity = ClientIdentity::confidential(
            CI_CLIENT,
            Secret::new(CI_SECRET),
            ClientAuth::ClientSecretBasic,
        );
        let (client, _) = discover(&provider, identity).await;
        let tokens = client
            .client_credentials(&["wrs:read".to_owned()], None)
            .await
            .unwrap_or_else(|e| panic!("client credentials: {e}\n{}", provider.log()));
        assert!(!tokens.access_token.expose().is_empty());
        assert_eq!(tokens.token_type, "Bearer");
        assert_eq!(tokens.expires_in, Some(ACCESS_TOKEN_TTL));
        assert_eq!(tokens.scope.as_deref(), Some("wrs:read"));
        assert!(tokens.refresh_token.is_none());

        // A wrong secret is a configuration error, not "log in again".
        let wrong = ClientIdentity::confidential(
            CI_CLIENT,
            Secret::new("not the secret"),
            ClientAuth::ClientSecretBasic,
        );
        let (client, _) = discover(&provider, wrong).await;
        let err = client.client_credentials(&[], None).await.unwrap_err();
        assert!(
            matches!(
                &err,
                OAuthError::Server {
                    code: ErrorCode::InvalidClient,
                    status: 401,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_login_required() && !err.is_transient(), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn revoked_refresh_token_is_inactive_and_then_invalid_grant() {
    let provider = Provider::start();
    bounded(&provider, async {
        let Login { client, tokens, .. } = browser_login(&provider).await;
        let refresh = tokens.refresh_token.unwrap();
        assert!(client.can_revoke());

        let before = client
            .introspect(&refresh, TokenTypeHint::RefreshToken)
            .await
            .unwrap();
        assert!(before.active, "{before:?}");
        assert_eq!(before.client_id.as_deref(), Some(PUBLIC_CLIENT));

        client
            .revoke(&refresh, TokenTypeHint::RefreshToken)
            .await
            .unwrap();
        let after = client
            .introspect(&refresh, TokenTypeHint::RefreshToken)
            .await
            .unwrap();
        assert!(!after.active, "{after:?}");
        assert_invalid_grant(
            client.refresh(&refresh, &[], None).await,
            "revoked refresh token",
        );
        // RFC 7009 2.2: revoking an unknown token is still a success.
        client
            .revoke(&refresh, TokenTypeHint::RefreshToken)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn device_flow_polls_until_the_user_approves() {
    let provider = Provider::start();
    bounded(&provider, async {
        let (client, _) = discover(&provider, ClientIdentity::public(PUBLIC_CLIENT)).await;
        let device = client.begin_device(&offline_scopes(), None).await.unwrap();
        assert_eq!(device.interval, DEVICE_INTERVAL);
        assert_eq!(
            device.verification_uri,
            format!("{}/device", provider.issuer())
        );
        assert!(device.verification_uri_complete.is_some());

        // The user starts only after the first poll was told
        // `authorization_pending`, so that answer is always exercised.
        let polls = Arc::new(AtomicUsize::new(0));
        let user_may_start = Arc::new(tokio::sync::Notify::new());
        let sleep = {
            let polls = Arc::clone(&polls);
            let user_may_start = Arc::clone(&user_may_start);
            move |interval: Duration| {
                assert_eq!(interval, DEVICE_INTERVAL, "the advertised interval is used");
                if polls.fetch_add(1, Ordering::SeqCst) == 1 {
                    user_may_start.notify_one();
                }
                tokio::time::sleep(interval)
            }
        };
        let user = async {
            user_may_start.notified().await;
            // The user types the code shown on the device at verification_uri.
            let verification = Url::parse(&device.verification_uri).unwrap();
            let outcome = Browser::new()
                .walk(
                    &verification,
                    &[
                        ("user_code", device.user_code.as_str()),
                        ("login", ACCOUNT_ID),
                        ("password", "any"),
                    ],
                    |_| false,
                )
                .await;
            let Outcome::Page(page) = outcome else {
                panic!("unexpected end of the device pages: {outcome:?}");
            };
            assert!(page.contains("Sign-in Success"), "{page}");
        };
        let (tokens, ()) = tokio::join!(client.poll_device_with_sleep(&device, sleep), user);
        let tokens = tokens.unwrap_or_else(|e| panic!("device polling: {e}\n{}", provider.log()));
        assert!(
            polls.load(Ordering::SeqCst) >= 2,
            "at least one authorization_pending"
        );
        assert_eq!(tokens.expires_in, Some(ACCESS_TOKEN_TTL));
        let refresh = tokens
            .refresh_token
            .expect("offline_access gives a refresh token");
        // The device grant's refresh token works like any other.
        let renewed = client.refresh(&refresh, &[], None).await.unwrap();
        assert!(renewed.refresh_token.is_some());
    })
    .await;
}
