//! Request → response dispatch.
//!
//! The handler owns no socket: it turns one decoded [`Request`] into one
//! [`Response`], so it is tested without any I/O. Token requests go to the
//! [`Sessions`]; the requests that change logins and secrets go to an
//! [`Accounts`] (the OAuth runtime, or [`NoAccounts`] without one).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use wrs_proto::{ErrorKind, ErrorResponse, PROTOCOL_VERSION, Request, Response, StatusReport};

use crate::accounts::{Accounts, NoAccounts};
use crate::runtime::Runtime;
use crate::session::Sessions;

/// Answers requests from the sessions; shared by all connections.
pub struct Handler {
    sessions: Arc<Sessions>,
    /// Logins, logouts and the like: the OAuth runtime, or [`NoAccounts`]
    /// (with the test source), where they are not supported.
    accounts: Arc<dyn Accounts>,
    socket: PathBuf,
    started: Instant,
    shutdown: watch::Sender<bool>,
}

impl Handler {
    /// A handler over `sessions`, reporting `socket` in its status; it
    /// serves no logins ([`NoAccounts`]).
    pub fn new(sessions: Arc<Sessions>, socket: PathBuf) -> Self {
        Handler::with_accounts(sessions, Arc::new(NoAccounts), socket)
    }

    /// A handler over `runtime`'s sessions, serving logins, logouts and
    /// the other requests that change them.
    pub fn with_runtime(runtime: Arc<Runtime>, socket: PathBuf) -> Self {
        Handler::with_accounts(runtime.sessions().clone(), runtime, socket)
    }

    /// A handler over `sessions` that forwards the requests changing logins
    /// and secrets to `accounts`.
    pub fn with_accounts(
        sessions: Arc<Sessions>,
        accounts: Arc<dyn Accounts>,
        socket: PathBuf,
    ) -> Self {
        Handler {
            sessions,
            accounts,
            socket,
            // Uptime is a duration on this host, not an expiry: the
            // monotonic clock is the right one here.
            started: Instant::now(),
            shutdown: watch::Sender::new(false),
        }
    }

    /// The sessions behind this handler.
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }

    /// Resolves once a [`Request::Shutdown`] was answered.
    pub fn shutdown_requested(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.subscribe();
        async move {
            // An error means the handler is gone: nobody can ask any more.
            let _ = rx.wait_for(|requested| *requested).await;
        }
    }

    /// Answers one request.
    pub async fn handle(&self, request: Request) -> Response {
        if !matches!(request, Request::Shutdown {}) {
            // An edited config file applies before the request is answered.
            self.accounts.follow_config();
        }
        match request {
            Request::GetToken {
                profile,
                min_ttl_secs,
                env_min_ttl_secs,
            } => match self
                .sessions
                .get_token(
                    profile.as_deref(),
                    min_ttl_secs.map(Duration::from_secs),
                    env_min_ttl_secs.map(Duration::from_secs),
                )
                .await
            {
                Ok(mut reply) => {
                    reply.scope = self
                        .sessions
                        .source()
                        .session_record(&reply.profile)
                        .and_then(|r| r.scope);
                    Response::Token(reply)
                }
                Err(e) => Response::Error(e),
            },
            Request::Status {} => {
                let (config_file, config_error) = self.accounts.config_state().unwrap_or_default();
                Response::Status(StatusReport {
                    daemon_version: env!("CARGO_PKG_VERSION").into(),
                    protocol_version: PROTOCOL_VERSION,
                    pid: std::process::id(),
                    uptime_secs: self.started.elapsed().as_secs(),
                    socket: self.socket.display().to_string(),
                    profiles: self.sessions.status(),
                    config_file,
                    config_error,
                })
            }
            Request::Invalidate { profile, token } => {
                match self.sessions.invalidate(profile.as_deref(), token.as_ref()) {
                    Ok((profile, dropped)) => Response::Invalidated { profile, dropped },
                    Err(e) => Response::Error(e),
                }
            }
            Request::ListProfiles {} => match self.sessions.source().check() {
                Ok(()) => Response::Profiles(self.sessions.profiles()),
                Err(e) => Response::Error(e.to_response()),
            },
            Request::Shutdown {} => {
                tracing::info!("shutdown requested by a client");
                self.shutdown.send_replace(true);
                Response::ShuttingDown {}
            }
            other => handle_accounts(self.accounts.as_ref(), other).await,
        }
    }
}

/// The requests that change logins and secrets.
async fn handle_accounts(accounts: &dyn Accounts, request: Request) -> Response {
    match request {
        Request::LoginBegin { profile, method } => {
            accounts.login_begin(profile.as_deref(), method).await
        }
        Request::LoginWait {
            login_id,
            timeout_secs,
        } => {
            accounts
                .login_wait(&login_id, Duration::from_secs(timeout_secs))
                .await
        }
        Request::LoginPaste {
            login_id,
            redirected_url,
        } => accounts.login_paste(&login_id, &redirected_url).await,
        Request::Logout { profile, revoke } => accounts.logout(profile.as_deref(), revoke).await,
        Request::Reload {} => accounts.reload(),
        Request::ImportRefreshToken {
            profile,
            refresh_token,
        } => accounts.import(profile.as_deref(), &refresh_token).await,
        Request::SetClientSecret {
            profile,
            client_secret,
        } => accounts.set_client_secret(&profile, &client_secret).await,
        Request::ForgetProfile { profile, revoke } => accounts.forget(&profile, revoke).await,
        Request::LoginCancel { profile, login_id } => {
            accounts
                .login_cancel(profile.as_deref(), login_id.as_deref())
                .await
        }
        Request::WhoAmI { profile } => accounts.whoami(profile.as_deref()).await,
        Request::GetToken { .. }
        | Request::Status {}
        | Request::Invalidate { .. }
        | Request::ListProfiles {}
        | Request::Shutdown {} => Response::Error(ErrorResponse::new(
            ErrorKind::Internal,
            "request routed to the wrong place",
        )),
    }
}

/// The answer to a request with another protocol version.
pub fn version_mismatch(peer: u32) -> ErrorResponse {
    ErrorResponse::new(
        ErrorKind::VersionMismatch,
        format!(
            "protocol version mismatch: the client speaks version {peer}, \
             this daemon speaks version {PROTOCOL_VERSION}"
        ),
    )
    .with_hint("restart the daemon: `wrs-token daemon stop` (the next command starts the new one)")
}
