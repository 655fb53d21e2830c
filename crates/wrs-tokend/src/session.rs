//! Per-profile token cache with single-flight fetches and scheduled renewal.
//!
//! [`Sessions`] sits between the request handler and the [`TokenSource`]:
//!
//! - a cached token answers `GetToken` while it has at least
//!   `max(min_ttl, profile min_ttl, safety margin)` left;
//! - otherwise one fetch starts, and every caller that arrives while it runs
//!   waits for that same fetch (single-flight): success or error, they all
//!   get its outcome. The fetch runs in its own task, so a client hanging up
//!   mid-fetch neither cancels it for the others nor loses the result;
//! - a token whose expiry has passed is never handed out, not even one
//!   fresh from the source;
//! - after each fetch the [`crate::renewer`] plans the next one: ahead of
//!   expiry after a success, with backoff after a transient failure, never
//!   after "login required" (the session then answers that error at once,
//!   without asking the server again, until a login, logout or reload).
//!
//! A fresh token is handed to its waiters even when its whole lifetime is
//! shorter than a waiter's `min_ttl`: it is the best the authority gives,
//! and refusing it would only make the client retry into another fetch.
//!
//! Time comes from an injected [`Clock`], so tests move it by hand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, watch};
use wrs_proto::{
    ErrorKind, ErrorResponse, ProfileStatus, ProfileSummary, Secret, SessionState, TokenReply,
};

use crate::clock::{Clock, unix_secs};
use crate::renewer::{self, RenewalPolicy};
use crate::source::{IssuedToken, ProfileInfo, SourceError, TokenSource};

/// Tokens with less than this left are not served from the cache even when
/// the caller asks for less: the caller still has to send it over the
/// network, and a token that dies in flight is a spurious 401.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(2);

pub(crate) type FetchOutcome = Result<IssuedToken, SourceError>;

/// All profiles' sessions over one token source.
pub struct Sessions {
    shared: Arc<Shared>,
    safety_margin: Duration,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

/// What fetch tasks and renewers need, shared with them.
pub(crate) struct Shared {
    pub(crate) source: Arc<dyn TokenSource>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: RenewalPolicy,
    pub(crate) shutdown: watch::Sender<bool>,
}

/// One profile's cache, in-flight fetch and renewal plan.
pub(crate) struct Session {
    pub(crate) name: String,
    inner: Mutex<SessionInner>,
    /// Wakes the renewer when the plan changed (new token, logout, ...).
    pub(crate) changed: Notify,
}

#[derive(Default)]
pub(crate) struct SessionInner {
    pub(crate) token: Option<IssuedToken>,
    /// When the cached token's request was sent: with its expiry, its
    /// lifetime, which scales the safety margin for short-lived tokens.
    pub(crate) token_issued_at: Option<SystemTime>,
    pub(crate) last_error: Option<SourceError>,
    /// Present while a fetch runs; waiters clone it and wait for `Some`.
    pub(crate) inflight: Option<watch::Receiver<Option<FetchOutcome>>>,
    /// When the renewer fetches next, if it will.
    pub(crate) next_refresh_at: Option<SystemTime>,
    /// Transient failures in a row (the backoff exponent).
    pub(crate) failures: u32,
    /// Bumped by login, logout and reload: the outcome of a fetch started
    /// before is not stored (it answers its waiters only).
    pub(crate) generation: u64,
    pub(crate) renewer_running: bool,
    /// The profile is gone (reload removed or changed it) or the daemon
    /// stops: the renewer ends.
    pub(crate) closed: bool,
}

impl Session {
    fn new(name: &str) -> Self {
        Session {
            name: name.to_owned(),
            inner: Mutex::new(SessionInner::default()),
            changed: Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionInner> {
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
        } else if self.next_refresh_at.is_some()
            && self
                .last_error
                .as_ref()
                .is_some_and(SourceError::is_transient)
        {
            SessionState::BackingOff
        } else if self.token.as_ref().is_some_and(|t| t.expires_at > now) {
            SessionState::Active
        } else {
            SessionState::LoggedOut
        }
    }

    /// The cached token, if it has at least `need` left, and at least the
    /// safety margin, which shrinks to a quarter of the lifetime for
    /// short-lived tokens (a 2 s token would otherwise never be cached).
    fn usable(&self, now: SystemTime, need: Duration, margin: Duration) -> Option<&IssuedToken> {
        self.token.as_ref().filter(|token| {
            let lifetime = self
                .token_issued_at
                .and_then(|issued| token.expires_at.duration_since(issued).ok())
                .unwrap_or(Duration::MAX);
            let need = need.max(margin.min(lifetime / 4));
            token.expires_at > now
                && token.expires_at.duration_since(now).unwrap_or_default() >= need
        })
    }
}

impl Sessions {
    /// Sessions over `source`, timed by `clock`, with the default safety
    /// margin and renewal policy.
    pub fn new(source: Arc<dyn TokenSource>, clock: Arc<dyn Clock>) -> Self {
        Sessions {
            shared: Arc::new(Shared {
                source,
                clock,
                policy: RenewalPolicy::default(),
                shutdown: watch::Sender::new(false),
            }),
            safety_margin: DEFAULT_SAFETY_MARGIN,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the safety margin (see [`DEFAULT_SAFETY_MARGIN`]).
    pub fn with_safety_margin(mut self, margin: Duration) -> Self {
        self.safety_margin = margin;
        self
    }

    /// Changes the renewal policy (before any session exists).
    pub fn with_policy(mut self, policy: RenewalPolicy) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.policy = policy;
        }
        self
    }

    /// The token source behind these sessions.
    pub fn source(&self) -> &Arc<dyn TokenSource> {
        &self.shared.source
    }

    /// The clock these sessions run on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// A token for `profile` (the default when `None`) valid for at least
    /// `min_ttl`, from the cache or from one shared fetch. A session that
    /// needs a login answers so at once, without asking the server.
    pub async fn get_token(
        &self,
        profile: Option<&str>,
        min_ttl: Duration,
    ) -> Result<TokenReply, ErrorResponse> {
        let info = self.resolve_info(profile)?;
        let session = self.session(&info.name);
        let need = min_ttl.max(info.min_ttl);
        let rx = {
            let mut inner = session.lock();
            if let Some(token) = inner.usable(self.shared.clock.now(), need, self.safety_margin) {
                return Ok(reply(&info.name, token));
            }
            match &inner.inflight {
                Some(rx) => rx.clone(),
                None => {
                    if let Some(err @ SourceError::LoginRequired { .. }) = &inner.last_error {
                        return Err(err.to_response());
                    }
                    start_fetch(&self.shared, &session, &mut inner)
                }
            }
        };
        self.answer(&info.name, wait_outcome(rx).await)
    }

    /// Fetches a new token for `profile` now, bypassing the cache and a
    /// "login required" state (after a login or an import), sharing a fetch
    /// that is already running.
    pub async fn refresh(&self, profile: Option<&str>) -> Result<TokenReply, ErrorResponse> {
        let name = self.resolve(profile)?;
        let session = self.session(&name);
        let rx = {
            let mut inner = session.lock();
            match &inner.inflight {
                Some(rx) => rx.clone(),
                None => start_fetch(&self.shared, &session, &mut inner),
            }
        };
        self.answer(&name, wait_outcome(rx).await)
    }

    fn answer(&self, name: &str, outcome: FetchOutcome) -> Result<TokenReply, ErrorResponse> {
        match outcome {
            Ok(token) if token.expires_at > self.shared.clock.now() => Ok(reply(name, &token)),
            Ok(_) => Err(ErrorResponse::new(
                ErrorKind::AuthorizationServer,
                format!("the authorization server issued an already expired token for {name}"),
            )
            .with_hint("check that this machine's clock is right")),
            Err(e) => Err(e.to_response()),
        }
    }

    /// Puts a token obtained outside the source (a login) into `profile`'s
    /// cache and plans its renewal; `issued_at` is when its request was sent.
    pub fn seed(&self, profile: &str, token: IssuedToken, issued_at: SystemTime) {
        let session = self.session(profile);
        let mut inner = session.lock();
        inner.generation += 1;
        inner.last_error = None;
        let min_ttl = self.profile_min_ttl(profile);
        renewer::after_fetch(
            &self.shared,
            &session,
            &mut inner,
            issued_at,
            min_ttl,
            &Ok(token.clone()),
        );
        inner.token = Some(token);
        inner.token_issued_at = Some(issued_at);
    }

    /// Forgets everything about `profile`'s tokens (logout): the cache, the
    /// last error and the renewal plan. A fetch still running is not stored.
    pub fn clear(&self, profile: &str) {
        let session = self.session(profile);
        let mut inner = session.lock();
        inner.generation += 1;
        inner.token = None;
        inner.token_issued_at = None;
        inner.last_error = None;
        inner.next_refresh_at = None;
        inner.failures = 0;
        session.changed.notify_one();
    }

    /// Drops `profile`'s session altogether (its configuration changed or
    /// went away); its renewer ends.
    pub fn remove(&self, profile: &str) {
        let removed = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(profile);
        if let Some(session) = removed {
            let mut inner = session.lock();
            inner.closed = true;
            inner.generation += 1;
            session.changed.notify_one();
        }
    }

    /// Ends every renewer (the daemon stops).
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
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
        let now = self.shared.clock.now();
        self.shared
            .source
            .profiles()
            .into_iter()
            .map(|p| {
                let session = self.session(&p.name);
                let inner = session.lock();
                ProfileStatus {
                    state: inner.state(now),
                    expires_at: inner.token.as_ref().map(|t| unix_secs(t.expires_at)),
                    next_refresh_at: inner.next_refresh_at.map(unix_secs),
                    last_error: inner.last_error.as_ref().map(ToString::to_string),
                    name: p.name,
                }
            })
            .collect()
    }

    /// The configured profiles with their session state.
    pub fn profiles(&self) -> Vec<ProfileSummary> {
        let now = self.shared.clock.now();
        self.shared
            .source
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

    /// `profile`'s session state.
    pub fn state(&self, profile: &str) -> SessionState {
        let now = self.shared.clock.now();
        self.session(profile).lock().state(now)
    }

    fn session(&self, name: &str) -> Arc<Session> {
        let mut map = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            map.entry(name.to_owned())
                .or_insert_with(|| Arc::new(Session::new(name))),
        )
    }

    fn profile_min_ttl(&self, name: &str) -> Duration {
        profile_min_ttl(&self.shared, name)
    }

    /// The profile a request means: the named one, else the default one,
    /// else the only one.
    pub fn resolve(&self, profile: Option<&str>) -> Result<String, ErrorResponse> {
        self.resolve_info(profile).map(|p| p.name)
    }

    fn resolve_info(&self, profile: Option<&str>) -> Result<ProfileInfo, ErrorResponse> {
        self.shared.source.check().map_err(|e| e.to_response())?;
        let profiles = self.shared.source.profiles();
        if profiles.is_empty() {
            return Err(no_profile_error());
        }
        match profile {
            Some(name) => profiles
                .iter()
                .find(|p| p.name == name)
                .cloned()
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
                chosen.cloned().ok_or_else(|| {
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

pub(crate) fn profile_min_ttl(shared: &Shared, name: &str) -> Duration {
    shared
        .source
        .profiles()
        .into_iter()
        .find(|p| p.name == name)
        .map_or(Duration::ZERO, |p| p.min_ttl)
}

/// Starts the one fetch for `session`; the caller holds its lock.
pub(crate) fn start_fetch(
    shared: &Arc<Shared>,
    session: &Arc<Session>,
    inner: &mut SessionInner,
) -> watch::Receiver<Option<FetchOutcome>> {
    let (tx, rx) = watch::channel(None);
    inner.inflight = Some(rx.clone());
    let generation = inner.generation;
    let shared = Arc::clone(shared);
    let session = Arc::clone(session);
    tokio::spawn(async move {
        let started = shared.clock.now();
        let name = session.name.clone();
        // The fetch runs in a task of its own so that a panicking source
        // becomes an error for the waiters instead of a stuck session.
        let source = Arc::clone(&shared.source);
        let fetch_name = name.clone();
        let outcome = match tokio::spawn(async move { source.fetch(&fetch_name).await }).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(profile = %name, "token source failed: {e}");
                Err(SourceError::Internal("the token source crashed".into()))
            }
        };
        let min_ttl = profile_min_ttl(&shared, &name);
        let mut inner = session.lock();
        inner.inflight = None;
        if inner.generation == generation && !inner.closed {
            match &outcome {
                Ok(token) => {
                    tracing::debug!(profile = %name, expires_at = unix_secs(token.expires_at), "fetched a token");
                    inner.token = Some(token.clone());
                    inner.token_issued_at = Some(started);
                    inner.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(profile = %name, "token fetch failed: {e}");
                    inner.last_error = Some(e.clone());
                }
            }
            renewer::after_fetch(&shared, &session, &mut inner, started, min_ttl, &outcome);
        }
        // Sent under the lock so no caller can see the cleared in-flight
        // marker before the outcome is published.
        tx.send_replace(Some(outcome));
    });
    rx
}

/// Waits for the outcome of a fetch started by [`start_fetch`].
pub(crate) async fn wait_outcome(mut rx: watch::Receiver<Option<FetchOutcome>>) -> FetchOutcome {
    loop {
        if let Some(outcome) = rx.borrow_and_update().clone() {
            return outcome;
        }
        if rx.changed().await.is_err() {
            // The fetch task always sends before it ends; this is only
            // reached if the runtime is shutting down under us.
            return Err(SourceError::Internal(
                "the token fetch was abandoned".into(),
            ));
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
