//! The happy paths (and the server's refusals) against the real `wrs-mock`
//! over HTTP: discovery, code flow via the loopback listener and by paste,
//! device flow, client credentials, refresh, revocation, introspection.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use wrs_mock::config::{DEMO_PUBLIC_CLIENT, DEMO_SPECIAL_CLIENT, DEMO_SPECIAL_SECRET};
use wrs_mock::{Endpoint, Fault, MockConfig};
use wrs_oauth::{
    AuthorizationRequest, ClientAuth, ClientIdentity, ErrorCode, LoopbackListener, OAuthClient,
    OAuthError, Secret, TokenTypeHint, discover,
};
use wrs_testkit::oauth_clients::*;

fn scopes() -> Vec<String> {
    vec!["openid".into(), "offline_access".into()]
}

#[tokio::test]
async fn discovery_finds_the_endpoints_and_checks_the_issuer() {
    let mock = start(MockConfig::default()).await;
    let metadata = discover(&http(), &mock.issuer()).await.unwrap();
    let endpoints = metadata.endpoints().unwrap();
    assert_eq!(endpoints.token, mock.token_endpoint());
    assert_eq!(endpoints.authorization, Some(mock.authorization_endpoint()));
    assert_eq!(endpoints.revocation, Some(mock.revocation_endpoint()));
    assert_eq!(
        endpoints.device_authorization,
        Some(mock.device_authorization_endpoint())
    );
    assert!(endpoints.requires_iss);

    // A trailing slash on the configured issuer is tolerated.
    discover(&http(), &format!("{}/", mock.issuer()))
        .await
        .unwrap();

    // The same server under another name is not the configured issuer.
    let other = mock.issuer().replace("127.0.0.1", "localhost");
    match discover(&http(), &other).await {
        Err(OAuthError::IssuerMismatch { expected, got }) => {
            assert_eq!(expected, other);
            assert_eq!(got, mock.issuer());
        }
        res => panic!("unexpected {res:?}"),
    }
}

#[tokio::test]
async fn discovery_falls_back_to_rfc8414_and_handles_issuer_paths() {
    let mock = start(MockConfig::default().issuer_path("/tenant-1")).await;
    mock.set_fault(
        Endpoint::Discovery,
        Fault::Status {
            code: 404,
            retry_after: None,
            body: None,
        },
        Some(1),
    );
    let metadata = discover(&http(), &mock.issuer()).await.unwrap();
    assert_eq!(metadata.issuer, mock.issuer());
    assert_eq!(
        mock.counters().discovery,
        2,
        "OIDC location first, then RFC 8414"
    );

    mock.set_fault(
        Endpoint::Discovery,
        Fault::Status {
            code: 404,
            retry_after: None,
            body: None,
        },
        None,
    );
    assert!(matches!(
        discover(&http(), &mock.issuer()).await,
        Err(OAuthError::Discovery(_))
    ));
}

#[tokio::test]
async fn code_flow_through_the_loopback_listener() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let (client, _) = OAuthClient::discover(
        http(),
        &mock.issuer(),
        ClientIdentity::public(DEMO_PUBLIC_CLIENT),
    )
    .await
    .unwrap();
    let listener = LoopbackListener::bind(None).await.unwrap();
    let mut request = AuthorizationRequest::new(listener.redirect_uri());
    request.scopes = scopes();
    let pending = client.authorize(&request).unwrap();

    let url = pending.url().clone();
    let browser = tokio::spawn(async move {
        let location = follow_authorization(&url, &http_config()).await;
        get_page(&location).await
    });
    let code = listener
        .wait(&pending, "plm-prod", Duration::from_secs(10))
        .await
        .unwrap();
    let (status, page) = browser.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("Login complete for profile plm-prod"),
        "{page}"
    );

    let before = SystemTime::now();
    let tokens = client.exchange_code(&pending, &code).await.unwrap();
    assert!(!tokens.access_token.is_empty());
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(3600)));
    assert!(tokens.sent_at >= before);
    assert_eq!(
        tokens.expires_at,
        Some(tokens.sent_at + Duration::from_secs(3600))
    );
    assert_eq!(mock.counters().token_code, 1);

    // The code is single-use.
    let again = client.exchange_code(&pending, &code).await.unwrap_err();
    assert_eq!(again.code(), Some(&ErrorCode::InvalidGrant));
}

#[tokio::test]
async fn code_flow_by_pasting_the_redirect() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let client = confidential(&mock, ClientAuth::ClientSecretBasic);
    for bare_query in [false, true] {
        let mut request = AuthorizationRequest::new("http://127.0.0.1/callback");
        request.scopes = scopes();
        let pending = client.authorize(&request).unwrap();
        let location = follow_authorization(pending.url(), &http_config()).await;
        assert_eq!(
            location.query_pairs().find(|(k, _)| k == "iss").unwrap().1,
            mock.issuer()
        );
        let pasted = if bare_query {
            location.query().unwrap().to_owned()
        } else {
            location.to_string()
        };
        let code = pending.parse_pasted(&pasted).unwrap();
        let tokens = client.exchange_code(&pending, &code).await.unwrap();
        assert!(tokens.refresh_token.is_some());
    }
}

#[tokio::test]
async fn code_from_another_login_is_rejected() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let client = public(&mock);
    let pending = client
        .authorize(&AuthorizationRequest::new("http://127.0.0.1:4000/callback"))
        .unwrap();
    let location = follow_authorization(pending.url(), &http_config()).await;
    let code = pending.parse_pasted(location.as_str()).unwrap();
    // Same code, but a login started with another redirect URI (and verifier).
    let other = client
        .authorize(&AuthorizationRequest::new("http://127.0.0.1:4001/callback"))
        .unwrap();
    let err = client.exchange_code(&other, &code).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidGrant), "{err}");
}

#[tokio::test]
async fn authorization_error_redirect_is_typed() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    mock.set_fault(
        Endpoint::Authorization,
        Fault::OAuthError {
            error: "access_denied".into(),
            description: Some("User cancelled".into()),
            status: 302,
        },
        Some(1),
    );
    let client = public(&mock);
    let pending = client
        .authorize(&AuthorizationRequest::new("http://127.0.0.1/callback"))
        .unwrap();
    let location = follow_authorization(pending.url(), &http_config()).await;
    match pending.parse_pasted(location.as_str()) {
        Err(OAuthError::Authorization {
            code: ErrorCode::AccessDenied,
            description,
        }) => {
            assert_eq!(description.as_deref(), Some("User cancelled"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A sleep for the device flow that moves the mock's clock instead of
/// waiting, and records the intervals asked for.
fn recorder() -> Arc<Mutex<Vec<u64>>> {
    Arc::new(Mutex::new(Vec::new()))
}

#[tokio::test]
async fn device_flow_polls_until_approved() {
    let mock = start(MockConfig::default()).await;
    let client = public(&mock);
    let device = client.begin_device(&scopes(), None).await.unwrap();
    assert_eq!(device.interval, Duration::from_secs(5));
    assert!(
        device
            .verification_uri
            .starts_with(mock.base_url().as_str())
    );
    assert!(!format!("{device:?}").contains(device.device_code.expose()));

    let slept = recorder();
    let tokens = client
        .poll_device_with_sleep(&device, |d| {
            let mut slept = slept.lock().unwrap();
            slept.push(d.as_secs());
            mock.advance_clock(d);
            if slept.len() == 2 {
                assert!(mock.approve_device(&device.user_code));
            }
            std::future::ready(())
        })
        .await
        .unwrap();
    assert!(tokens.refresh_token.is_some());
    assert_eq!(
        *slept.lock().unwrap(),
        vec![5, 5],
        "one authorization_pending, then the token"
    );
    assert_eq!(mock.counters().token_device, 2);
}

#[tokio::test]
async fn device_flow_slows_down_when_told() {
    let mock = start(MockConfig::default()).await;
    let client = public(&mock);
    let device = client.begin_device(&scopes(), None).await.unwrap();
    let slept = recorder();
    client
        .poll_device_with_sleep(&device, |d| {
            let mut slept = slept.lock().unwrap();
            slept.push(d.as_secs());
            // The second poll comes too early (the clock does not move).
            if slept.len() != 2 {
                mock.advance_clock(d);
            }
            if slept.len() == 3 {
                assert!(mock.approve_device(&device.user_code));
            }
            std::future::ready(())
        })
        .await
        .unwrap();
    assert_eq!(*slept.lock().unwrap(), vec![5, 5, 10], "slow_down adds 5 s");
}

#[tokio::test]
async fn device_flow_backs_off_on_transient_errors() {
    let mock = start(MockConfig::default()).await;
    let client = public(&mock);
    let device = client.begin_device(&scopes(), None).await.unwrap();
    mock.set_fault(
        Endpoint::Token,
        Fault::Status {
            code: 503,
            retry_after: None,
            body: None,
        },
        Some(1),
    );
    let slept = recorder();
    client
        .poll_device_with_sleep(&device, |d| {
            let mut slept = slept.lock().unwrap();
            slept.push(d.as_secs());
            mock.advance_clock(d);
            if slept.len() == 2 {
                assert!(mock.approve_device(&device.user_code));
            }
            std::future::ready(())
        })
        .await
        .unwrap();
    assert_eq!(
        *slept.lock().unwrap(),
        vec![5, 10],
        "a 503 doubles the interval"
    );
}

#[tokio::test]
async fn device_flow_reports_denied_and_expired() {
    let mock = start(MockConfig::default()).await;
    let client = public(&mock);

    let device = client.begin_device(&scopes(), None).await.unwrap();
    assert!(mock.deny_device(&device.user_code));
    let err = client
        .poll_device_with_sleep(&device, |d| {
            mock.advance_clock(d);
            std::future::ready(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::AccessDenied));
    assert!(!err.is_transient());

    let device = client.begin_device(&scopes(), None).await.unwrap();
    let err = client
        .poll_device_with_sleep(&device, |d| {
            mock.advance_clock(d + Duration::from_secs(600));
            std::future::ready(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ExpiredToken), "{err}");
}

#[tokio::test]
async fn device_flow_gives_up_locally_when_the_server_never_decides() {
    let mock = start(MockConfig::default().device_code_lifetime(Duration::from_secs(30))).await;
    let client = public(&mock);
    let device = client.begin_device(&scopes(), None).await.unwrap();
    assert_eq!(device.expires_in, Duration::from_secs(30));
    // The mock's clock never moves: every poll is pending or slow_down.
    let err = client
        .poll_device_with_sleep(&device, |_| std::future::ready(()))
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::DeviceCodeExpired { .. }), "{err}");
}

#[tokio::test]
async fn device_flow_default_sleep_waits_the_interval() {
    // Paused tokio time would also auto-advance the HTTP timeouts while the
    // runtime waits on real sockets, so this one sleeps for real: 1 s.
    let mock = start(MockConfig::default().device_poll_interval(Duration::from_secs(1))).await;
    let client = public(&mock);
    let device = client.begin_device(&scopes(), None).await.unwrap();
    assert_eq!(device.interval, Duration::from_secs(1));
    assert!(mock.approve_device(&device.user_code));
    let started = std::time::Instant::now();
    let tokens = client.poll_device(&device).await.unwrap();
    assert!(!tokens.access_token.is_empty());
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn client_credentials_with_basic_and_post_and_special_characters() {
    let mock = start(MockConfig::default()).await;
    let tokens = service(&mock).client_credentials(&[], None).await.unwrap();
    assert!(!tokens.access_token.is_empty());
    assert!(tokens.refresh_token.is_none());
    assert_eq!(mock.counters().token_client_credentials, 1);

    // `+`, `%`, `:`, `/`, `=` and a space in id and secret: form-urlencoded before base64.
    for auth in [ClientAuth::ClientSecretBasic, ClientAuth::ClientSecretPost] {
        let identity = ClientIdentity::confidential(
            DEMO_SPECIAL_CLIENT,
            Secret::new(DEMO_SPECIAL_SECRET),
            auth,
        );
        let client = client_with(&mock, http(), identity);
        client
            .client_credentials(&[], None)
            .await
            .unwrap_or_else(|e| panic!("{auth:?}: {e}"));
    }
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let mock = start(MockConfig::default()).await;
    for auth in [ClientAuth::ClientSecretBasic, ClientAuth::ClientSecretPost] {
        let identity =
            ClientIdentity::confidential(DEMO_SPECIAL_CLIENT, Secret::new("wrong-secret"), auth);
        let err = client_with(&mock, http(), identity)
            .client_credentials(&[], None)
            .await
            .unwrap_err();
        match &err {
            OAuthError::Server {
                code: ErrorCode::InvalidClient,
                status,
                ..
            } => assert!(*status == 401 || *status == 400),
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.is_transient());
        assert!(!err.to_string().contains("wrong-secret"));
    }
}

#[tokio::test]
async fn refresh_without_rotation_keeps_or_repeats_the_refresh_token() {
    for echo in [true, false] {
        let mock = start(MockConfig::default().echo_refresh_token(echo)).await;
        let client = public(&mock);
        let set = mock
            .issue_tokens_for_test(DEMO_PUBLIC_CLIENT, "demo", "")
            .unwrap();
        let old = Secret::new(set.refresh_token.unwrap());
        let first = client.refresh(&old, &[], None).await.unwrap();
        assert_ne!(first.access_token.expose(), set.access_token);
        if echo {
            assert_eq!(first.refresh_token.as_ref(), Some(&old));
        } else {
            assert!(
                first.refresh_token.is_none(),
                "no refresh_token: the caller keeps the old one"
            );
        }
        // The old one still works either way.
        client.refresh(&old, &[], None).await.unwrap();
        assert_eq!(
            mock.counters().token_refresh,
            2,
            "one request per refresh, no hidden retries"
        );
    }
}

#[tokio::test]
async fn refresh_with_rotation_returns_a_new_token_and_retires_the_old() {
    let mock = start(MockConfig::default().roll_refresh_tokens(true)).await;
    let client = public(&mock);
    let set = mock
        .issue_tokens_for_test(DEMO_PUBLIC_CLIENT, "demo", "")
        .unwrap();
    let old = Secret::new(set.refresh_token.unwrap());
    let rotated = client.refresh(&old, &[], None).await.unwrap();
    let new = rotated.refresh_token.clone().unwrap();
    assert_ne!(new, old);
    let err = client.refresh(&old, &[], None).await.unwrap_err();
    assert!(err.is_login_required(), "{err}");
    assert!(!err.is_transient());
    client.refresh(&new, &[], None).await.unwrap();
}

#[tokio::test]
async fn revocation_makes_the_refresh_token_invalid_grant() {
    let mock = start(MockConfig::default()).await;
    let client = confidential(&mock, ClientAuth::ClientSecretBasic);
    let set = mock
        .issue_tokens_for_test(wrs_mock::config::DEMO_CONFIDENTIAL_CLIENT, "demo", "")
        .unwrap();
    let refresh = Secret::new(set.refresh_token.unwrap());
    assert!(client.can_revoke());
    client
        .revoke(&refresh, TokenTypeHint::RefreshToken)
        .await
        .unwrap();
    assert_eq!(mock.counters().revocation, 1);
    let err = client.refresh(&refresh, &[], None).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidGrant));
    // Revoking an unknown token is still a success (RFC 7009 2.2).
    client
        .revoke(&Secret::new("unknown"), TokenTypeHint::RefreshToken)
        .await
        .unwrap();
}

#[tokio::test]
async fn introspection_reports_active_tokens() {
    let mock = start(MockConfig::default()).await;
    let set = mock
        .issue_tokens_for_test(DEMO_PUBLIC_CLIENT, "demo", "")
        .unwrap();
    let resource = client_with(
        &mock,
        http(),
        ClientIdentity::confidential(
            wrs_mock::config::DEMO_RESOURCE_CLIENT,
            Secret::new(wrs_mock::config::DEMO_RESOURCE_SECRET),
            ClientAuth::ClientSecretBasic,
        ),
    );
    let info = resource
        .introspect(&Secret::new(set.access_token), TokenTypeHint::AccessToken)
        .await
        .unwrap();
    assert!(info.active);
    assert_eq!(info.client_id.as_deref(), Some(DEMO_PUBLIC_CLIENT));
    let info = resource
        .introspect(&Secret::new("nope"), TokenTypeHint::AccessToken)
        .await
        .unwrap();
    assert!(!info.active);
}

/// A server asking for an absurd polling interval must not hold a login
/// past its code's expiry: the wait is cut at the expiry, and the login
/// ends there as expired.
#[tokio::test]
async fn an_absurd_device_interval_is_cut_at_the_codes_expiry() {
    let mock = start(
        MockConfig::default()
            .device_poll_interval(Duration::from_secs(365 * 86_400))
            .device_code_lifetime(Duration::from_secs(600)),
    )
    .await;
    let client = public(&mock);
    let device = client.begin_device(&scopes(), None).await.unwrap();
    assert_eq!(device.interval, Duration::from_secs(600));
    let slept = recorder();
    let err = client
        .poll_device_with_sleep(&device, |d| {
            slept.lock().unwrap().push(d.as_secs());
            mock.advance_clock(d);
            std::future::ready(())
        })
        .await
        .unwrap_err();
    // The one poll, at the expiry, hears that the code expired.
    assert_eq!(
        err.code().map(|c| c.as_str()),
        Some("expired_token"),
        "{err:?}"
    );
    assert_eq!(*slept.lock().unwrap(), vec![600]);
}
