//! The fake token source behind `--test-source`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use wrs_proto::Secret;

use crate::clock::Clock;
use crate::future::BoxFuture;
use crate::source::{IssuedToken, ProfileInfo, SourceError, TokenSource};

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
}
