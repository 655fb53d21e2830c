//! One profile: an authorization server, a client registration, and how to
//! get and keep its tokens.

use serde::{Deserialize, Serialize};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic (PingFederate's default).
    #[default]
    Basic,
    /// `client_secret_post`: id and secret in the form body.
    Post,
    /// A public client: no secret, PKCE only.
    None,
}

/// How the profile obtains its first tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grant {
    /// Authorization code with PKCE in a browser.
    #[default]
    Code,
    /// Device authorization grant (RFC 8628).
    Device,
    /// Client credentials: no user, no refresh token.
    ClientCredentials,
}

/// Where the profile's refresh token and client secret are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    #[default]
    Keyring,
    /// An opt-in file (0600, atomic writes) for hosts without a keyring.
    File,
    /// Process memory only: lost when the daemon stops (CI, tests).
    Memory,
}

/// How the authorization code comes back to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectMode {
    /// Loopback on 127.0.0.1 with an ephemeral port (RFC 8252).
    LoopbackAnyPort,
    /// A registered loopback URI with a fixed port.
    LoopbackFixed(String),
    /// A registered URI that is not loopback: the user pastes where they
    /// landed.
    Paste(String),
}

/// A profile as written in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Issuer URL; endpoints come from its discovery document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Explicit authorization endpoint (instead of discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// Explicit token endpoint (instead of discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// Explicit revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Explicit device authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// The registered client id.
    pub client_id: String,
    /// Client authentication method.
    #[serde(default)]
    pub auth: ClientAuth,
    /// Scopes to request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// How tokens are first obtained.
    #[serde(default)]
    pub grant: Grant,
    /// A registered redirect URI; absent means loopback on any port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Extra CA bundle (PEM) trusted besides the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The Windchill OData root this profile's tokens are for; also used to
    /// pick the profile for a URL (git, curl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// CA bundle (PEM) `wrs-token curl` has curl trust for the Windchill
    /// host; [`Profile::resource_ca`] falls back to `ca_file`, as one
    /// internal CA usually signs both servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_ca_file: Option<String>,
    /// Where secrets are kept.
    #[serde(default)]
    pub store: StoreKind,
    /// Minimum remaining validity, in seconds, of a token handed out when
    /// the caller asks for none. Met from the cache and the renewal
    /// schedule: more than a token has left at its renewal point (20–25 %
    /// of its lifetime) cannot be met, and callers are told so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ttl: Option<u64>,
    /// Seconds without a token request after which the daemon stops
    /// renewing ahead of expiry ([`DEFAULT_KEEP_WARM_SECS`] when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_warm: Option<u64>,
    /// Seconds between refreshes of an idle session, so that a grant with
    /// an idle timeout at the server survives; `0` turns it off
    /// ([`DEFAULT_KEEPALIVE_SECS`] when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<u64>,
}

/// How long a profile stays "in use" after its last token request: while it
/// is, tokens are renewed ahead of expiry; after, renewal stops.
pub const DEFAULT_KEEP_WARM_SECS: u64 = 600;

/// How often an idle session is refreshed: four times a day at most.
pub const DEFAULT_KEEPALIVE_SECS: u64 = 6 * 3600;

/// The shortest keepalive interval accepted: a keepalive is a slow
/// heartbeat for the grant, not a renewal schedule.
pub const MIN_KEEPALIVE_SECS: u64 = 60;

/// A profile that cannot work as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The name has characters that do not fit a keyring entry or a file name.
    #[error("invalid profile name {0:?}: use letters, digits, '.', '_' or '-' (at most 64)")]
    BadName(String),
    /// Neither discovery nor the endpoints the grant needs.
    #[error("profile {profile:?} needs `issuer` or {needed}")]
    NoEndpoints {
        /// The profile.
        profile: String,
        /// What is missing.
        needed: &'static str,
    },
    /// A field's value is unusable.
    #[error("profile {profile:?}: {key} {problem}")]
    BadValue {
        /// The profile.
        profile: String,
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// Checks a profile name.
pub fn validate_profile_name(name: &str) -> Result<(), ProfileError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ProfileError::BadName(name.to_owned()))
    }
}

impl Profile {
    /// Checks the profile for what a parser cannot: endpoints the grant
    /// needs, URL schemes, a consistent client auth.
    pub fn validate(&self, name: &str) -> Result<(), ProfileError> {
        validate_profile_name(name)?;
        let bad = |key: &'static str, problem: String| ProfileError::BadValue {
            profile: name.to_owned(),
            key,
            problem,
        };
        if self.client_id.trim().is_empty() {
            return Err(bad("client_id", "is empty".into()));
        }
        if self.issuer.is_none() {
            let (ok, needed) = match self.grant {
                Grant::ClientCredentials => (self.token_endpoint.is_some(), "`token_endpoint`"),
                Grant::Device => (
                    self.token_endpoint.is_some() && self.device_authorization_endpoint.is_some(),
                    "`device_authorization_endpoint` and `token_endpoint`",
                ),
                Grant::Code => (
                    self.token_endpoint.is_some() && self.authorization_endpoint.is_some(),
                    "`authorization_endpoint` and `token_endpoint`",
                ),
            };
            if !ok {
                return Err(ProfileError::NoEndpoints {
                    profile: name.to_owned(),
                    needed,
                });
            }
        }
        for (key, value) in [
            ("issuer", &self.issuer),
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("revocation_endpoint", &self.revocation_endpoint),
            (
                "device_authorization_endpoint",
                &self.device_authorization_endpoint,
            ),
            ("resource", &self.resource),
        ] {
            if let Some(v) = value
                && !(v.starts_with("https://") || v.starts_with("http://"))
            {
                return Err(bad(key, format!("must be an http(s) URL, got {v:?}")));
            }
        }
        if let Some(uri) = &self.redirect_uri
            && !uri.contains("://")
        {
            return Err(bad(
                "redirect_uri",
                format!("must be an absolute URI, got {uri:?}"),
            ));
        }
        if let Some(secs) = self.keepalive
            && secs != 0
            && secs < MIN_KEEPALIVE_SECS
        {
            return Err(bad(
                "keepalive",
                format!("must be 0 (off) or at least {MIN_KEEPALIVE_SECS} seconds, got {secs}"),
            ));
        }
        if self.grant == Grant::ClientCredentials && self.auth == ClientAuth::None {
            return Err(bad(
                "auth",
                "cannot be `none` with the client-credentials grant".into(),
            ));
        }
        Ok(())
    }

    /// How the authorization code will come back.
    pub fn redirect_mode(&self) -> RedirectMode {
        match &self.redirect_uri {
            None => RedirectMode::LoopbackAnyPort,
            Some(uri) if is_loopback_uri(uri) => RedirectMode::LoopbackFixed(uri.clone()),
            Some(uri) => RedirectMode::Paste(uri.clone()),
        }
    }

    /// The issuer, or the token endpoint, for display.
    pub fn server(&self) -> &str {
        self.issuer
            .as_deref()
            .or(self.token_endpoint.as_deref())
            .unwrap_or("")
    }

    /// The CA bundle that signs the Windchill host: `resource_ca_file`,
    /// else `ca_file`.
    pub fn resource_ca(&self) -> Option<&str> {
        self.resource_ca_file.as_deref().or(self.ca_file.as_deref())
    }

    /// Whether a client secret is needed.
    pub fn needs_client_secret(&self) -> bool {
        self.auth != ClientAuth::None
    }

    /// Seconds without a token request after which renewal stops.
    pub fn keep_warm_secs(&self) -> u64 {
        self.keep_warm.unwrap_or(DEFAULT_KEEP_WARM_SECS)
    }

    /// Seconds between keepalive refreshes of an idle session; `None` when
    /// off, and always for client credentials (there is no grant to keep).
    pub fn keepalive_secs(&self) -> Option<u64> {
        match self.keepalive.unwrap_or(DEFAULT_KEEPALIVE_SECS) {
            0 => None,
            _ if self.grant == Grant::ClientCredentials => None,
            secs => Some(secs),
        }
    }
}

/// Whether `uri` is a plain `http` URI on this machine, where the daemon
/// can listen for the redirect itself. The host is judged by the one
/// loopback rule, [`wrs_sys::host::is_loopback`] (any 127.0.0.0/8 or `::1`
/// literal, `localhost` in any case), the rule the daemon's listener binds
/// by, so a URI taken for loopback here can always be listened on.
fn is_loopback_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.trim().split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Whatever precedes the last '@' is user info, not the host.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.find(']') {
        Some(end) if host_port.starts_with('[') => &host_port[..=end],
        _ => host_port.split(':').next().unwrap_or(""),
    };
    wrs_sys::host::is_loopback(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_profile() -> Profile {
        Profile {
            issuer: Some("https://sso.example.com".into()),
            client_id: "wrs".into(),
            ..Default::default()
        }
    }

    #[test]
    fn names_are_restricted_to_safe_characters() {
        for good in ["plm", "plm-prod", "a.b_c", "X9"] {
            assert!(validate_profile_name(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "../x", ".hidden", "a/b", &"x".repeat(65)] {
            assert!(validate_profile_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn explicit_endpoints_must_cover_the_grant() {
        let mut p = Profile {
            client_id: "c".into(),
            token_endpoint: Some("https://as/token".into()),
            ..Default::default()
        };
        assert!(matches!(
            p.validate("x"),
            Err(ProfileError::NoEndpoints { .. })
        ));
        p.grant = Grant::ClientCredentials;
        assert!(p.validate("x").is_ok());
        p.grant = Grant::Device;
        assert!(p.validate("x").is_err());
        p.device_authorization_endpoint = Some("https://as/device".into());
        assert!(p.validate("x").is_ok());
    }

    #[test]
    fn bad_urls_and_empty_client_id_are_named() {
        let mut p = code_profile();
        p.ca_file = None;
        p.resource = Some("plm.example.com".into());
        let err = p.validate("x").unwrap_err().to_string();
        assert!(err.contains("resource"), "{err}");
        let p = Profile {
            client_id: " ".into(),
            ..code_profile()
        };
        assert!(
            p.validate("x")
                .unwrap_err()
                .to_string()
                .contains("client_id")
        );
    }

    #[test]
    fn redirect_mode_tells_loopback_from_paste() {
        let mut p = code_profile();
        assert_eq!(p.redirect_mode(), RedirectMode::LoopbackAnyPort);
        p.redirect_uri = Some("http://127.0.0.1:8765/cb".into());
        assert!(matches!(p.redirect_mode(), RedirectMode::LoopbackFixed(_)));
        p.redirect_uri = Some("http://localhost/cb".into());
        assert!(matches!(p.redirect_mode(), RedirectMode::LoopbackFixed(_)));
        p.redirect_uri = Some("https://oauth.pstmn.io/v1/callback".into());
        assert!(matches!(p.redirect_mode(), RedirectMode::Paste(_)));
        p.redirect_uri = Some("http://127.0.0.1.evil.com/cb".into());
        assert!(matches!(p.redirect_mode(), RedirectMode::Paste(_)));
        p.redirect_uri = Some("http://127.0.0.1@evil.com/cb".into());
        assert!(matches!(p.redirect_mode(), RedirectMode::Paste(_)));
        p.redirect_uri = Some("https://127.0.0.1/cb".into());
        assert!(matches!(p.redirect_mode(), RedirectMode::Paste(_)));
    }

    /// Regression: the redirect check knew only `127.0.0.1`, `localhost`
    /// and `::1` spelled exactly so, while the daemon's listener binds any
    /// loopback host; a registered `http://127.0.0.2:8765/cb` or
    /// `http://LOCALHOST/cb` was sent to paste mode. Now both ask
    /// `wrs_sys::host::is_loopback`.
    #[test]
    fn every_loopback_host_the_listener_binds_is_loopback_here() {
        let mut p = code_profile();
        for uri in [
            "http://127.0.0.2:8765/cb",
            "http://127.1.2.3/cb",
            "http://LOCALHOST/cb",
            "HTTP://127.0.0.1/cb",
            "http://[::1]:8765/cb",
            "http://user@127.0.0.1:8765/cb",
            "http://localhost?x=1",
        ] {
            p.redirect_uri = Some(uri.into());
            assert_eq!(
                p.redirect_mode(),
                RedirectMode::LoopbackFixed(uri.into()),
                "{uri}"
            );
        }
    }

    #[test]
    fn idle_policy_defaults_and_limits() {
        let mut p = code_profile();
        assert_eq!(p.keep_warm_secs(), DEFAULT_KEEP_WARM_SECS);
        assert_eq!(p.keepalive_secs(), Some(DEFAULT_KEEPALIVE_SECS));
        p.keep_warm = Some(0);
        p.keepalive = Some(0);
        assert_eq!(p.keep_warm_secs(), 0);
        assert_eq!(p.keepalive_secs(), None);
        assert!(p.validate("x").is_ok());
        p.keepalive = Some(30);
        let err = p.validate("x").unwrap_err().to_string();
        assert!(err.contains("keepalive"), "{err}");
        p.keepalive = Some(3600);
        assert_eq!(p.keepalive_secs(), Some(3600));
        // Client credentials have no grant to keep alive.
        p.grant = Grant::ClientCredentials;
        assert_eq!(p.keepalive_secs(), None);
    }

    #[test]
    fn public_client_cannot_use_client_credentials() {
        let p = Profile {
            grant: Grant::ClientCredentials,
            auth: ClientAuth::None,
            ..code_profile()
        };
        assert!(p.validate("x").is_err());
    }
}
