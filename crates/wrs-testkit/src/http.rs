//! A blocking HTTP client for a test's own plumbing: the mock's admin API
//! and introspection, and the Windchill stand-in as a user's tool calls
//! it. Never through a proxy; every request has a timeout. Not for use
//! inside an async runtime (the blocking client runs one of its own).

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::Client;
use wrs_mock::config::{DEMO_RESOURCE_CLIENT, DEMO_RESOURCE_SECRET};

/// A client for plain HTTP, or for HTTPS with one trusted CA.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client,
}

impl HttpClient {
    /// A client for plain `http://` URLs (and HTTPS the system trusts).
    pub fn plain() -> HttpClient {
        HttpClient {
            client: builder().build().expect("HTTP client"),
        }
    }

    /// A client that trusts only the CA certificates in `ca_pem` (the
    /// mock's own CA when it serves TLS).
    pub fn trusting(ca_pem: &[u8]) -> HttpClient {
        let certs = reqwest::Certificate::from_pem_bundle(ca_pem).expect("CA PEM");
        HttpClient {
            client: builder()
                .tls_certs_only(certs)
                .build()
                .expect("HTTP client"),
        }
    }

    /// One request; the status and the body.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let method = Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut request = self.client.request(method, url).body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status().as_u16();
        let body = response.bytes().unwrap_or_else(|e| panic!("{url}: {e}"));
        (status, body.to_vec())
    }

    /// Whether the introspection endpoint at `url` calls `token` active,
    /// asking as the mock's resource server `windchill` (HTTP Basic), as a
    /// real Windchill or git server would.
    pub fn token_is_active(&self, url: &str, token: &str) -> bool {
        let response = self
            .client
            .post(url)
            .basic_auth(DEMO_RESOURCE_CLIENT, Some(DEMO_RESOURCE_SECRET))
            .form(&[("token", token)])
            .send()
            .unwrap_or_else(|e| panic!("introspection at {url}: {e}"));
        let status = response.status();
        let body = response.text().unwrap_or_default();
        assert_eq!(status.as_u16(), 200, "introspection: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("introspection JSON");
        v["active"] == true
    }
}

fn builder() -> reqwest::blocking::ClientBuilder {
    Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
}

/// The process's plain client (one pool of connections for every caller).
fn shared() -> &'static HttpClient {
    static PLAIN: OnceLock<HttpClient> = OnceLock::new();
    PLAIN.get_or_init(HttpClient::plain)
}

/// One request to a plain-HTTP URL through the shared plain client; the
/// status and the body.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    shared().send(method, url, headers, body)
}

/// [`HttpClient::token_is_active`] through the shared plain client. A free
/// function, so a server thread can hold the URL rather than the
/// [`Mock`](crate::Mock), which must drop to stop.
pub fn token_is_active_at(url: &str, token: &str) -> bool {
    shared().token_is_active(url, token)
}
