//! Where tokens come from: the [`TokenSource`] trait, the shipped source
//! with no profiles, and a deterministic test source.
//!
//! The session layer ([`crate::session`]) caches and shares what a source
//! returns; a source only knows how to get one fresh token for one profile.
//! The OAuth engine ([`crate::oauth_source::OAuthSource`]) is the real
//! implementation of this trait.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use std::time::SystemTime;

use wrs_proto::{ErrorKind, ErrorResponse, Secret};

use crate::clock::Clock;

/// A boxed, sendable future, so [`TokenSource`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
            SourceError::ConfigFile(_) => ErrorResponse::new(ErrorKind::Config, message)
                .with_hint("fix the file, then run `wrs-token daemon reload`"),
            SourceError::Transient { .. } => ErrorResponse::new(ErrorKind::Network, message)
                .with_hint("the daemon retries by itself; `wrs-token status` shows when"),
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

impl SourceError {
    /// Whether retrying later may succeed: the renewal scheduler backs off
    /// and retries these, and stops on every other error.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SourceError::Network(_) | SourceError::Transient { .. } | SourceError::UnusableToken(_)
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

/// How a [`TestSource`] fails, when told to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestFailure {
    /// Every fetch answers "login required".
    LoginRequired,
    /// Every fetch answers a network error.
    Network,
    /// Every fetch answers a transient server error (a 503), with this
    /// `Retry-After` if any.
    Unavailable(Option<Duration>),
    /// Every fetch answers the server's rejection of the client
    /// (`invalid_client`).
    ClientRejected,
    /// Every fetch fails reading the secret store (a locked keyring),
    /// before any request.
    StoreLocked,
}

/// What a [`TestSource`] does, parsed from `--test-source`.
///
/// Spec: comma-separated `key=value` pairs; `profile=NAME` (repeatable,
/// first is the default; `test` when none given), `lifetime=SECS` or
/// `lifetime_ms=MS` (token lifetime, default 300 s), `delay_ms=MS` (delay
/// per fetch, default 0), `fail=login_required|network|unavailable|client_rejected|store_locked|none`
/// (default none), `retry_after=SECS` (with `fail=unavailable`), and the
/// profiles' policy: `min_ttl=SECS`, `keep_warm=SECS`, `keepalive=SECS`
/// (`0` = off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSourceSpec {
    /// Profile names, default first.
    pub profiles: Vec<String>,
    /// Lifetime of each token.
    pub lifetime: Duration,
    /// Delay before each fetch answers.
    pub delay: Duration,
    /// Failure to inject.
    pub fail: Option<TestFailure>,
    /// Every profile's `min_ttl`.
    pub min_ttl: Option<Duration>,
    /// Every profile's `keep_warm`.
    pub keep_warm: Duration,
    /// Every profile's `keepalive`.
    pub keepalive: Option<Duration>,
}

impl Default for TestSourceSpec {
    fn default() -> Self {
        let defaults = ProfileInfo::new("test", true, "");
        TestSourceSpec {
            profiles: vec!["test".into()],
            lifetime: Duration::from_secs(300),
            delay: Duration::ZERO,
            fail: None,
            min_ttl: defaults.min_ttl,
            keep_warm: defaults.keep_warm,
            keepalive: defaults.keepalive,
        }
    }
}

impl std::str::FromStr for TestSourceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut spec = TestSourceSpec {
            profiles: Vec::new(),
            ..TestSourceSpec::default()
        };
        let mut retry_after = None;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got {part:?}"))?;
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("{key} needs a number, got {v:?}"))
            };
            match key {
                "profile" if !value.is_empty() => spec.profiles.push(value.to_owned()),
                "lifetime" => spec.lifetime = Duration::from_secs(number(value)?),
                "lifetime_ms" => spec.lifetime = Duration::from_millis(number(value)?),
                "delay_ms" => spec.delay = Duration::from_millis(number(value)?),
                "min_ttl" => spec.min_ttl = Some(Duration::from_secs(number(value)?)),
                "keep_warm" => spec.keep_warm = Duration::from_secs(number(value)?),
                "keepalive" => {
                    spec.keepalive = match number(value)? {
                        0 => None,
                        secs => Some(Duration::from_secs(secs)),
                    }
                }
                "retry_after" => retry_after = Some(Duration::from_secs(number(value)?)),
                "fail" => {
                    spec.fail = match value {
                        "login_required" => Some(TestFailure::LoginRequired),
                        "network" => Some(TestFailure::Network),
                        "unavailable" => Some(TestFailure::Unavailable(None)),
                        "client_rejected" => Some(TestFailure::ClientRejected),
                        "store_locked" => Some(TestFailure::StoreLocked),
                        "none" => None,
                        _ => return Err(format!("unknown failure {value:?}")),
                    }
                }
                _ => return Err(format!("unknown test-source key {part:?}")),
            }
        }
        if let Some(TestFailure::Unavailable(after)) = &mut spec.fail {
            *after = retry_after;
        }
        if spec.profiles.is_empty() {
            spec.profiles.push("test".into());
        }
        Ok(spec)
    }
}

/// TEST AID, not a real token source: issues `wrs-test-<profile>-<n>`
/// tokens (n counts per profile from 1) without any authorization server,
/// so tests of the real binaries can get tokens. Selected only by the
/// hidden `--test-source` flag.
pub struct TestSource {
    spec: TestSourceSpec,
    clock: Arc<dyn Clock>,
    fetches: AtomicU64,
    /// When each fetch was sent, on the injected clock.
    sent: Mutex<Vec<SystemTime>>,
    counters: Mutex<HashMap<String, u64>>,
    fail: Mutex<Option<TestFailure>>,
}

impl TestSource {
    /// A test source following `spec`, stamping expiry with `clock`.
    pub fn new(spec: TestSourceSpec, clock: Arc<dyn Clock>) -> Self {
        let fail = Mutex::new(spec.fail);
        TestSource {
            spec,
            clock,
            fetches: AtomicU64::new(0),
            sent: Mutex::new(Vec::new()),
            counters: Mutex::new(HashMap::new()),
            fail,
        }
    }

    /// How many fetches were made, over all profiles (failed ones too).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// When each fetch so far was sent, in order (on the injected clock).
    pub fn fetch_times(&self) -> Vec<SystemTime> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the injected failure from now on.
    pub fn set_failure(&self, fail: Option<TestFailure>) {
        *self.fail.lock().unwrap_or_else(PoisonError::into_inner) = fail;
    }
}

impl TokenSource for TestSource {
    fn profiles(&self) -> Vec<ProfileInfo> {
        self.spec
            .profiles
            .iter()
            .enumerate()
            .map(|(i, name)| ProfileInfo {
                min_ttl: self.spec.min_ttl,
                keep_warm: self.spec.keep_warm,
                keepalive: self.spec.keepalive,
                ..ProfileInfo::new(name, i == 0, "test-source (no network)")
            })
            .collect()
    }

    fn fetch(&self, profile: &str) -> BoxFuture<'_, Result<IssuedToken, SourceError>> {
        let profile = profile.to_owned();
        Box::pin(async move {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            // Like a real source: expiry counts from when the request left.
            let sent = self.clock.now();
            self.sent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(sent);
            if !self.spec.delay.is_zero() {
                tokio::time::sleep(self.spec.delay).await;
            }
            let fail = *self.fail.lock().unwrap_or_else(PoisonError::into_inner);
            match fail {
                Some(TestFailure::LoginRequired) => {
                    return Err(SourceError::LoginRequired {
                        profile,
                        reason: Some("test source told to fail".into()),
                    });
                }
                Some(TestFailure::Network) => {
                    return Err(SourceError::Network("test source told to fail".into()));
                }
                Some(TestFailure::Unavailable(retry_after)) => {
                    return Err(SourceError::Transient {
                        message: "the authorization server answered HTTP 503 (test source)".into(),
                        retry_after,
                    });
                }
                Some(TestFailure::ClientRejected) => {
                    return Err(SourceError::ServerConfig(
                        "the authorization server rejected the client (test source)".into(),
                    ));
                }
                Some(TestFailure::StoreLocked) => {
                    return Err(SourceError::Store {
                        message: "the keyring is locked (test source)".into(),
                        hint: Some("unlock it".into()),
                        after_request: false,
                    });
                }
                None => {}
            }
            let n = {
                let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
                let n = counters.entry(profile.clone()).or_insert(0);
                *n += 1;
                *n
            };
            Ok(IssuedToken {
                access_token: Secret::new(format!("wrs-test-{profile}-{n}")),
                token_type: "Bearer".into(),
                expires_at: sent + self.spec.lifetime,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_every_key_and_defaults_the_profile() {
        let spec: TestSourceSpec = "profile=a,profile=b,lifetime=7,delay_ms=20,fail=network"
            .parse()
            .unwrap();
        assert_eq!(spec.profiles, ["a", "b"]);
        assert_eq!(spec.lifetime, Duration::from_secs(7));
        assert_eq!(spec.delay, Duration::from_millis(20));
        assert_eq!(spec.fail, Some(TestFailure::Network));
        let spec: TestSourceSpec =
            "lifetime_ms=1500,fail=unavailable,retry_after=60,min_ttl=3,keep_warm=30,keepalive=0"
                .parse()
                .unwrap();
        assert_eq!(spec.lifetime, Duration::from_millis(1500));
        assert_eq!(
            spec.fail,
            Some(TestFailure::Unavailable(Some(Duration::from_secs(60))))
        );
        assert_eq!(spec.min_ttl, Some(Duration::from_secs(3)));
        assert_eq!(spec.keep_warm, Duration::from_secs(30));
        assert_eq!(spec.keepalive, None);
        let spec: TestSourceSpec = "".parse().unwrap();
        assert_eq!(spec, TestSourceSpec::default());
    }

    #[test]
    fn spec_rejects_unknown_keys_and_bad_numbers() {
        assert!("colour=red".parse::<TestSourceSpec>().is_err());
        assert!("lifetime=soon".parse::<TestSourceSpec>().is_err());
        assert!("fail=sometimes".parse::<TestSourceSpec>().is_err());
        assert!("profile".parse::<TestSourceSpec>().is_err());
    }

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
}
