//! Interactive logins: begin, wait, paste.
//!
//! The daemon never opens a browser: [`Logins::begin`] answers at once with
//! what the client shows or opens (a URL, a device user code), and the
//! flow's waiting part runs in a task of its own:
//!
//! - code flow with a loopback redirect (`Browser`, `NoBrowser`): PKCE S256
//!   and `state`, a [`LoopbackListener`] on the registered loopback URI or
//!   an ephemeral port; the task waits for the browser and exchanges the code;
//! - paste mode (`Paste`, or a registered redirect URI that is not
//!   loopback): the client sends the URL the browser landed on with
//!   [`Logins::paste`]; when a loopback listener could be bound as well,
//!   whichever comes first completes the login, exactly once;
//! - device flow (`Device`, or a profile with `grant = "device"`): the task
//!   polls the token endpoint at the server's pace;
//! - client credentials: no user, the token is fetched at once.
//!
//! On success the refresh token is stored and the access token seeds the
//! session, whose renewal is then planned. At most one login per profile is
//! pending; one whose client has not polled for [`ABANDON_AFTER`] counts as
//! abandoned and is replaced. Logins expire after [`LOGIN_TTL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use wrs_config::{Grant, RedirectMode};
use wrs_oauth::{
    AuthorizationCode, AuthorizationRequest, LoopbackListener, OAuthClient, OAuthError,
    PendingAuthorization, TokenResponse,
};
use wrs_proto::{ErrorKind, ErrorResponse, LoginMethod, LoginPrompt, Response, Secret};

use crate::clock::unix_secs;
use crate::oauth_source::{OAuthSource, oauth_error};

use crate::session::Sessions;
use crate::source::{RETRIES_BY_ITSELF, SourceError};

/// How long a login may take from begin to finish.
pub const LOGIN_TTL: Duration = Duration::from_secs(600);

/// A pending login whose client has not polled for this long is abandoned.
pub const ABANDON_AFTER: Duration = Duration::from_secs(15);

/// The longest one `LoginWait` blocks, whatever the client asks.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// How long a finished login's outcome stays available to `LoginWait`.
const KEEP_FINISHED: Duration = Duration::from_secs(60);

type LoginOutcome = Result<u64, ErrorResponse>;

/// The pending (and recently finished) logins of one daemon.
pub struct Logins {
    source: Arc<OAuthSource>,
    sessions: Arc<Sessions>,
    logins: Mutex<HashMap<String, Arc<Login>>>,
    /// Serializes `begin`s, so two racing ones cannot both find the
    /// profile free before either registers.
    beginning: tokio::sync::Mutex<()>,
    abandon_after: Duration,
}

struct Login {
    id: String,
    profile: String,
    created: Instant,
    last_poll: Mutex<Instant>,
    waiting: AtomicUsize,
    outcome: watch::Sender<Option<LoginOutcome>>,
    /// Code flows: the client and authorization a pasted URL is checked
    /// against.
    code: Option<(OAuthClient, PendingAuthorization)>,
    /// Set by whoever exchanges the code (listener or paste), once.
    claimed: AtomicBool,
    task: Mutex<Option<AbortHandle>>,
}

impl Login {
    fn is_finished(&self) -> bool {
        self.outcome.borrow().is_some()
    }

    fn is_abandoned(&self, after: Duration) -> bool {
        self.waiting.load(Ordering::SeqCst) == 0 && lock(&self.last_poll).elapsed() > after
    }

    /// Records the outcome; the first one wins.
    fn finish(&self, outcome: LoginOutcome) {
        let profile = &self.profile;
        self.outcome.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            match &outcome {
                Ok(_) => tracing::info!(profile = %profile, "login finished"),
                Err(e) => tracing::info!(profile = %profile, "login failed: {}", e.message),
            }
            *slot = Some(outcome);
            true
        });
    }

    /// Aborts the login's task; returns it, to wait for its end.
    fn abort(&self) -> Option<AbortHandle> {
        let task = lock(&self.task).take();
        if let Some(task) = &task {
            task.abort();
        }
        task
    }
}

impl Logins {
    /// Logins that finish through `source` and seed `sessions`.
    pub fn new(source: Arc<OAuthSource>, sessions: Arc<Sessions>) -> Self {
        Logins {
            source,
            sessions,
            logins: Mutex::new(HashMap::new()),
            beginning: tokio::sync::Mutex::new(()),
            abandon_after: ABANDON_AFTER,
        }
    }

    /// Changes how long a login's client may stay silent before the login
    /// counts as abandoned (default [`ABANDON_AFTER`]; shorter in tests).
    pub fn with_abandon_after(mut self, after: Duration) -> Self {
        self.abandon_after = after;
        self
    }

    /// Starts a login for `profile` (see the module doc).
    pub async fn begin(&self, profile: Option<&str>, method: LoginMethod) -> Response {
        let _one_at_a_time = self.beginning.lock().await;
        match self.try_begin(profile, method).await {
            Ok(response) => response,
            Err(e) => Response::Error(e),
        }
    }

    async fn try_begin(
        &self,
        profile: Option<&str>,
        method: LoginMethod,
    ) -> Result<Response, ErrorResponse> {
        let name = self.sessions.resolve(profile)?;
        let settings = self
            .source
            .profile(&name)
            .map_err(|e| login_response(&name, e))?;
        if settings.grant == Grant::ClientCredentials {
            // No user involved: getting a token is the whole login.
            let token = self
                .sessions
                .refresh(Some(&name))
                .await
                .map_err(|e| not_retried(&name, e))?;
            return Ok(Response::LoginFinished {
                profile: name,
                expires_at: token.expires_at,
            });
        }
        self.make_room(&name)?;
        let client = self
            .source
            .client(&name)
            .await
            .map_err(|e| login_response(&name, e))?;
        let device = method == LoginMethod::Device || settings.grant == Grant::Device;
        if device {
            return self.begin_device(name, client, &settings.scopes).await;
        }
        // Code flow: a loopback listener when the redirect URI allows one.
        let (listener, paste_uri) = match settings.redirect_mode() {
            RedirectMode::Paste(uri) => (None, Some(uri)),
            RedirectMode::LoopbackAnyPort => (Some(LoopbackListener::bind(None).await), None),
            RedirectMode::LoopbackFixed(uri) => {
                (Some(LoopbackListener::bind(Some(&uri)).await), Some(uri))
            }
        };
        let listener = match listener {
            Some(Ok(listener)) => Some(listener),
            None => None,
            // Paste mode does not need the port: the user copies the URL
            // from the browser's address bar whether or not we listen.
            Some(Err(e)) if method == LoginMethod::Paste && paste_uri.is_some() => {
                tracing::info!(profile = %name, "no loopback listener ({e}); paste only");
                None
            }
            Some(Err(e)) => return Err(login_response(&name, oauth_error(&name, e))),
        };
        let redirect_uri = match (&listener, paste_uri) {
            (Some(listener), _) => listener.redirect_uri().to_owned(),
            (None, Some(uri)) => uri,
            (None, None) => {
                return Err(ErrorResponse::new(
                    ErrorKind::Internal,
                    "no redirect URI for the login",
                ));
            }
        };
        let expects_paste = method == LoginMethod::Paste || listener.is_none();
        let mut request = AuthorizationRequest::new(redirect_uri);
        request.scopes = settings.scopes.clone();
        // OpenID Connect servers drop `offline_access` (and so issue no
        // refresh token) unless the user is asked to consent (OIDC Core
        // 11); oidc-agent does the same. A login is rare, so the extra
        // consent page is a small price for staying logged in.
        if request.scopes.iter().any(|s| s == "offline_access") {
            request.extra.push(("prompt".into(), "consent".into()));
        }
        let pending = client
            .authorize(&request)
            .map_err(|e| login_response(&name, oauth_error(&name, e)))?;
        let url = pending.url().to_string();
        let login = self.register(&name, Some((client.clone(), pending.clone())));
        let flow = {
            let source = self.source.clone();
            let sessions = self.sessions.clone();
            let login = login.clone();
            async move {
                let Some(listener) = listener else {
                    // Paste only: nothing to do but wait for the paste.
                    return std::future::pending().await;
                };
                let code = listener.wait(&pending, &login.profile, LOGIN_TTL).await;
                let code = match code {
                    Ok(code) => code,
                    Err(e) => {
                        return Err(login_response(
                            &login.profile,
                            login_error(&login.profile, e),
                        ));
                    }
                };
                if !login.claimed.swap(true, Ordering::SeqCst) {
                    exchange(&source, &sessions, &login.profile, &client, &pending, &code).await
                } else {
                    // A paste got there first and finishes the login.
                    std::future::pending().await
                }
            }
        };
        self.spawn_flow(&login, flow);
        tracing::info!(profile = %name, paste = expects_paste, "login started (authorization code)");
        Ok(Response::LoginStarted(LoginPrompt {
            login_id: login.id.clone(),
            profile: name,
            url: Some(url),
            user_code: None,
            url_complete: None,
            expects_paste,
            expires_in: LOGIN_TTL.as_secs(),
        }))
    }

    async fn begin_device(
        &self,
        name: String,
        client: OAuthClient,
        scopes: &[String],
    ) -> Result<Response, ErrorResponse> {
        let device = client
            .begin_device(scopes, None)
            .await
            .map_err(|e| login_response(&name, oauth_error(&name, e)))?;
        let login = self.register(&name, None);
        let flow = {
            let source = self.source.clone();
            let sessions = self.sessions.clone();
            let device = device.clone();
            let profile = name.clone();
            async move {
                let response = client
                    .poll_device(&device)
                    .await
                    .map_err(|e| login_response(&profile, oauth_error(&profile, e)))?;
                let sent = sent_on_clock(&source, &response);
                accept(&source, &sessions, &profile, &response, sent).await
            }
        };
        self.spawn_flow(&login, flow);
        tracing::info!(profile = %name, "login started (device authorization)");
        Ok(Response::LoginStarted(LoginPrompt {
            login_id: login.id.clone(),
            profile: name,
            url: Some(device.verification_uri.clone()),
            user_code: Some(device.user_code.clone()),
            url_complete: device.verification_uri_complete.clone(),
            expects_paste: false,
            expires_in: device.expires_in.min(LOGIN_TTL).as_secs(),
        }))
    }

    /// Waits up to `timeout` for the login's outcome.
    pub async fn wait(&self, login_id: &str, timeout: Duration) -> Response {
        let login = match self.find(login_id) {
            Ok(login) => login,
            Err(e) => return Response::Error(e),
        };
        *lock(&login.last_poll) = Instant::now();
        login.waiting.fetch_add(1, Ordering::SeqCst);
        let mut rx = login.outcome.subscribe();
        let waited = tokio::time::timeout(timeout.min(MAX_WAIT), async {
            rx.wait_for(Option::is_some).await.map(|o| o.clone())
        })
        .await;
        let response = match waited {
            Ok(Ok(Some(outcome))) => outcome_response(&login.profile, outcome),
            Ok(Ok(None)) => Response::LoginPending {},
            Ok(Err(_)) => Response::Error(ErrorResponse::new(
                ErrorKind::Internal,
                "the login was dropped",
            )),
            Err(_) => Response::LoginPending {},
        };
        login.waiting.fetch_sub(1, Ordering::SeqCst);
        *lock(&login.last_poll) = Instant::now();
        response
    }

    /// Completes a code-flow login with the URL the browser was sent to.
    pub async fn paste(&self, login_id: &str, redirected_url: &Secret) -> Response {
        let login = match self.find(login_id) {
            Ok(login) => login,
            Err(e) => return Response::Error(e),
        };
        *lock(&login.last_poll) = Instant::now();
        if let Some(outcome) = login.outcome.borrow().clone() {
            return outcome_response(&login.profile, outcome);
        }
        let Some((client, pending)) = login.code.clone() else {
            return Response::Error(ErrorResponse::new(
                ErrorKind::BadRequest,
                format!("login {login_id} is a device login: there is nothing to paste"),
            ));
        };
        let code = match pending.parse_pasted(redirected_url.expose()) {
            Ok(code) => code,
            Err(e @ OAuthError::Authorization { .. }) => {
                // The server's own answer (e.g. access_denied) ends the login.
                let err = login_response(&login.profile, login_error(&login.profile, e));
                login.abort();
                login.finish(Err(err.clone()));
                return Response::Error(err);
            }
            // A typo or a stale tab's URL: say so, keep the login open.
            Err(e) => {
                return Response::Error(login_response(
                    &login.profile,
                    login_error(&login.profile, e),
                ));
            }
        };
        if login.claimed.swap(true, Ordering::SeqCst) {
            // The loopback listener got the code first.
            return self.wait(login_id, MAX_WAIT).await;
        }
        login.abort();
        let source = self.source.clone();
        let sessions = self.sessions.clone();
        let profile = login.profile.clone();
        // In a task of its own, so a client hanging up cannot cut the
        // exchange (and its storing of the refresh token) in half.
        let exchanged = tokio::spawn(async move {
            exchange(&source, &sessions, &profile, &client, &pending, &code).await
        })
        .await;
        let outcome = exchanged.unwrap_or_else(|e| {
            Err(ErrorResponse::new(
                ErrorKind::Internal,
                format!("the code exchange failed: {e}"),
            ))
        });
        login.finish(outcome.clone());
        outcome_response(&login.profile, outcome)
    }

    /// Cancels `profile`'s pending logins (logout, reload).
    pub fn cancel_profile(&self, profile: &str) {
        self.cancel_now(profile, None);
    }

    /// Cancels `profile`'s pending login (`LoginCancel`; only the one with
    /// `login_id` when given) and returns once its task has ended, so its
    /// loopback port is closed when the client hears back. The login
    /// leaves the table, so a new login for the profile may start at once;
    /// a client still waiting on it hears "cancelled". Returns whether a
    /// pending login was cancelled.
    pub async fn cancel(&self, profile: &str, login_id: Option<&str>) -> bool {
        let (cancelled, tasks) = self.cancel_now(profile, login_id);
        for task in tasks {
            // An aborted task ends at its next await; bounded anyway, so a
            // task stuck in a blocking call cannot hold the answer.
            let deadline = Instant::now() + Duration::from_secs(2);
            while !task.is_finished() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        cancelled
    }

    fn cancel_now(&self, profile: &str, login_id: Option<&str>) -> (bool, Vec<AbortHandle>) {
        let mut cancelled = false;
        let mut tasks = Vec::new();
        let mut map = lock(&self.logins);
        map.retain(|id, login| {
            if login.profile != profile || login_id.is_some_and(|wanted| wanted != id) {
                return true;
            }
            tasks.extend(login.abort());
            cancelled |= !login.is_finished();
            login.finish(Err(ErrorResponse::new(
                ErrorKind::LoginFailed,
                format!("the login for {profile} was cancelled"),
            )));
            false
        });
        if cancelled {
            tracing::info!(profile = %profile, "pending login cancelled");
        }
        (cancelled, tasks)
    }

    /// Refuses a second login for `profile` while one is alive; replaces an
    /// abandoned one; forgets old finished ones.
    fn make_room(&self, profile: &str) -> Result<(), ErrorResponse> {
        let mut map = lock(&self.logins);
        map.retain(|_, login| login.created.elapsed() < LOGIN_TTL + KEEP_FINISHED);
        let mut abandoned = Vec::new();
        for (id, login) in map.iter() {
            if login.profile != profile || login.is_finished() {
                continue;
            }
            if !login.is_abandoned(self.abandon_after) {
                return Err(ErrorResponse::new(
                    ErrorKind::Busy,
                    format!("a login for {profile} is already in progress"),
                )
                .with_hint(format!(
                    "finish it in the browser, or cancel it: `wrs-token login --cancel {profile}`"
                )));
            }
            abandoned.push(id.clone());
        }
        for id in abandoned {
            if let Some(login) = map.remove(&id) {
                tracing::info!(profile = %profile, "replacing an abandoned login");
                login.abort();
                login.finish(Err(ErrorResponse::new(
                    ErrorKind::LoginFailed,
                    format!("the login for {profile} was abandoned and replaced by a new one"),
                )));
            }
        }
        Ok(())
    }

    fn register(
        &self,
        profile: &str,
        code: Option<(OAuthClient, PendingAuthorization)>,
    ) -> Arc<Login> {
        let login = Arc::new(Login {
            id: format!("{:032x}", rand::random::<u128>()),
            profile: profile.to_owned(),
            created: Instant::now(),
            last_poll: Mutex::new(Instant::now()),
            waiting: AtomicUsize::new(0),
            outcome: watch::Sender::new(None),
            code,
            claimed: AtomicBool::new(false),
            task: Mutex::new(None),
        });
        lock(&self.logins).insert(login.id.clone(), login.clone());
        login
    }

    /// Runs a login's waiting part, bounded by [`LOGIN_TTL`].
    fn spawn_flow(
        &self,
        login: &Arc<Login>,
        flow: impl Future<Output = LoginOutcome> + Send + 'static,
    ) {
        let task_login = login.clone();
        let task = tokio::spawn(async move {
            let outcome = match tokio::time::timeout(LOGIN_TTL, flow).await {
                Ok(outcome) => outcome,
                Err(_) => Err(SourceError::LoginFailed(format!(
                    "the login for {} expired after {} s: start it again",
                    task_login.profile,
                    LOGIN_TTL.as_secs()
                ))
                .to_response()),
            };
            task_login.finish(outcome);
        });
        *lock(&login.task) = Some(task.abort_handle());
    }

    fn find(&self, login_id: &str) -> Result<Arc<Login>, ErrorResponse> {
        lock(&self.logins).get(login_id).cloned().ok_or_else(|| {
            ErrorResponse::new(
                ErrorKind::LoginFailed,
                format!("no login {login_id:?} is in progress (it expired, was replaced or the daemon restarted)"),
            )
            .with_hint("start it again: `wrs-token login`")
        })
    }
}

/// Exchanges the code and keeps the tokens.
async fn exchange(
    source: &OAuthSource,
    sessions: &Sessions,
    profile: &str,
    client: &OAuthClient,
    pending: &PendingAuthorization,
    code: &AuthorizationCode,
) -> LoginOutcome {
    let sent = source.clock().now();
    let response = client
        .exchange_code(pending, code)
        .await
        .map_err(|e| login_response(profile, oauth_error(profile, e)))?;
    accept(source, sessions, profile, &response, sent).await
}

/// Stores the login's refresh token and seeds the session.
async fn accept(
    source: &OAuthSource,
    sessions: &Sessions,
    profile: &str,
    response: &TokenResponse,
    sent: SystemTime,
) -> LoginOutcome {
    let token = source
        .accept_login(profile, response, sent)
        .await
        .map_err(|e| login_response(profile, e))?;
    let expires_at = unix_secs(token.expires_at);
    sessions.seed(profile, token, sent);
    Ok(expires_at)
}

/// When `response`'s request was sent, on the source's clock.
fn sent_on_clock(source: &OAuthSource, response: &TokenResponse) -> SystemTime {
    let latency = SystemTime::now()
        .duration_since(response.sent_at)
        .unwrap_or_default();
    source.clock().now() - latency
}

/// An OAuth failure in the front channel: a wrong `iss` in the redirect
/// (RFC 9207) fails this login, it is not a configuration problem.
fn login_error(profile: &str, e: OAuthError) -> SourceError {
    match e {
        OAuthError::IssuerMismatch { .. } => SourceError::LoginFailed(e.to_string()),
        other => oauth_error(profile, other),
    }
}

/// The wire error for a failed login. A login is never retried by the
/// daemon, so a transient failure says to start it again rather than the
/// renewal's "the daemon retries by itself".
fn login_response(profile: &str, e: SourceError) -> ErrorResponse {
    not_retried(profile, e.to_response())
}

/// `err` with the renewal's retry hint replaced by the login's.
fn not_retried(profile: &str, err: ErrorResponse) -> ErrorResponse {
    if err.hint.as_deref() == Some(RETRIES_BY_ITSELF) {
        err.with_hint(format!(
            "the login did not finish: run `wrs-token login {profile}` again in a moment \
             (`wrs-token doctor {profile}` checks the server)"
        ))
    } else {
        err
    }
}

fn outcome_response(profile: &str, outcome: LoginOutcome) -> Response {
    match outcome {
        Ok(expires_at) => Response::LoginFinished {
            profile: profile.to_owned(),
            expires_at,
        },
        Err(e) => Response::Error(e),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Critical sections here never panic midway: a poisoned lock still
    // holds consistent data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
