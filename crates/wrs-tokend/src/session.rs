//! Per-profile token cache with single-flight fetches, scheduled renewal,
//! and the authorization server's load kept to a budget.
//!
//! [`Sessions`] sits between the request handler and the [`TokenSource`]:
//!
//! - a cached token answers `GetToken` by the rules of the crate's pure
//!   `policy` module (`src/policy.rs`, which this module only applies):
//!   whatever minimum a request asks for, a cached token answers until its
//!   renewal point, and a minimum no token from this server can meet is
//!   reported in the reply, not answered with a fetch per call;
//! - otherwise one fetch starts, and every caller that arrives while it runs
//!   waits for that same fetch (single-flight). The fetch runs in its own
//!   task, so a client hanging up mid-fetch neither cancels it for the
//!   others nor loses the result;
//! - after a failed fetch nothing reaches the server before its backoff
//!   ends, whoever asks: callers get the cached token while it has the
//!   safety margin left, else the last error at once with when the next
//!   attempt is due. "Login required" is final until a login, logout or
//!   reload;
//! - a token whose expiry has passed is never handed out, and one that
//!   arrives already expired (`expires_in: 0`) or inside its safety margin
//!   is a failure with backoff, not a renewal every few milliseconds;
//! - the renewer, a child module (`session/renewer.rs`), renews ahead of
//!   expiry while the profile is in use (a request within its
//!   `keep_warm`), retries after transient failures, and refreshes an idle
//!   session at its `keepalive` interval; an idle profile's next request
//!   re-arms it. It reads and writes the session's state, which no module
//!   outside `session` can see.
//!
//! Each session counts, for `status`, the tokens it served and the requests
//! it sent to the token endpoint in the last hour.
//!
//! Time comes from an injected [`Clock`], so tests move it by hand.

mod renewer;
mod window;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, watch};
use wrs_proto::{
    ErrorKind, ErrorResponse, PlannedFetch, ProfileStatus, ProfileSummary, Secret, SessionEnd,
    SessionState, TokenReply,
};

use crate::clock::{Clock, unix_secs};
use crate::policy::{Cached, MinTtl, RenewalPolicy};
use crate::source::{ProfileInfo, SourceError, TokenSource};
use window::HourWindow;

/// What a fetch gives its waiters: the token as cached, or why not.
type FetchOutcome = Result<Cached, SourceError>;

/// All profiles' sessions over one token source.
pub struct Sessions {
    shared: Arc<Shared>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

/// What fetch tasks and renewers need, shared with them.
struct Shared {
    source: Arc<dyn TokenSource>,
    clock: Arc<dyn Clock>,
    policy: RenewalPolicy,
    shutdown: watch::Sender<bool>,
}

/// One profile's cache, in-flight fetch and renewal plan.
struct Session {
    name: String,
    inner: Mutex<SessionInner>,
    /// Wakes the renewer when the plan changed (new token, logout, ...).
    changed: Notify,
}

/// The next fetch the renewer makes on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    at: SystemTime,
    kind: PlannedFetch,
}

#[derive(Default)]
struct SessionInner {
    cached: Option<Cached>,
    last_error: Option<SourceError>,
    /// Present while a fetch runs; waiters clone it and wait for `Some`.
    inflight: Option<watch::Receiver<Option<FetchOutcome>>>,
    /// After a failure: no fetch starts before this, for a caller or the
    /// renewer (the backoff binds everyone).
    retry_at: Option<SystemTime>,
    /// What the renewer does next, if anything.
    plan: Option<Plan>,
    /// Failures in a row (the backoff exponent).
    failures: u32,
    /// Bumped by login, logout and reload: the outcome of a fetch started
    /// before is not stored (it answers its waiters only).
    generation: u64,
    renewer_running: bool,
    /// The profile is gone (reload removed or changed it) or the daemon
    /// stops: the renewer ends.
    closed: bool,
    /// When a client last asked for a token: the profile is in use while
    /// this is within its `keep_warm`.
    last_used: Option<SystemTime>,
    /// When the last request to the token endpoint was sent.
    last_fetch_at: Option<SystemTime>,
    /// A token was obtained since the last logout: without one cached, the
    /// session is idle, not logged out.
    logged_in: bool,
    /// Requests the cached token answered from the cache (not counting the
    /// callers that waited for its fetch): a token nobody used is not
    /// renewed.
    uses: u64,
    /// The "asks for more than the server gives" warning was logged.
    warned_min_ttl: bool,
    /// A logout ended the session (until the next token).
    logged_out: bool,
    served: HourWindow,
    requests: HourWindow,
}

impl Session {
    fn new(name: &str) -> Self {
        Session {
            name: name.to_owned(),
            inner: Mutex::new(SessionInner::default()),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SessionInner> {
        // The critical sections never panic halfway through an update, so a
        // poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionInner {
    fn state(&self) -> SessionState {
        if self.inflight.is_some() {
            SessionState::Refreshing
        } else if self.needs_login() {
            SessionState::NeedsLogin
        } else if self.last_error.is_some() && self.retry_at.is_some() {
            SessionState::BackingOff
        } else if self.plan.is_some_and(|p| p.kind == PlannedFetch::Renewal) {
            SessionState::Active
        } else if self.logged_in || self.cached.is_some() {
            SessionState::Idle
        } else {
            SessionState::LoggedOut
        }
    }

    /// Why there is no session, when that is known here: a logout, or the
    /// "login required" the last fetch got.
    fn ended(&self) -> Option<SessionEnd> {
        if self.logged_out {
            return Some(SessionEnd::LoggedOut);
        }
        self.last_error.as_ref().and_then(SourceError::session_end)
    }

    fn needs_login(&self) -> bool {
        matches!(self.last_error, Some(SourceError::LoginRequired { .. }))
    }

    /// When the backoff still holds at `now`, the time left of it.
    fn backoff_left(&self, now: SystemTime) -> Option<Duration> {
        self.retry_at
            .and_then(|at| at.duration_since(now).ok())
            .filter(|left| !left.is_zero())
    }

    /// Whether the profile counts as in use at `at`: a request came within
    /// `keep_warm` before it.
    fn in_use_at(&self, keep_warm: Duration, at: SystemTime) -> bool {
        self.last_used.is_some_and(|used| used + keep_warm >= at)
    }

    /// Whether the cached token is worth renewing at its renewal point due
    /// `at`: some request used it from the cache (a token fetched for one
    /// caller and never asked for again is left to expire: the next caller
    /// fetches, which costs the server less than renewing for nobody), and
    /// the profile is still in use.
    fn worth_renewing(&self, keep_warm: Duration, at: SystemTime) -> bool {
        self.uses > 0 && self.in_use_at(keep_warm, at)
    }

    /// The plan of a session nobody uses: the next keepalive, if any.
    fn idle_plan(&self, info: &ProfileInfo, now: SystemTime) -> Option<Plan> {
        info.keepalive.map(|every| Plan {
            at: self.last_fetch_at.unwrap_or(now) + every,
            kind: PlannedFetch::Keepalive,
        })
    }

    /// Plans what follows a fetch's `outcome` (or a login's token).
    fn plan_after(&mut self, shared: &Shared, info: &ProfileInfo, outcome: &FetchOutcome) {
        let now = shared.clock.now();
        let name = &info.name;
        self.plan = match outcome {
            Ok(cached) => {
                self.failures = 0;
                self.retry_at = None;
                tracing::debug!(profile = %name, at = unix_secs(cached.renew_at), "renewal planned");
                // Whether the profile is still in use then is decided then.
                Some(Plan {
                    at: cached.renew_at,
                    kind: PlannedFetch::Renewal,
                })
            }
            Err(SourceError::LoginRequired { .. }) => {
                self.failures = 0;
                self.retry_at = None;
                tracing::info!(profile = %name, "login required; renewal stopped");
                None
            }
            Err(e) if !e.reached_server() => {
                // Nothing was sent: no backoff, the next caller tries again
                // (a keyring just unlocked, a secret just stored).
                self.retry_at = None;
                tracing::info!(profile = %name, "token request not sent: {e}");
                None
            }
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                let wait = shared.policy.backoff(self.failures, e.retry_after());
                let at = now + wait;
                self.retry_at = Some(at);
                tracing::info!(
                    profile = %name,
                    attempt = self.failures,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "token request failed, backing off: {e}"
                );
                if !e.is_transient() {
                    // Retrying will not fix it by itself; a caller may try
                    // again once the backoff is over.
                    None
                } else if self.in_use_at(info.keep_warm, at) {
                    Some(Plan {
                        at,
                        kind: PlannedFetch::Retry,
                    })
                } else {
                    self.idle_plan(info, now)
                }
            }
        };
    }

    /// As [`SessionInner::serve`], for a token answered from the cache:
    /// counted as a use of it.
    fn serve_cached(
        &mut self,
        shared: &Shared,
        name: &str,
        cached: &Cached,
        want: MinTtl,
    ) -> TokenReply {
        self.uses = self.uses.saturating_add(1);
        self.serve(shared, name, cached, want)
    }

    /// The reply for `cached` to a request wanting `want` (counted as
    /// served), with the shortfall explained when `want` is not met.
    fn serve(&mut self, shared: &Shared, name: &str, cached: &Cached, want: MinTtl) -> TokenReply {
        let now = shared.clock.now();
        let safety = shared.policy.safety_margin;
        self.served.add(now);
        let required = if want.explicit {
            want.value
        } else {
            cached.need(want, safety)
        };
        let met = cached.meets(now, want, safety);
        let beyond_server = want.explicit && want.value > cached.guarantee();
        if beyond_server && !self.warned_min_ttl {
            self.warned_min_ttl = true;
            tracing::warn!(
                profile = %name,
                asked_secs = want.value.as_secs(),
                lifetime_secs = cached.lifetime().as_secs(),
                "clients ask for more validity than this server's tokens have at their renewal \
                 point; they get what there is (logged once)"
            );
        }
        let warning = (!met).then(|| {
            let left = cached.left(now);
            if beyond_server {
                format!(
                    "profile {name}'s tokens live {} and are renewed with about {} left, \
                     less than the {} asked for; this one has {} left",
                    secs(cached.lifetime()),
                    secs(cached.guarantee()),
                    secs(want.value),
                    secs(left),
                )
            } else {
                let why = match (&self.last_error, self.backoff_left(now)) {
                    (Some(e), Some(wait)) => {
                        format!("renewal is failing ({e}); next attempt in {}", secs(wait))
                    }
                    (Some(e), None) => format!("renewal is failing ({e})"),
                    (None, _) => "renewal is late".to_owned(),
                };
                format!("this token has only {} left: {why}", secs(left))
            }
        });
        TokenReply {
            profile: name.to_owned(),
            access_token: cached.token.access_token.clone(),
            token_type: cached.token.token_type.clone(),
            expires_at: unix_secs(cached.token.expires_at),
            lifetime_secs: cached.lifetime().as_secs(),
            min_ttl_secs: required.as_secs(),
            min_ttl_met: met,
            warning,
            scope: None,
        }
    }

    /// The error for a caller while the backoff holds: the last failure,
    /// with when the daemon asks the server again.
    fn backoff_error(&self, name: &str, wait: Duration) -> ErrorResponse {
        let Some(error) = &self.last_error else {
            return ErrorResponse::new(
                ErrorKind::Network,
                format!("the token request for {name} failed"),
            );
        };
        let mut response = error.to_response();
        let when = format!(
            "the daemon asks the authorization server again in {}",
            secs(wait)
        );
        response.hint = Some(match response.hint.take() {
            // A TLS failure's hint is its fix; waiting is not.
            Some(hint) if !error.is_transient() || matches!(error, SourceError::Tls { .. }) => {
                format!("{hint}; {when}")
            }
            _ => format!("{when}; `wrs-token status` shows progress"),
        });
        response
    }
}

/// A duration for a one-line message: tenths under 10 s, else whole
/// seconds, rounded down (1.96 s left is "1.9s", never the "2.0s" asked for).
fn secs(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        let tenths = d.as_millis() / 100;
        format!("{}.{}s", tenths / 10, tenths % 10)
    } else {
        format!("{}s", d.as_secs())
    }
}

impl Sessions {
    /// Sessions over `source`, timed by `clock`, with the default renewal
    /// policy.
    pub fn new(source: Arc<dyn TokenSource>, clock: Arc<dyn Clock>) -> Self {
        Sessions {
            shared: Arc::new(Shared {
                source,
                clock,
                policy: RenewalPolicy::default(),
                shutdown: watch::Sender::new(false),
            }),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// The token source behind these sessions.
    pub fn source(&self) -> &Arc<dyn TokenSource> {
        &self.shared.source
    }

    /// The clock these sessions run on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// A token for `profile` (the default when `None`). `asked` is the
    /// caller's minimum validity, `env` its `WRS_TOKEN_MIN_TTL` (the policy's
    /// `MinTtl::resolve` combines them with the profile's). Answered from
    /// the cache, or by one shared fetch,
    /// or (while a failure's backoff holds) with the cached token or the
    /// last error. A session that needs a login answers so at once.
    pub async fn get_token(
        &self,
        profile: Option<&str>,
        asked: Option<Duration>,
        env: Option<Duration>,
    ) -> Result<TokenReply, ErrorResponse> {
        let info = self.resolve_info(profile)?;
        let session = self.session(&info.name);
        let want = MinTtl::resolve(asked, info.min_ttl, env);
        let safety = self.shared.policy.safety_margin;
        let rx = {
            let mut inner = session.lock();
            let now = self.shared.clock.now();
            inner.last_used = Some(now);
            self.rearm(&session, &mut inner, now);
            if let Some(cached) = inner.cached.clone()
                && cached.serves(now, want, safety)
            {
                return Ok(inner.serve_cached(&self.shared, &info.name, &cached, want));
            }
            match &inner.inflight {
                Some(rx) => rx.clone(),
                None => {
                    if let Some(err @ SourceError::LoginRequired { .. }) = &inner.last_error {
                        return Err(err.to_response());
                    }
                    if let Some(wait) = inner.backoff_left(now) {
                        // Nothing reaches the server before the backoff ends.
                        if let Some(cached) = inner.cached.clone()
                            && cached.usable(now, safety)
                        {
                            return Ok(inner.serve_cached(&self.shared, &info.name, &cached, want));
                        }
                        return Err(inner.backoff_error(&info.name, wait));
                    }
                    start_fetch(&self.shared, &session, &mut inner)
                }
            }
        };
        let outcome = wait_outcome(rx).await;
        self.answer(&session, &info.name, want, outcome)
    }

    /// An idle session whose token a client asks for is in use again: plan
    /// its renewal (now, if its renewal point has passed).
    fn rearm(&self, session: &Arc<Session>, inner: &mut SessionInner, now: SystemTime) {
        let renewing = inner
            .plan
            .is_some_and(|p| p.kind != PlannedFetch::Keepalive);
        if renewing
            || inner.inflight.is_some()
            || inner.needs_login()
            || inner.backoff_left(now).is_some()
        {
            return;
        }
        if let Some(cached) = &inner.cached {
            inner.plan = Some(Plan {
                at: cached.renew_at.max(now),
                kind: PlannedFetch::Renewal,
            });
            renewer::ensure_running(&self.shared, session, inner);
        }
    }

    /// Fetches a new token for `profile` now, bypassing the cache, the
    /// backoff and a "login required" state (after a login or an import),
    /// sharing a fetch that is already running.
    pub async fn refresh(&self, profile: Option<&str>) -> Result<TokenReply, ErrorResponse> {
        let name = self.resolve(profile)?;
        let session = self.session(&name);
        let rx = {
            let mut inner = session.lock();
            inner.last_used = Some(self.shared.clock.now());
            inner.retry_at = None;
            match &inner.inflight {
                Some(rx) => rx.clone(),
                None => start_fetch(&self.shared, &session, &mut inner),
            }
        };
        let outcome = wait_outcome(rx).await;
        self.answer(&session, &name, MinTtl::resolve(None, None, None), outcome)
    }

    /// The reply to a caller that waited for a fetch.
    fn answer(
        &self,
        session: &Session,
        name: &str,
        want: MinTtl,
        outcome: FetchOutcome,
    ) -> Result<TokenReply, ErrorResponse> {
        let now = self.shared.clock.now();
        let mut inner = session.lock();
        match outcome {
            Ok(cached) if !cached.left(now).is_zero() => {
                Ok(inner.serve(&self.shared, name, &cached, want))
            }
            Ok(_) => Err(ErrorResponse::new(
                ErrorKind::AuthorizationServer,
                format!("the token for {name} expired before it could be handed out"),
            )
            .with_hint("check that this machine's clock is right")),
            Err(e @ SourceError::LoginRequired { .. }) => Err(e.to_response()),
            Err(e) => {
                // A still-usable cached token beats an error.
                if let Some(cached) = inner.cached.clone()
                    && cached.usable(now, self.shared.policy.safety_margin)
                {
                    return Ok(inner.serve_cached(&self.shared, name, &cached, want));
                }
                match inner.backoff_left(now) {
                    Some(wait) if inner.last_error.as_ref() == Some(&e) => {
                        Err(inner.backoff_error(name, wait))
                    }
                    _ => Err(e.to_response()),
                }
            }
        }
    }

    /// Puts a token obtained outside the source (a login) into `profile`'s
    /// cache and plans its renewal; `issued_at` is when its request was sent.
    pub fn seed(&self, profile: &str, token: crate::source::IssuedToken, issued_at: SystemTime) {
        let session = self.session(profile);
        let info = self.info(profile);
        let mut inner = session.lock();
        inner.generation += 1;
        inner.last_error = None;
        inner.warned_min_ttl = false;
        inner.logged_in = true;
        inner.logged_out = false;
        // Whoever logs in is about to use the profile.
        inner.last_used = Some(self.shared.clock.now());
        let cached = self.shared.policy.cache(token, issued_at);
        inner.cached = Some(cached.clone());
        inner.uses = 0;
        if let Some(info) = info {
            inner.plan_after(&self.shared, &info, &Ok(cached));
            renewer::ensure_running(&self.shared, &session, &mut inner);
        }
    }

    /// Forgets everything about `profile`'s tokens (logout): the cache, the
    /// last error, the backoff and the renewal plan. A fetch still running
    /// is not stored.
    pub fn clear(&self, profile: &str) {
        let session = self.session(profile);
        let mut inner = session.lock();
        inner.generation += 1;
        inner.cached = None;
        inner.uses = 0;
        inner.last_error = None;
        inner.plan = None;
        inner.retry_at = None;
        inner.failures = 0;
        inner.logged_in = false;
        inner.warned_min_ttl = false;
        inner.logged_out = true;
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
        let matches = match (&inner.cached, token) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(cached), Some(given)) => cached.token.access_token == *given,
        };
        if matches {
            inner.cached = None;
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
                let lifetime = inner.cached.as_ref().map(Cached::lifetime);
                ProfileStatus {
                    state: inner.state(),
                    expires_at: inner.cached.as_ref().map(|c| unix_secs(c.token.expires_at)),
                    next_refresh_at: inner.plan.map(|plan| unix_secs(plan.at)),
                    last_error: inner.last_error.as_ref().map(ToString::to_string),
                    next_refresh: inner.plan.map(|plan| plan.kind),
                    token_lifetime_secs: lifetime.map(|l| l.as_secs()),
                    last_used_at: inner.last_used.map(unix_secs),
                    served_last_hour: inner.served.count(now),
                    token_requests_last_hour: inner.requests.count(now),
                    token_request_budget_per_hour: lifetime
                        .map(|l| self.shared.policy.hourly_budget(l)),
                    keep_warm_secs: p.keep_warm.as_secs(),
                    keepalive_secs: p.keepalive.map_or(0, |k| k.as_secs()),
                    user: self
                        .shared
                        .source
                        .session_record(&p.name)
                        .and_then(|r| r.user()),
                    ended: inner.ended(),
                    name: p.name,
                }
            })
            .collect()
    }

    /// The configured profiles with their session state.
    pub fn profiles(&self) -> Vec<ProfileSummary> {
        self.shared
            .source
            .profiles()
            .into_iter()
            .map(|p| {
                let state = self.session(&p.name).lock().state();
                ProfileSummary {
                    name: p.name,
                    is_default: p.is_default,
                    server: p.server,
                    state,
                }
            })
            .collect()
    }

    /// `profile`'s status, as in [`Sessions::status`].
    pub fn status_of(&self, profile: &str) -> Option<ProfileStatus> {
        self.status().into_iter().find(|p| p.name == profile)
    }

    /// `profile`'s session state.
    pub fn state(&self, profile: &str) -> SessionState {
        self.session(profile).lock().state()
    }

    fn session(&self, name: &str) -> Arc<Session> {
        let mut map = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            map.entry(name.to_owned())
                .or_insert_with(|| Arc::new(Session::new(name))),
        )
    }

    fn info(&self, name: &str) -> Option<ProfileInfo> {
        profile_info(&self.shared, name)
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
                            "pass `-p NAME` or set {}; configured profiles: {}",
                            wrs_sys::env::PROFILE,
                            names(&profiles)
                        ),
                    )
                })
            }
        }
    }
}

/// `name`'s settings as the source has them now.
fn profile_info(shared: &Shared, name: &str) -> Option<ProfileInfo> {
    shared
        .source
        .profiles()
        .into_iter()
        .find(|p| p.name == name)
}

/// Starts the one fetch for `session`; the caller holds its lock.
fn start_fetch(
    shared: &Arc<Shared>,
    session: &Arc<Session>,
    inner: &mut SessionInner,
) -> watch::Receiver<Option<FetchOutcome>> {
    let (tx, rx) = watch::channel(None);
    inner.inflight = Some(rx.clone());
    let started = shared.clock.now();
    inner.requests.add(started);
    inner.last_fetch_at = Some(started);
    let generation = inner.generation;
    let shared = Arc::clone(shared);
    let session = Arc::clone(session);
    tokio::spawn(async move {
        let name = session.name.clone();
        // The fetch runs in a task of its own so that a panicking source
        // becomes an error for the waiters instead of a stuck session.
        let source = Arc::clone(&shared.source);
        let fetch_name = name.clone();
        let fetched = match tokio::spawn(async move { source.fetch(&fetch_name).await }).await {
            Ok(fetched) => fetched,
            Err(e) => {
                tracing::error!(profile = %name, "token source failed: {e}");
                Err(SourceError::Internal("the token source crashed".into()))
            }
        };
        let outcome = fetched.and_then(|token| arrived(&shared, token, started));
        let info = profile_info(&shared, &name);
        let mut inner = session.lock();
        inner.inflight = None;
        if inner.generation == generation
            && !inner.closed
            && let Some(info) = info
        {
            match &outcome {
                Ok(cached) => {
                    tracing::debug!(profile = %name, expires_at = unix_secs(cached.token.expires_at), "fetched a token");
                    inner.cached = Some(cached.clone());
                    inner.uses = 0;
                    inner.last_error = None;
                    inner.logged_in = true;
                    inner.logged_out = false;
                }
                Err(e) => {
                    tracing::warn!(profile = %name, "token fetch failed: {e}");
                    inner.last_error = Some(e.clone());
                }
            }
            inner.plan_after(&shared, &info, &outcome);
            renewer::ensure_running(&shared, &session, &mut inner);
        }
        // Sent under the lock so no caller can see the cleared in-flight
        // marker before the outcome is published.
        tx.send_replace(Some(outcome));
    });
    rx
}

/// A fresh token as cached, or a failure when it arrived unusable: already
/// expired (`expires_in: 0`, a clock far off) or inside its safety margin.
fn arrived(
    shared: &Shared,
    token: crate::source::IssuedToken,
    started: SystemTime,
) -> FetchOutcome {
    let cached = shared.policy.cache(token, started);
    let now = shared.clock.now();
    if cached.usable(now, shared.policy.safety_margin) {
        return Ok(cached);
    }
    let what = if cached.lifetime().is_zero() {
        "a token that was already expired (expires_in 0, or a JWT whose exp has passed)".to_owned()
    } else {
        format!(
            "a token living {} that had {} left on arrival",
            secs(cached.lifetime()),
            secs(cached.left(now))
        )
    };
    Err(SourceError::UnusableToken(format!(
        "the authorization server issued {what}; check the server's token lifetime and this machine's clock"
    )))
}

/// Waits for the outcome of a fetch started by [`start_fetch`].
async fn wait_outcome(mut rx: watch::Receiver<Option<FetchOutcome>>) -> FetchOutcome {
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

#[cfg(test)]
mod tests;
