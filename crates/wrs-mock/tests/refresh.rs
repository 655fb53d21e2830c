//! The refresh-token grant: rolling, grace, reuse detection, lifetimes, scope.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::StatusCode;
use wrs_mock::{MockConfig, RefreshTokenState};
use wrs_testkit::mock_http::*;

#[tokio::test]
async fn without_rolling_the_same_refresh_token_keeps_working() {
    let mock = start(MockConfig::default()).await;
    let tokens = code_flow_tokens(&mock).await;
    let rt = s(&tokens["refresh_token"]);
    for _ in 0..3 {
        let body = json(refresh(&mock, &rt).await).await;
        assert_eq!(s(&body["refresh_token"]), rt);
        assert_ne!(body["access_token"], tokens["access_token"]);
    }
    assert_eq!(mock.counters().token_refresh, 3);
    assert_eq!(mock.refresh_token_state(&rt), RefreshTokenState::Active);
}

#[tokio::test]
async fn echo_switch_leaves_refresh_token_out_of_refresh_responses() {
    let mock = start(MockConfig::default().echo_refresh_token(false)).await;
    let rt = s(&code_flow_tokens(&mock).await["refresh_token"]);
    let body = json(refresh(&mock, &rt).await).await;
    assert!(body.get("refresh_token").is_none());
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn rolling_issues_a_new_refresh_token_and_retires_the_old_one() {
    let mock = start(MockConfig::default().roll_refresh_tokens(true)).await;
    let rt0 = s(&code_flow_tokens(&mock).await["refresh_token"]);
    let rt1 = s(&json(refresh(&mock, &rt0).await).await["refresh_token"]);
    assert_ne!(rt0, rt1);
    assert_eq!(mock.refresh_token_state(&rt0), RefreshTokenState::Rolled);
    expect_error(
        refresh(&mock, &rt0).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    // Without the revoke switch the new generation survives the reuse.
    let rt2 = s(&json(refresh(&mock, &rt1).await).await["refresh_token"]);
    assert_ne!(rt2, rt1);
}

#[tokio::test]
async fn rolled_token_within_grace_returns_the_current_generation() {
    let config = MockConfig::default()
        .roll_refresh_tokens(true)
        .roll_grace_period(Duration::from_secs(30));
    let mock = start(config).await;
    let rt0 = s(&code_flow_tokens(&mock).await["refresh_token"]);
    let rt1 = s(&json(refresh(&mock, &rt0).await).await["refresh_token"]);
    mock.advance_clock(Duration::from_secs(10));
    let again = json(refresh(&mock, &rt0).await).await;
    assert_eq!(
        s(&again["refresh_token"]),
        rt1,
        "grace reuse mints no new generation"
    );
    assert!(mock.is_access_token_valid(&s(&again["access_token"])));
    mock.advance_clock(Duration::from_secs(21));
    expect_error(
        refresh(&mock, &rt0).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(mock.refresh_token_state(&rt1), RefreshTokenState::Active);
}

#[tokio::test]
async fn reuse_after_grace_revokes_the_whole_grant_when_switched_on() {
    let config = MockConfig::default()
        .roll_refresh_tokens(true)
        .revoke_grant_on_reuse(true);
    let mock = start(config).await;
    let rt0 = s(&code_flow_tokens(&mock).await["refresh_token"]);
    let newer = json(refresh(&mock, &rt0).await).await;
    let rt1 = s(&newer["refresh_token"]);
    let at1 = s(&newer["access_token"]);
    expect_error(
        refresh(&mock, &rt0).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(mock.refresh_token_state(&rt1), RefreshTokenState::Revoked);
    assert!(!mock.is_access_token_valid(&at1));
    expect_error(
        refresh(&mock, &rt1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn refresh_token_expires_after_idle_lifetime_but_use_keeps_it_alive() {
    let mock =
        start(MockConfig::default().refresh_token_idle_lifetime(Duration::from_secs(100))).await;
    let rt = s(&code_flow_tokens(&mock).await["refresh_token"]);
    mock.advance_clock(Duration::from_secs(90));
    assert_eq!(refresh(&mock, &rt).await.status(), StatusCode::OK);
    mock.advance_clock(Duration::from_secs(90));
    assert_eq!(refresh(&mock, &rt).await.status(), StatusCode::OK);
    mock.advance_clock(Duration::from_secs(101));
    assert_eq!(mock.refresh_token_state(&rt), RefreshTokenState::Expired);
    expect_error(
        refresh(&mock, &rt).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn refresh_token_expires_at_max_lifetime_even_when_used() {
    let config = MockConfig::default()
        .roll_refresh_tokens(true)
        .refresh_token_idle_lifetime(Duration::from_secs(100))
        .refresh_token_max_lifetime(Duration::from_secs(250));
    let mock = start(config).await;
    let mut rt = s(&code_flow_tokens(&mock).await["refresh_token"]);
    for _ in 0..2 {
        mock.advance_clock(Duration::from_secs(90));
        rt = s(&json(refresh(&mock, &rt).await).await["refresh_token"]);
    }
    mock.advance_clock(Duration::from_secs(90));
    expect_error(
        refresh(&mock, &rt).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn refresh_token_of_client_a_is_invalid_grant_for_client_b() {
    let mock = start(MockConfig::default()).await;
    let rt = s(&code_flow_tokens(&mock).await["refresh_token"]);
    let resp = post_form(
        mock.token_endpoint(),
        Some((CONF, CONF_SECRET)),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_grant").await;
    expect_error(
        refresh(&mock, "wrsrt_unknown").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn refresh_scope_may_narrow_but_not_widen() {
    let mock = start(MockConfig::default()).await;
    let rt = s(&code_flow_tokens(&mock).await["refresh_token"]);
    let form = |scope| {
        [
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC),
            ("refresh_token", rt.as_str()),
            ("scope", scope),
        ]
    };
    let narrow = json(post_form(mock.token_endpoint(), None, &form("WINDCHILL")).await).await;
    assert_eq!(narrow["scope"], "WINDCHILL");
    let resp = post_form(mock.token_endpoint(), None, &form("WINDCHILL profile")).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_scope").await;
    // Omitted scope = the original grant.
    let full = json(refresh(&mock, &rt).await).await;
    assert_eq!(full["scope"], "openid WINDCHILL");
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let mock = start(MockConfig::default().access_token_lifetime(Duration::from_secs(1))).await;
    let tokens = code_flow_tokens(&mock).await;
    assert_eq!(tokens["expires_in"], 1);
    let at = s(&tokens["access_token"]);
    assert!(mock.is_access_token_valid(&at));
    mock.advance_clock(Duration::from_millis(1001));
    assert!(!mock.is_access_token_valid(&at));
}

#[tokio::test]
async fn issued_test_tokens_refresh_like_real_ones() {
    let mock = start(MockConfig::default()).await;
    let set = mock
        .issue_tokens_for_test(PUBLIC, "engineer", "openid offline_access")
        .unwrap();
    assert_eq!(set.scope, "openid offline_access");
    let rt = set.refresh_token.unwrap();
    let body = json(refresh(&mock, &rt).await).await;
    assert_eq!(body["scope"], "openid offline_access");
    assert!(mock.issue_tokens_for_test("nobody", "demo", "").is_err());
}
