//! Revocation (RFC 7009), introspection (RFC 7662) and discovery.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::StatusCode;
use wrs_mock::{MockConfig, RefreshTokenState};
use wrs_testkit::mock_http::*;

async fn revoke(mock: &wrs_mock::MockServer, token: &str) -> reqwest::Response {
    post_form(
        mock.revocation_endpoint(),
        None,
        &[
            ("client_id", PUBLIC),
            ("token", token),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_the_grant_and_its_access_tokens() {
    let mock = start(MockConfig::default()).await;
    let tokens = code_flow_tokens(&mock).await;
    let rt = s(&tokens["refresh_token"]);
    let at = s(&tokens["access_token"]);
    let resp = revoke(&mock, &rt).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(mock.refresh_token_state(&rt), RefreshTokenState::Revoked);
    assert!(!mock.is_access_token_valid(&at));
    expect_error(
        refresh(&mock, &rt).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(mock.revocation_count(&rt), 1);
    assert_eq!(mock.counters().revocation, 1);
}

#[tokio::test]
async fn revoking_unknown_or_already_revoked_tokens_is_200_and_counted() {
    let mock = start(MockConfig::default()).await;
    assert_eq!(
        revoke(&mock, "no-such-token").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        revoke(&mock, "no-such-token").await.status(),
        StatusCode::OK
    );
    assert_eq!(mock.revocation_count("no-such-token"), 2);
    assert_eq!(mock.revocation_count("other"), 0);
    let resp = post_form(mock.revocation_endpoint(), None, &[("client_id", PUBLIC)]).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn revoking_an_access_token_leaves_the_refresh_token() {
    let mock = start(MockConfig::default()).await;
    let tokens = code_flow_tokens(&mock).await;
    let at = s(&tokens["access_token"]);
    assert_eq!(revoke(&mock, &at).await.status(), StatusCode::OK);
    assert!(!mock.is_access_token_valid(&at));
    assert_eq!(
        refresh(&mock, &s(&tokens["refresh_token"])).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn another_clients_token_is_not_revoked() {
    let mock = start(MockConfig::default()).await;
    let rt = s(&code_flow_tokens(&mock).await["refresh_token"]);
    let resp = post_form(
        mock.revocation_endpoint(),
        Some((CONF, CONF_SECRET)),
        &[("token", &rt)],
    )
    .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    assert_eq!(mock.refresh_token_state(&rt), RefreshTokenState::Active);
    let resp = post_form(
        mock.revocation_endpoint(),
        Some((CONF, "wrong")),
        &[("token", &rt)],
    )
    .await;
    expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn introspection_describes_active_tokens_and_reports_others_inactive() {
    let mock = start(MockConfig::default()).await;
    let tokens = code_flow_tokens(&mock).await;
    let at = s(&tokens["access_token"]);
    let resp = post_form(
        mock.introspection_endpoint(),
        Some((RS, RS_SECRET)),
        &[("token", &at)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json(resp).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], PUBLIC);
    assert_eq!(body["Username"], "demo");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid WINDCHILL");
    assert_eq!(
        body["exp"].as_u64().unwrap() - body["iat"].as_u64().unwrap(),
        3600
    );
    for token in ["garbage", s(&tokens["refresh_token"]).as_str()] {
        let body = json(
            post_form(
                mock.introspection_endpoint(),
                Some((RS, RS_SECRET)),
                &[("token", token)],
            )
            .await,
        )
        .await;
        assert_eq!(body, serde_json::json!({ "active": false }));
    }
    mock.advance_clock(Duration::from_secs(3601));
    let body = json(
        post_form(
            mock.introspection_endpoint(),
            Some((RS, RS_SECRET)),
            &[("token", &at)],
        )
        .await,
    )
    .await;
    assert_eq!(body["active"], false);
    assert_eq!(mock.counters().introspection, 4);
}

#[tokio::test]
async fn introspection_requires_a_confidential_client() {
    let mock = start(MockConfig::default()).await;
    let at = s(&code_flow_tokens(&mock).await["access_token"]);
    let resp = post_form(
        mock.introspection_endpoint(),
        None,
        &[("client_id", PUBLIC), ("token", &at)],
    )
    .await;
    expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let resp = post_form(mock.introspection_endpoint(), None, &[("token", &at)]).await;
    expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn discovery_has_pingfederate_issuer_and_metadata() {
    let mock = start(MockConfig::default()).await;
    let body = json(client().get(mock.discovery_url()).send().await.unwrap()).await;
    let issuer = s(&body["issuer"]);
    assert!(!issuer.ends_with('/'));
    assert_eq!(issuer, mock.issuer());
    assert_eq!(format!("{issuer}/"), mock.base_url().as_str());
    assert_eq!(body["token_endpoint"], mock.token_endpoint().as_str());
    assert_eq!(
        body["authorization_endpoint"],
        mock.authorization_endpoint().as_str()
    );
    assert_eq!(
        body["revocation_endpoint"],
        mock.revocation_endpoint().as_str()
    );
    assert_eq!(
        body["introspection_endpoint"],
        mock.introspection_endpoint().as_str()
    );
    assert_eq!(
        body["device_authorization_endpoint"],
        mock.device_authorization_endpoint().as_str()
    );
    assert_eq!(
        body["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        body["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(body["authorization_response_iss_parameter_supported"], true);
    let grants = body["grant_types_supported"].as_array().unwrap();
    for g in [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        assert!(grants.iter().any(|v| v == g), "{g}");
    }
    let methods = body["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    for m in ["client_secret_basic", "client_secret_post", "none"] {
        assert!(methods.iter().any(|v| v == m), "{m}");
    }
    assert!(
        body["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "openid")
    );
    assert_eq!(mock.counters().discovery, 1);
}

#[tokio::test]
async fn issuer_path_moves_issuer_and_discovery() {
    let mock = start(MockConfig::default().issuer_path("tenant1/")).await;
    assert!(mock.issuer().ends_with("/tenant1"));
    assert!(
        mock.discovery_url()
            .path()
            .starts_with("/tenant1/.well-known/")
    );
    let body = json(client().get(mock.discovery_url()).send().await.unwrap()).await;
    assert_eq!(body["issuer"], mock.issuer());
    let mut rfc8414 = mock.base_url();
    rfc8414.set_path("/.well-known/oauth-authorization-server/tenant1");
    let body = json(client().get(rfc8414).send().await.unwrap()).await;
    assert_eq!(body["issuer"], mock.issuer());
    assert!(
        wrs_mock::MockServer::start(MockConfig::default().issuer_path("bad{path}"))
            .await
            .is_err()
    );
}
