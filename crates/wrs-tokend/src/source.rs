//! Where tokens come from: the [`TokenSource`] trait, what a source answers
//! ([`ProfileInfo`], [`IssuedToken`], [`SourceError`] and its wire error),
//! and the shipped source with no profiles.
//!
//! The session layer ([`crate::session`]) caches and shares what a source
//! returns; a source only knows how to get one fresh token for one profile.
//! The OAuth engine ([`crate::oauth_source::OAuthSource`]) is the real
//! implementation of this trait; the fake one for tests is
//! [`crate::testing::TestSource`].

use std::time::{Duration, SystemTime};

use wrs_oauth::NetworkProblem;
use wrs_proto::{ErrorKind, ErrorResponse, Secret, SessionEnd};

use crate::future::BoxFuture;

/// One profile a source serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    /// Profile name.
    pub name: String,
    /// Whether requests without a profile name use it.
    pub is_default: bool,
    /// The issuer or token endpoint, for display only.
    pub server: String,
    /// The profile's minimum remaining validity of a token handed out,
    /// when configured: it applies to requests that ask for none.
    pub min_ttl: Option<Duration>,
    /// Renewal ahead of expiry stops this long after the last request.
    pub keep_warm: Duration,
    /// How often an idle session is refreshed; `None` when never.
    pub keepalive: Option<Duration>,
}

impl ProfileInfo {
    /// A profile with the default policy (no `min_ttl`, the default
    /// `keep_warm` and `keepalive`).
    pub fn new(name: &str, is_default: bool, server: &str) -> Self {
        ProfileInfo {
            name: name.to_owned(),
            is_default,
            server: server.to_owned(),
            min_ttl: None,
            keep_warm: Duration::from_secs(wrs_config::DEFAULT_KEEP_WARM_SECS),
            keepalive: Some(Duration::from_secs(wrs_config::DEFAULT_KEEPALIVE_SECS)),
        }
    }
}

/// An access token fresh from the authority.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedToken {
    /// The token (redacted in `Debug`).
    pub access_token: Secret,
    /// Usually `Bearer`.
    pub token_type: String,
    /// Wall-clock expiry. A real source computes it from the moment the
    /// request was *sent* plus `expires_in`, so network latency never makes
    /// the daemon believe a token lives longer than it does.
    pub expires_at: SystemTime,
}

/// Why a source could not produce a token. Each variant maps to one wire
/// [`ErrorKind`] (see [`SourceError::to_response`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The session has no usable refresh token; the user must log in.
    #[error("login required for profile {profile}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    LoginRequired {
        /// The profile that needs a login.
        profile: String,
        /// Why, when known (e.g. the server's `error_description`).
        reason: Option<String>,
    },
    /// The authorization server refused with an RFC 6749 error.
    #[error("the authorization server refused: {code}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AuthorizationServer {
        /// The RFC 6749 `error` code.
        code: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// The authority could not be reached or answered garbage.
    #[error("network error: {0}")]
    Network(String),
    /// The profile's configuration is unusable (found here, without asking
    /// the server).
    #[error("configuration error: {0}")]
    Config(String),
    /// The authorization server's answer shows a configuration problem:
    /// the client was rejected (`invalid_client`), discovery is unusable,
    /// the issuer does not match.
    #[error("configuration error: {0}")]
    ServerConfig(String),
    /// TLS refused the authorization server (an untrusted, expired or
    /// wrong-name certificate). Retried like a network error, but the hint
    /// names the fix, since waiting rarely is one.
    #[error("cannot reach the server of profile {profile}: {message}")]
    Tls {
        /// The profile whose server it is.
        profile: String,
        /// Which TLS failure.
        problem: NetworkProblem,
        /// What happened, in plain words.
        message: String,
    },
    /// The authority is unreachable, overloaded or answered garbage, in a
    /// way a later retry may fix (5xx, timeouts, `temporarily_unavailable`).
    #[error("{message}")]
    Transient {
        /// What happened, for the user.
        message: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The server answered with a token that cannot be handed out (already
    /// expired, or inside its safety margin on arrival). Retried with
    /// backoff: the server's configuration may be fixed.
    #[error("{0}")]
    UnusableToken(String),
    /// The configuration file cannot be read or is invalid (the message
    /// names file, line and key).
    #[error("configuration file error: {0}")]
    ConfigFile(String),
    /// The secret store failed.
    #[error("secret store error: {message}")]
    Store {
        /// What failed (never a secret value).
        message: String,
        /// What the user can do, e.g. choose another store.
        hint: Option<String>,
        /// It failed after the server answered (saving a rotated refresh
        /// token), so the attempt cost the server a request.
        after_request: bool,
    },
    /// An interactive login did not complete (timeout, state mismatch,
    /// abandoned, expired device code).
    #[error("{0}")]
    LoginFailed(String),
    /// The source does not implement this operation.
    #[error("{0} is not supported by this token source yet")]
    Unsupported(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl SourceError {
    /// The wire error for this failure, with a hint where the user can act.
    pub fn to_response(&self) -> ErrorResponse {
        let message = self.to_string();
        match self {
            SourceError::LoginRequired { profile, .. } => {
                ErrorResponse::new(ErrorKind::LoginRequired, message)
                    .with_hint(format!("run `wrs-token login {profile}`"))
            }
            SourceError::AuthorizationServer { code, .. } => {
                ErrorResponse::new(ErrorKind::AuthorizationServer, message).with_oauth_error(code)
            }
            SourceError::UnusableToken(_) => {
                ErrorResponse::new(ErrorKind::AuthorizationServer, message)
            }
            SourceError::Network(_) => ErrorResponse::new(ErrorKind::Network, message)
                .with_hint("check the network and the issuer URL; `wrs-token doctor` can help"),
            SourceError::Config(_) | SourceError::ServerConfig(_) => {
                ErrorResponse::new(ErrorKind::Config, message)
            }
            SourceError::ConfigFile(_) => ErrorResponse::new(ErrorKind::Config, message).with_hint(
                "fix the file: the daemon applies it by itself (`wrs-token status` shows \
                     whether it loads)",
            ),
            SourceError::Tls {
                profile, problem, ..
            } => ErrorResponse::new(ErrorKind::Network, message)
                .with_hint(tls_hint(profile, *problem)),
            SourceError::Transient { .. } => {
                ErrorResponse::new(ErrorKind::Network, message).with_hint(RETRIES_BY_ITSELF)
            }
            SourceError::Store { hint, .. } => {
                let err = ErrorResponse::new(ErrorKind::Store, message);
                match hint {
                    Some(hint) => err.with_hint(hint.clone()),
                    None => err,
                }
            }
            SourceError::LoginFailed(_) => ErrorResponse::new(ErrorKind::LoginFailed, message),
            SourceError::Unsupported(_) => ErrorResponse::new(ErrorKind::Config, message)
                .with_hint("this daemon build cannot do that yet"),
            SourceError::Internal(_) => ErrorResponse::new(ErrorKind::Internal, message),
        }
    }
}

/// The reason of a [`SourceError::LoginRequired`] when no refresh token is
/// stored: never logged in here, or logged out.
pub const NO_REFRESH_TOKEN: &str = "no refresh token is stored";

/// How the reason of a [`SourceError::LoginRequired`] starts when the
/// stored login belongs to another server or client.
pub const STORED_FOR_ANOTHER: &str = "the stored login belongs to";

impl SourceError {
    /// Why the session ended, for a "login required": nothing stored, a
    /// stored login for another owner, or else the server's `invalid_grant`
    /// (the refresh token expired or was revoked).
    pub fn session_end(&self) -> Option<SessionEnd> {
        let SourceError::LoginRequired { reason, .. } = self else {
            return None;
        };
        Some(match reason.as_deref() {
            Some(NO_REFRESH_TOKEN) => SessionEnd::NeverLoggedIn,
            Some(r) if r.starts_with(STORED_FOR_ANOTHER) => SessionEnd::Rejected,
            _ => SessionEnd::Revoked,
        })
    }

    /// Whether retrying later may succeed: the renewal scheduler backs off
    /// and retries these, and stops on every other error.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SourceError::Network(_)
                | SourceError::Tls { .. }
                | SourceError::Transient { .. }
                | SourceError::UnusableToken(_)
        )
    }

    /// Whether the failed attempt sent a request to the authorization
    /// server. Only those bind callers to a backoff: a locked keyring or a
    /// missing secret costs the server nothing, and retrying it at once is
    /// what a user who just fixed it expects.
    pub fn reached_server(&self) -> bool {
        match self {
            SourceError::AuthorizationServer { .. }
            | SourceError::Network(_)
            | SourceError::Tls { .. }
            | SourceError::Transient { .. }
            | SourceError::UnusableToken(_)
            | SourceError::ServerConfig(_)
            | SourceError::LoginRequired { .. } => true,
            SourceError::Store { after_request, .. } => *after_request,
            SourceError::Config(_)
            | SourceError::ConfigFile(_)
            | SourceError::LoginFailed(_)
            | SourceError::Unsupported(_)
            | SourceError::Internal(_) => false,
        }
    }

    /// The same error, marked as happening after the server answered.
    pub fn after_request(self) -> Self {
        match self {
            SourceError::Store { message, hint, .. } => SourceError::Store {
                message,
                hint,
                after_request: true,
            },
            other => other,
        }
    }

    /// How long the server asked us to wait, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SourceError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The hint of a transient failure of a token request: the renewal
/// scheduler tries again. Never given for a login, which nothing retries.
pub const RETRIES_BY_ITSELF: &str = "the daemon retries by itself; `wrs-token status` shows when";

/// The fix for a TLS failure, with the exact command where there is one.
pub fn tls_hint(profile: &str, problem: NetworkProblem) -> String {
    match problem {
        NetworkProblem::CertificateExpired => format!(
            "check this machine's clock; if it is right, the server's certificate has expired: \
             tell the server's administrators (`wrs-token doctor {profile}` shows the details)"
        ),
        NetworkProblem::CertificateNameMismatch => format!(
            "the certificate is for another host: check the profile's issuer URL \
             (`wrs-token profile set {profile} issuer URL`; `wrs-token doctor {profile}` shows the details)"
        ),
        // Untrusted (an internal CA, a self-signed certificate) and any
        // other rejection: trusting the site's CA is the fix.
        _ => format!(
            "trust the CA that issued the server's certificate: \
             `wrs-token profile set {profile} ca_file PATH` (PATH: its PEM bundle, from your administrators; \
             `wrs-token doctor {profile}` checks it)"
        ),
    }
}

/// Something that can obtain access tokens for named profiles.
///
/// Implementations are shared between connections (`Send + Sync`); caching
/// and single-flight are the session layer's job, not the source's.
pub trait TokenSource: Send + Sync + 'static {
    /// Profiles this source serves, default first.
    fn profiles(&self) -> Vec<ProfileInfo>;

    /// Obtains a fresh access token for `profile` from the authority (one
    /// network round trip in the real source). `profile` is always one of
    /// [`TokenSource::profiles`].
    fn fetch(&self, profile: &str) -> BoxFuture<'_, Result<IssuedToken, SourceError>>;

    /// Whether the source can serve at all; an error here (a broken
    /// configuration file) answers every profile request.
    fn check(&self) -> Result<(), SourceError> {
        Ok(())
    }

    /// Who `profile`'s login belongs to and what it was granted, when
    /// known without asking anyone (no store read, no network).
    fn session_record(&self, _profile: &str) -> Option<crate::identity::SessionRecord> {
        None
    }
}

/// The shipped source while no profile is configured: serves nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProfiles;

impl TokenSource for NoProfiles {
    fn profiles(&self) -> Vec<ProfileInfo> {
        Vec::new()
    }

    fn fetch(&self, profile: &str) -> BoxFuture<'_, Result<IssuedToken, SourceError>> {
        let err = SourceError::Config(format!("profile {profile} is not configured"));
        Box::pin(async move { Err(err) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_required_names_the_login_command() {
        let err = SourceError::LoginRequired {
            profile: "plm".into(),
            reason: None,
        }
        .to_response();
        assert_eq!(err.kind, ErrorKind::LoginRequired);
        assert_eq!(err.hint.as_deref(), Some("run `wrs-token login plm`"));
    }

    #[test]
    fn an_untrusted_certificate_names_the_ca_file_command_not_a_retry() {
        let err = SourceError::Tls {
            profile: "plm".into(),
            problem: NetworkProblem::UntrustedCertificate,
            message: "TLS: certificate not trusted (unknown issuer)".into(),
        };
        assert!(err.is_transient(), "renewal keeps trying");
        let hint = err.to_response().hint.unwrap();
        assert!(
            hint.contains("wrs-token profile set plm ca_file PATH"),
            "{hint}"
        );
        assert!(!hint.contains("retries by itself"), "{hint}");
    }
}
