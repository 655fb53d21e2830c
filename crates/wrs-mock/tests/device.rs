//! The device authorization grant (RFC 8628).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use wrs_mock::{MockConfig, MockServer};
use wrs_testkit::mock_http::*;

async fn begin(mock: &MockServer) -> Value {
    let resp = post_form(
        mock.device_authorization_endpoint(),
        None,
        &[("client_id", PUBLIC), ("scope", "openid WINDCHILL")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    json(resp).await
}

async fn poll(mock: &MockServer, device_code: &str) -> reqwest::Response {
    post_form(
        mock.token_endpoint(),
        None,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", PUBLIC),
            ("device_code", device_code),
        ],
    )
    .await
}

#[tokio::test]
async fn device_authorization_answers_codes_uris_and_interval() {
    let mock = start(MockConfig::default()).await;
    let body = begin(&mock).await;
    let user_code = s(&body["user_code"]);
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .all(|c| c == '-' || c.is_ascii_uppercase())
    );
    assert_eq!(
        body["verification_uri"],
        mock.device_verification_uri().as_str()
    );
    assert!(s(&body["verification_uri_complete"]).ends_with(&format!("?user_code={user_code}")));
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    assert!(s(&body["device_code"]).starts_with("wrsdc_"));
    assert_eq!(mock.counters().device_authorization, 1);
}

#[tokio::test]
async fn polling_is_pending_then_slow_down_grows_the_interval() {
    let mock = start(MockConfig::default()).await;
    let dc = s(&begin(&mock).await["device_code"]);
    expect_error(
        poll(&mock, &dc).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    )
    .await;
    // Too soon.
    mock.advance_clock(Duration::from_secs(2));
    expect_error(poll(&mock, &dc).await, StatusCode::BAD_REQUEST, "slow_down").await;
    // The interval is now 10 s: 6 s later is still too soon.
    mock.advance_clock(Duration::from_secs(6));
    expect_error(poll(&mock, &dc).await, StatusCode::BAD_REQUEST, "slow_down").await;
    // Now 15 s.
    mock.advance_clock(Duration::from_secs(15));
    expect_error(
        poll(&mock, &dc).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    )
    .await;
    assert_eq!(mock.counters().token_device, 4);
}

#[tokio::test]
async fn user_page_approval_lets_the_device_get_tokens_once() {
    let mock = start(MockConfig::default()).await;
    let body = begin(&mock).await;
    let dc = s(&body["device_code"]);
    // The page pre-fills the code from verification_uri_complete.
    let page = client()
        .get(s(&body["verification_uri_complete"]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&s(&body["user_code"])));
    let lower = s(&body["user_code"]).to_lowercase();
    let resp = client()
        .post(mock.device_verification_uri())
        .form(&[
            ("user_code", lower.as_str()),
            ("username", "engineer"),
            ("password", "engineer-password"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("approved"));
    mock.advance_clock(Duration::from_secs(5));
    let tokens = json(poll(&mock, &dc).await).await;
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(tokens["scope"], "openid WINDCHILL");
    let intro = json(
        post_form(
            mock.introspection_endpoint(),
            Some((RS, RS_SECRET)),
            &[("token", tokens["access_token"].as_str().unwrap())],
        )
        .await,
    )
    .await;
    assert_eq!(intro["Username"], "engineer");
    mock.advance_clock(Duration::from_secs(5));
    expect_error(
        poll(&mock, &dc).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(mock.counters().device_user_page, 2);
}

#[tokio::test]
async fn user_page_rejects_wrong_password_and_unknown_codes() {
    let mock = start(MockConfig::default()).await;
    let body = begin(&mock).await;
    let uc = s(&body["user_code"]);
    let resp = client()
        .post(mock.device_verification_uri())
        .form(&[
            ("user_code", uc.as_str()),
            ("username", "demo"),
            ("password", "x"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Invalid username or password")
    );
    let resp = client()
        .post(mock.device_verification_uri())
        .form(&[
            ("user_code", "ZZZZ-ZZZZ"),
            ("username", "demo"),
            ("password", "demo"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    mock.advance_clock(Duration::from_secs(5));
    expect_error(
        poll(&mock, &s(&body["device_code"])).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    )
    .await;
}

#[tokio::test]
async fn denied_device_gets_access_denied() {
    let mock = start(MockConfig::default()).await;
    let body = begin(&mock).await;
    let resp = client()
        .post(mock.device_verification_uri())
        .form(&[
            ("user_code", s(&body["user_code"]).as_str()),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    expect_error(
        poll(&mock, &s(&body["device_code"])).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    )
    .await;
    assert!(
        !mock.approve_device(&s(&body["user_code"])),
        "a decided code cannot be approved"
    );
}

#[tokio::test]
async fn device_code_expires() {
    let mock = start(MockConfig::default().device_code_lifetime(Duration::from_secs(60))).await;
    let body = begin(&mock).await;
    assert_eq!(body["expires_in"], 60);
    mock.advance_clock(Duration::from_secs(61));
    expect_error(
        poll(&mock, &s(&body["device_code"])).await,
        StatusCode::BAD_REQUEST,
        "expired_token",
    )
    .await;
    assert!(!mock.approve_device(&s(&body["user_code"])));
}

#[tokio::test]
async fn test_api_approves_and_denies_devices() {
    let mock = start(MockConfig::default()).await;
    let a = begin(&mock).await;
    let b = begin(&mock).await;
    assert!(mock.approve_device(&s(&a["user_code"])));
    assert!(mock.deny_device(&s(&b["user_code"])));
    assert!(!mock.approve_device("NOPE-NOPE"));
    let tokens = json(poll(&mock, &s(&a["device_code"])).await).await;
    assert!(mock.is_access_token_valid(&s(&tokens["access_token"])));
    expect_error(
        poll(&mock, &s(&b["device_code"])).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    )
    .await;
    // Another client cannot redeem the device code.
    let c = begin(&mock).await;
    assert!(mock.approve_device(&s(&c["user_code"])));
    let resp = post_form(
        mock.token_endpoint(),
        Some((CONF, CONF_SECRET)),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", &s(&c["device_code"])),
        ],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn clients_without_the_device_grant_are_refused() {
    let mock = start(MockConfig::default()).await;
    let resp = post_form(
        mock.device_authorization_endpoint(),
        Some((SERVICE, SERVICE_SECRET)),
        &[],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    let resp = post_form(
        mock.device_authorization_endpoint(),
        None,
        &[("client_id", PUBLIC), ("scope", "root")],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_scope").await;
}
