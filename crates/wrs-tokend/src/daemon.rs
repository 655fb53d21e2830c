//! One daemon instance: the verified directory, the lock, the listener and
//! the handler, from start to clean exit.
//!
//! [`Daemon::start`] does everything that can refuse (directory checks,
//! lock, stale socket, bind); [`Daemon::serve`] runs until shutdown and
//! then removes what it created. Tests drive both with a temp-dir socket.

use std::future::Future;
use std::sync::Arc;

use interprocess::local_socket::tokio::Listener;
use wrs_sys::endpoint::Endpoint;
use wrs_sys::exit::ALREADY_RUNNING;

use crate::activation;
use crate::handler::Handler;
use crate::runtime::Runtime;
use crate::server::{self, Limits};
use crate::session::Sessions;
use crate::trust::{self, LockFile, SocketIdentity, TrustError};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A trust check, the lock or the bind failed.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The socket passed by systemd is unusable.
    #[error("cannot use the socket passed by systemd: {0}")]
    Activation(#[source] std::io::Error),
}

impl StartError {
    /// The process exit code for this failure:
    /// [`wrs_sys::exit::ALREADY_RUNNING`] when another daemon serves the
    /// user (launchers then connect to that one), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Trust(TrustError::AlreadyRunning { .. }) => ALREADY_RUNNING,
            _ => 1,
        }
    }
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct Config {
    /// Socket, directory and lock paths.
    pub endpoint: Endpoint,
    /// Connection limits and timeouts.
    pub limits: Limits,
    /// Accept a socket passed by systemd (`LISTEN_FDS`) instead of binding.
    pub socket_activation: bool,
}

impl Config {
    /// Default limits, socket activation allowed.
    pub fn new(endpoint: Endpoint) -> Self {
        Config {
            endpoint,
            limits: Limits::default(),
            socket_activation: true,
        }
    }
}

/// A started daemon: it holds the lock and listens.
pub struct Daemon {
    listener: Listener,
    handler: Arc<Handler>,
    /// `None` when systemd owns the socket file.
    bound: Option<SocketIdentity>,
    lock: LockFile,
    config: Config,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("socket", &self.config.endpoint.socket)
            .field("lock", &self.lock.path())
            .finish_non_exhaustive()
    }
}

impl Daemon {
    /// Verifies the directory, takes the lock and binds the socket (or
    /// adopts the one systemd passed). Must run inside a tokio runtime.
    pub fn start(config: Config, sessions: Arc<Sessions>) -> Result<Daemon, StartError> {
        Daemon::start_with(config, |socket| Handler::new(sessions, socket))
    }

    /// As [`Daemon::start`], serving the OAuth `runtime` (logins, logouts,
    /// reloads) besides its sessions.
    pub fn start_with_runtime(config: Config, runtime: Arc<Runtime>) -> Result<Daemon, StartError> {
        Daemon::start_with(config, |socket| Handler::with_runtime(runtime, socket))
    }

    fn start_with(
        config: Config,
        handler: impl FnOnce(std::path::PathBuf) -> Handler,
    ) -> Result<Daemon, StartError> {
        let endpoint = &config.endpoint;
        trust::ensure_private_dir(&endpoint.dir)?;
        // The lock comes first: with it held, whatever sits at the socket
        // path is no live daemon of ours, so the stale-socket probe below
        // only guards against foreign listeners.
        let lock = LockFile::acquire(&endpoint.lock, &endpoint.socket)?;
        let inherited = if config.socket_activation {
            activation::inherited_listener().map_err(StartError::Activation)?
        } else {
            None
        };
        let (listener, bound) = match inherited {
            Some(listener) => {
                tracing::info!("using the socket passed by systemd");
                (listener, None)
            }
            None => {
                let (listener, identity) = trust::bind_socket(&endpoint.socket)?;
                (listener, Some(identity))
            }
        };
        let handler = Arc::new(handler(endpoint.socket.clone()));
        Ok(Daemon {
            listener,
            handler,
            bound,
            lock,
            config,
        })
    }

    /// The request handler (for tests that want its sessions).
    pub fn handler(&self) -> &Arc<Handler> {
        &self.handler
    }

    /// Serves until `shutdown` resolves or a client sends `Shutdown`, then
    /// drains connections and removes the socket (unless systemd owns it)
    /// and the lock file.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let Daemon {
            listener,
            handler,
            bound,
            lock,
            config,
        } = self;
        let requested = handler.shutdown_requested();
        let stop = async move {
            tokio::select! {
                () = shutdown => {}
                () = requested => {}
            }
            activation::notify_stopping();
        };
        activation::notify_ready();
        tracing::info!(socket = %config.endpoint.socket.display(), pid = std::process::id(), "listening");
        let sessions = handler.sessions().clone();
        server::run(&listener, handler, config.limits, stop).await;
        sessions.shutdown();
        drop(listener);
        if let Some(identity) = bound {
            trust::remove_socket(&config.endpoint.socket, identity);
        }
        drop(lock);
        tracing::info!("stopped");
    }
}
