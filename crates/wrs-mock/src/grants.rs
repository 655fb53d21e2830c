//! The authorization server's memory: grants and the codes and tokens issued
//! for them.
//!
//! A *grant* is one user's (or one client's) authorization of one client;
//! access tokens, refresh tokens, and Windchill CSRF nonces all belong to a
//! grant, and revoking the grant kills them all.
//!
//! Rolling with a grace period: a rolled refresh token presented again within
//! [`MockConfig::roll_grace_period`] gets a new access token and the grant's
//! *current* refresh token (no new generation is minted), so a client that lost
//! a refresh response can retry with the old token and converge. After the grace
//! period it is `invalid_grant`, and with `revoke_grant_on_reuse` the whole
//! grant is revoked (RFC 9700 4.14.2).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng as _, RngCore as _};
use serde::{Deserialize, Serialize};

use crate::clock::ms;
use crate::config::MockConfig;
use crate::oauth_error::OAuthError;

/// Tokens the mock issued, as a token response carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The opaque access token (`wrsat_…`).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// The refresh token (`wrsrt_…`), if the grant has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scope, space-separated.
    pub scope: String,
    /// An OpenID Connect ID token (unsigned, `alg: none`) when the scope
    /// has `openid` and a user granted it: `sub`, `preferred_username`,
    /// `name`, `email` (`<user>@example.com`), `aud`, `iat`, `exp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// An unsigned ID token for `user`, as issued to `client_id` at `now_ms`.
/// Unsigned because nothing verifies it: the client only displays it.
fn id_token(user: &str, client_id: &str, now_ms: u64, lifetime_ms: u64) -> String {
    let email = if user.contains('@') {
        user.to_owned()
    } else {
        format!("{user}@example.com")
    };
    let claims = serde_json::json!({
        "sub": user,
        "preferred_username": user,
        "name": user,
        "email": email,
        "aud": client_id,
        "iat": now_ms / 1000,
        "exp": now_ms.saturating_add(lifetime_ms) / 1000,
    });
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// What has become of a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshTokenState {
    /// Usable.
    Active,
    /// Replaced by a newer one (rolling); usable only within the grace period.
    Rolled,
    /// Revoked, alone or with its grant.
    Revoked,
    /// Past its idle or maximum lifetime.
    Expired,
    /// Never issued by this mock.
    Unknown,
}

#[derive(Debug)]
struct Grant {
    client_id: String,
    user: Option<String>,
    scope: Vec<String>,
    created_ms: u64,
    revoked: bool,
    latest_refresh: Option<String>,
}

#[derive(Debug)]
enum RefreshStatus {
    Active,
    Rolled { at_ms: u64 },
    Revoked,
}

#[derive(Debug)]
struct RefreshEntry {
    grant: u64,
    last_used_ms: u64,
    status: RefreshStatus,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessEntry {
    pub(crate) grant: u64,
    pub(crate) client_id: String,
    pub(crate) user: Option<String>,
    pub(crate) scope: Vec<String>,
    pub(crate) iat_ms: u64,
    pub(crate) exp_ms: u64,
    revoked: bool,
}

/// An authorization code and what it was issued for.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) client_id: String,
    /// The `redirect_uri` parameter of the authorization request, if it had one.
    pub(crate) redirect_uri: Option<String>,
    pub(crate) user: String,
    pub(crate) scope: Vec<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) created_ms: u64,
    used: bool,
    grant: Option<u64>,
}

impl AuthCode {
    pub(crate) fn new(
        client_id: String,
        redirect_uri: Option<String>,
        user: String,
        scope: Vec<String>,
        code_challenge: Option<String>,
        created_ms: u64,
    ) -> Self {
        AuthCode {
            client_id,
            redirect_uri,
            user,
            scope,
            code_challenge,
            created_ms,
            used: false,
            grant: None,
        }
    }
}

/// Everything the authorization server remembers.
#[derive(Debug, Default)]
pub(crate) struct Grants {
    grants: HashMap<u64, Grant>,
    next_grant: u64,
    refresh: HashMap<String, RefreshEntry>,
    access: HashMap<String, AccessEntry>,
    codes: HashMap<String, AuthCode>,
    nonces: HashMap<String, u64>,
    revocations: HashMap<String, u32>,
}

/// A fresh random opaque value with a readable prefix.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A user code like `BCDF-GHJK` (consonants only, RFC 8628 6.1).
pub(crate) fn random_user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut rng = rand::rng();
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
    }
    code
}

/// Splits a `scope` parameter into distinct scope tokens, keeping their order.
pub(crate) fn parse_scope(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split_ascii_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

fn access_lifetime_ms(config: &MockConfig) -> u64 {
    ms(config.access_token_lifetime).max(1000)
}

impl Grants {
    /// Starts a grant and issues its first tokens.
    pub(crate) fn issue_new(
        &mut self,
        config: &MockConfig,
        now_ms: u64,
        client_id: &str,
        user: Option<&str>,
        scope: Vec<String>,
        with_refresh: bool,
    ) -> (u64, TokenSet) {
        let id = self.next_grant;
        self.next_grant += 1;
        let refresh = with_refresh.then(|| random_token("wrsrt_"));
        if let Some(rt) = &refresh {
            self.refresh.insert(
                rt.clone(),
                RefreshEntry {
                    grant: id,
                    last_used_ms: now_ms,
                    status: RefreshStatus::Active,
                },
            );
        }
        self.grants.insert(
            id,
            Grant {
                client_id: client_id.to_string(),
                user: user.map(str::to_string),
                scope: scope.clone(),
                created_ms: now_ms,
                revoked: false,
                latest_refresh: refresh.clone(),
            },
        );
        let mut set = self.issue_access(config, now_ms, id, scope);
        set.refresh_token = refresh;
        (id, set)
    }

    fn issue_access(
        &mut self,
        config: &MockConfig,
        now_ms: u64,
        grant: u64,
        scope: Vec<String>,
    ) -> TokenSet {
        let lifetime = access_lifetime_ms(config);
        let token = random_token("wrsat_");
        let (client_id, user) = self
            .grants
            .get(&grant)
            .map(|g| (g.client_id.clone(), g.user.clone()))
            .unwrap_or_default();
        let scope_str = scope.join(" ");
        let id_token = match &user {
            Some(user) if scope.iter().any(|s| s == "openid") => {
                Some(id_token(user, &client_id, now_ms, lifetime))
            }
            _ => None,
        };
        self.access.insert(
            token.clone(),
            AccessEntry {
                grant,
                client_id,
                user,
                scope,
                iat_ms: now_ms,
                exp_ms: now_ms.saturating_add(lifetime),
                revoked: false,
            },
        );
        TokenSet {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: lifetime / 1000,
            refresh_token: None,
            scope: scope_str,
            id_token,
        }
    }

    /// The refresh-token grant.
    pub(crate) fn refresh(
        &mut self,
        config: &MockConfig,
        now_ms: u64,
        client_id: &str,
        token: &str,
        requested_scope: Option<Vec<String>>,
    ) -> Result<TokenSet, OAuthError> {
        let entry = self
            .refresh
            .get(token)
            .ok_or_else(|| OAuthError::invalid_grant("unknown refresh token"))?;
        let grant_id = entry.grant;
        let grant = self
            .grants
            .get(&grant_id)
            .ok_or_else(|| OAuthError::invalid_grant("unknown refresh token"))?;
        if grant.client_id != client_id {
            return Err(OAuthError::invalid_grant(
                "refresh token was issued to another client",
            ));
        }
        if grant.revoked || matches!(entry.status, RefreshStatus::Revoked) {
            return Err(OAuthError::invalid_grant("refresh token has been revoked"));
        }
        if now_ms
            >= grant
                .created_ms
                .saturating_add(ms(config.refresh_token_max_lifetime))
        {
            return Err(OAuthError::invalid_grant(
                "refresh token expired (maximum lifetime)",
            ));
        }
        if now_ms
            >= entry
                .last_used_ms
                .saturating_add(ms(config.refresh_token_idle_lifetime))
        {
            return Err(OAuthError::invalid_grant(
                "refresh token expired (idle lifetime)",
            ));
        }
        let scope = match requested_scope {
            Some(req) if !req.is_empty() => {
                if let Some(extra) = req.iter().find(|s| !grant.scope.contains(s)) {
                    return Err(OAuthError::invalid_scope(&format!(
                        "scope {extra} exceeds the scope originally granted"
                    )));
                }
                req
            }
            _ => grant.scope.clone(),
        };
        let in_grace = match entry.status {
            RefreshStatus::Rolled { at_ms } => {
                if now_ms < at_ms.saturating_add(ms(config.roll_grace_period)) {
                    true
                } else {
                    if config.revoke_grant_on_reuse {
                        tracing::info!(grant_id, "rolled refresh token reused: revoking the grant");
                        self.revoke_grant(grant_id);
                    }
                    return Err(OAuthError::invalid_grant(
                        "refresh token has been replaced by a newer one",
                    ));
                }
            }
            _ => false,
        };
        let current = grant.latest_refresh.clone();
        let mut set = self.issue_access(config, now_ms, grant_id, scope);
        set.refresh_token = if in_grace {
            current
        } else if config.roll_refresh_tokens {
            let new = random_token("wrsrt_");
            self.refresh.insert(
                new.clone(),
                RefreshEntry {
                    grant: grant_id,
                    last_used_ms: now_ms,
                    status: RefreshStatus::Active,
                },
            );
            if let Some(old) = self.refresh.get_mut(token) {
                old.status = RefreshStatus::Rolled { at_ms: now_ms };
                old.last_used_ms = now_ms;
            }
            if let Some(g) = self.grants.get_mut(&grant_id) {
                g.latest_refresh = Some(new.clone());
            }
            Some(new)
        } else {
            if let Some(old) = self.refresh.get_mut(token) {
                old.last_used_ms = now_ms;
            }
            config.echo_refresh_token.then(|| token.to_string())
        };
        Ok(set)
    }

    pub(crate) fn insert_code(&mut self, code: String, entry: AuthCode) {
        self.codes.insert(code, entry);
    }

    /// Marks the code used and returns what it was issued for; checks nothing
    /// but existence, expiry, single use and client.
    pub(crate) fn take_code(
        &mut self,
        config: &MockConfig,
        now_ms: u64,
        client_id: &str,
        code: &str,
    ) -> Result<AuthCode, OAuthError> {
        let entry = self
            .codes
            .get_mut(code)
            .ok_or_else(|| OAuthError::invalid_grant("unknown authorization code"))?;
        if entry.client_id != client_id {
            return Err(OAuthError::invalid_grant(
                "authorization code was issued to another client",
            ));
        }
        if entry.used {
            let grant = entry.grant;
            if let (Some(grant), true) = (grant, config.revoke_grant_on_code_reuse) {
                self.revoke_grant(grant);
            }
            return Err(OAuthError::invalid_grant(
                "authorization code has already been used",
            ));
        }
        entry.used = true;
        if now_ms
            >= entry
                .created_ms
                .saturating_add(ms(config.authorization_code_lifetime))
        {
            return Err(OAuthError::invalid_grant("authorization code has expired"));
        }
        Ok(entry.clone())
    }

    /// Remembers which grant a code produced, so its reuse can revoke it.
    pub(crate) fn link_code(&mut self, code: &str, grant: u64) {
        if let Some(entry) = self.codes.get_mut(code) {
            entry.grant = Some(grant);
        }
    }

    /// Revokes a grant: all its refresh and access tokens.
    pub(crate) fn revoke_grant(&mut self, grant_id: u64) {
        if let Some(g) = self.grants.get_mut(&grant_id) {
            g.revoked = true;
        }
        for rt in self.refresh.values_mut().filter(|r| r.grant == grant_id) {
            rt.status = RefreshStatus::Revoked;
        }
        for at in self.access.values_mut().filter(|a| a.grant == grant_id) {
            at.revoked = true;
        }
        self.nonces.retain(|_, g| *g != grant_id);
    }

    /// RFC 7009 revocation on behalf of `client_id`. Unknown tokens are fine;
    /// a token of another client is refused.
    pub(crate) fn revoke(&mut self, client_id: &str, token: &str) -> Result<(), OAuthError> {
        *self.revocations.entry(token.to_string()).or_insert(0) += 1;
        if let Some(entry) = self.refresh.get(token) {
            let grant_id = entry.grant;
            if self
                .grants
                .get(&grant_id)
                .is_some_and(|g| g.client_id != client_id)
            {
                return Err(OAuthError::unauthorized_client(
                    "token was issued to another client",
                ));
            }
            self.revoke_grant(grant_id);
        } else if let Some(entry) = self.access.get_mut(token) {
            if entry.client_id != client_id {
                return Err(OAuthError::unauthorized_client(
                    "token was issued to another client",
                ));
            }
            entry.revoked = true;
        }
        Ok(())
    }

    /// How many revocation requests named this token.
    pub(crate) fn revocation_count(&self, token: &str) -> u32 {
        self.revocations.get(token).copied().unwrap_or(0)
    }

    /// The access token, if it is known, unexpired and not revoked.
    pub(crate) fn valid_access(&self, now_ms: u64, token: &str) -> Option<&AccessEntry> {
        let entry = self.access.get(token)?;
        let grant_ok = self.grants.get(&entry.grant).is_some_and(|g| !g.revoked);
        (grant_ok && !entry.revoked && now_ms < entry.exp_ms).then_some(entry)
    }

    /// Why an access token is not valid, for the `WWW-Authenticate` description.
    pub(crate) fn access_problem(&self, now_ms: u64, token: &str) -> &'static str {
        match self.access.get(token) {
            None => "unknown access token",
            Some(e) if now_ms >= e.exp_ms => "the access token expired",
            Some(_) => "the access token has been revoked",
        }
    }

    pub(crate) fn refresh_state(
        &self,
        config: &MockConfig,
        now_ms: u64,
        token: &str,
    ) -> RefreshTokenState {
        let Some(entry) = self.refresh.get(token) else {
            return RefreshTokenState::Unknown;
        };
        let Some(grant) = self.grants.get(&entry.grant) else {
            return RefreshTokenState::Unknown;
        };
        if grant.revoked || matches!(entry.status, RefreshStatus::Revoked) {
            return RefreshTokenState::Revoked;
        }
        let max_end = grant
            .created_ms
            .saturating_add(ms(config.refresh_token_max_lifetime));
        let idle_end = entry
            .last_used_ms
            .saturating_add(ms(config.refresh_token_idle_lifetime));
        if now_ms >= max_end || now_ms >= idle_end {
            return RefreshTokenState::Expired;
        }
        match entry.status {
            RefreshStatus::Rolled { .. } => RefreshTokenState::Rolled,
            _ => RefreshTokenState::Active,
        }
    }

    /// A new CSRF nonce bound to the grant of a valid access token.
    pub(crate) fn new_nonce(&mut self, grant: u64) -> String {
        let nonce = random_token("");
        self.nonces.insert(nonce.clone(), grant);
        nonce
    }

    /// Whether the nonce was issued to this grant.
    pub(crate) fn nonce_matches(&self, nonce: &str, grant: u64) -> bool {
        self.nonces.get(nonce) == Some(&grant)
    }
}
