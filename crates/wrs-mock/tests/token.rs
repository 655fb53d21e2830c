//! The token endpoint: code exchange, client authentication, malformed requests.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::StatusCode;
use wrs_mock::config::{DEMO_SPECIAL_CLIENT, DEMO_SPECIAL_SECRET};
use wrs_mock::{MockConfig, MockServer, RefreshTokenState};
use wrs_testkit::mock_http::*;

async fn code(mock: &MockServer) -> (String, String) {
    let (verifier, challenge) = pkce();
    let resp = client()
        .get(authz_url(mock, PUBLIC, REDIRECT, &challenge, "s"))
        .send()
        .await
        .unwrap();
    (
        param(&location_params(&resp), "code").unwrap().to_string(),
        verifier,
    )
}

async fn exchange(
    mock: &MockServer,
    code: &str,
    redirect: &str,
    verifier: &str,
) -> reqwest::Response {
    post_form(
        mock.token_endpoint(),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn code_exchange_returns_bearer_tokens_with_no_store() {
    let mock = start(
        MockConfig::default()
            .auto_approve(true)
            .access_token_lifetime(Duration::from_secs(7)),
    )
    .await;
    let (code, verifier) = code(&mock).await;
    let resp = exchange(&mock, &code, REDIRECT, &verifier).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body = json(resp).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 7);
    assert!(body["expires_in"].is_u64());
    assert!(s(&body["access_token"]).starts_with("wrsat_"));
    assert!(s(&body["refresh_token"]).starts_with("wrsrt_"));
    assert_eq!(body["scope"], "openid WINDCHILL");
    let c = mock.counters();
    assert_eq!((c.token, c.token_code, c.access_tokens_issued), (1, 1, 1));
}

#[tokio::test]
async fn reused_code_is_invalid_grant_and_revokes_its_tokens() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let (code, verifier) = code(&mock).await;
    let first = json(exchange(&mock, &code, REDIRECT, &verifier).await).await;
    assert!(mock.is_access_token_valid(&s(&first["access_token"])));
    expect_error(
        exchange(&mock, &code, REDIRECT, &verifier).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert!(!mock.is_access_token_valid(&s(&first["access_token"])));
    assert_eq!(
        mock.refresh_token_state(&s(&first["refresh_token"])),
        RefreshTokenState::Revoked
    );
}

#[tokio::test]
async fn code_expires_after_sixty_seconds() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let (code, verifier) = code(&mock).await;
    mock.advance_clock(Duration::from_secs(61));
    expect_error(
        exchange(&mock, &code, REDIRECT, &verifier).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn redirect_uri_must_repeat_the_authorization_requests() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let (code, verifier) = code(&mock).await;
    let other_port = "http://127.0.0.1:49153/callback";
    expect_error(
        exchange(&mock, &code, other_port, &verifier).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn wrong_or_missing_code_verifier_is_invalid_grant() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let (code1, _) = code(&mock).await;
    let wrong = "x".repeat(43);
    expect_error(
        exchange(&mock, &code1, REDIRECT, &wrong).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let (code2, _) = code(&mock).await;
    let resp = post_form(
        mock.token_endpoint(),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC),
            ("code", &code2),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn code_of_one_client_is_invalid_grant_for_another() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let (code, verifier) = code(&mock).await;
    let resp = post_form(
        mock.token_endpoint(),
        Some((CONF, CONF_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

async fn client_credentials(
    mock: &MockServer,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut all = vec![("grant_type", "client_credentials")];
    all.extend_from_slice(form);
    post_form(mock.token_endpoint(), auth, &all).await
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let mock = start(MockConfig::default()).await;
    // Special client: ':' in the id, '+', '%', ':', '/', '=', ' ' in the secret.
    let resp =
        client_credentials(&mock, Some((DEMO_SPECIAL_CLIENT, DEMO_SPECIAL_SECRET)), &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json(resp).await;
    assert!(
        body.get("refresh_token").is_none(),
        "client credentials issue no refresh token"
    );
    // The same secret *not* form-encoded ('+' would decode to a space) fails.
    let raw = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("wrs-special%3Aclient:{DEMO_SPECIAL_SECRET}")
        )
    );
    let resp = client()
        .post(mock.token_endpoint())
        .header("Authorization", raw)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn client_secret_post_works_where_allowed_and_not_elsewhere() {
    let mock = start(MockConfig::default()).await;
    let ok = client_credentials(
        &mock,
        None,
        &[
            ("client_id", DEMO_SPECIAL_CLIENT),
            ("client_secret", DEMO_SPECIAL_SECRET),
        ],
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    // wrs-service allows client_secret_basic only.
    let resp = client_credentials(
        &mock,
        None,
        &[("client_id", SERVICE), ("client_secret", SERVICE_SECRET)],
    )
    .await;
    assert_eq!(
        resp.headers()["www-authenticate"].to_str().unwrap(),
        "Basic realm=\"PingFederate\""
    );
    expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn failed_client_authentication_is_401_invalid_client_with_basic_challenge() {
    let mock = start(MockConfig::default()).await;
    let cases: Vec<reqwest::RequestBuilder> = vec![
        client()
            .post(mock.token_endpoint())
            .header("Authorization", basic(SERVICE, "wrong")),
        client()
            .post(mock.token_endpoint())
            .header("Authorization", basic("nobody", "x")),
        client()
            .post(mock.token_endpoint())
            .header("Authorization", "Basic !!!not-base64"),
        client()
            .post(mock.token_endpoint())
            .header("Authorization", "Basic bm9jb2xvbg=="),
        client()
            .post(mock.token_endpoint())
            .header("Authorization", "Basic JXp6OnNlY3JldA=="),
        client()
            .post(mock.token_endpoint())
            .header("Authorization", "Bearer abc"),
        client().post(mock.token_endpoint()),
    ];
    for req in cases {
        let resp = req
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    // A confidential client sending only its id.
    let resp = client_credentials(&mock, None, &[("client_id", SERVICE)]).await;
    expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn client_credentials_in_the_query_string_are_rejected() {
    let mock = start(MockConfig::default()).await;
    let mut url = mock.token_endpoint();
    url.query_pairs_mut()
        .append_pair("client_id", SERVICE)
        .append_pair("client_secret", SERVICE_SECRET);
    let resp = post_form(url, None, &[("grant_type", "client_credentials")]).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn malformed_requests_get_oauth_errors_not_crashes() {
    let mock = start(MockConfig::default()).await;
    let token = mock.token_endpoint();
    // Not a form.
    let resp = client()
        .post(token.clone())
        .header("Authorization", basic(SERVICE, SERVICE_SECRET))
        .header("Content-Type", "application/json")
        .body("{\"grant_type\":\"client_credentials\"}")
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    // Garbage bytes as a form.
    let resp = client()
        .post(token.clone())
        .header("Authorization", basic(SERVICE, SERVICE_SECRET))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'%', b'&', b'=', b'=', 0x00])
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    // Repeated parameter.
    let resp = client()
        .post(token.clone())
        .header("Authorization", basic(SERVICE, SERVICE_SECRET))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    // Missing and unknown grant types; the password grant does not exist here.
    let resp = post_form(token.clone(), Some((SERVICE, SERVICE_SECRET)), &[]).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    for g in ["password", "urn:x:unknown"] {
        let resp = post_form(
            token.clone(),
            Some((SERVICE, SERVICE_SECRET)),
            &[("grant_type", g)],
        )
        .await;
        expect_error(resp, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
    }
    // A grant the client may not use.
    let resp = post_form(
        token.clone(),
        Some((SERVICE, SERVICE_SECRET)),
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    // Missing code.
    let resp = post_form(
        token,
        None,
        &[("grant_type", "authorization_code"), ("client_id", PUBLIC)],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(mock.counters().token_other, 5);
}

#[tokio::test]
async fn client_credentials_scope_is_checked() {
    let mock = start(MockConfig::default()).await;
    let ok = json(
        client_credentials(
            &mock,
            Some((SERVICE, SERVICE_SECRET)),
            &[("scope", "WINDCHILL")],
        )
        .await,
    )
    .await;
    assert_eq!(ok["scope"], "WINDCHILL");
    let resp =
        client_credentials(&mock, Some((SERVICE, SERVICE_SECRET)), &[("scope", "root")]).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_scope").await;
    assert_eq!(mock.counters().token_client_credentials, 2);
}

#[tokio::test]
async fn public_client_may_send_basic_with_an_empty_secret_but_not_a_secret() {
    let mock = start(MockConfig::default()).await;
    let rt = mock
        .issue_tokens_for_test(PUBLIC, "demo", "")
        .unwrap()
        .refresh_token
        .unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let resp = post_form(mock.token_endpoint(), Some((PUBLIC, "")), &form).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = post_form(mock.token_endpoint(), Some((PUBLIC, "guess")), &form).await;
    expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
}
