//! What can go wrong talking to an authorization server, typed so the daemon
//! can decide between "log in again", "fix the configuration" and "retry
//! later" without reading strings.
//!
//! No variant ever carries a token: what server text may appear in one is
//! decided in one place, the private `redact` module (server text with a
//! token-like string in it is withheld; the rest is cut short and cleaned).

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

// The redaction rule's home is `redact`; these are re-exported for the
// modules that have always found them here.
pub(crate) use crate::redact::{sanitize, server_text, snippet};

/// An RFC 6749 (5.2, 4.1.2.1) or RFC 8628 (3.5) `error` code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed (a configuration error).
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired or
    /// revoked; the user must log in again.
    InvalidGrant,
    /// `unauthorized_client`: this client may not use this grant.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `unsupported_response_type` (authorization endpoint).
    UnsupportedResponseType,
    /// `unsupported_token_type` (revocation endpoint, RFC 7009).
    UnsupportedTokenType,
    /// `invalid_scope`.
    InvalidScope,
    /// `access_denied`: the user or the server refused.
    AccessDenied,
    /// `temporarily_unavailable`: try again later.
    TemporarilyUnavailable,
    /// `server_error`.
    ServerError,
    /// `authorization_pending` (device flow): keep polling.
    AuthorizationPending,
    /// `slow_down` (device flow): keep polling, 5 s slower.
    SlowDown,
    /// `expired_token` (device flow): the device code expired.
    ExpiredToken,
    /// Any other code, as the server sent it.
    Other(String),
}

impl ErrorCode {
    /// Parses an `error` value; unknown codes become [`ErrorCode::Other`].
    pub fn parse(value: &str) -> ErrorCode {
        match value {
            "invalid_request" => ErrorCode::InvalidRequest,
            "invalid_client" => ErrorCode::InvalidClient,
            "invalid_grant" => ErrorCode::InvalidGrant,
            "unauthorized_client" => ErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => ErrorCode::UnsupportedGrantType,
            "unsupported_response_type" => ErrorCode::UnsupportedResponseType,
            "unsupported_token_type" => ErrorCode::UnsupportedTokenType,
            "invalid_scope" => ErrorCode::InvalidScope,
            "access_denied" => ErrorCode::AccessDenied,
            "temporarily_unavailable" => ErrorCode::TemporarilyUnavailable,
            "server_error" => ErrorCode::ServerError,
            "authorization_pending" => ErrorCode::AuthorizationPending,
            "slow_down" => ErrorCode::SlowDown,
            "expired_token" => ErrorCode::ExpiredToken,
            other => ErrorCode::Other(server_text(other, 64)),
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::Other(code) => code,
        }
    }

    /// Whether a later retry of the same request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorCode::TemporarilyUnavailable
                | ErrorCode::ServerError
                | ErrorCode::AuthorizationPending
                | ErrorCode::SlowDown
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The token, device, revocation or introspection endpoint answered with
    /// an RFC 6749 error body.
    #[error(
        "the authorization server answered {code} (HTTP {status}){}",
        describe(description)
    )]
    Server {
        /// The `error` code.
        code: ErrorCode,
        /// The `error_description`, shortened and cleaned; a notice instead
        /// when it contained a token-like string.
        description: Option<String>,
        /// The HTTP status of the answer.
        status: u16,
        /// The `Retry-After` header, if the server sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// The authorization endpoint redirected back with an `error` (RFC 6749
    /// 4.1.2.1), e.g. the user pressed "Deny".
    #[error(
        "the authorization server refused the login: {code}{}",
        describe(description)
    )]
    Authorization {
        /// The `error` code from the redirect.
        code: ErrorCode,
        /// The `error_description` from the redirect, shortened and cleaned;
        /// a notice instead when it contained a token-like string.
        description: Option<String>,
    },
    /// An HTTP status we cannot act on (5xx, 429, or a 4xx without an OAuth
    /// error body).
    #[error("the authorization server answered HTTP {status}{}{}", retry_after_text(retry_after), if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    Http {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header in seconds, if present.
        retry_after: Option<Duration>,
        /// Content type and a short, secret-free start of the body.
        detail: String,
    },
    /// The request (connect, TLS, headers or body) did not finish within the
    /// configured timeout.
    #[error("timed out waiting for the authorization server")]
    Timeout,
    /// The connection failed: DNS, connection refused or reset.
    #[error("network error: {0}")]
    Network(String),
    /// TLS refused the server: its certificate is not trusted, expired or
    /// for another name. Typed apart from [`OAuthError::Network`] so the
    /// daemon can name the fix (trusting the site's CA) instead of
    /// promising a retry that cannot help.
    #[error("network error: {message}")]
    Tls {
        /// Which TLS failure (always one [`NetworkProblem::is_tls`] accepts).
        problem: NetworkProblem,
        /// What happened, in plain words.
        message: String,
    },
    /// The server answered, but not with what the protocol requires (an HTML
    /// proxy page, a missing field, a body too large).
    #[error("invalid response from the authorization server: {reason} (HTTP {status}, content-type {content_type}){}", if snippet.is_empty() { String::new() } else { format!(", body starts {snippet:?}") })]
    InvalidResponse {
        /// What was wrong, naming the field.
        reason: String,
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` header, or `(none)`.
        content_type: String,
        /// The first characters of a non-JSON body; empty for JSON bodies or
        /// bodies that mention a token.
        snippet: String,
    },
    /// The `state` of the redirect is not the one this login sent: a stale
    /// browser tab or a forged redirect.
    #[error(
        "the redirect does not belong to this login (state mismatch): close old login tabs and start again"
    )]
    StateMismatch,
    /// The issuer in a discovery document or in the redirect's `iss`
    /// parameter is not the configured one (RFC 8414 3.3, RFC 9207).
    #[error("issuer mismatch: expected {expected:?}, got {got:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// What the server said (empty if it said nothing where it had to).
        got: String,
    },
    /// The redirect or pasted text is not an authorization response.
    #[error("not an authorization response: {0}")]
    InvalidRedirect(String),
    /// The device code expired before the user approved it.
    #[error("the device code expired after {} s without approval: start the login again", .after.as_secs())]
    DeviceCodeExpired {
        /// How long we polled.
        after: Duration,
    },
    /// The loopback listener waited for the browser longer than allowed.
    #[error("no answer from the browser within {} s", .0.as_secs())]
    LoginTimeout(Duration),
    /// Discovery failed for a reason other than an issuer mismatch.
    #[error("discovery failed: {0}")]
    Discovery(String),
    /// The configuration cannot work (bad URL, missing secret, bad CA file).
    #[error("configuration error: {0}")]
    Config(String),
    /// A local I/O error (the loopback listener's socket).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl OAuthError {
    /// Whether retrying the same request later may succeed: 5xx, 429,
    /// timeouts, network errors, `temporarily_unavailable`, `server_error`,
    /// and malformed answers (typically a proxy page or a cut connection).
    /// `invalid_grant`, `invalid_client` and other client errors are not.
    pub fn is_transient(&self) -> bool {
        match self {
            OAuthError::Server { code, status, .. } => {
                code.is_transient()
                    || (*status >= 500 || *status == 429)
                        && !matches!(code, ErrorCode::InvalidGrant | ErrorCode::InvalidClient)
            }
            OAuthError::Authorization { code, .. } => code.is_transient(),
            OAuthError::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            // A certificate can be renewed or the CA bundle fixed while the
            // daemon keeps retrying; it must not give up on the session.
            OAuthError::Timeout
            | OAuthError::Network(_)
            | OAuthError::Tls { .. }
            | OAuthError::InvalidResponse { .. } => true,
            OAuthError::StateMismatch
            | OAuthError::IssuerMismatch { .. }
            | OAuthError::InvalidRedirect(_)
            | OAuthError::DeviceCodeExpired { .. }
            | OAuthError::LoginTimeout(_)
            | OAuthError::Discovery(_)
            | OAuthError::Config(_)
            | OAuthError::Io(_) => false,
        }
    }

    /// The server's `Retry-After`, when it sent one (in seconds).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            OAuthError::Server { retry_after, .. } | OAuthError::Http { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The RFC 6749 error code, for server and authorization errors.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            OAuthError::Server { code, .. } | OAuthError::Authorization { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The TLS failure behind this error, when TLS refused the server.
    pub fn tls_problem(&self) -> Option<NetworkProblem> {
        match self {
            OAuthError::Tls { problem, .. } => Some(*problem),
            _ => None,
        }
    }

    /// Whether the user must log in again (`invalid_grant`).
    pub fn is_login_required(&self) -> bool {
        self.code() == Some(&ErrorCode::InvalidGrant)
    }
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(d) => format!(": {d}"),
        None => String::new(),
    }
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(", retry after {} s", d.as_secs()),
        None => String::new(),
    }
}

/// Why a request got no answer, sorted into what a fix is given in (see
/// [`Unreached`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkProblem {
    /// The certificate chain ends at a CA this client does not trust.
    UntrustedCertificate,
    /// The certificate is for another host name.
    CertificateNameMismatch,
    /// The certificate has expired (or this machine's clock is wrong).
    CertificateExpired,
    /// Another TLS failure (handshake, protocol, a rejected certificate).
    Tls,
    /// The host name (of the server or of the proxy) does not resolve.
    Dns,
    /// The connection was refused, reset or could not be made.
    Connect,
    /// No answer within the configured timeout.
    Timeout,
    /// Anything else.
    Other,
}

impl NetworkProblem {
    /// Whether the TLS layer refused the server.
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            NetworkProblem::UntrustedCertificate
                | NetworkProblem::CertificateNameMismatch
                | NetworkProblem::CertificateExpired
                | NetworkProblem::Tls
        )
    }
}

/// A request that got no HTTP answer: the [`NetworkProblem`] and the
/// message [`OAuthError::Network`] would carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Unreached {
    /// What kind of failure.
    pub problem: NetworkProblem,
    /// What happened, TLS failures in plain words.
    pub message: String,
}

/// Maps a reqwest error to ours, naming a TLS trust failure plainly.
pub(crate) fn from_reqwest(err: &reqwest::Error) -> OAuthError {
    let unreached = unreached(err);
    match unreached.problem {
        NetworkProblem::Timeout => OAuthError::Timeout,
        problem if problem.is_tls() => OAuthError::Tls {
            problem,
            message: unreached.message,
        },
        _ => OAuthError::Network(unreached.message),
    }
}

/// Sorts a reqwest error: the one place that reads them.
pub(crate) fn unreached(err: &reqwest::Error) -> Unreached {
    if err.is_timeout() {
        return Unreached {
            problem: NetworkProblem::Timeout,
            message: OAuthError::Timeout.to_string(),
        };
    }
    if let Some(tls) = find_rustls_error(err) {
        let (problem, message) = describe_tls(&tls);
        return Unreached { problem, message };
    }
    let mut message = err.to_string();
    // hyper-util's connector names a failed lookup "dns error" (of the
    // server, or of the proxy when one is in the way); nothing typed says so.
    let mut dns = false;
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        dns |= text.starts_with("dns error");
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    let problem = if dns {
        NetworkProblem::Dns
    } else if err.is_connect() {
        NetworkProblem::Connect
    } else {
        NetworkProblem::Other
    };
    Unreached { problem, message }
}

fn find_rustls_error(err: &(dyn StdError + 'static)) -> Option<rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls.clone());
    }
    // `io::Error::source` skips the error it wraps (which may itself be an
    // `io::Error` around the rustls error): look inside explicitly.
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
        && let Some(tls) = find_rustls_error(inner)
    {
        return Some(tls);
    }
    err.source().and_then(find_rustls_error)
}

fn describe_tls(err: &rustls::Error) -> (NetworkProblem, String) {
    use rustls::CertificateError;
    match err {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => (
            NetworkProblem::UntrustedCertificate,
            "TLS: certificate not trusted (unknown issuer): give the site's CA bundle with --ca-file"
                .to_owned(),
        ),
        // A trusted CA's name on the chain, but not its key: a CA of the
        // same name (a test CA, a re-keyed internal one) signed it, so its
        // real issuer is still one this client does not trust.
        rustls::Error::InvalidCertificate(CertificateError::BadSignature) => (
            NetworkProblem::UntrustedCertificate,
            "TLS: certificate not trusted (signed by another key than the trusted CA of that \
             name): give the site's CA bundle with --ca-file"
                .to_owned(),
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
        | rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => (
            NetworkProblem::CertificateNameMismatch,
            "TLS: the certificate is not valid for this host name".to_owned(),
        ),
        rustls::Error::InvalidCertificate(CertificateError::Expired)
        | rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => (
            NetworkProblem::CertificateExpired,
            "TLS: the server's certificate has expired".to_owned(),
        ),
        rustls::Error::InvalidCertificate(other) => (
            NetworkProblem::Tls,
            format!(
                "TLS: certificate rejected ({other:?}); if the site uses an internal CA, use --ca-file"
            ),
        ),
        other => (NetworkProblem::Tls, format!("TLS: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        for code in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "access_denied",
            "temporarily_unavailable",
            "server_error",
            "authorization_pending",
            "slow_down",
            "expired_token",
            "something_new",
        ] {
            assert_eq!(ErrorCode::parse(code).as_str(), code);
        }
        assert_eq!(ErrorCode::parse("x_y"), ErrorCode::Other("x_y".into()));
    }

    #[test]
    fn transient_classification_matches_the_renewal_policy() {
        let server = |code: &str, status| OAuthError::Server {
            code: ErrorCode::parse(code),
            description: None,
            status,
            retry_after: None,
        };
        assert!(!server("invalid_grant", 400).is_transient());
        assert!(!server("invalid_client", 401).is_transient());
        assert!(server("temporarily_unavailable", 503).is_transient());
        assert!(server("server_error", 500).is_transient());
        let http = |status| OAuthError::Http {
            status,
            retry_after: None,
            detail: String::new(),
        };
        assert!(http(503).is_transient());
        assert!(http(429).is_transient());
        assert!(!http(404).is_transient());
        assert!(OAuthError::Timeout.is_transient());
        assert!(OAuthError::Network("refused".into()).is_transient());
        assert!(!OAuthError::StateMismatch.is_transient());
        assert!(server("invalid_grant", 400).is_login_required());
    }

    #[test]
    fn retry_after_is_exposed() {
        let e = OAuthError::Http {
            status: 503,
            retry_after: Some(Duration::from_secs(7)),
            detail: String::new(),
        };
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.to_string().contains("retry after 7 s"));
    }
}
