//! Talking to the daemon: connect (starting it when allowed), send one
//! request, read one response. Every command that needs the daemon goes
//! through here, so connection policy (timeouts, autostart, error wording)
//! lives in one place.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use wrs_sys::endpoint::Endpoint;
//! use wrs_token::client::Client;
//!
//! let client = Client::new(Endpoint::resolve()?);
//! let token = client.get_token(Some("plm".into()), Some(10))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod account;
pub mod autostart;
pub mod trust;

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use interprocess::ConnectWaitMode;
use interprocess::local_socket::prelude::*;
use interprocess::local_socket::{ConnectOptions, GenericFilePath, Stream};
use wrs_proto::frame::{read_frame, write_frame};
use wrs_proto::{
    ErrorKind, ErrorResponse, Request, RequestEnvelope, Response, StatusReport, TokenReply,
    WireError,
};
use wrs_sys::endpoint::{Endpoint, EndpointError};
use wrs_sys::env;

pub use account::{LoggedIn, LoggedOut, LoginProgress, LoginStart};
pub use autostart::StartError;
pub use trust::Distrust;

/// How long `connect` may wait for the daemon to accept (a full backlog).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Bound on a [`Request::GetToken`] round trip. Generous because the daemon
/// may have to refresh the token at the authorization server first.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Bound on requests the daemon answers from memory (status, shutdown).
pub const QUICK_TIMEOUT: Duration = Duration::from_secs(5);

/// Bound on requests that may make the daemon talk to the authorization
/// server, discovery included (login begin, paste, import, logout, forget):
/// the daemon's own HTTP timeouts come to about 35 s.
pub const NETWORK_TIMEOUT: Duration = Duration::from_secs(40);

/// Bound on requests that touch the secret store or re-read the config
/// (a keyring may be slow to unlock).
pub const STORE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request is retried while the daemon says it is busy.
pub const BUSY_RETRY_FOR: Duration = Duration::from_secs(3);

/// Added to a [`Request::LoginWait`]'s own wait for the round trip bound.
pub const LOGIN_WAIT_MARGIN: Duration = Duration::from_secs(10);

/// Why a request did not get a successful answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket location could not be worked out.
    #[error("cannot locate the daemon socket: {0}")]
    Endpoint(#[from] EndpointError),
    /// Nothing listens on the socket and starting the daemon was not allowed.
    #[error("daemon not running (socket {})", socket.display())]
    NotRunning {
        /// The socket that did not answer.
        socket: PathBuf,
    },
    /// Nothing answers on an explicitly given socket that is not this
    /// machine's default, and a socket file is there: someone else's
    /// endpoint (an `ssh -R` forward whose connection is gone), which the
    /// client never replaces with a daemon of its own (see
    /// [`autostart::may_start_at`]).
    #[error("nothing answers on {} (given by --socket or {}), and it is not this machine's own daemon socket", socket.display(), wrs_sys::env::SOCKET)]
    Unserved {
        /// The socket that did not answer.
        socket: PathBuf,
    },
    /// Connecting failed for another reason than "nobody listens".
    #[error("cannot connect to the daemon at {}: {source}", socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Starting the daemon failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The socket's directory or the process listening on the socket is
    /// not ours (see [`trust`]): nothing was sent, nothing started.
    #[error("refusing to use the daemon socket {}: {reason}; nothing was sent", socket.display())]
    Untrusted {
        /// The socket.
        socket: PathBuf,
        /// What is not ours.
        reason: Distrust,
    },
    /// The daemon accepted the connection but did not answer in time.
    #[error("the daemon did not answer within {} s", timeout.as_secs())]
    Timeout {
        /// The bound that passed.
        timeout: Duration,
    },
    /// The connection broke or carried bytes that are not a response.
    #[error("bad exchange with the daemon: {0}")]
    Wire(WireError),
    /// The daemon closed the connection without answering.
    #[error("the daemon closed the connection without answering")]
    NoAnswer,
    /// The daemon answered with an error.
    #[error("{0}")]
    Daemon(ErrorResponse),
    /// An environment variable the client reads has an unusable value.
    #[error("{var}={value:?} is not a number of seconds")]
    BadEnvironment {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// The daemon answered with a response that does not fit the request.
    #[error("the daemon answered a {request} request with {got}")]
    Unexpected {
        /// The request sent.
        request: &'static str,
        /// The response variant received.
        got: &'static str,
    },
}

impl ClientError {
    /// Whether the daemon itself refused because of the protocol version,
    /// or its answer could not be decoded (which is what a daemon of another
    /// version looks like to us when its reply layout changed).
    pub fn is_version_problem(&self) -> bool {
        match self {
            ClientError::Daemon(e) => e.kind == wrs_proto::ErrorKind::VersionMismatch,
            ClientError::Wire(WireError::Decode(_) | WireError::TrailingBytes(_)) => true,
            _ => false,
        }
    }
}

/// A connection to the daemon, good for one request.
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
}

impl Connection {
    /// Sends `request` and reads the answer, each bounded by `timeout`.
    /// [`Response::Error`] comes back as [`ClientError::Daemon`].
    pub fn call(mut self, request: Request, timeout: Duration) -> Result<Response, ClientError> {
        // A hung daemon must not hang the caller (a git or curl invocation).
        self.stream
            .set_recv_timeout(Some(timeout))
            .and_then(|()| self.stream.set_send_timeout(Some(timeout)))
            .map_err(|e| ClientError::Wire(WireError::Io(e)))?;
        let envelope = RequestEnvelope::new(request);
        write_frame(&mut self.stream, &envelope).map_err(|e| wire_error(e, timeout))?;
        let body = read_frame(&mut self.stream)
            .map_err(|e| wire_error(e, timeout))?
            .ok_or(ClientError::NoAnswer)?;
        match wrs_proto::frame::decode_binary::<Response>(&body).map_err(ClientError::Wire)? {
            Response::Error(e) => Err(ClientError::Daemon(e)),
            response => Ok(response),
        }
    }

    /// The daemon's process id, where the OS tells it (used to stop a
    /// daemon that no longer understands our requests). The daemon runs as
    /// our user: [`try_connect`] checked.
    pub fn peer_pid(&self) -> Option<u32> {
        platform::peer_pid(&self.stream)
    }
}

fn wire_error(e: WireError, timeout: Duration) -> ClientError {
    match e {
        WireError::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            ClientError::Timeout { timeout }
        }
        other => ClientError::Wire(other),
    }
}

/// Connects to the socket once, without starting anything. `Ok(None)`
/// means nobody listens there (no socket, or a stale one).
///
/// Every connection to the daemon comes through here, so this is where the
/// client makes sure it talks to its own daemon before it sends a byte (see
/// [`trust`]): the socket's directory is checked before connecting, the
/// listener's uid after. Either failing is [`ClientError::Untrusted`]; a
/// directory that fails also keeps autostart from starting a daemon there.
pub fn try_connect(endpoint: &Endpoint) -> Result<Option<Connection>, ClientError> {
    let untrusted = |reason| ClientError::Untrusted {
        socket: endpoint.socket.clone(),
        reason,
    };
    trust::check_directory(&endpoint.socket).map_err(untrusted)?;
    let connect_error = |source| ClientError::Connect {
        socket: endpoint.socket.clone(),
        source,
    };
    let name = endpoint
        .socket
        .as_path()
        .to_fs_name::<GenericFilePath>()
        .map_err(connect_error)?;
    match ConnectOptions::new()
        .name(name)
        .wait_mode(ConnectWaitMode::Timeout(CONNECT_TIMEOUT))
        .connect_sync()
    {
        Ok(stream) => {
            // Dropping the stream unused closes it: the listener saw a
            // connection, never a byte.
            trust::check_peer(&stream).map_err(untrusted)?;
            Ok(Some(Connection { stream }))
        }
        Err(e) if nobody_listens(&e) => Ok(None),
        Err(e) => Err(connect_error(e)),
    }
}

/// The connect errors that mean "no daemon there", as opposed to "a daemon
/// we may not or cannot talk to".
fn nobody_listens(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

/// The daemon's address plus the policy for reaching it.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: Endpoint,
    autostart: bool,
    /// The socket was given explicitly and is not this machine's default.
    elsewhere: bool,
}

impl Client {
    /// A client for `endpoint` that starts the daemon when none answers.
    pub fn new(endpoint: Endpoint) -> Self {
        Client {
            endpoint,
            autostart: true,
            elsewhere: false,
        }
    }

    /// Marks the endpoint as given explicitly (`--socket`,
    /// `WRS_TOKEN_SOCKET`) at another path than this machine's default:
    /// a socket found there unanswered is never replaced (see
    /// [`autostart::may_start_at`]).
    pub fn with_socket_elsewhere(mut self, elsewhere: bool) -> Self {
        self.elsewhere = elsewhere;
        self
    }

    /// Allows or forbids starting the daemon.
    pub fn with_autostart(mut self, allowed: bool) -> Self {
        self.autostart = allowed;
        self
    }

    /// Where the daemon listens.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// A connection to a running daemon, starting it first if none answers
    /// and autostart is allowed.
    pub fn connect(&self) -> Result<Connection, ClientError> {
        if let Some(conn) = try_connect(&self.endpoint)? {
            return Ok(conn);
        }
        if !self.autostart {
            return Err(ClientError::NotRunning {
                socket: self.endpoint.socket.clone(),
            });
        }
        if !autostart::may_start_at(&self.endpoint, self.elsewhere) {
            return Err(ClientError::Unserved {
                socket: self.endpoint.socket.clone(),
            });
        }
        autostart::start(&self.endpoint)?;
        // The launcher said the socket is bound: one more attempt, no loop.
        try_connect(&self.endpoint)?.ok_or_else(|| {
            StartError::NoAnswer {
                socket: self.endpoint.socket.clone(),
            }
            .into()
        })
    }

    /// One request, one response.
    ///
    /// A daemon serving as many connections as it will at once answers
    /// "busy" without reading the request, or closes a connection beyond
    /// that at once: both are retried for up to [`BUSY_RETRY_FOR`], with a
    /// growing, jittered pause (a burst of parallel calls spreads out). A
    /// closed connection is retried only for requests that are safe to
    /// repeat, since the daemon may have acted on it.
    pub fn request(&self, request: Request, timeout: Duration) -> Result<Response, ClientError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let outcome = self.connect()?.call(request.clone(), timeout);
            let retry = match &outcome {
                Err(ClientError::Daemon(e)) => e.kind == ErrorKind::DaemonBusy,
                Err(ClientError::NoAnswer) => is_repeatable(&request),
                _ => false,
            };
            if !retry || started.elapsed() + pause > BUSY_RETRY_FOR {
                return outcome;
            }
            std::thread::sleep(pause.mul_f64(rand_unit() + 0.5));
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// A token for `profile` (the daemon's default when `None`) that should
    /// stay valid `min_ttl_secs` more seconds; `None` lets the profile's
    /// `min_ttl`, then [`env::MIN_TTL`] (the caller's default minimum validity in seconds), then the daemon's default decide.
    /// The reply says whether the minimum was met.
    pub fn get_token(
        &self,
        profile: Option<String>,
        min_ttl_secs: Option<u64>,
    ) -> Result<TokenReply, ClientError> {
        let request = Request::GetToken {
            profile,
            min_ttl_secs,
            env_min_ttl_secs: env_min_ttl()?,
        };
        match self.request(request, TOKEN_TIMEOUT)? {
            Response::Token(reply) => Ok(reply),
            other => Err(unexpected("get-token", &other)),
        }
    }

    /// The daemon's status report.
    pub fn status(&self) -> Result<StatusReport, ClientError> {
        status_of(self.connect()?)
    }
}

/// Whether sending `request` twice does no harm (the daemon may have acted
/// on one whose connection closed without an answer).
fn is_repeatable(request: &Request) -> bool {
    matches!(
        request,
        Request::GetToken { .. }
            | Request::Status {}
            | Request::Invalidate { .. }
            | Request::ListProfiles {}
            | Request::LoginWait { .. }
    )
}

/// A number in [0, 1) that differs between processes and calls: enough to
/// keep parallel clients from retrying in step, no generator needed.
fn rand_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed = (u64::from(nanos) ^ u64::from(std::process::id()).rotate_left(17))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// The caller's [`env::MIN_TTL`] (the caller's default minimum validity in seconds), if set (an empty value counts as unset).
fn env_min_ttl() -> Result<Option<u64>, ClientError> {
    match std::env::var(env::MIN_TTL) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ClientError::BadEnvironment {
                var: env::MIN_TTL,
                value,
            }),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(raw)) => Err(ClientError::BadEnvironment {
            var: env::MIN_TTL,
            value: raw.to_string_lossy().into_owned(),
        }),
    }
}

/// Asks an open connection for the daemon's status report.
pub fn status_of(conn: Connection) -> Result<StatusReport, ClientError> {
    match conn.call(Request::Status {}, QUICK_TIMEOUT)? {
        Response::Status(report) => Ok(report),
        other => Err(unexpected("status", &other)),
    }
}

/// The error for a response that does not answer `request`.
pub fn unexpected(request: &'static str, got: &Response) -> ClientError {
    ClientError::Unexpected {
        request,
        got: response_name(got),
    }
}

fn response_name(response: &Response) -> &'static str {
    match response {
        Response::Error(_) => "error",
        Response::Token(_) => "token",
        Response::Status(_) => "status",
        Response::Invalidated { .. } => "invalidated",
        Response::LoginStarted(_) => "login-started",
        Response::LoginPending {} => "login-pending",
        Response::LoginFinished { .. } => "login-finished",
        Response::LoggedOut { .. } => "logged-out",
        Response::Profiles(_) => "profiles",
        Response::Reloaded { .. } => "reloaded",
        Response::ShuttingDown {} => "shutting-down",
        Response::SecretStored { .. } => "secret-stored",
        Response::LoginCancelled { .. } => "login-cancelled",
        Response::Identity(_) => "identity",
        Response::NotLoggedIn { .. } => "not-logged-in",
    }
}

#[cfg(unix)]
mod platform {
    use interprocess::local_socket::Stream;
    use interprocess::local_socket::traits::StreamCommon as _;

    pub(super) fn peer_pid(stream: &Stream) -> Option<u32> {
        // Only a process of our own user is ours to signal: every
        // `Connection` passed `trust::check_peer` in `try_connect`.
        let creds = stream.peer_creds().ok()?;
        u32::try_from(creds.pid()?).ok()
    }
}

#[cfg(not(unix))]
mod platform {
    use interprocess::local_socket::Stream;

    pub(super) fn peer_pid(_stream: &Stream) -> Option<u32> {
        // The pipe only admits our own user; the pid is not needed off Unix
        // because stopping a daemon of another version is Unix-only for now.
        None
    }
}
