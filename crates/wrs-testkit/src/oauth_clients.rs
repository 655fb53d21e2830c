//! `wrs_oauth` clients of an in-process mock, one per kind of registered
//! client, with every endpoint set explicitly; and the browser's side of a
//! code flow.

use std::time::Duration;

use url::Url;
use wrs_mock::MockServer;
use wrs_mock::config::{
    DEMO_CONFIDENTIAL_CLIENT, DEMO_CONFIDENTIAL_SECRET, DEMO_PUBLIC_CLIENT, DEMO_SERVICE_CLIENT,
    DEMO_SERVICE_SECRET,
};
use wrs_oauth::{
    ClientAuth, ClientIdentity, Endpoints, HttpClient, HttpConfig, OAuthClient, Secret,
};

pub use crate::mock_http::start;

/// Short timeouts: the mock is local.
pub fn http_config() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        ..HttpConfig::default()
    }
}

/// A `wrs_oauth` HTTP client with [`http_config`].
pub fn http() -> HttpClient {
    HttpClient::new(&http_config()).unwrap()
}

/// All of the mock's endpoints, set explicitly (no discovery).
pub fn endpoints(mock: &MockServer) -> Endpoints {
    let mut e = Endpoints::new(Some(mock.authorization_endpoint()), mock.token_endpoint());
    e.issuer = Some(mock.issuer());
    e.revocation = Some(mock.revocation_endpoint());
    e.device_authorization = Some(mock.device_authorization_endpoint());
    e.introspection = Some(mock.introspection_endpoint());
    e
}

/// A client of `mock` as `identity`, over `http`.
pub fn client_with(mock: &MockServer, http: HttpClient, identity: ClientIdentity) -> OAuthClient {
    OAuthClient::new(http, endpoints(mock), identity).unwrap()
}

/// The mock's public client (PKCE, no secret).
pub fn public(mock: &MockServer) -> OAuthClient {
    client_with(mock, http(), ClientIdentity::public(DEMO_PUBLIC_CLIENT))
}

/// The mock's confidential client, authenticating with `auth`.
pub fn confidential(mock: &MockServer, auth: ClientAuth) -> OAuthClient {
    let identity = ClientIdentity::confidential(
        DEMO_CONFIDENTIAL_CLIENT,
        Secret::new(DEMO_CONFIDENTIAL_SECRET),
        auth,
    );
    client_with(mock, http(), identity)
}

/// The mock's client-credentials client (`client_secret_basic`).
pub fn service(mock: &MockServer) -> OAuthClient {
    let identity = ClientIdentity::confidential(
        DEMO_SERVICE_CLIENT,
        Secret::new(DEMO_SERVICE_SECRET),
        ClientAuth::ClientSecretBasic,
    );
    client_with(mock, http(), identity)
}

/// Acts as the browser at the authorization endpoint: GET without following
/// redirects, and return where the server sends the user.
pub async fn follow_authorization(url: &Url, http_config: &HttpConfig) -> Url {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = &http_config.extra_ca_pem {
        builder = builder.tls_certs_merge(reqwest::Certificate::from_pem_bundle(pem).unwrap());
    }
    let response = builder
        .build()
        .unwrap()
        .get(url.as_str())
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_redirection(),
        "authorization endpoint answered {}",
        response.status()
    );
    let location = response.headers()["location"].to_str().unwrap();
    Url::parse(location).unwrap()
}

/// GETs a URL (the loopback listener) and returns status and body.
pub async fn get_page(url: &Url) -> (u16, String) {
    let response = reqwest::get(url.as_str()).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}
