//! The HTTP client: built once per profile, with timeouts on every request,
//! no redirects, rustls (ring as its crypto provider) with the system roots
//! plus an optional extra CA bundle, the environment's proxies, and a
//! capped body reader.
//!
//! For `wrs-tokend probe`, the client also says which proxy a URL goes
//! through ([`HttpClient::proxy_for`]) and whether a server can be reached
//! at all, with its clock ([`HttpClient::reach`]): the same client, so the
//! probe sees what the daemon sees.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper_util::client::proxy::matcher::Matcher;

use reqwest::header::{CONTENT_TYPE, DATE, HeaderMap, RETRY_AFTER};
use reqwest::{Certificate, RequestBuilder, redirect};

use crate::error::{OAuthError, Unreached, from_reqwest, snippet, unreached};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("wrs-token/", env!("CARGO_PKG_VERSION"));

/// How to build the [`HttpClient`] of one profile.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time allowed to open a connection (TCP + TLS). Default 10 s.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included. Default 30 s.
    pub timeout: Duration,
    /// Extra trusted CAs (PEM, one or more certificates), added to the
    /// system roots; for sites with an internal PKI (`--ca-file`).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Larger response bodies are cut off with an error. Default 1 MiB.
    pub max_response_bytes: usize,
    /// The `User-Agent` header. Default [`USER_AGENT`].
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            extra_ca_pem: None,
            max_response_bytes: 1024 * 1024,
            user_agent: USER_AGENT.to_owned(),
        }
    }
}

impl HttpConfig {
    /// Reads an extra CA bundle (PEM) from a file: a regular file of at
    /// most [`wrs_sys::small_file::MAX_FILE_BYTES`], like the configuration that
    /// names it, so a FIFO or a device there fails at once instead of
    /// hanging or exhausting the daemon.
    pub fn with_ca_file(mut self, path: &Path) -> Result<Self, OAuthError> {
        // The error names the file.
        let pem = wrs_sys::small_file::read_regular_file(path, wrs_sys::small_file::MAX_FILE_BYTES)
            .map_err(|e| {
                OAuthError::Config(format!("cannot read the CA file {}: {e}", path.display()))
            })?;
        check_pem(&pem)
            .map_err(|e| OAuthError::Config(format!("CA file {}: {e}", path.display())))?;
        self.extra_ca_pem = Some(pem);
        Ok(self)
    }

    /// How many certificates the extra CA bundle holds (0 without one).
    pub fn extra_ca_certificates(&self) -> usize {
        self.extra_ca_pem
            .as_deref()
            .and_then(|pem| check_pem(pem).ok())
            .map_or(0, |certs| certs.len())
    }
}

fn check_pem(pem: &[u8]) -> Result<Vec<Certificate>, String> {
    let certs = Certificate::from_pem_bundle(pem)
        .map_err(|e| format!("not a PEM certificate bundle ({e})"))?;
    if certs.is_empty() {
        return Err("no certificate found in the PEM bundle".to_owned());
    }
    Ok(certs)
}

/// A configured HTTP client. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    max_response_bytes: usize,
    /// The proxy rules reqwest applies, read from the environment (and the
    /// OS settings on macOS and Windows) as it reads them: a client built
    /// with no explicit proxy, as ours, uses its system proxy, which is
    /// this very `Matcher::from_system`.
    proxies: Arc<Matcher>,
}

/// What a plain `GET` found (see [`HttpClient::reach`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// The HTTP status, whatever it is: the server answered.
    pub status: u16,
    /// The server's clock: its `Date` header, if it sent a valid one.
    pub server_date: Option<SystemTime>,
    /// This machine's clock when the answer's headers arrived.
    pub received_at: SystemTime,
}

/// An answer read in full (up to the cap).
///
/// Public so the fuzz checks (`crates/wrs-fuzz-checks`) can build one from
/// arbitrary bytes; only this crate produces it from the network.
#[derive(Debug)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, sanitized, or `(none)`.
    pub content_type: String,
    /// The `Retry-After` header in seconds, if present.
    pub retry_after: Option<Duration>,
    /// The body, at most the configured cap.
    pub body: Vec<u8>,
}

impl HttpClient {
    /// Builds the client. Fails on an unusable CA bundle or TLS set-up.
    pub fn new(config: &HttpConfig) -> Result<Self, OAuthError> {
        // ring, not aws-lc-rs (see the workspace Cargo.toml); the first
        // call installs it for the process, later ones find it there.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(redirect::Policy::none())
            .user_agent(config.user_agent.clone());
        if let Some(pem) = &config.extra_ca_pem {
            let certs = check_pem(pem).map_err(|e| OAuthError::Config(format!("extra CA: {e}")))?;
            builder = builder.tls_certs_merge(certs);
        }
        // Read before reqwest reads them, in the same process: the same
        // variables.
        let proxies = Arc::new(Matcher::from_system());
        let inner = builder
            .build()
            .map_err(|e| OAuthError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpClient {
            inner,
            max_response_bytes: config.max_response_bytes,
            proxies,
        })
    }

    /// The proxy a request to `url` goes through, as `scheme://host:port`
    /// (never with its credentials); `None` for a direct connection.
    pub fn proxy_for(&self, url: &url::Url) -> Option<String> {
        let intercept = self.proxies.intercept(&url.as_str().parse().ok()?)?;
        let uri = intercept.uri();
        let authority = uri.authority()?;
        Some(format!(
            "{}://{authority}",
            uri.scheme_str().unwrap_or("http")
        ))
    }

    /// A `GET` of `url` whose answer is read for its status and `Date`
    /// only: whether the server can be reached through this client's
    /// proxies and TLS trust, and its clock. Any HTTP status counts as
    /// reached; the body is not read.
    pub async fn reach(&self, url: &url::Url) -> Result<Reached, Unreached> {
        let response = self
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| unreached(&e))?;
        let received_at = SystemTime::now();
        let server_date = response
            .headers()
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        Ok(Reached {
            status: response.status().as_u16(),
            server_date,
            received_at,
        })
    }

    pub(crate) fn get(&self, url: &url::Url) -> RequestBuilder {
        self.inner.get(url.as_str())
    }

    pub(crate) fn post(&self, url: &url::Url) -> RequestBuilder {
        self.inner.post(url.as_str())
    }

    /// Sends the request and reads the answer, capping its size. The total
    /// timeout covers the body too, so a never-ending body ends as
    /// [`OAuthError::Timeout`].
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<HttpResponse, OAuthError> {
        let mut response = request.send().await.map_err(|e| from_reqwest(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = content_type(&headers);
        let retry_after = retry_after(&headers);
        let too_large = |limit: usize| OAuthError::InvalidResponse {
            reason: format!("response body larger than {limit} bytes"),
            status,
            content_type: content_type.clone(),
            snippet: String::new(),
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_response_bytes as u64)
        {
            return Err(too_large(self.max_response_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| from_reqwest(&e))? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(too_large(self.max_response_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| crate::error::sanitize(v, 80))
        .unwrap_or_else(|| "(none)".to_owned())
}

/// `Retry-After` in delay-seconds; an HTTP date is ignored (rare on token
/// endpoints, and the caller's backoff covers it).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

impl HttpResponse {
    /// Whether the body parses as a JSON value; the parsed value if so.
    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// An [`OAuthError::InvalidResponse`] for this answer.
    pub(crate) fn invalid(&self, reason: impl Into<String>) -> OAuthError {
        OAuthError::InvalidResponse {
            reason: reason.into(),
            status: self.status,
            content_type: self.content_type.clone(),
            snippet: snippet(&self.body),
        }
    }

    /// An [`OAuthError::InvalidResponse`] for this answer that never shows
    /// the body, for a reason found inside a token.
    pub(crate) fn invalid_without_body(&self, reason: impl Into<String>) -> OAuthError {
        OAuthError::InvalidResponse {
            reason: reason.into(),
            status: self.status,
            content_type: self.content_type.clone(),
            snippet: String::new(),
        }
    }

    /// The error for a non-success answer: an RFC 6749 error body becomes
    /// [`OAuthError::Server`], anything else [`OAuthError::Http`].
    pub(crate) fn error(&self) -> OAuthError {
        if let Some(err) = self.oauth_error() {
            return err;
        }
        let detail = match self.json() {
            Some(_) => format!(
                "content-type {}, a JSON body without an `error` field",
                self.content_type
            ),
            None => {
                let snip = snippet(&self.body);
                if snip.is_empty() {
                    format!("content-type {}", self.content_type)
                } else {
                    format!("content-type {}, body starts {snip:?}", self.content_type)
                }
            }
        };
        OAuthError::Http {
            status: self.status,
            retry_after: self.retry_after,
            detail,
        }
    }

    /// An RFC 6749 5.2 error body, if this is one (whatever the status: some
    /// servers send errors with 200).
    pub(crate) fn oauth_error(&self) -> Option<OAuthError> {
        let value = self.json()?;
        let code = value.get("error")?.as_str()?;
        // `error_uri` is not kept: nothing shows it, and a URL is where a
        // server would put a token.
        let description = value
            .get("error_description")
            .and_then(|d| d.as_str())
            .map(|d| crate::error::server_text(d, 300));
        Some(OAuthError::Server {
            code: crate::ErrorCode::parse(code),
            description,
            status: self.status,
            retry_after: self.retry_after,
        })
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body of a successful answer that must be a JSON object (`what`
    /// names the answer in the error): an error body is
    /// [`OAuthError::Server`] whatever the status, another non-2xx
    /// [`OAuthError::Http`], a 2xx that is not an object
    /// [`OAuthError::InvalidResponse`].
    pub(crate) fn success_object(
        &self,
        what: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, OAuthError> {
        if let Some(err) = self.oauth_error() {
            return Err(err);
        }
        if !self.is_success() {
            return Err(self.error());
        }
        match self.json() {
            Some(serde_json::Value::Object(body)) => Ok(body),
            _ => Err(self.invalid(format!("the {what} is not a JSON object"))),
        }
    }
}

/// Checks an endpoint URL: `https`, or `http` on a loopback host only
/// (a test server, the mock). The rule every endpoint passes; the probe
/// asks it too.
pub fn check_endpoint(what: &str, url: &url::Url) -> Result<(), OAuthError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        other => Err(OAuthError::Config(format!(
            "{what} {url} must use https (http is allowed on 127.0.0.1/localhost only), not {other}"
        ))),
    }
}

/// Whether `url`'s host is this machine: the one loopback rule,
/// [`wrs_sys::host::is_loopback`].
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    url.host_str().is_some_and(wrs_sys::host::is_loopback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_uses_ring_as_the_processs_crypto_provider() {
        HttpClient::new(&HttpConfig::default()).unwrap();
        let installed = rustls::crypto::CryptoProvider::get_default()
            .expect("building a client installs a provider");
        let suites = |p: &rustls::crypto::CryptoProvider| {
            p.cipher_suites
                .iter()
                .map(|s| s.suite())
                .collect::<Vec<_>>()
        };
        let groups = |p: &rustls::crypto::CryptoProvider| {
            p.kx_groups.iter().map(|g| g.name()).collect::<Vec<_>>()
        };
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(suites(installed), suites(&ring));
        assert_eq!(groups(installed), groups(&ring));
    }

    fn response(status: u16, content_type: &str, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            content_type: content_type.to_owned(),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn error_body_becomes_a_typed_server_error() {
        let r = response(
            400,
            "application/json",
            r#"{"error":"invalid_grant","error_description":"expired\nrefresh"}"#,
        );
        match r.error() {
            OAuthError::Server {
                code,
                description,
                status,
                ..
            } => {
                assert_eq!(code, crate::ErrorCode::InvalidGrant);
                assert_eq!(description.as_deref(), Some("expired refresh"));
                assert_eq!(status, 400);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_error_description_holding_a_token_is_withheld() {
        let r = response(
            400,
            "application/json",
            r#"{"error":"invalid_grant","error_description":"refresh token wrsrt_2YotnFZFEjr1zCsicMWpAA is revoked","error_uri":"https://idp.example.com/e?t=wrsrt_2YotnFZFEjr1zCsicMWpAA"}"#,
        );
        let err = r.error();
        let text = err.to_string();
        assert!(!text.contains("2YotnFZF"), "{text}");
        assert!(!format!("{err:?}").contains("2YotnFZF"));
        assert!(text.contains("withheld"), "{text}");
        assert!(err.is_login_required(), "the code survives: {err:?}");
        // A plain description is kept.
        let r = response(
            400,
            "application/json",
            r#"{"error":"invalid_grant","error_description":"refresh token revoked"}"#,
        );
        assert!(r.error().to_string().ends_with(": refresh token revoked"));
    }

    #[test]
    fn html_error_page_becomes_http_with_snippet() {
        let r = response(502, "text/html", "<html>Bad gateway</html>");
        let err = r.error();
        assert!(matches!(err, OAuthError::Http { status: 502, .. }));
        assert!(err.to_string().contains("Bad gateway"));
        assert!(err.is_transient());
    }

    #[test]
    fn retry_after_seconds_are_parsed() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "12".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn plain_http_is_allowed_on_loopback_only() {
        let ok = url::Url::parse("http://127.0.0.1:8080/as/token.oauth2").unwrap();
        assert!(check_endpoint("token endpoint", &ok).is_ok());
        let bad = url::Url::parse("http://idp.example.com/as/token.oauth2").unwrap();
        assert!(matches!(
            check_endpoint("token endpoint", &bad),
            Err(OAuthError::Config(_))
        ));
    }

    #[test]
    fn ca_file_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let message = |path: &Path| match HttpConfig::default().with_ca_file(path) {
            Err(OAuthError::Config(m)) => m,
            other => panic!("expected a config error, got {other:?}"),
        };
        let m = message(dir.path());
        assert!(m.contains("directory"), "{m}");
        assert!(m.contains(&dir.path().display().to_string()), "{m}");
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'-'; 2 * 1024 * 1024]).unwrap();
        let m = message(&big);
        assert!(m.contains("larger than 1 MiB"), "{m}");
        #[cfg(unix)]
        {
            let zero = dir.path().join("zero.pem");
            std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
            let m = message(&zero);
            assert!(m.contains("not a regular file"), "{m}");
        }
        let m = message(&dir.path().join("missing.pem"));
        assert!(m.contains("missing.pem"), "{m}");
    }

    #[test]
    fn garbage_ca_bundle_is_a_config_error() {
        let config = HttpConfig {
            extra_ca_pem: Some(b"not a pem".to_vec()),
            ..HttpConfig::default()
        };
        assert!(matches!(
            HttpClient::new(&config),
            Err(OAuthError::Config(_))
        ));
    }
}
