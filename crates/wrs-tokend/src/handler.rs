//! Request → response dispatch.
//!
//! The handler owns no socket: it turns one decoded [`Request`] into one
//! [`Response`], so it is tested without any I/O.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use wrs_proto::{ErrorKind, ErrorResponse, PROTOCOL_VERSION, Request, Response, StatusReport};

use crate::session::Sessions;
use crate::source::SourceError;

/// Answers requests from the sessions; shared by all connections.
pub struct Handler {
    sessions: Arc<Sessions>,
    socket: PathBuf,
    started: Instant,
    shutdown: watch::Sender<bool>,
}

impl Handler {
    /// A handler over `sessions`, reporting `socket` in its status.
    pub fn new(sessions: Arc<Sessions>, socket: PathBuf) -> Self {
        Handler {
            sessions,
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
        match request {
            Request::GetToken {
                profile,
                min_ttl_secs,
            } => match self
                .sessions
                .get_token(profile.as_deref(), Duration::from_secs(min_ttl_secs))
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
            Request::ListProfiles {} => Response::Profiles(self.sessions.profiles()),
            Request::Shutdown {} => {
                tracing::info!("shutdown requested by a client");
                self.shutdown.send_replace(true);
                Response::ShuttingDown {}
            }
            Request::LoginBegin { .. } => unsupported("login"),
            Request::LoginWait { .. } => unsupported("waiting for a login"),
            Request::LoginPaste { .. } => unsupported("paste-mode login"),
            Request::Logout { .. } => unsupported("logout"),
            Request::Reload {} => unsupported("reload"),
            Request::ImportRefreshToken { .. } => unsupported("importing a refresh token"),
            Request::SetClientSecret { .. } => unsupported("storing a client secret"),
            Request::ForgetProfile { .. } => unsupported("forgetting a profile"),
        }
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
