//! The authorization endpoint, driven like a browser over plain HTTP.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use wrs_mock::MockConfig;
use wrs_testkit::mock_http::*;

#[tokio::test]
async fn login_and_approve_redirects_with_code_state_and_iss() {
    let mock = start(MockConfig::default()).await;
    let (_, challenge) = pkce();
    let resp = login(
        authz_url(&mock, PUBLIC, REDIRECT, &challenge, "xyz 123"),
        "demo",
        "demo",
        "approve",
    )
    .await;
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT), "{location}");
    let params = location_params(&resp);
    assert!(param(&params, "code").unwrap().starts_with("wrsac_"));
    assert_eq!(param(&params, "state"), Some("xyz 123"));
    assert_eq!(param(&params, "iss"), Some(mock.issuer().as_str()));
    assert_eq!(mock.counters().authorization, 2);
}

#[tokio::test]
async fn iss_is_left_out_when_switched_off() {
    let mock = start(MockConfig::default().send_iss_in_authz_response(false)).await;
    let (_, challenge) = pkce();
    let resp = login(
        authz_url(&mock, PUBLIC, REDIRECT, &challenge, "s"),
        "demo",
        "demo",
        "approve",
    )
    .await;
    let params = location_params(&resp);
    assert!(param(&params, "code").is_some());
    assert_eq!(param(&params, "iss"), None);
}

#[tokio::test]
async fn denying_consent_redirects_access_denied_with_state() {
    let mock = start(MockConfig::default()).await;
    let (_, challenge) = pkce();
    let resp = login(
        authz_url(&mock, PUBLIC, REDIRECT, &challenge, "s1"),
        "demo",
        "demo",
        "deny",
    )
    .await;
    let params = location_params(&resp);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert!(param(&params, "error_description").is_some());
    assert_eq!(param(&params, "state"), Some("s1"));
    assert_eq!(param(&params, "iss"), Some(mock.issuer().as_str()));
    assert_eq!(param(&params, "code"), None);
}

#[tokio::test]
async fn wrong_password_shows_the_form_again_without_redirect() {
    let mock = start(MockConfig::default()).await;
    let (_, challenge) = pkce();
    let resp = login(
        authz_url(&mock, PUBLIC, REDIRECT, &challenge, "s"),
        "demo",
        "nope",
        "approve",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Invalid username or password"));
    // The same form still works with the right password.
    let txn = hidden_value(&html, "txn");
    let mut post = mock.authorization_endpoint();
    post.set_query(None);
    let resp = client()
        .post(post)
        .form(&[
            ("txn", txn.as_str()),
            ("username", "engineer"),
            ("password", "engineer-password"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert!(param(&location_params(&resp), "code").is_some());
}

#[tokio::test]
async fn unknown_client_or_redirect_uri_is_an_error_page_not_a_redirect() {
    let mock = start(MockConfig::default()).await;
    let (_, challenge) = pkce();
    for url in [
        authz_url(&mock, "nobody", REDIRECT, &challenge, "s"),
        authz_url(
            &mock,
            PUBLIC,
            "http://evil.example/callback",
            &challenge,
            "s",
        ),
        authz_url(
            &mock,
            PUBLIC,
            "http://127.0.0.1:5000/other",
            &challenge,
            "s",
        ),
    ] {
        let resp = client().get(url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.headers().get("location").is_none());
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    // No client_id at all.
    let resp = client()
        .get(mock.authorization_endpoint())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn loopback_redirect_uris_match_on_any_port_other_uris_exactly() {
    let config = MockConfig::default().auto_approve(true).client(
        wrs_mock::ClientConfig::public("exact")
            .redirect_uris(["https://app.example/cb", "http://localhost/cb"]),
    );
    let mock = start(config).await;
    let (_, challenge) = pkce();
    for ok in [
        "http://127.0.0.1:1/callback",
        "http://127.0.0.1:65000/callback",
        "http://localhost:8080/callback",
        "http://127.0.0.1/callback",
    ] {
        let resp = client()
            .get(authz_url(&mock, PUBLIC, ok, &challenge, "s"))
            .send()
            .await
            .unwrap();
        assert!(param(&location_params(&resp), "code").is_some(), "{ok}");
    }
    for (client_id, bad) in [
        (PUBLIC, "https://127.0.0.1:8080/callback"),
        (PUBLIC, "http://127.0.0.1:8080/callback/x"),
        ("exact", "https://app.example:444/cb"),
        ("exact", "https://app.example/cb?x=1"),
    ] {
        let resp = client()
            .get(authz_url(&mock, client_id, bad, &challenge, "s"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let resp = client()
        .get(authz_url(
            &mock,
            "exact",
            "http://localhost:4242/cb",
            &challenge,
            "s",
        ))
        .send()
        .await
        .unwrap();
    assert!(param(&location_params(&resp), "code").is_some());
}

async fn redirected_error(mock: &wrs_mock::MockServer, url: url::Url) -> String {
    let resp = client().get(url).send().await.unwrap();
    let params = location_params(&resp);
    assert_eq!(param(&params, "state"), Some("st"));
    assert_eq!(param(&params, "iss"), Some(mock.issuer().as_str()));
    assert!(param(&params, "code").is_none());
    param(&params, "error").unwrap().to_string()
}

#[tokio::test]
async fn request_errors_are_redirected_with_error_and_state() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let (_, challenge) = pkce();
    let base = authz_url(&mock, PUBLIC, REDIRECT, &challenge, "st");
    let with = |k: &str, v: &str| {
        let mut url = base.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| name != k)
            .map(|(a, b)| (a.into_owned(), b.into_owned()))
            .collect();
        url.set_query(None);
        let mut q = url.query_pairs_mut();
        for (a, b) in &pairs {
            q.append_pair(a, b);
        }
        if !v.is_empty() {
            q.append_pair(k, v);
        }
        drop(q);
        url
    };
    assert_eq!(
        redirected_error(&mock, with("response_type", "token")).await,
        "unsupported_response_type"
    );
    assert_eq!(
        redirected_error(&mock, with("scope", "openid admin")).await,
        "invalid_scope"
    );
    assert_eq!(
        redirected_error(&mock, with("code_challenge_method", "plain")).await,
        "invalid_request"
    );
    assert_eq!(
        redirected_error(&mock, with("code_challenge_method", "")).await,
        "invalid_request"
    );
    // A public client without PKCE.
    let no_pkce = with("code_challenge", "");
    let mut no_pkce2 = no_pkce.clone();
    let pairs: Vec<(String, String)> = no_pkce
        .query_pairs()
        .filter(|(k, _)| k != "code_challenge_method")
        .map(|(a, b)| (a.into_owned(), b.into_owned()))
        .collect();
    no_pkce2.set_query(None);
    for (a, b) in &pairs {
        no_pkce2.query_pairs_mut().append_pair(a, b);
    }
    assert_eq!(redirected_error(&mock, no_pkce2).await, "invalid_request");
    // The service client may not use the code grant.
    let mut svc = base.clone();
    svc.set_query(Some(&format!(
        "response_type=code&client_id={SERVICE}&redirect_uri=x&state=st"
    )));
    let resp = client().get(svc).send().await.unwrap();
    // It has no registered redirect URI: an error page.
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn auto_approve_redirects_at_once_as_demo() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let (verifier, challenge) = pkce();
    let resp = client()
        .get(authz_url(&mock, PUBLIC, REDIRECT, &challenge, "s"))
        .send()
        .await
        .unwrap();
    let params = location_params(&resp);
    let code = param(&params, "code").unwrap();
    let resp = post_form(
        mock.token_endpoint(),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let tokens = json(resp).await;
    let intro = json(
        post_form(
            mock.introspection_endpoint(),
            Some((RS, RS_SECRET)),
            &[("token", tokens["access_token"].as_str().unwrap())],
        )
        .await,
    )
    .await;
    assert_eq!(intro["Username"], "demo");
}

#[tokio::test]
async fn confidential_client_may_skip_pkce_but_public_may_not() {
    let mock = start(MockConfig::default().auto_approve(true)).await;
    let mut url = mock.authorization_endpoint();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CONF)
        .append_pair("redirect_uri", REDIRECT);
    let resp = client().get(url).send().await.unwrap();
    let code = param(&location_params(&resp), "code").unwrap().to_string();
    let resp = post_form(
        mock.token_endpoint(),
        Some((CONF, CONF_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_login_transaction_is_an_error_page() {
    let mock = start(MockConfig::default()).await;
    let resp = client()
        .post(mock.authorization_endpoint())
        .form(&[
            ("txn", "txn_forged"),
            ("username", "demo"),
            ("password", "demo"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
}
