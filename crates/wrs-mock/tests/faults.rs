//! Fault injection, counters and the admin API.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wrs_mock::{Endpoint, Fault, MockConfig, MockServer};
use wrs_testkit::mock_http::*;

async fn cc(mock: &MockServer) -> reqwest::Response {
    post_form(
        mock.token_endpoint(),
        Some((SERVICE, SERVICE_SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await
}

/// A raw HTTP/1.1 token request; returns what arrived before EOF or the timeout.
async fn raw_token_request(mock: &MockServer, wait: Duration) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(mock.local_addr()).await.unwrap();
    let body = "grant_type=client_credentials";
    let request = format!(
        "POST /as/token.oauth2 HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        mock.local_addr(),
        basic(SERVICE, SERVICE_SECRET),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return (got, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn status_fault_with_retry_after_answers_n_times_then_stops() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(
        Endpoint::Token,
        Fault::Status {
            code: 503,
            retry_after: Some(7),
            body: None,
        },
        Some(2),
    );
    for _ in 0..2 {
        let resp = cc(&mock).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()["retry-after"], "7");
    }
    assert_eq!(cc(&mock).await.status(), StatusCode::OK);
    mock.set_fault(
        Endpoint::Token,
        Fault::Status {
            code: 500,
            retry_after: None,
            body: Some("boom".into()),
        },
        Some(1),
    );
    let resp = cc(&mock).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.headers().get("retry-after").is_none());
    assert_eq!(resp.text().await.unwrap(), "boom");
    let c = mock.counters();
    assert_eq!(
        (
            c.token,
            c.token_client_credentials,
            c.faults_injected,
            c.access_tokens_issued
        ),
        (4, 4, 3, 1)
    );
}

#[tokio::test]
async fn fault_without_count_lasts_until_cleared_and_only_hits_its_endpoint() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(
        Endpoint::Token,
        Fault::Status {
            code: 502,
            retry_after: None,
            body: None,
        },
        None,
    );
    for _ in 0..3 {
        assert_eq!(cc(&mock).await.status(), StatusCode::BAD_GATEWAY);
    }
    assert_eq!(
        client()
            .get(mock.discovery_url())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(mock.faults().len(), 1);
    mock.clear_faults();
    assert_eq!(cc(&mock).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn delay_fault_delays_then_processes() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(
        Endpoint::Token,
        Fault::Delay(Duration::from_millis(400)),
        Some(1),
    );
    let started = Instant::now();
    assert_eq!(cc(&mock).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let too_short = client()
        .post(mock.token_endpoint())
        .timeout(Duration::from_millis(100));
    mock.set_fault(
        Endpoint::Token,
        Fault::Delay(Duration::from_millis(500)),
        Some(1),
    );
    let err = too_short
        .header("Authorization", basic(SERVICE, SERVICE_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert!(err.unwrap_err().is_timeout());
}

#[tokio::test]
async fn drop_connection_closes_without_any_response() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(Endpoint::Token, Fault::DropConnection, Some(1));
    let (got, closed) = raw_token_request(&mock, Duration::from_secs(5)).await;
    assert!(closed, "connection must be closed");
    assert!(
        got.is_empty(),
        "no bytes expected, got {:?}",
        String::from_utf8_lossy(&got)
    );
    let err = {
        mock.set_fault(Endpoint::Token, Fault::DropConnection, Some(1));
        cc_err(&mock).await
    };
    assert!(!err.is_timeout());
    assert_eq!(cc(&mock).await.status(), StatusCode::OK);
}

async fn cc_err(mock: &MockServer) -> reqwest::Error {
    client()
        .post(mock.token_endpoint())
        .header("Authorization", basic(SERVICE, SERVICE_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn never_ending_body_sends_headers_and_then_trickles() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(Endpoint::Token, Fault::NeverEndingBody, Some(1));
    let (got, closed) = raw_token_request(&mock, Duration::from_millis(2500)).await;
    assert!(!closed, "the body must not end");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("{\"access_token\":\""), "{text}");
    assert!(
        text.contains('x'),
        "a byte should trickle each second: {text}"
    );
    // And reqwest with a timeout gives up on it.
    mock.set_fault(Endpoint::Token, Fault::NeverEndingBody, Some(1));
    let resp = client()
        .post(mock.token_endpoint())
        .timeout(Duration::from_millis(500))
        .header("Authorization", basic(SERVICE, SERVICE_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap_err().is_timeout());
}

#[tokio::test]
async fn body_faults_non_json_and_html_login_page() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(Endpoint::Token, Fault::NonJsonBody, Some(1));
    mock.set_fault(Endpoint::Token, Fault::HtmlLoginPage200, Some(1));
    let resp = cc(&mock).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(serde_json::from_str::<serde_json::Value>(&resp.text().await.unwrap()).is_err());
    let resp = cc(&mock).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(resp.text().await.unwrap().contains("<form"));
}

#[tokio::test]
async fn missing_field_and_expires_in_as_string_edit_a_real_response() {
    let mock = start(MockConfig::default()).await;
    for field in ["access_token", "expires_in", "token_type"] {
        mock.set_fault(Endpoint::Token, Fault::MissingField(field.into()), Some(1));
        let body = json(cc(&mock).await).await;
        assert!(body.get(field).is_none(), "{field}: {body}");
        assert!(body.as_object().unwrap().len() >= 2);
    }
    mock.set_fault(Endpoint::Token, Fault::ExpiresInAsString, Some(1));
    let body = json(cc(&mock).await).await;
    assert_eq!(body["expires_in"], "3600");
    mock.set_fault(Endpoint::Token, Fault::ExpiresIn(0), Some(1));
    let body = json(cc(&mock).await).await;
    assert_eq!(body["expires_in"], 0);
    assert_eq!(mock.counters().access_tokens_issued, 5);
}

#[tokio::test]
async fn oauth_error_fault_is_json_at_token_and_a_redirect_at_authorization() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(
        Endpoint::Token,
        Fault::OAuthError {
            error: "temporarily_unavailable".into(),
            description: Some("maintenance".into()),
            status: 503,
        },
        Some(1),
    );
    let body = expect_error(
        cc(&mock).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    assert_eq!(body["error_description"], "maintenance");
    mock.set_fault(
        Endpoint::Token,
        Fault::OAuthError {
            error: "invalid_client".into(),
            description: None,
            status: 401,
        },
        Some(1),
    );
    let resp = cc(&mock).await;
    assert!(resp.headers().contains_key("www-authenticate"));
    expect_error(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;

    mock.set_fault(
        Endpoint::Authorization,
        Fault::OAuthError {
            error: "server_error".into(),
            description: None,
            status: 500,
        },
        Some(1),
    );
    let (_, challenge) = pkce();
    let resp = client()
        .get(authz_url(&mock, PUBLIC, REDIRECT, &challenge, "st"))
        .send()
        .await
        .unwrap();
    let params = location_params(&resp);
    assert_eq!(param(&params, "error"), Some("server_error"));
    assert_eq!(param(&params, "state"), Some("st"));
}

#[tokio::test]
async fn faults_apply_to_every_endpoint_kind() {
    let mock = start(MockConfig::default()).await;
    let token = mock
        .issue_tokens_for_test(PUBLIC, "demo", "")
        .unwrap()
        .access_token;
    let teapot = || Fault::Status {
        code: 418,
        retry_after: None,
        body: None,
    };
    for e in [
        Endpoint::Discovery,
        Endpoint::Revocation,
        Endpoint::Introspection,
        Endpoint::DeviceAuthorization,
        Endpoint::Wrs,
    ] {
        mock.set_fault(e, teapot(), Some(1));
    }
    let c = client();
    assert_eq!(
        c.get(mock.discovery_url()).send().await.unwrap().status(),
        StatusCode::IM_A_TEAPOT
    );
    assert_eq!(
        post_form(
            mock.revocation_endpoint(),
            None,
            &[("client_id", PUBLIC), ("token", "x")]
        )
        .await
        .status(),
        StatusCode::IM_A_TEAPOT
    );
    assert_eq!(
        post_form(
            mock.introspection_endpoint(),
            Some((RS, RS_SECRET)),
            &[("token", "x")]
        )
        .await
        .status(),
        StatusCode::IM_A_TEAPOT
    );
    assert_eq!(
        post_form(
            mock.device_authorization_endpoint(),
            None,
            &[("client_id", PUBLIC)]
        )
        .await
        .status(),
        StatusCode::IM_A_TEAPOT
    );
    let wrs = format!("{}ProdMgmt/Parts", mock.wrs_root());
    assert_eq!(
        c.get(&wrs)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::IM_A_TEAPOT
    );
    assert_eq!(
        c.get(&wrs)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let counters = mock.counters();
    assert_eq!(counters.faults_injected, 5);
    assert_eq!((counters.wrs, counters.wrs_ok), (2, 1));
    assert!(mock.faults().is_empty());
}

#[tokio::test]
async fn admin_api_sets_and_clears_faults_and_reads_counters() {
    let mock = start(MockConfig::default()).await;
    let admin = mock.admin_url();
    let c = client();
    let resp = c
        .post(admin.join("faults").unwrap())
        .json(&serde_json::json!({"endpoint": "token", "fault": {"status": {"code": 503, "retry_after": 3}}, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let listed = json(c.get(admin.join("faults").unwrap()).send().await.unwrap()).await;
    assert_eq!(listed[0]["endpoint"], "token");
    assert_eq!(listed[0]["remaining"], 1);
    assert_eq!(cc(&mock).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    c.post(admin.join("faults").unwrap())
        .json(&serde_json::json!({"endpoint": "token", "fault": "drop_connection"}))
        .send()
        .await
        .unwrap();
    c.post(admin.join("faults").unwrap())
        .json(&serde_json::json!({"endpoint": "token", "fault": {"delay": 10}}))
        .send()
        .await
        .unwrap();
    assert_eq!(mock.faults().len(), 2);
    let resp = c
        .delete(admin.join("faults").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(mock.faults().is_empty());
    assert_eq!(cc(&mock).await.status(), StatusCode::OK);
    let counters = json(c.get(admin.join("counters").unwrap()).send().await.unwrap()).await;
    assert_eq!(counters["token"], 2);
    assert_eq!(counters["token_client_credentials"], 2);
    assert_eq!(counters["faults_injected"], 1);
    // Garbage admin input is a 4xx, not a crash.
    let resp = c
        .post(admin.join("faults").unwrap())
        .json(&serde_json::json!({"endpoint": "nowhere"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    c.post(admin.join("counters/reset").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(mock.counters(), wrs_mock::Counters::default());
}

#[tokio::test]
async fn admin_api_advances_clock_mints_tokens_and_reports_token_state() {
    let mock = start(MockConfig::default().access_token_lifetime(Duration::from_secs(60))).await;
    let admin = mock.admin_url();
    let c = client();
    let set = json(
        c.post(admin.join("tokens").unwrap())
            .json(&serde_json::json!({"client_id": PUBLIC, "user": "engineer", "scope": "openid"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let at = s(&set["access_token"]);
    let state = json(
        c.post(admin.join("token-state").unwrap())
            .json(&serde_json::json!({"token": at}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(state["access_token_valid"], true);
    let rt_state = json(
        c.post(admin.join("token-state").unwrap())
            .json(&serde_json::json!({"token": s(&set["refresh_token"])}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(rt_state["refresh_token_state"], "active");
    let clock = json(
        c.post(admin.join("clock").unwrap())
            .json(&serde_json::json!({"advance_secs": 61}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(clock["offset_ms"], 61_000);
    assert!(!mock.is_access_token_valid(&at));
    // Device shortcuts.
    let dev = json(
        post_form(
            mock.device_authorization_endpoint(),
            None,
            &[("client_id", PUBLIC)],
        )
        .await,
    )
    .await;
    let resp = c
        .post(admin.join("devices/approve").unwrap())
        .json(&serde_json::json!({"user_code": s(&dev["user_code"])}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = c
        .post(admin.join("devices/deny").unwrap())
        .json(&serde_json::json!({"user_code": "XXXX-XXXX"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[test]
fn fault_json_shapes_are_script_friendly() {
    let f: Fault = serde_json::from_str(r#"{"missing_field":"expires_in"}"#).unwrap();
    assert_eq!(f, Fault::MissingField("expires_in".into()));
    let f: Fault = serde_json::from_str(r#"{"delay":1500}"#).unwrap();
    assert_eq!(f, Fault::Delay(Duration::from_millis(1500)));
    assert_eq!(
        serde_json::to_string(&Fault::NeverEndingBody).unwrap(),
        r#""never_ending_body""#
    );
    let f: Fault =
        serde_json::from_str(r#"{"oauth_error":{"error":"invalid_grant","status":400}}"#).unwrap();
    assert_eq!(
        f,
        Fault::OAuthError {
            error: "invalid_grant".into(),
            description: None,
            status: 400
        }
    );
    let f: Fault = serde_json::from_str(r#""html_login_page_200""#).unwrap();
    assert_eq!(f, Fault::HtmlLoginPage200);
    assert_eq!(
        serde_json::to_string(&Endpoint::DeviceAuthorization).unwrap(),
        r#""device_authorization""#
    );
}
