//! Request → response dispatch.
//!
//! The handler owns no socket: it turns one decoded [`Request`] into one
//! [`Response`], so it is tested without any I/O.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use wrs_proto::{ErrorKind, ErrorResponse, PROTOCOL_VERSION, Request, Response, StatusReport};

use crate::runtime::Runtime;
use crate::session::Sessions;
use crate::source::SourceError;

/// Answers requests from the sessions; shared by all connections.
pub struct Handler {
    sessions: Arc<Sessions>,
    /// The OAuth runtime; `None` with the test source, where logins and
    /// the like are not supported.
    runtime: Option<Arc<Runtime>>,
    socket: PathBuf,
    started: Instant,
    shutdown: watch::Sender<bool>,
}

impl Handler {
    /// A handler over `sessions`, reporting `socket` in its status.
    pub fn new(sessions: Arc<Sessions>, socket: PathBuf) -> Self {
        Handler {
            sessions,
            runtime: None,
            socket,
            // Uptime is a duration on this host, not an expiry: the
            // monotonic clock is the right one here.
            started: Instant::now(),
            shutdown: watch::Sender::new(false),
        }
    }

    /// A handler over `runtime`'s sessions, serving logins, logouts and
    /// the other requests that change them.
    pub fn with_runtime(runtime: Arc<Runtime>, socket: PathBuf) -> Self {
        let mut handler = Handler::new(runtime.sessions().clone(), socket);
        handler.runtime = Some(runtime);
        handler
    }

    /// The OAuth runtime, if this handler has one.
    pub fn runtime(&self) -> Option<&Arc<Runtime>> {
        self.runtime.as_ref()
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
                Ok(reply) => Response::Token(reply),
                Err(e) => Response::Error(e),
            },
            Request::Status {} => Response::Status(StatusReport {
                daemon_version: env!("CARGO_PKG_VERSION").into(),
                protocol_version: PROTOCOL_VERSION,
                pid: std::process::id(),
                uptime_secs: self.started.elapsed().as_secs(),
                socket: self.socket.display().to_string(),
                profiles: self.sessions.status(),
            }),
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
            other => match &self.runtime {
                Some(runtime) => handle_runtime(runtime, other).await,
                None => unsupported(match other {
                    Request::LoginBegin { .. } => "login",
                    Request::LoginWait { .. } => "waiting for a login",
                    Request::LoginPaste { .. } => "paste-mode login",
                    Request::Logout { .. } => "logout",
                    Request::Reload {} => "reload",
                    Request::ImportRefreshToken { .. } => "importing a refresh token",
                    Request::SetClientSecret { .. } => "storing a client secret",
                    Request::ForgetProfile { .. } => "forgetting a profile",
                    _ => "this request",
                }),
            },
        }
    }
}

/// The requests that change the OAuth runtime's state.
async fn handle_runtime(runtime: &Runtime, request: Request) -> Response {
    match request {
        Request::LoginBegin { profile, method } => {
            runtime.login_begin(profile.as_deref(), method).await
        }
        Request::LoginWait {
            login_id,
            timeout_secs,
        } => {
            runtime
                .login_wait(&login_id, Duration::from_secs(timeout_secs))
                .await
        }
        Request::LoginPaste {
            login_id,
            redirected_url,
        } => runtime.login_paste(&login_id, &redirected_url).await,
        Request::Logout { profile, revoke } => runtime.logout(profile.as_deref(), revoke).await,
        Request::Reload {} => runtime.reload(),
        Request::ImportRefreshToken {
            profile,
            refresh_token,
        } => runtime.import(profile.as_deref(), &refresh_token).await,
        Request::SetClientSecret {
            profile,
            client_secret,
        } => runtime.set_client_secret(&profile, &client_secret).await,
        Request::ForgetProfile { profile, revoke } => runtime.forget(&profile, revoke).await,
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

/// The answer to requests the token source cannot serve yet.
fn unsupported(what: &str) -> Response {
    Response::Error(SourceError::Unsupported(what.into()).to_response())
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
