//! The Windchill REST Services stand-in.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::StatusCode;
use url::Url;
use wrs_mock::{MockConfig, MockServer};
use wrs_testkit::mock_http::*;

fn at(mock: &MockServer, path: &str) -> Url {
    Url::parse(&format!("{}{path}", mock.wrs_root())).unwrap()
}

async fn get(url: Url, token: Option<&str>) -> reqwest::Response {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

fn assert_invalid_token(resp: &reqwest::Response) {
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn parts_are_listed_for_a_valid_token() {
    let mock = start(MockConfig::default()).await;
    let token = mock
        .issue_tokens_for_test(PUBLIC, "demo", "")
        .unwrap()
        .access_token;
    let resp = get(at(&mock, "ProdMgmt/Parts"), Some(&token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json(resp).await;
    assert!(s(&body["@odata.context"]).contains("ProdMgmt/$metadata#Parts"));
    let parts = body["value"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    assert!(s(&parts[0]["ID"]).starts_with("OR:wt.part.WTPart:"));
    assert_eq!(parts[0]["Number"], "0000000001");
    assert!(parts[0]["Name"].is_string());
    assert_eq!(mock.counters().wrs_ok, 1);
}

#[tokio::test]
async fn missing_unknown_expired_and_revoked_tokens_get_401_invalid_token() {
    let mock = start(MockConfig::default().access_token_lifetime(Duration::from_secs(2))).await;
    let parts = at(&mock, "ProdMgmt/Parts");
    assert_invalid_token(&get(parts.clone(), None).await);
    assert_invalid_token(&get(parts.clone(), Some("wrsat_forged")).await);
    let basic_auth = client()
        .get(parts.clone())
        .header("Authorization", basic("demo", "demo"))
        .send()
        .await
        .unwrap();
    assert_invalid_token(&basic_auth);
    let expiring = mock.issue_tokens_for_test(PUBLIC, "demo", "").unwrap();
    assert_eq!(
        get(parts.clone(), Some(&expiring.access_token))
            .await
            .status(),
        StatusCode::OK
    );
    mock.advance_clock(Duration::from_secs(2));
    assert_invalid_token(&get(parts.clone(), Some(&expiring.access_token)).await);
    let revoked = mock.issue_tokens_for_test(PUBLIC, "demo", "").unwrap();
    post_form(
        mock.revocation_endpoint(),
        None,
        &[
            ("client_id", PUBLIC),
            ("token", revoked.refresh_token.as_deref().unwrap()),
        ],
    )
    .await;
    assert_invalid_token(&get(parts, Some(&revoked.access_token)).await);
    let c = mock.counters();
    assert_eq!((c.wrs, c.wrs_ok, c.wrs_unauthorized), (6, 1, 5));
}

#[tokio::test]
async fn csrf_token_is_served_under_literal_and_encoded_parentheses() {
    let mock = start(MockConfig::default()).await;
    let token = mock
        .issue_tokens_for_test(PUBLIC, "demo", "")
        .unwrap()
        .access_token;
    let root = mock.wrs_root();
    for path in [
        "PTC/GetCSRFToken()",
        "PTC/GetCSRFToken%28%29",
        "PTC/GetCSRFToken%28)",
        "PTC%2FGetCSRFToken()",
    ] {
        // Build the URL by hand so the client sends the path exactly as written.
        let url = format!("{root}{path}");
        let resp = client().get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{url}");
        let body = json(resp).await;
        assert_eq!(body["NonceKey"], "CSRF_NONCE");
        assert!(!s(&body["NonceValue"]).is_empty());
    }
    assert_invalid_token(&get(at(&mock, "PTC/GetCSRFToken()"), None).await);
}

async fn nonce(mock: &MockServer, token: &str) -> String {
    s(&json(get(at(mock, "PTC/GetCSRFToken()"), Some(token)).await).await["NonceValue"])
}

#[tokio::test]
async fn writes_need_a_nonce_of_the_same_grant() {
    let mock = start(MockConfig::default()).await;
    let mine = mock
        .issue_tokens_for_test(PUBLIC, "demo", "")
        .unwrap()
        .access_token;
    let theirs = mock
        .issue_tokens_for_test(PUBLIC, "engineer", "")
        .unwrap()
        .access_token;
    let their_nonce = nonce(&mock, &theirs).await;
    let parts = at(&mock, "ProdMgmt/Parts");
    let new_part = serde_json::json!({ "Name": "Gear", "Number": "GEAR-1" });
    for header in [None, Some("bogus"), Some(their_nonce.as_str())] {
        let mut req = client()
            .post(parts.clone())
            .bearer_auth(&mine)
            .json(&new_part);
        if let Some(h) = header {
            req = req.header("CSRF_NONCE", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(json(resp).await["error"]["message"].is_string());
    }
    assert_eq!(mock.counters().wrs_csrf_rejected, 3);
    let my_nonce = nonce(&mock, &mine).await;
    let resp = client()
        .post(parts.clone())
        .bearer_auth(&mine)
        .header("CSRF_NONCE", &my_nonce)
        .json(&new_part)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created = json(resp).await;
    assert_eq!(created["Name"], "Gear");
    assert_eq!(created["Number"], "GEAR-1");
    let id = s(&created["ID"]);
    // A write without a token is 401 before any nonce check.
    let resp = client()
        .post(parts.clone())
        .json(&new_part)
        .send()
        .await
        .unwrap();
    assert_invalid_token(&resp);
    // Patch and delete the new part.
    let one = at(&mock, &format!("ProdMgmt/Parts('{id}')"));
    let resp = client()
        .patch(one.clone())
        .bearer_auth(&mine)
        .header("CSRF_NONCE", &my_nonce)
        .json(&serde_json::json!({"Name": "Big Gear"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await["Name"], "Big Gear");
    let resp = client()
        .delete(one.clone())
        .bearer_auth(&mine)
        .header("CSRF_NONCE", &my_nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(one, Some(&mine)).await.status(), StatusCode::NOT_FOUND);
    // Malformed JSON.
    let resp = client()
        .post(parts)
        .bearer_auth(&mine)
        .header("CSRF_NONCE", &my_nonce)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_odata_paths_are_404_with_odata_error() {
    let mock = start(MockConfig::default()).await;
    let token = mock
        .issue_tokens_for_test(PUBLIC, "demo", "")
        .unwrap()
        .access_token;
    let resp = get(at(&mock, "ProdMgmt/Nothing"), Some(&token)).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(json(resp).await["error"]["code"].is_string());
    let resp = get(at(&mock, "bad%zzescape"), Some(&token)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tokens_from_the_real_code_flow_work_at_windchill() {
    let mock = start(MockConfig::default()).await;
    let tokens = code_flow_tokens(&mock).await;
    let resp = get(
        at(&mock, "ProdMgmt/Parts"),
        Some(&s(&tokens["access_token"])),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}
