//! What the mock serves: lifetimes, policies, registered clients and users.
//!
//! [`MockConfig::default()`] is the demo set-up the `wrs-mock` binary and the
//! `wrs-token demo` command use; tests start from it and change what they need.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a client may authenticate at the token, revocation and introspection
/// endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: `client_id` in the body, no secret, PKCE required.
    None,
}

impl AuthMethod {
    /// The RFC 8414 name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

/// A grant type a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// `authorization_code` (with PKCE S256; required for public clients).
    AuthorizationCode,
    /// `refresh_token`; a client without it gets no refresh tokens.
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628).
    DeviceCode,
    /// `client_credentials`.
    ClientCredentials,
}

impl GrantType {
    /// The `grant_type` parameter value of this grant.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// Parses a `grant_type` parameter value.
    pub fn parse(value: &str) -> Option<GrantType> {
        [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::DeviceCode,
            GrantType::ClientCredentials,
        ]
        .into_iter()
        .find(|g| g.as_str() == value)
    }
}

/// A registered OAuth client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The `client_id`.
    pub id: String,
    /// The secret; `None` makes a public client (auth method `none`, PKCE S256 required).
    pub secret: Option<String>,
    /// Allowed authentication methods for a confidential client.
    pub auth_methods: Vec<AuthMethod>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Registered redirect URIs, matched exactly; `http://127.0.0.1/…`,
    /// `http://[::1]/…` and `http://localhost/…` match on any port (RFC 8252 7.3).
    pub redirect_uris: Vec<String>,
    /// Scopes the client may ask for; a request without `scope` gets all of them.
    pub scopes: Vec<String>,
}

impl ClientConfig {
    /// A public client (no secret, PKCE S256 required).
    pub fn public(id: impl Into<String>) -> Self {
        ClientConfig {
            id: id.into(),
            secret: None,
            auth_methods: vec![AuthMethod::None],
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::DeviceCode,
            ],
            redirect_uris: vec![
                "http://127.0.0.1/callback".into(),
                "http://localhost/callback".into(),
            ],
            scopes: default_scopes(),
        }
    }

    /// A confidential client allowed `client_secret_basic` and `client_secret_post`.
    pub fn confidential(id: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientConfig {
            secret: Some(secret.into()),
            auth_methods: vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost],
            ..ClientConfig::public(id)
        }
    }

    /// Replaces the allowed authentication methods.
    pub fn auth_methods(mut self, methods: impl IntoIterator<Item = AuthMethod>) -> Self {
        self.auth_methods = methods.into_iter().collect();
        self
    }

    /// Replaces the allowed grant types.
    pub fn grant_types(mut self, grants: impl IntoIterator<Item = GrantType>) -> Self {
        self.grant_types = grants.into_iter().collect();
        self
    }

    /// Replaces the registered redirect URIs.
    pub fn redirect_uris<S: Into<String>>(mut self, uris: impl IntoIterator<Item = S>) -> Self {
        self.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the allowed scopes.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the client is public (has no secret).
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// A user who can log in on the mock's pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserConfig {
    /// Login name, reported as `Username` by introspection.
    pub username: String,
    /// Password on the login page.
    pub password: String,
}

impl UserConfig {
    /// A user with this name and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        UserConfig {
            username: username.into(),
            password: password.into(),
        }
    }
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "offline_access", "WINDCHILL"]
        .into_iter()
        .map(String::from)
        .collect()
}

/// Id of the demo public client (PKCE, code + device + refresh).
pub const DEMO_PUBLIC_CLIENT: &str = "wrs-cli";
/// Id of the demo confidential client (basic or post, code + device + refresh).
pub const DEMO_CONFIDENTIAL_CLIENT: &str = "wrs-confidential";
/// Secret of [`DEMO_CONFIDENTIAL_CLIENT`].
pub const DEMO_CONFIDENTIAL_SECRET: &str = "wrs-confidential-secret";
/// Id of the demo client-credentials client (basic only).
pub const DEMO_SERVICE_CLIENT: &str = "wrs-service";
/// Secret of [`DEMO_SERVICE_CLIENT`].
pub const DEMO_SERVICE_SECRET: &str = "wrs-service-secret";
/// Id of a confidential client whose secret needs form-urlencoding in Basic auth.
pub const DEMO_SPECIAL_CLIENT: &str = "wrs-special:client";
/// Secret of [`DEMO_SPECIAL_CLIENT`]: `+`, `%`, `:`, `/`, `=` and a space.
pub const DEMO_SPECIAL_SECRET: &str = "p+ss%20w:rd/= x";
/// Id of the resource-server client (Windchill, a git front end) that only introspects.
pub const DEMO_RESOURCE_CLIENT: &str = "windchill";
/// Secret of [`DEMO_RESOURCE_CLIENT`].
pub const DEMO_RESOURCE_SECRET: &str = "windchill-secret";

/// The mock's configuration. `Default` is the demo set-up; setters chain.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Address to bind; port 0 picks a free port. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Serve HTTPS with a CA generated at start. Default off.
    pub tls: bool,
    /// Path prefix of the issuer (e.g. `/tenant1`); empty = issuer is the base URL.
    pub issuer_path: String,
    /// Access-token lifetime (whole seconds, at least 1 s). Default 3600 s.
    pub access_token_lifetime: Duration,
    /// A refresh token unused this long expires. Default 7 days.
    pub refresh_token_idle_lifetime: Duration,
    /// A grant's refresh tokens expire this long after the grant began. Default 30 days.
    pub refresh_token_max_lifetime: Duration,
    /// Issue a new refresh token on every refresh (PingFederate "Roll Refresh Token Values").
    pub roll_refresh_tokens: bool,
    /// How long a rolled refresh token keeps working. Default 0 (not at all).
    pub roll_grace_period: Duration,
    /// A rolled refresh token used after its grace period revokes the whole grant (RFC 9700 4.14.2).
    pub revoke_grant_on_reuse: bool,
    /// Without rolling, repeat the (unchanged) refresh token in refresh responses. Default on.
    pub echo_refresh_token: bool,
    /// A reused authorization code revokes the tokens issued from it. Default on.
    pub revoke_grant_on_code_reuse: bool,
    /// `GET /as/authorization.oauth2` approves at once as [`MockConfig::auto_approve_user`].
    pub auto_approve: bool,
    /// The user auto-approval logs in. Default `demo`.
    pub auto_approve_user: String,
    /// Add `iss` to authorization responses (RFC 9207). Default on.
    pub send_iss_in_authz_response: bool,
    /// Authorization-code lifetime. Default 60 s.
    pub authorization_code_lifetime: Duration,
    /// Device-code lifetime. Default 600 s.
    pub device_code_lifetime: Duration,
    /// Minimum polling interval of the device grant (whole seconds). Default 5 s.
    pub device_poll_interval: Duration,
    /// Registered clients.
    pub clients: Vec<ClientConfig>,
    /// Users of the login pages.
    pub users: Vec<UserConfig>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: false,
            issuer_path: String::new(),
            access_token_lifetime: Duration::from_secs(3600),
            refresh_token_idle_lifetime: Duration::from_secs(7 * 24 * 3600),
            refresh_token_max_lifetime: Duration::from_secs(30 * 24 * 3600),
            roll_refresh_tokens: false,
            roll_grace_period: Duration::ZERO,
            revoke_grant_on_reuse: false,
            echo_refresh_token: true,
            revoke_grant_on_code_reuse: true,
            auto_approve: false,
            auto_approve_user: "demo".into(),
            send_iss_in_authz_response: true,
            authorization_code_lifetime: Duration::from_secs(60),
            device_code_lifetime: Duration::from_secs(600),
            device_poll_interval: Duration::from_secs(5),
            clients: vec![
                ClientConfig::public(DEMO_PUBLIC_CLIENT),
                ClientConfig::confidential(DEMO_CONFIDENTIAL_CLIENT, DEMO_CONFIDENTIAL_SECRET),
                ClientConfig::confidential(DEMO_SERVICE_CLIENT, DEMO_SERVICE_SECRET)
                    .auth_methods([AuthMethod::ClientSecretBasic])
                    .grant_types([GrantType::ClientCredentials])
                    .redirect_uris(Vec::<String>::new()),
                ClientConfig::confidential(DEMO_SPECIAL_CLIENT, DEMO_SPECIAL_SECRET)
                    .grant_types([GrantType::ClientCredentials])
                    .redirect_uris(Vec::<String>::new()),
                ClientConfig::confidential(DEMO_RESOURCE_CLIENT, DEMO_RESOURCE_SECRET)
                    .grant_types([])
                    .redirect_uris(Vec::<String>::new()),
            ],
            users: vec![
                UserConfig::new("demo", "demo"),
                UserConfig::new("engineer", "engineer-password"),
            ],
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta] $name:ident: $ty:ty),* $(,)?) => {$(
        #[$doc]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    )*};
}

impl MockConfig {
    setter! {
        /// Sets [`MockConfig::listen`].
        listen: SocketAddr,
        /// Sets [`MockConfig::tls`].
        tls: bool,
        /// Sets [`MockConfig::access_token_lifetime`] (clamped to at least 1 s at use).
        access_token_lifetime: Duration,
        /// Sets [`MockConfig::refresh_token_idle_lifetime`].
        refresh_token_idle_lifetime: Duration,
        /// Sets [`MockConfig::refresh_token_max_lifetime`].
        refresh_token_max_lifetime: Duration,
        /// Sets [`MockConfig::roll_refresh_tokens`].
        roll_refresh_tokens: bool,
        /// Sets [`MockConfig::roll_grace_period`].
        roll_grace_period: Duration,
        /// Sets [`MockConfig::revoke_grant_on_reuse`].
        revoke_grant_on_reuse: bool,
        /// Sets [`MockConfig::echo_refresh_token`].
        echo_refresh_token: bool,
        /// Sets [`MockConfig::revoke_grant_on_code_reuse`].
        revoke_grant_on_code_reuse: bool,
        /// Sets [`MockConfig::auto_approve`].
        auto_approve: bool,
        /// Sets [`MockConfig::send_iss_in_authz_response`].
        send_iss_in_authz_response: bool,
        /// Sets [`MockConfig::authorization_code_lifetime`].
        authorization_code_lifetime: Duration,
        /// Sets [`MockConfig::device_code_lifetime`].
        device_code_lifetime: Duration,
        /// Sets [`MockConfig::device_poll_interval`].
        device_poll_interval: Duration,
        /// Replaces [`MockConfig::clients`].
        clients: Vec<ClientConfig>,
        /// Replaces [`MockConfig::users`].
        users: Vec<UserConfig>,
    }

    /// Sets [`MockConfig::issuer_path`]; a missing leading `/` is added, a trailing one removed.
    pub fn issuer_path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        let trimmed = path.trim_matches('/');
        self.issuer_path = if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// Adds a client (replacing one with the same id).
    pub fn client(mut self, client: ClientConfig) -> Self {
        self.clients.retain(|c| c.id != client.id);
        self.clients.push(client);
        self
    }

    /// Adds a user (replacing one with the same name).
    pub fn user(mut self, user: UserConfig) -> Self {
        self.users.retain(|u| u.username != user.username);
        self.users.push(user);
        self
    }

    /// The registered client with this id.
    pub fn find_client(&self, id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.id == id)
    }
}
