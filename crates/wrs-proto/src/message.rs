//! Requests, responses and error kinds.
//!
//! Every enum here is externally tagged with plain struct variants, because
//! bincode cannot decode internally tagged, untagged or flattened serde
//! types. Variants are only ever appended: bincode encodes the variant index,
//! so reordering would silently change the meaning of old clients' frames.
//! [`Response::Error`] is variant 0 and [`ErrorResponse`] is frozen, so any
//! client, old or new, can read a version-mismatch answer.

use serde::{Deserialize, Serialize};

use crate::Secret;

/// The protocol version. It travels in every request; the daemon answers a
/// request with another version by [`ErrorKind::VersionMismatch`].
///
/// Bump it whenever a message changes shape in a way an older peer cannot
/// read (a new field, a changed type). Appending an enum variant that an
/// older peer will never be sent does not need a bump.
pub const PROTOCOL_VERSION: u32 = 3;

/// What a client sends: one per connection in binary mode, one per line in
/// JSON mode.
///
/// `version` is the first field on purpose: the daemon reads it before
/// decoding the rest, so a peer with another layout still gets a clean
/// version-mismatch error rather than a decode failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    /// The sender's [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The request itself.
    pub request: Request,
}

impl RequestEnvelope {
    /// Wraps a request with this build's protocol version.
    pub fn new(request: Request) -> Self {
        RequestEnvelope {
            version: PROTOCOL_VERSION,
            request,
        }
    }
}

/// A request to the daemon. Each variant's doc names the [`Response`] it gets
/// on success; any request can also get [`Response::Error`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// A valid access token. Answered by [`Response::Token`].
    ///
    /// The minimum validity that applies is, in order: `min_ttl_secs`, the
    /// profile's `min_ttl`, `env_min_ttl_secs`, the daemon's default. It is
    /// met from the cache or the renewal schedule, never by a fetch per
    /// call: a minimum longer than what this server's tokens still have at
    /// their renewal point cannot be met, and the reply says so
    /// ([`TokenReply::min_ttl_met`]) instead of asking the server again.
    GetToken {
        /// Profile name; `None` means the default profile.
        #[serde(default)]
        profile: Option<String>,
        /// The minimum remaining validity the caller asked for, in seconds;
        /// `None` when it asked for none (the profile or default decides).
        #[serde(default)]
        min_ttl_secs: Option<u64>,
        /// The caller's `WRS_TOKEN_MIN_TTL`, if set: applies when neither
        /// the request nor the profile sets a minimum.
        #[serde(default)]
        env_min_ttl_secs: Option<u64>,
    },
    /// The daemon's state. Answered by [`Response::Status`].
    Status {},
    /// The caller's token was rejected (HTTP 401): drop the cached access
    /// token so the next [`Request::GetToken`] fetches a new one. Answered by
    /// [`Response::Invalidated`].
    Invalidate {
        /// Profile name; `None` means the default profile.
        profile: Option<String>,
        /// The token that was rejected. When given, the cache is dropped only
        /// if it still holds this token, so a late 401 cannot throw away a
        /// token that was refreshed in the meantime.
        token: Option<Secret>,
    },
    /// Start an interactive login. Answered by [`Response::LoginStarted`]
    /// with what to show the user; follow with [`Request::LoginWait`].
    LoginBegin {
        /// Profile name; `None` means the default profile.
        profile: Option<String>,
        /// How the user will authorize.
        method: LoginMethod,
    },
    /// Wait for a login started by [`Request::LoginBegin`]. Answered by
    /// [`Response::LoginFinished`], or [`Response::LoginPending`] when
    /// `timeout_secs` passes first (ask again to keep waiting).
    LoginWait {
        /// The id from [`Response::LoginStarted`].
        login_id: String,
        /// How long to wait at most before answering `LoginPending`.
        timeout_secs: u64,
    },
    /// Finish a paste-mode login with the URL the browser landed on (or just
    /// its query string). Answered by [`Response::LoginFinished`].
    LoginPaste {
        /// The id from [`Response::LoginStarted`].
        login_id: String,
        /// The redirected URL, which carries `code` and `state`.
        redirected_url: Secret,
    },
    /// Forget the profile's tokens, revoking the refresh token at the
    /// authorization server first unless `revoke` is false. Answered by
    /// [`Response::LoggedOut`].
    Logout {
        /// Profile name; `None` means the default profile.
        profile: Option<String>,
        /// Revoke the refresh token (RFC 7009) before deleting it.
        revoke: bool,
    },
    /// The configured profiles. Answered by [`Response::Profiles`].
    ListProfiles {},
    /// Re-read the configuration, keeping sessions whose profile did not
    /// change. Answered by [`Response::Reloaded`].
    Reload {},
    /// Stop the daemon. Answered by [`Response::ShuttingDown`].
    Shutdown {},
    /// Store an existing refresh token for a profile (migration from other
    /// tools) and use it at once. Answered by [`Response::LoginFinished`].
    ImportRefreshToken {
        /// Profile name; `None` means the default profile.
        profile: Option<String>,
        /// The refresh token.
        refresh_token: Secret,
    },
    /// Store a profile's client secret in the profile's secret store (the
    /// config file never holds it). Answered by [`Response::SecretStored`].
    SetClientSecret {
        /// Profile name (required: the profile must exist in the config).
        profile: String,
        /// The client secret.
        client_secret: Secret,
    },
    /// Forget everything the daemon keeps for a profile that is being
    /// removed: tokens (revoking the refresh token unless `revoke` is false)
    /// and the client secret. Answered by [`Response::LoggedOut`].
    ForgetProfile {
        /// Profile name.
        profile: String,
        /// Revoke the refresh token at the server first.
        revoke: bool,
    },
    /// Cancel a pending login at once: its loopback listener closes, its
    /// state is dropped and a new login for the profile may start. Sent by
    /// `wrs-token login --cancel` and by a login client that is interrupted
    /// (Ctrl-C, a closed terminal). Answered by [`Response::LoginCancelled`],
    /// also when nothing was pending.
    LoginCancel {
        /// Profile name; `None` means the default profile.
        #[serde(default)]
        profile: Option<String>,
        /// When given, only the login with this id is cancelled (so an
        /// interrupted client never cancels a newer login of another).
        #[serde(default)]
        login_id: Option<String>,
    },
    /// Who the profile's session belongs to: the user, the scopes, the
    /// session's age. Never a token. Answered by [`Response::Identity`].
    WhoAmI {
        /// Profile name; `None` means the default profile.
        profile: Option<String>,
    },
}

/// How an interactive login reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// Authorization code + PKCE with a loopback redirect; the client opens
    /// the browser.
    Browser,
    /// As `Browser`, but the client only prints the URL.
    NoBrowser,
    /// Authorization code + PKCE where the user pastes the URL the browser
    /// was redirected to (for a registered redirect URI that is not loopback).
    Paste,
    /// Device authorization grant (RFC 8628).
    Device,
    /// The profile's own grant needs no user (client credentials).
    Automatic,
}

/// A daemon answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Any request failed. Variant 0 and frozen: see the module doc.
    Error(ErrorResponse),
    /// Answers [`Request::GetToken`].
    Token(TokenReply),
    /// Answers [`Request::Status`].
    Status(StatusReport),
    /// Answers [`Request::Invalidate`].
    Invalidated {
        /// The profile whose cached token was dropped.
        profile: String,
        /// Whether a cached token was actually dropped.
        dropped: bool,
    },
    /// Answers [`Request::LoginBegin`].
    LoginStarted(LoginPrompt),
    /// Answers [`Request::LoginWait`] when the login is still running.
    LoginPending {},
    /// Answers [`Request::LoginWait`], [`Request::LoginPaste`] and
    /// [`Request::ImportRefreshToken`] on success.
    LoginFinished {
        /// The profile now logged in.
        profile: String,
        /// When its current access token expires (Unix seconds).
        expires_at: u64,
    },
    /// Answers [`Request::Logout`].
    LoggedOut {
        /// The profile logged out.
        profile: String,
        /// Whether the refresh token was revoked at the server.
        revoked: bool,
    },
    /// Answers [`Request::ListProfiles`].
    Profiles(Vec<ProfileSummary>),
    /// Answers [`Request::Reload`].
    Reloaded {
        /// How many profiles the new configuration has.
        profiles: u32,
    },
    /// Answers [`Request::Shutdown`].
    ShuttingDown {},
    /// Answers [`Request::SetClientSecret`].
    SecretStored {
        /// The profile.
        profile: String,
        /// Where it went, for the user (e.g. "keyring (Secret Service)").
        store: String,
    },
    /// Answers [`Request::LoginCancel`].
    LoginCancelled {
        /// The profile.
        profile: String,
        /// Whether a pending login was cancelled (false: none was pending).
        cancelled: bool,
    },
    /// Answers [`Request::WhoAmI`].
    Identity(IdentityReport),
    /// Answers [`Request::Logout`] when the profile held no tokens: there
    /// was nothing to revoke or forget.
    NotLoggedIn {
        /// The profile.
        profile: String,
    },
}

/// An access token ready to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenReply {
    /// The profile it belongs to.
    pub profile: String,
    /// The token itself.
    pub access_token: Secret,
    /// Usually `Bearer`.
    pub token_type: String,
    /// Expiry in Unix seconds (wall clock).
    pub expires_at: u64,
    /// The token's whole lifetime as the server issued it, in seconds: what
    /// this server's tokens give.
    pub lifetime_secs: u64,
    /// The minimum remaining validity that applied to this request, in
    /// seconds (asked for, the profile's, the environment's or the default).
    pub min_ttl_secs: u64,
    /// Whether the token has at least `min_ttl_secs` left. False when the
    /// minimum is more than this server's tokens have at their renewal
    /// point, or when renewal is failing and a shorter-lived cached token
    /// was the best there was.
    pub min_ttl_met: bool,
    /// One line for a human when `min_ttl_met` is false: what the server's
    /// tokens give, or why renewal is late.
    pub warning: Option<String>,
    /// The scopes granted (space-separated): the token response's `scope`,
    /// else the scopes asked for; `None` when neither is known.
    #[serde(default)]
    pub scope: Option<String>,
}

/// What the user must do to finish a login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginPrompt {
    /// Pass to [`Request::LoginWait`] / [`Request::LoginPaste`].
    pub login_id: String,
    /// The profile being logged in.
    pub profile: String,
    /// The URL to open in a browser (code flow) or the verification URI
    /// (device flow).
    pub url: Option<String>,
    /// Device flow: the code the user types at `url`.
    pub user_code: Option<String>,
    /// Device flow: `url` with the code filled in, when the server gave one.
    pub url_complete: Option<String>,
    /// Paste mode: the daemon expects [`Request::LoginPaste`].
    pub expects_paste: bool,
    /// Seconds until the login attempt is abandoned.
    pub expires_in: u64,
}

/// The daemon's state, for `wrs-token status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The daemon's crate version.
    pub daemon_version: String,
    /// The daemon's [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The daemon's process id.
    pub pid: u32,
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// The socket the daemon listens on.
    pub socket: String,
    /// One entry per configured profile.
    pub profiles: Vec<ProfileStatus>,
    /// The configuration file the daemon reads.
    #[serde(default)]
    pub config_file: String,
    /// Why the configuration file on disk is not in use (it does not
    /// parse: the message names file, line and key); the daemon keeps
    /// serving the last good configuration, if it ever had one.
    #[serde(default)]
    pub config_error: Option<String>,
}

/// One profile's session, for `wrs-token status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileStatus {
    /// Profile name.
    pub name: String,
    /// Where the session is.
    pub state: SessionState,
    /// Expiry of the cached access token (Unix seconds), if any.
    pub expires_at: Option<u64>,
    /// When the next renewal is due (Unix seconds), if scheduled.
    pub next_refresh_at: Option<u64>,
    /// The last error seen, if the session is not healthy.
    pub last_error: Option<String>,
    /// What happens at `next_refresh_at`, if anything is planned.
    pub next_refresh: Option<PlannedFetch>,
    /// The whole lifetime of the last token the server issued (seconds):
    /// what this server's tokens give.
    pub token_lifetime_secs: Option<u64>,
    /// When a client last asked for a token (Unix seconds), if one did.
    pub last_used_at: Option<u64>,
    /// Token requests answered with a token in the last hour.
    pub served_last_hour: u64,
    /// Requests the daemon sent to the token endpoint in the last hour
    /// (renewals, retries, keepalives, fetches for a caller).
    pub token_requests_last_hour: u64,
    /// The most token-endpoint requests an hour of steady use should cost
    /// with this token lifetime: one per renewal period, plus one.
    pub token_request_budget_per_hour: Option<u64>,
    /// Seconds without a token request after which renewal stops.
    pub keep_warm_secs: u64,
    /// Seconds between keepalive refreshes of an idle session (0 = off).
    pub keepalive_secs: u64,
    /// Who is logged in, for display (e-mail, user name or subject from
    /// the ID token), when known.
    #[serde(default)]
    pub user: Option<String>,
    /// Why there is no session, when there is none.
    #[serde(default)]
    pub ended: Option<SessionEnd>,
}

/// Why a profile has no session (any more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// Nothing is stored: never logged in here (or logged out by an
    /// earlier daemon).
    NeverLoggedIn,
    /// `wrs-token logout` ended it.
    LoggedOut,
    /// The server said `invalid_grant`: the refresh token expired or was
    /// revoked.
    Revoked,
    /// The stored login is unusable for another reason (it belongs to
    /// another server or client).
    Rejected,
}

/// Who a profile's session belongs to, for `wrs-token whoami`. Never holds
/// a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityReport {
    /// The profile.
    pub profile: String,
    /// The issuer or token endpoint, for display.
    pub server: String,
    /// Where the session is.
    pub state: SessionState,
    /// The ID token's `sub`, when known.
    pub subject: Option<String>,
    /// The ID token's `preferred_username`, when known.
    pub username: Option<String>,
    /// The ID token's `name`, when known.
    pub name: Option<String>,
    /// The ID token's `email`, when known.
    pub email: Option<String>,
    /// The ID token's `iss`, when known.
    pub issuer: Option<String>,
    /// The scopes (space-separated), when known.
    pub scope: Option<String>,
    /// Whether `scope` is what the server said it granted (false: the
    /// scopes asked for, the server did not say).
    pub scope_granted: bool,
    /// When the login happened (Unix seconds), when known.
    pub logged_in_at: Option<u64>,
    /// When the current refresh token was issued (Unix seconds): the login,
    /// or its last rotation.
    pub refresh_token_issued_at: Option<u64>,
    /// The whole lifetime of the current access token (seconds).
    pub access_token_lifetime_secs: Option<u64>,
    /// When the current access token expires (Unix seconds).
    pub access_token_expires_at: Option<u64>,
    /// Why there is no session, when there is none.
    pub ended: Option<SessionEnd>,
}

/// What the renewal scheduler does next for a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedFetch {
    /// Renew ahead of expiry (the profile is in use).
    Renewal,
    /// Try again after a failure (backoff).
    Retry,
    /// Refresh an idle session so its grant does not time out.
    Keepalive,
}

/// The life of one profile's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// No tokens.
    LoggedOut,
    /// A valid access token or a refresh token is at hand.
    Active,
    /// A request to the token endpoint is under way.
    Refreshing,
    /// The refresh token was rejected; the user must log in again.
    NeedsLogin,
    /// Renewal keeps failing for a transient reason; retrying with backoff.
    BackingOff,
    /// Logged in, but nobody asked for a token for a while: renewal has
    /// stopped (an occasional keepalive aside) and the next request fetches
    /// a token in one round trip.
    Idle,
}

/// One configured profile, for `wrs-token profile list` via the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSummary {
    /// Profile name.
    pub name: String,
    /// Whether it is the default profile.
    pub is_default: bool,
    /// The issuer or token endpoint, for display.
    pub server: String,
    /// Where the session is.
    pub state: SessionState,
}

/// A failed request: what went wrong, in words and as a kind a program can
/// match on. Frozen: see the module doc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// One line for a human.
    pub message: String,
    /// What to do about it, when there is something to do.
    pub hint: Option<String>,
    /// The RFC 6749 `error` code when the authorization server gave one.
    pub oauth_error: Option<String>,
    /// The responder's [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
}

impl ErrorResponse {
    /// An error of `kind` with a message and no hint.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorResponse {
            kind,
            message: message.into(),
            hint: None,
            oauth_error: None,
            protocol_version: PROTOCOL_VERSION,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the authorization server's RFC 6749 error code.
    pub fn with_oauth_error(mut self, code: impl Into<String>) -> Self {
        self.oauth_error = Some(code.into());
        self
    }
}

impl std::fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ErrorResponse {}

/// Failure kinds. Clients map them to exit codes (see the client's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The session has no usable refresh token: run `wrs-token login`.
    LoginRequired,
    /// No profile of that name is configured.
    UnknownProfile,
    /// No profile is configured at all, or none is the default.
    NoProfile,
    /// The authorization server refused (see `oauth_error`).
    AuthorizationServer,
    /// The authorization server could not be reached or answered garbage.
    Network,
    /// Client and daemon speak different protocol versions.
    VersionMismatch,
    /// A conflicting operation (another login for the profile) is under
    /// way. (A daemon at its connection limit answers [`ErrorKind::DaemonBusy`].)
    Busy,
    /// The request could not be decoded.
    BadRequest,
    /// The configuration is invalid.
    Config,
    /// The secret store (keyring or file) failed.
    Store,
    /// A login did not complete in time or was abandoned.
    LoginFailed,
    /// A bug in the daemon.
    Internal,
    /// The daemon is serving as many connections as it will at once and
    /// did not read this request: connect again shortly and repeat it.
    DaemonBusy,
}
