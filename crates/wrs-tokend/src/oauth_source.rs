//! The real token source: each profile's OAuth client and its refresh
//! token, kept between the secret store and the authorization server.
//!
//! - The OAuth client is built on first use, from the parts in [`client`]:
//!   discovery when the profile has an `issuer` (explicit endpoints in the
//!   profile override what was discovered), else the explicit endpoints;
//!   the extra CA from `ca_file`; the client secret from the profile's
//!   store unless `auth = "none"`. `wrs-tokend probe` builds the same parts.
//! - client-credentials profiles get a new token on every fetch; the others
//!   refresh with the stored refresh token (read once, then kept in memory).
//! - A rotated refresh token is written to the store *before* the new
//!   access token is returned to anyone; a response without one keeps the
//!   old. One lock per profile covers read, refresh and write, and logout
//!   and login take it too, so a rotation can never be lost to a race.
//! - Failures are typed for the session layer: `invalid_grant` and a
//!   missing refresh token → login required; `invalid_client` →
//!   configuration; 5xx, timeouts, network, `temporarily_unavailable`, proxy
//!   pages → transient (retried with backoff).
//!
//! Expiry counts from the moment the request was sent, on the injected
//! clock, for the lifetime [`TokenResponse::lifetime`] gives: `expires_in`,
//! else a JWT's `exp`, else a short conservative default.

pub mod client;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::Mutex as AsyncMutex;
use wrs_config::{ClientAuth, Grant, Profile};
use wrs_oauth::{
    ClientIdentity, ErrorCode, HttpConfig, OAuthClient, OAuthError, TokenResponse, TokenTypeHint,
};
use wrs_proto::Secret;
use wrs_store::SecretKind;

use crate::binding::{self, Owner};
use crate::clock::Clock;
use crate::future::BoxFuture;
use crate::identity::SessionRecord;
use crate::profiles::Profiles;
use crate::source::{
    IssuedToken, NO_REFRESH_TOKEN, ProfileInfo, STORED_FOR_ANOTHER, SourceError, TokenSource,
};
use crate::stores::Stores;

/// Why an imported refresh token was not taken, and whether a previous
/// login is still in place (it always is, when there was one).
#[derive(Debug, Clone)]
pub struct ImportRejected {
    /// What the server (or the store) said.
    pub error: SourceError,
    /// A refresh token from before is still stored and used.
    pub kept: bool,
    /// There was none, the server could not be asked (a transient
    /// failure), and the imported token is stored for when it can.
    pub stored: bool,
}

impl ImportRejected {
    fn nothing_stored(error: SourceError) -> Self {
        ImportRejected {
            error,
            kept: false,
            stored: false,
        }
    }
}

/// Tokens from the profiles' authorization servers.
pub struct OAuthSource {
    profiles: Arc<Profiles>,
    stores: Stores,
    clock: Arc<dyn Clock>,
    http: HttpConfig,
    runtimes: Mutex<HashMap<String, Arc<ProfileRuntime>>>,
}

/// What the source keeps for one profile while its settings stay the same.
struct ProfileRuntime {
    name: String,
    profile: Profile,
    client: AsyncMutex<Option<OAuthClient>>,
    refresh: AsyncMutex<RefreshSlot>,
    /// A public client's leftover client secret was looked for.
    stale_secret_checked: AtomicBool,
    /// Who the login belongs to, as stored with the refresh token (or,
    /// for client credentials, as the last token response said). Kept
    /// after the server rejects the refresh token, so `status` can say
    /// whose session ended; forgotten at logout.
    record: Mutex<Option<SessionRecord>>,
}

impl ProfileRuntime {
    fn record(&self) -> MutexGuard<'_, Option<SessionRecord>> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The profile's refresh token as last read or written; `loaded` is false
/// until the store was read; `legacy` while the stored value is not yet
/// sealed with its owner (see [`crate::binding`]).
#[derive(Default)]
struct RefreshSlot {
    token: Option<Secret>,
    loaded: bool,
    legacy: bool,
}

impl OAuthSource {
    /// A source over `profiles`, keeping secrets in `stores`, timed by `clock`.
    pub fn new(profiles: Arc<Profiles>, stores: Stores, clock: Arc<dyn Clock>) -> Self {
        OAuthSource {
            profiles,
            stores,
            clock,
            http: HttpConfig::default(),
            runtimes: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the HTTP settings (timeouts) of clients built from now on.
    pub fn with_http_config(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// The configuration behind this source.
    pub fn profiles_config(&self) -> &Arc<Profiles> {
        &self.profiles
    }

    /// The secret stores behind this source.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The clock this source stamps tokens with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// `name`'s settings.
    pub fn profile(&self, name: &str) -> Result<Profile, SourceError> {
        self.profiles.profile(name)
    }

    /// Drops what is kept for `name` (its settings changed or it is gone);
    /// the next use builds a new client and reads the store again.
    pub fn forget_runtime(&self, name: &str) {
        self.runtimes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    fn runtime(&self, name: &str) -> Result<Arc<ProfileRuntime>, SourceError> {
        let profile = self.profiles.profile(name)?;
        let mut map = self.runtimes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rt) = map.get(name)
            && rt.profile == profile
        {
            return Ok(rt.clone());
        }
        let rt = Arc::new(ProfileRuntime {
            name: name.to_owned(),
            profile,
            client: AsyncMutex::new(None),
            refresh: AsyncMutex::new(RefreshSlot::default()),
            stale_secret_checked: AtomicBool::new(false),
            record: Mutex::new(None),
        });
        map.insert(name.to_owned(), rt.clone());
        Ok(rt)
    }

    /// `name`'s OAuth client, built on first use.
    pub async fn client(&self, name: &str) -> Result<OAuthClient, SourceError> {
        let rt = self.runtime(name)?;
        self.client_for(&rt).await
    }

    async fn client_for(&self, rt: &ProfileRuntime) -> Result<OAuthClient, SourceError> {
        let mut slot = rt.client.lock().await;
        if let Some(client) = &*slot {
            return Ok(client.clone());
        }
        let client = self.build_client(rt).await?;
        *slot = Some(client.clone());
        Ok(client)
    }

    async fn build_client(&self, rt: &ProfileRuntime) -> Result<OAuthClient, SourceError> {
        let (name, p) = (&rt.name, &rt.profile);
        let http = client::http_client(name, p, &self.http)?;
        let identity = match p.auth {
            ClientAuth::None => {
                self.forget_stale_secret(rt).await;
                ClientIdentity::public(&p.client_id)
            }
            ClientAuth::Basic | ClientAuth::Post => {
                let stored = client::client_secret(&self.stores, name, p).await?;
                if stored.legacy
                    && let Err(e) = self
                        .write_bound(rt, SecretKind::ClientSecret, &stored.secret)
                        .await
                {
                    tracing::warn!(profile = %name, "cannot seal the stored client secret with its owner: {e}");
                }
                client::confidential(p, stored.secret)
            }
        };
        let endpoints = client::discover_endpoints(&http, name, p).await?;
        let client =
            OAuthClient::new(http, endpoints, identity).map_err(|e| oauth_error(name, e))?;
        tracing::debug!(profile = %name, "OAuth client ready");
        Ok(client)
    }

    /// A public client has no secret: one left from when the profile was
    /// confidential no longer applies and must not stay in the store.
    /// Looked for once per profile runtime (a new one after every change).
    async fn forget_stale_secret(&self, rt: &ProfileRuntime) {
        if rt.profile.auth != ClientAuth::None
            || rt.stale_secret_checked.swap(true, Ordering::SeqCst)
        {
            return;
        }
        if let Err(e) = self
            .stores
            .delete(rt.profile.store, &rt.name, SecretKind::ClientSecret)
            .await
        {
            // Tried again with the next runtime; nothing uses it meanwhile.
            rt.stale_secret_checked.store(false, Ordering::SeqCst);
            tracing::warn!(profile = %rt.name, "cannot delete the client secret a public client no longer needs: {e}");
        }
    }

    /// Stores `secret` as `rt`'s secret of `kind`, sealed with the
    /// profile's owner; durable when this returns.
    async fn write_bound(
        &self,
        rt: &ProfileRuntime,
        kind: SecretKind,
        secret: &Secret,
    ) -> Result<(), SourceError> {
        // The login record goes with the refresh token, in the same write.
        let record = match kind {
            SecretKind::RefreshToken => rt.record().clone(),
            _ => None,
        };
        let sealed = binding::seal_with(&Owner::of(&rt.profile), secret, record.as_ref());
        self.stores
            .set(rt.profile.store, &rt.name, kind, &sealed)
            .await
    }

    /// The refresh token, read from the store on first use. One stored for
    /// another server or client is never used: login required, saying why.
    async fn load_refresh_token(
        &self,
        rt: &ProfileRuntime,
        slot: &mut RefreshSlot,
    ) -> Result<Option<Secret>, SourceError> {
        if !slot.loaded {
            let owner = Owner::of(&rt.profile);
            let stored = self
                .stores
                .get(rt.profile.store, &rt.name, SecretKind::RefreshToken)
                .await?;
            if let Some(record) = stored.as_ref().and_then(binding::session_of) {
                rt.record().get_or_insert(record);
            }
            slot.token = match stored.map(binding::open) {
                None => None,
                Some(opened) => {
                    slot.legacy = opened.is_legacy();
                    match opened.for_owner(&owner) {
                        Ok(token) => Some(token),
                        Err(stored) => {
                            return Err(SourceError::LoginRequired {
                                profile: rt.name.clone(),
                                reason: Some(format!(
                                    "{STORED_FOR_ANOTHER} {}, but profile {} now uses {}",
                                    stored.describe(),
                                    rt.name,
                                    owner.describe()
                                )),
                            });
                        }
                    }
                }
            };
            slot.loaded = true;
        }
        Ok(slot.token.clone())
    }

    async fn fetch_token(&self, name: &str) -> Result<IssuedToken, SourceError> {
        let rt = self.runtime(name)?;
        self.forget_stale_secret(&rt).await;
        if rt.profile.grant == Grant::ClientCredentials {
            let client = self.client_for(&rt).await?;
            let sent = self.clock.now();
            let response = client
                .client_credentials(&rt.profile.scopes, None)
                .await
                .map_err(|e| oauth_error(name, e))?;
            rt.record()
                .get_or_insert_with(|| SessionRecord::of_login(&response, &rt.profile.scopes, sent))
                .update(&response, sent);
            tracing::info!(profile = %name, "access token obtained (client credentials)");
            return Ok(issued(&response, sent));
        }
        let mut slot = rt.refresh.lock().await;
        let Some(mut refresh_token) = self.load_refresh_token(&rt, &mut slot).await? else {
            return Err(SourceError::LoginRequired {
                profile: name.to_owned(),
                reason: Some(NO_REFRESH_TOKEN.into()),
            });
        };
        let client = self.client_for(&rt).await?;
        let (response, sent) = loop {
            let sent = self.clock.now();
            // An empty scope list asks for the originally granted scope.
            match client.refresh(&refresh_token, &[], None).await {
                Ok(response) => break (response, sent),
                Err(e) if e.is_login_required() => {
                    // Final only if the store holds nothing newer: a login
                    // elsewhere, or a token this process failed to keep,
                    // may be there. A token rejected once is not retried.
                    *slot = RefreshSlot::default();
                    match self.load_refresh_token(&rt, &mut slot).await {
                        Ok(Some(stored)) if stored != refresh_token => {
                            tracing::info!(profile = %name, "refresh token rejected; trying the one in the store");
                            refresh_token = stored;
                        }
                        _ => {
                            *slot = RefreshSlot::default();
                            tracing::info!(profile = %name, "refresh token rejected: login required");
                            return Err(oauth_error(name, e));
                        }
                    }
                }
                Err(e) => return Err(oauth_error(name, e)),
            }
        };
        let record_changed = rt
            .record()
            .get_or_insert_with(SessionRecord::default)
            .update(&response, sent);
        if let Some(new) = &response.refresh_token
            && *new != refresh_token
        {
            // Kept in memory first: if the store fails, the daemon still
            // holds the only valid refresh token and tries to save it again
            // on the next refresh.
            slot.token = Some(new.clone());
            self.write_bound(&rt, SecretKind::RefreshToken, new)
                .await
                .map_err(SourceError::after_request)?;
            slot.legacy = false;
            tracing::info!(profile = %name, "access token refreshed; rotated refresh token stored");
        } else {
            if slot.legacy || record_changed {
                // Stored before secrets were bound to their server: seal it
                // now that the server accepted it. Or the server told who
                // the user is or what it granted: keep that with it.
                match self
                    .write_bound(&rt, SecretKind::RefreshToken, &refresh_token)
                    .await
                {
                    Ok(()) => slot.legacy = false,
                    Err(e) => {
                        tracing::warn!(profile = %name, "cannot seal the stored refresh token with its owner: {e}")
                    }
                }
            }
            tracing::info!(profile = %name, "access token refreshed");
        }
        Ok(issued(&response, sent))
    }

    /// Keeps the tokens of a finished login (or device/code exchange):
    /// stores the refresh token, if any, before anything else sees the
    /// access token. `sent` is when the token request left.
    pub async fn accept_login(
        &self,
        name: &str,
        response: &TokenResponse,
        sent: SystemTime,
    ) -> Result<IssuedToken, SourceError> {
        let rt = self.runtime(name)?;
        *rt.record() = Some(SessionRecord::of_login(response, &rt.profile.scopes, sent));
        if let Some(refresh_token) = &response.refresh_token {
            let mut slot = rt.refresh.lock().await;
            self.write_bound(&rt, SecretKind::RefreshToken, refresh_token)
                .await?;
            slot.token = Some(refresh_token.clone());
            slot.loaded = true;
            slot.legacy = false;
        } else if rt.profile.grant != Grant::ClientCredentials {
            tracing::warn!(
                profile = %name,
                "the server issued no refresh token: the login lasts only as long as this access token \
                 (ask for the `offline_access` scope?)"
            );
        }
        tracing::info!(profile = %name, "logged in");
        Ok(issued(response, sent))
    }

    /// Imports an existing refresh token for `name` (from another tool):
    /// refreshes with it first and stores it (or the rotated one the server
    /// sent back) only when the server accepted it, so a rejected import
    /// never replaces a working login. Returns the access token and when
    /// its request was sent.
    pub async fn import_refresh_token(
        &self,
        name: &str,
        token: &Secret,
    ) -> Result<(IssuedToken, SystemTime), ImportRejected> {
        let rt = self.runtime(name).map_err(ImportRejected::nothing_stored)?;
        // Held across the check, as a renewal holds it: no rotation of the
        // current token can interleave with the swap.
        let mut slot = rt.refresh.lock().await;
        let attempt = async {
            let client = self.client_for(&rt).await?;
            let sent = self.clock.now();
            let response = client
                .refresh(token, &[], None)
                .await
                .map_err(|e| oauth_error(name, e))?;
            Ok::<_, SourceError>((response, sent))
        };
        let (response, sent) = match attempt.await {
            Ok(done) => done,
            Err(error) => {
                // Says whether there was something to keep; a store that
                // cannot be read counts as nothing.
                let previous = self.load_refresh_token(&rt, &mut slot).await;
                let kept = matches!(previous, Ok(Some(_)));
                // Not refused, only not checked (TLS, network, 5xx), and
                // nothing to lose: kept for when the server answers, so
                // fixing the connection needs no second import.
                let unchecked = !kept && error.is_transient();
                if unchecked {
                    *rt.record() = Some(SessionRecord {
                        logged_in_at: Some(crate::clock::unix_secs(self.clock.now())),
                        ..SessionRecord::default()
                    });
                }
                let stored = unchecked
                    && self
                        .write_bound(&rt, SecretKind::RefreshToken, token)
                        .await
                        .is_ok();
                if stored {
                    slot.token = Some(token.clone());
                    slot.loaded = true;
                    slot.legacy = false;
                }
                tracing::info!(profile = %name, kept, stored, "imported refresh token not accepted: {error}");
                return Err(ImportRejected {
                    error,
                    kept,
                    stored,
                });
            }
        };
        // A new login: its record (user, scopes, times) starts here and is
        // stored with the refresh token, in the same write.
        let mut record = SessionRecord {
            logged_in_at: Some(crate::clock::unix_secs(sent)),
            ..SessionRecord::default()
        };
        record.update(&response, sent);
        *rt.record() = Some(record);
        let keep = response.refresh_token.as_ref().unwrap_or(token);
        self.write_bound(&rt, SecretKind::RefreshToken, keep)
            .await
            .map_err(|e| ImportRejected::nothing_stored(e.after_request()))?;
        slot.token = Some(keep.clone());
        slot.loaded = true;
        slot.legacy = false;
        tracing::info!(profile = %name, "refresh token imported");
        Ok((issued(&response, sent), sent))
    }

    /// Logs `name` out: revokes its refresh token at the server once (when
    /// `revoke` and an endpoint is known), then deletes it from the store
    /// whatever the revocation's outcome. Returns whether it was revoked,
    /// and whether there was a refresh token (or one unreadable) at all.
    pub async fn logout(&self, name: &str, revoke: bool) -> Result<(bool, bool), SourceError> {
        let rt = self.runtime(name)?;
        let mut slot = rt.refresh.lock().await;
        let (token, existed) = match self.load_refresh_token(&rt, &mut slot).await {
            Ok(token) => {
                let existed = token.is_some();
                (token, existed)
            }
            Err(e) => {
                tracing::warn!(profile = %name, "cannot read the refresh token to revoke it: {e}");
                (None, true)
            }
        };
        *rt.record() = None;
        let mut revoked = false;
        if let Some(token) = &token
            && revoke
        {
            match self.client_for(&rt).await {
                Ok(client) if client.can_revoke() => {
                    match client.revoke(token, TokenTypeHint::RefreshToken).await {
                        Ok(()) => {
                            revoked = true;
                            tracing::info!(profile = %name, "refresh token revoked");
                        }
                        Err(e) => {
                            tracing::warn!(profile = %name, "revocation failed (the token is deleted locally anyway): {e}");
                        }
                    }
                }
                Ok(_) => {
                    tracing::info!(profile = %name, "no revocation endpoint: deleting the refresh token locally only");
                }
                Err(e) => {
                    tracing::warn!(profile = %name, "cannot revoke (the token is deleted locally anyway): {e}");
                }
            }
        }
        // Forgotten in memory first: even if the store fails, this daemon
        // stops using the token.
        slot.token = None;
        slot.loaded = true;
        let deleted = self
            .stores
            .delete(rt.profile.store, name, SecretKind::RefreshToken)
            .await;
        if deleted.is_err() {
            slot.loaded = false;
        }
        deleted?;
        tracing::info!(profile = %name, revoked, "logged out");
        Ok((revoked, existed))
    }

    /// Who `name`'s login belongs to, as known in memory (no store read).
    pub fn known_record(&self, name: &str) -> Option<SessionRecord> {
        let map = self.runtimes.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(name).and_then(|rt| rt.record().clone())
    }

    /// Who `name`'s login belongs to, reading the store if this daemon has
    /// not yet (after a restart), and whether a refresh token is stored.
    pub async fn identity(&self, name: &str) -> Result<(Option<SessionRecord>, bool), SourceError> {
        let rt = self.runtime(name)?;
        let has_refresh_token = if rt.profile.grant == Grant::ClientCredentials {
            false
        } else {
            let mut slot = rt.refresh.lock().await;
            match self.load_refresh_token(&rt, &mut slot).await {
                Ok(token) => token.is_some(),
                // Stored for another owner: there is a login, not usable.
                Err(SourceError::LoginRequired { .. }) => false,
                Err(e) => return Err(e),
            }
        };
        let record = rt.record().clone();
        Ok((record, has_refresh_token))
    }

    /// Stores `name`'s client secret; the client is rebuilt on next use.
    /// Returns the store's description.
    pub async fn set_client_secret(
        &self,
        name: &str,
        secret: &Secret,
    ) -> Result<String, SourceError> {
        let rt = self.runtime(name)?;
        self.write_bound(&rt, SecretKind::ClientSecret, secret)
            .await?;
        *rt.client.lock().await = None;
        tracing::info!(profile = %name, "client secret stored");
        self.stores.describe(rt.profile.store).await
    }

    /// Deletes `name`'s client secret.
    pub async fn delete_client_secret(&self, name: &str) -> Result<(), SourceError> {
        let rt = self.runtime(name)?;
        self.stores
            .delete(rt.profile.store, name, SecretKind::ClientSecret)
            .await?;
        *rt.client.lock().await = None;
        Ok(())
    }
}

impl TokenSource for OAuthSource {
    fn profiles(&self) -> Vec<ProfileInfo> {
        self.profiles.infos()
    }

    fn fetch(&self, profile: &str) -> BoxFuture<'_, Result<IssuedToken, SourceError>> {
        let profile = profile.to_owned();
        Box::pin(async move { self.fetch_token(&profile).await })
    }

    fn check(&self) -> Result<(), SourceError> {
        self.profiles.config().map(|_| ())
    }

    fn session_record(&self, profile: &str) -> Option<SessionRecord> {
        self.known_record(profile)
    }
}

/// The token of `response`, expiring its lifetime after `sent`.
pub fn issued(response: &TokenResponse, sent: SystemTime) -> IssuedToken {
    IssuedToken {
        access_token: response.access_token.clone(),
        token_type: response.token_type.clone(),
        expires_at: sent.checked_add(response.lifetime(sent)).unwrap_or(sent),
    }
}

/// Sorts an OAuth failure into what the session layer acts on.
pub fn oauth_error(profile: &str, e: OAuthError) -> SourceError {
    if e.is_login_required() {
        let reason = match &e {
            OAuthError::Server { description, .. } => description.clone(),
            _ => None,
        };
        return SourceError::LoginRequired {
            profile: profile.to_owned(),
            reason,
        };
    }
    if matches!(
        e.code(),
        Some(ErrorCode::InvalidClient | ErrorCode::UnauthorizedClient)
    ) {
        return SourceError::ServerConfig(format!(
            "profile {profile}: the authorization server rejected the client ({e}); \
             check client_id, auth and the stored client secret"
        ));
    }
    if let OAuthError::Tls { problem, message } = e {
        return SourceError::Tls {
            profile: profile.to_owned(),
            problem,
            message,
        };
    }
    if e.is_transient() {
        return SourceError::Transient {
            message: e.to_string(),
            retry_after: e.retry_after(),
        };
    }
    match e {
        OAuthError::Server {
            code, description, ..
        }
        | OAuthError::Authorization { code, description } => SourceError::AuthorizationServer {
            code: code.as_str().to_owned(),
            description,
        },
        OAuthError::Config(_) => SourceError::Config(format!("profile {profile}: {e}")),
        OAuthError::Discovery(_) | OAuthError::IssuerMismatch { .. } => {
            SourceError::ServerConfig(format!("profile {profile}: {e}"))
        }
        OAuthError::StateMismatch
        | OAuthError::InvalidRedirect(_)
        | OAuthError::DeviceCodeExpired { .. }
        | OAuthError::LoginTimeout(_)
        | OAuthError::Io(_) => SourceError::LoginFailed(e.to_string()),
        other => SourceError::Network(other.to_string()),
    }
}
