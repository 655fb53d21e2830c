//! `wrs-oauth` owns wrs-token's conversation with the OAuth 2 authorization
//! server (usually PingFederate); the daemon (`wrs-tokend`) is its only user.
//!
//! - [`http`]: the per-profile HTTP client (timeouts, no redirects, rustls
//!   with system roots plus an optional extra CA bundle, proxies from the
//!   environment, capped bodies), and what `wrs-tokend probe` asks of it:
//!   the proxy for a URL, and whether a server answers, with its clock.
//! - [`provider`]: endpoints and client identity (`client_secret_basic`,
//!   `client_secret_post`, public clients).
//! - [`discovery`]: server metadata with the RFC 8414 issuer check.
//! - [`pkce`], [`authorize`], [`loopback`]: the authorization code flow's
//!   front channel: PKCE S256, `state`, `iss` (RFC 9207), the RFC 8252
//!   loopback listener, paste mode.
//! - [`token`], [`device`], [`revoke`], [`introspect`]: the back channel:
//!   code exchange, refresh, client credentials, RFC 8628 device flow,
//!   RFC 7009 revocation, RFC 7662 introspection.
//! - [`lifetime`]: how long a token lives ([`TokenResponse::lifetime`]),
//!   also when the server sends no `expires_in`.
//! - [`error`]: [`OAuthError`], typed so the caller can tell "log in again"
//!   from "fix the configuration" from "retry later".
//!
//! The local-machine rules come from `wrs_sys`: which hosts are loopback
//! (plain `http` endpoints, the listener's address) and how a CA bundle
//! file is read.
//!
//! Tokens are [`wrs_proto::Secret`]s throughout and never appear in an
//! error message or `Debug` output.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wrs_oauth::OAuthError> {
//! use std::time::Duration;
//! use wrs_oauth::*;
//! let http = HttpClient::new(&HttpConfig::default())?;
//! let identity = ClientIdentity::public("wrs-cli");
//! let (client, _metadata) = OAuthClient::discover(http, "https://idp.example.com", identity).await?;
//! let listener = LoopbackListener::bind(None).await?;
//! let mut request = AuthorizationRequest::new(listener.redirect_uri());
//! request.scopes = vec!["openid".into(), "offline_access".into()];
//! let pending = client.authorize(&request)?;
//! println!("open {}", pending.url());
//! let code = listener.wait(&pending, "default", Duration::from_secs(300)).await?;
//! let tokens = client.exchange_code(&pending, &code).await?;
//! # let _ = tokens; Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod authorize;
pub mod client;
pub mod device;
pub mod discovery;
pub mod error;
pub mod http;
pub mod id_token;
pub mod introspect;
pub mod lifetime;
pub mod loopback;
pub mod pkce;
pub mod provider;
mod redact;
pub mod revoke;
pub mod token;

pub use authorize::{
    AuthorizationCode, AuthorizationRequest, PendingAuthorization, RedirectParams,
};
pub use client::OAuthClient;
pub use device::DeviceAuthorization;
pub use discovery::{ProviderMetadata, discover};
pub use error::{ErrorCode, NetworkProblem, OAuthError, Unreached};
pub use http::{HttpClient, HttpConfig, Reached};
pub use id_token::IdClaims;
pub use introspect::Introspection;
pub use loopback::LoopbackListener;
pub use pkce::Pkce;
pub use provider::{ClientAuth, ClientIdentity, Endpoints};
pub use revoke::TokenTypeHint;
pub use token::TokenResponse;
pub use wrs_proto::Secret;
