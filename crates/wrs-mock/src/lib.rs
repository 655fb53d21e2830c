//! `wrs-mock` owns the project's stand-ins for the outside world: a
//! PingFederate-like OAuth 2 authorization server and a Windchill REST
//! Services (WRS) OData endpoint, with fault injection, request counters and
//! an injectable clock. Tests start it on port 0 and read its URLs; benchmarks
//! and scripts run the `wrs-mock` binary; the `wrs-demo` crate (what
//! `wrs-token demo` runs) starts it in-process. It is only the stand-in: the
//! demo and its headless browser live in `wrs-demo`.
//!
//! What it serves (PingFederate's paths):
//!
//! - `/.well-known/openid-configuration` — discovery; issuer = base URL, no trailing slash
//! - `/as/authorization.oauth2` — code flow with PKCE S256, login + consent page
//! - `/as/token.oauth2` — code, refresh (rolling, grace, idle/max lifetime), device, client credentials
//! - `/as/revoke_token.oauth2`, `/as/introspect.oauth2` — RFC 7009, RFC 7662
//! - `/as/device_authz.oauth2`, `/as/user_authz.oauth2` — RFC 8628 and its user page
//! - `/Windchill/oauth/servlet/odata/…` — `ProdMgmt/Parts`, `PTC/GetCSRFToken()`
//! - `/mock/admin/…` — faults, counters, clock, shortcuts (see [`admin`])
//!
//! ```no_run
//! # async fn demo() -> Result<(), wrs_mock::MockError> {
//! use wrs_mock::{Endpoint, Fault, MockConfig, MockServer};
//! let mock = MockServer::start(MockConfig::default().roll_refresh_tokens(true)).await?;
//! mock.set_fault(Endpoint::Token, Fault::Status { code: 503, retry_after: Some(1), body: None }, Some(1));
//! let token_endpoint = mock.token_endpoint();
//! # let _ = token_endpoint; Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod admin;
mod app;
mod authorize;
mod client_auth;
mod clock;
pub mod config;
mod counters;
mod device;
mod discovery;
mod faults;
mod grants;
mod html;
mod introspect;
mod oauth_error;
mod params;
pub mod ready;
mod server;
mod tls;
mod token;
mod wrs;

pub use config::{AuthMethod, ClientConfig, GrantType, MockConfig, UserConfig};
pub use counters::Counters;
pub use faults::{ActiveFault, Endpoint, Fault};
pub use grants::{RefreshTokenState, TokenSet};
pub use ready::{READY_PREFIX, ReadyMessage};
pub use server::MockServer;

/// Why the mock could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Another I/O failure (runtime, thread, socket).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Generating the certificates or the TLS configuration failed.
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// No client with this id is registered.
    #[error("unknown client {0}")]
    UnknownClient(String),
    /// The background server thread ended before it was ready.
    #[error("the mock server thread stopped before it was ready")]
    ThreadDied,
}
