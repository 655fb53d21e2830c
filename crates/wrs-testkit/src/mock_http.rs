//! The mock's OAuth protocol, spoken by hand from async tests: an HTTP
//! client that does not follow redirects (a browser whose every step the
//! test sees), PKCE, Basic credentials, the login page submitted as a
//! person would, and the code flow and refresh of its public client.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;
use wrs_mock::{MockConfig, MockServer};

/// The mock's public client (PKCE, no secret).
pub const PUBLIC: &str = wrs_mock::config::DEMO_PUBLIC_CLIENT;
/// The mock's confidential client.
pub const CONF: &str = wrs_mock::config::DEMO_CONFIDENTIAL_CLIENT;
/// Its secret.
pub const CONF_SECRET: &str = wrs_mock::config::DEMO_CONFIDENTIAL_SECRET;
/// The mock's client-credentials client.
pub const SERVICE: &str = wrs_mock::config::DEMO_SERVICE_CLIENT;
/// Its secret.
pub const SERVICE_SECRET: &str = wrs_mock::config::DEMO_SERVICE_SECRET;
/// The mock's resource server, which only introspects.
pub const RS: &str = wrs_mock::config::DEMO_RESOURCE_CLIENT;
/// Its secret.
pub const RS_SECRET: &str = wrs_mock::config::DEMO_RESOURCE_SECRET;
/// A loopback redirect URI the public client may use (any port matches).
pub const REDIRECT: &str = "http://127.0.0.1:49152/callback";

/// Starts an in-process mock with `config`.
pub async fn start(config: MockConfig) -> MockServer {
    MockServer::start(config).await.unwrap()
}

/// A client that does not follow redirects, without proxy, with a timeout.
pub fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `(verifier, challenge)`.
pub fn pkce() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// RFC 6749 2.3.1: form-urlencode id and secret, then base64.
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// The body as JSON.
pub async fn json(resp: Response) -> Value {
    resp.json().await.unwrap()
}

/// POSTs a form to `url`, with Basic credentials when given.
pub async fn post_form(url: Url, auth: Option<(&str, &str)>, form: &[(&str, &str)]) -> Response {
    let mut req = client().post(url).form(form);
    if let Some((id, secret)) = auth {
        req = req.header("Authorization", basic(id, secret));
    }
    req.send().await.unwrap()
}

/// Asserts an RFC 6749 error answer and returns its body.
pub async fn expect_error(resp: Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(resp.status(), status, "status for {error}");
    let body = json(resp).await;
    assert_eq!(body["error"], error, "body: {body}");
    body
}

/// The authorization URL for the public client with PKCE.
pub fn authz_url(
    mock: &MockServer,
    client_id: &str,
    redirect: &str,
    challenge: &str,
    state: &str,
) -> Url {
    let mut url = mock.authorization_endpoint();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid WINDCHILL")
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    url
}

/// The value of hidden input `name` in an HTML page.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_string()
}

/// The query parameters of a 302's Location.
pub fn location_params(resp: &Response) -> Vec<(String, String)> {
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().unwrap();
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of query parameter `name`, if any.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Opens the login page and submits it; returns the redirect response.
pub async fn login(url: Url, username: &str, password: &str, decision: &str) -> Response {
    let page = client().get(url.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let txn = hidden_value(&html, "txn");
    let mut post = url;
    post.set_query(None);
    client()
        .post(post)
        .form(&[
            ("txn", txn.as_str()),
            ("username", username),
            ("password", password),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap()
}

/// Runs the whole code flow for the public client; returns the token response.
pub async fn code_flow_tokens(mock: &MockServer) -> Value {
    let (verifier, challenge) = pkce();
    let resp = login(
        authz_url(mock, PUBLIC, REDIRECT, &challenge, "st"),
        "demo",
        "demo",
        "approve",
    )
    .await;
    let params = location_params(&resp);
    let code = param(&params, "code").unwrap().to_string();
    let resp = post_form(
        mock.token_endpoint(),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    json(resp).await
}

/// A refresh with the public client.
pub async fn refresh(mock: &MockServer, refresh_token: &str) -> Response {
    post_form(
        mock.token_endpoint(),
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// A JSON string's value.
pub fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}
