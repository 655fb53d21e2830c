//! Per-profile token cache with single-flight fetches.
//!
//! [`Sessions`] sits between the request handler and the [`TokenSource`]:
//!
//! - a cached token answers `GetToken` while it has at least
//!   `max(min_ttl, safety margin)` left;
//! - otherwise one fetch starts, and every caller that arrives while it runs
//!   waits for that same fetch (single-flight): success or error, they all
//!   get its outcome. The fetch runs in its own task, so a client hanging up
//!   mid-fetch neither cancels it for the others nor loses the result;
//! - a token whose expiry has passed is never handed out, not even one
//!   fresh from the source.
//!
//! A fresh token is handed to its waiters even when its whole lifetime is
//! shorter than a waiter's `min_ttl`: it is the best the authority gives,
//! and refusing it would only make the client retry into another fetch.
//!
//! Time comes from an injected [`Clock`], so tests move it by hand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use wrs_proto::{
    ErrorKind, ErrorResponse, ProfileStatus, ProfileSummary, Secret, SessionState, TokenReply,
};

use crate::clock::{Clock, unix_secs};
use crate::source::{IssuedToken, ProfileInfo, SourceError, TokenSource};

/// Tokens with less than this left are not served from the cache even when
/// the caller asks for less: the caller still has to send it over the
/// network, and a token that dies in flight is a spurious 401.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(2);

type FetchOutcome = Result<IssuedToken, SourceError>;

/// All profiles' sessions over one token source.
pub struct Sessions {
    source: Arc<dyn TokenSource>,
    clock: Arc<dyn Clock>,
    safety_margin: Duration,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

/// One profile's cache and in-flight fetch.
#[derive(Default)]
struct Session {
    inner: Mutex<SessionInner>,
}

#[derive(Default)]
struct SessionInner {
    token: Option<IssuedToken>,
    last_error: Option<SourceError>,
    /// Present while a fetch runs; waiters clone it and wait for `Some`.
    inflight: Option<watch::Receiver<Option<FetchOutcome>>>,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, SessionInner> {
        // The critical sections never panic halfway through an update, so a
        // poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionInner {
    fn state(&self, now: SystemTime) -> SessionState {
        if self.inflight.is_some() {
            SessionState::Refreshing
        } else if matches!(self.last_error, Some(SourceError::LoginRequired { .. })) {
            SessionState::NeedsLogin
        } else if self.token.as_ref().is_some_and(|t| t.expires_at > now) {
            SessionState::Active
        } else {
            SessionState::LoggedOut
        }
    }
}

impl Sessions {
    /// Sessions over `source`, timed by `clock`, with the default safety margin.
    pub fn new(source: Arc<dyn TokenSource>, clock: Arc<dyn Clock>) -> Self {
        Sessions {
            source,
            clock,
            safety_margin: DEFAULT_SAFETY_MARGIN,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the safety margin (see [`DEFAULT_SAFETY_MARGIN`]).
    pub fn with_safety_margin(mut self, margin: Duration) -> Self {
        self.safety_margin = margin;
        self
    }

    /// The token source behind these sessions.
    pub fn source(&self) -> &Arc<dyn TokenSource> {
        &self.source
    }

    /// A token for `profile` (the default when `None`) valid for at least
    /// `min_ttl`, from the cache or from one shared fetch.
    pub async fn get_token(
        &self,
        profile: Option<&str>,
        min_ttl: Duration,
    ) -> Result<TokenReply, ErrorResponse> {
        let name = self.resolve(profile)?;
        let session = self.session(&name);
        let need = min_ttl.max(self.safety_margin);
        let mut rx = {
            let mut inner = session.lock();
            let now = self.clock.now();
            if let Some(token) = &inner.token
                && token.expires_at.duration_since(now).unwrap_or_default() >= need
                && token.expires_at > now
            {
                return Ok(reply(&name, token));
            }
            match &inner.inflight {
                Some(rx) => rx.clone(),
                None => self.start_fetch(&name, &session, &mut inner),
            }
        };
        let outcome = loop {
            if let Some(outcome) = rx.borrow_and_update().clone() {
                break outcome;
            }
            if rx.changed().await.is_err() {
                // The fetch task always sends before it ends; this is only
                // reached if the runtime is shutting down under us.
                break Err(SourceError::Internal(
                    "the token fetch was abandoned".into(),
                ));
            }
        };
        match outcome {
            Ok(token) if token.expires_at > self.clock.now() => Ok(reply(&name, &token)),
            Ok(_) => Err(ErrorResponse::new(
                ErrorKind::AuthorizationServer,
                format!("the authorization server issued an already expired token for {name}"),
            )
            .with_hint("check that this machine's clock is right")),
            Err(e) => Err(e.to_response()),
        }
    }

    /// Starts the one fetch for `session`; the caller holds its lock.
    fn start_fetch(
        &self,
        name: &str,
        session: &Arc<Session>,
        inner: &mut SessionInner,
    ) -> watch::Receiver<Option<FetchOutcome>> {
        let (tx, rx) = watch::channel(None);
        inner.inflight = Some(rx.clone());
        let source = Arc::clone(&self.source);
        let session = Arc::clone(session);
        let name = name.to_owned();
        tokio::spawn(async move {
            // The fetch runs in a task of its own so that a panicking source
            // becomes an error for the waiters instead of a stuck session.
            let fetch_name = name.clone();
            let outcome = match tokio::spawn(async move { source.fetch(&fetch_name).await }).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    tracing::error!(profile = %name, "token source failed: {e}");
                    Err(SourceError::Internal("the token source crashed".into()))
                }
            };
            let mut inner = session.lock();
            match &outcome {
                Ok(token) => {
                    tracing::debug!(profile = %name, expires_at = unix_secs(token.expires_at), "fetched a token");
                    inner.token = Some(token.clone());
                    inner.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(profile = %name, "token fetch failed: {e}");
                    inner.last_error = Some(e.clone());
                }
            }
            inner.inflight = None;
            // Sent under the lock so no caller can see the cleared in-flight
            // marker before the outcome is published.
            tx.send_replace(Some(outcome));
        });
        rx
    }

    /// Drops `profile`'s cached token; when `token` is given, only if the
    /// cache still holds that token (a late 401 must not throw away a token
    /// refreshed in the meantime). Returns the profile name and whether a
    /// token was dropped.
    pub fn invalidate(
        &self,
        profile: Option<&str>,
        token: Option<&Secret>,
    ) -> Result<(String, bool), ErrorResponse> {
        let name = self.resolve(profile)?;
        let session = self.session(&name);
        let mut inner = session.lock();
        let matches = match (&inner.token, token) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(cached), Some(given)) => cached.access_token == *given,
        };
        if matches {
            inner.token = None;
        }
        Ok((name, matches))
    }

    /// Every profile's session state, in the source's order.
    pub fn status(&self) -> Vec<ProfileStatus> {
        let now = self.clock.now();
        self.source
            .profiles()
            .into_iter()
            .map(|p| {
                let session = self.session(&p.name);
                let inner = session.lock();
                ProfileStatus {
                    state: inner.state(now),
                    expires_at: inner.token.as_ref().map(|t| unix_secs(t.expires_at)),
                    next_refresh_at: None,
                    last_error: inner.last_error.as_ref().map(ToString::to_string),
                    name: p.name,
                }
            })
            .collect()
    }

    /// The configured profiles with their session state.
    pub fn profiles(&self) -> Vec<ProfileSummary> {
        let now = self.clock.now();
        self.source
            .profiles()
            .into_iter()
            .map(|p| {
                let state = self.session(&p.name).lock().state(now);
                ProfileSummary {
                    name: p.name,
                    is_default: p.is_default,
                    server: p.server,
                    state,
                }
            })
            .collect()
    }

    fn session(&self, name: &str) -> Arc<Session> {
        let mut map = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(name.to_owned()).or_default())
    }

    /// The profile a request means: the named one, else the default one,
    /// else the only one.
    fn resolve(&self, profile: Option<&str>) -> Result<String, ErrorResponse> {
        let profiles = self.source.profiles();
        if profiles.is_empty() {
            return Err(no_profile_error());
        }
        match profile {
            Some(name) => profiles
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.name.clone())
                .ok_or_else(|| {
                    ErrorResponse::new(
                        ErrorKind::UnknownProfile,
                        format!("no profile named {name:?}"),
                    )
                    .with_hint(format!("configured profiles: {}", names(&profiles)))
                }),
            None => {
                let chosen = match profiles.as_slice() {
                    [only] => Some(only),
                    _ => profiles.iter().find(|p| p.is_default),
                };
                chosen.map(|p| p.name.clone()).ok_or_else(|| {
                    ErrorResponse::new(ErrorKind::NoProfile, "no default profile").with_hint(
                        format!(
                            "pass `-p NAME` or set WRS_TOKEN_PROFILE; configured profiles: {}",
                            names(&profiles)
                        ),
                    )
                })
            }
        }
    }
}

/// The answer when no profile exists at all.
pub fn no_profile_error() -> ErrorResponse {
    ErrorResponse::new(ErrorKind::NoProfile, "no profile configured")
        .with_hint("add one: `wrs-token profile add NAME --issuer URL --client-id ID`")
}

fn names(profiles: &[ProfileInfo]) -> String {
    profiles
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn reply(profile: &str, token: &IssuedToken) -> TokenReply {
    TokenReply {
        profile: profile.to_owned(),
        access_token: token.access_token.clone(),
        token_type: token.token_type.clone(),
        expires_at: unix_secs(token.expires_at),
    }
}

#[cfg(test)]
mod tests;
