//! The OAuth runtime: configuration, stores, the [`OAuthSource`], the
//! sessions over it and the pending logins, with the requests that change
//! them (login, logout, import, client secret, forget, reload).
//!
//! The handler owns no OAuth logic: it forwards these requests to an
//! [`Accounts`], which the runtime is. A daemon started with the hidden
//! `--test-source` has no runtime: its
//! [`NoAccounts`](crate::accounts::NoAccounts) answers "not supported".

use std::sync::Arc;
use std::time::Duration;

use wrs_config::Grant;
use wrs_proto::{ErrorKind, ErrorResponse, LoginMethod, Response, Secret};

use crate::accounts::Accounts;
use crate::clock::Clock;
use crate::future::BoxFuture;
use crate::login::Logins;
use crate::oauth_source::{ImportRejected, OAuthSource};
use crate::profiles::Profiles;
use crate::session::Sessions;
use crate::source::{RETRIES_BY_ITSELF, SourceError, TokenSource};
use crate::stores::Stores;

/// Everything behind the real (OAuth) token source.
pub struct Runtime {
    source: Arc<OAuthSource>,
    sessions: Arc<Sessions>,
    logins: Logins,
}

impl Runtime {
    /// Loads `paths.config_file` (a broken file is reported per request,
    /// not fatal), keeps file-store secrets under `paths.data_dir/secrets`
    /// and keyring entries in `paths.keyring_namespace`.
    pub fn load(paths: &wrs_config::Paths, clock: Arc<dyn Clock>) -> Arc<Runtime> {
        let profiles = Arc::new(Profiles::load(&paths.config_file));
        let stores = Stores::for_paths(paths);
        let source = OAuthSource::new(profiles, stores, clock);
        Runtime::new(source)
    }

    /// A runtime over `source`, with sessions on the source's clock.
    pub fn new(source: OAuthSource) -> Arc<Runtime> {
        let source = Arc::new(source);
        let as_dyn: Arc<dyn TokenSource> = source.clone();
        let sessions = Arc::new(Sessions::new(as_dyn, source.clock().clone()));
        Runtime::with_sessions(source, sessions)
    }

    /// A runtime over `source` and `sessions` (which must be built over the
    /// same source); for tests that tune the sessions.
    pub fn with_sessions(source: Arc<OAuthSource>, sessions: Arc<Sessions>) -> Arc<Runtime> {
        let logins = Logins::new(source.clone(), sessions.clone());
        Runtime::with_logins(source, sessions, logins)
    }

    /// A runtime with tuned login handling (see
    /// [`Logins::with_abandon_after`]); `logins` must be over the same
    /// source and sessions.
    pub fn with_logins(
        source: Arc<OAuthSource>,
        sessions: Arc<Sessions>,
        logins: Logins,
    ) -> Arc<Runtime> {
        Arc::new(Runtime {
            source,
            sessions,
            logins,
        })
    }

    /// The sessions (for the handler's `GetToken`, `Status`, …).
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }

    /// The token source.
    pub fn source(&self) -> &Arc<OAuthSource> {
        &self.source
    }

    /// `LoginBegin`.
    pub async fn login_begin(&self, profile: Option<&str>, method: LoginMethod) -> Response {
        self.logins.begin(profile, method).await
    }

    /// `LoginWait`.
    pub async fn login_wait(&self, login_id: &str, timeout: Duration) -> Response {
        self.logins.wait(login_id, timeout).await
    }

    /// `LoginPaste`.
    pub async fn login_paste(&self, login_id: &str, redirected_url: &Secret) -> Response {
        self.logins.paste(login_id, redirected_url).await
    }

    /// `LoginCancel`.
    pub async fn login_cancel(&self, profile: Option<&str>, login_id: Option<&str>) -> Response {
        let name = match self.sessions.resolve(profile) {
            Ok(name) => name,
            Err(e) => return Response::Error(e),
        };
        let cancelled = self.logins.cancel(&name, login_id).await;
        Response::LoginCancelled {
            profile: name,
            cancelled,
        }
    }

    /// `Logout`: revoke once (if asked and possible), delete, clear.
    pub async fn logout(&self, profile: Option<&str>, revoke: bool) -> Response {
        let name = match self.sessions.resolve(profile) {
            Ok(name) => name,
            Err(e) => return Response::Error(e),
        };
        self.logins.cancel_profile(&name);
        // A client-credentials session has no refresh token: it is logged
        // in while it holds an access token.
        let had_token = self
            .sessions
            .status_of(&name)
            .is_some_and(|p| p.expires_at.is_some());
        let outcome = self.source.logout(&name, revoke).await;
        // Cleared whatever the store said: this daemon stops using the token.
        self.sessions.clear(&name);
        match outcome {
            Ok((_, false)) if !had_token => Response::NotLoggedIn { profile: name },
            Ok((revoked, _)) => Response::LoggedOut {
                profile: name,
                revoked,
            },
            Err(e) => Response::Error(e.to_response()),
        }
    }

    /// `WhoAmI`: the user, scopes and times of `profile`'s login, read
    /// from the store after a restart; never a token.
    pub async fn whoami(&self, profile: Option<&str>) -> Response {
        let name = match self.sessions.resolve(profile) {
            Ok(name) => name,
            Err(e) => return Response::Error(e),
        };
        let (record, has_refresh_token) = match self.source.identity(&name).await {
            Ok(found) => found,
            Err(e) => return Response::Error(e.to_response()),
        };
        let Some(status) = self.sessions.status_of(&name) else {
            return Response::Error(ErrorResponse::new(
                ErrorKind::UnknownProfile,
                format!("no profile named {name:?}"),
            ));
        };
        let server = self
            .source
            .profile(&name)
            .map(|p| p.server().to_owned())
            .unwrap_or_default();
        let logged_in = has_refresh_token || status.expires_at.is_some();
        let ended = match status.ended {
            Some(end) => Some(end),
            None if !logged_in => Some(wrs_proto::SessionEnd::NeverLoggedIn),
            None => None,
        };
        let record = record.unwrap_or_default();
        Response::Identity(wrs_proto::IdentityReport {
            profile: name,
            server,
            state: status.state,
            subject: record.subject,
            username: record.username,
            name: record.name,
            email: record.email,
            issuer: record.issuer,
            scope: record.scope,
            scope_granted: record.scope_granted,
            logged_in_at: record.logged_in_at,
            refresh_token_issued_at: record.refresh_token_issued_at,
            access_token_lifetime_secs: status.token_lifetime_secs,
            access_token_expires_at: status.expires_at,
            ended,
        })
    }

    /// `ImportRefreshToken`: refresh with it, and only if the server takes
    /// it store it and seed the session; a rejected token changes nothing.
    pub async fn import(&self, profile: Option<&str>, refresh_token: &Secret) -> Response {
        let name = match self.sessions.resolve(profile) {
            Ok(name) => name,
            Err(e) => return Response::Error(e),
        };
        match self.source.profile(&name) {
            Ok(p) if p.grant == Grant::ClientCredentials => {
                return Response::Error(
                    ErrorResponse::new(
                        ErrorKind::BadRequest,
                        format!("profile {name} uses client credentials: it has no refresh token"),
                    )
                    .with_hint(format!("get a token with `wrs-token login {name}`")),
                );
            }
            Ok(_) => {}
            Err(e) => return Response::Error(e.to_response()),
        }
        if refresh_token.is_empty() {
            return Response::Error(ErrorResponse::new(
                ErrorKind::BadRequest,
                "the refresh token is empty",
            ));
        }
        match self.source.import_refresh_token(&name, refresh_token).await {
            Ok((token, sent)) => {
                // Only now that the server took it: a pending login for
                // the profile would replace what was just imported.
                self.logins.cancel_profile(&name);
                let expires_at = crate::clock::unix_secs(token.expires_at);
                self.sessions.seed(&name, token, sent);
                Response::LoginFinished {
                    profile: name,
                    expires_at,
                }
            }
            Err(rejected) => {
                if rejected.stored {
                    // The unchecked token is the profile's login now: the
                    // next request tries it, not a stale "login required".
                    self.logins.cancel_profile(&name);
                    self.sessions.clear(&name);
                }
                Response::Error(import_rejected(&name, &rejected))
            }
        }
    }

    /// `SetClientSecret`.
    pub async fn set_client_secret(&self, profile: &str, secret: &Secret) -> Response {
        let name = match self.sessions.resolve(Some(profile)) {
            Ok(name) => name,
            Err(e) => return Response::Error(e),
        };
        if secret.is_empty() {
            return Response::Error(ErrorResponse::new(
                ErrorKind::BadRequest,
                "the client secret is empty",
            ));
        }
        match self.source.set_client_secret(&name, secret).await {
            Ok(store) => Response::SecretStored {
                profile: name,
                store,
            },
            Err(e) => Response::Error(e.to_response()),
        }
    }

    /// `ForgetProfile`: logout (revoking unless told not to) and delete the
    /// client secret. Send it before the profile leaves the configuration:
    /// the configuration says which store holds the secrets.
    pub async fn forget(&self, profile: &str, revoke: bool) -> Response {
        let (profile, revoked) = match self.logout(Some(profile), revoke).await {
            Response::LoggedOut { profile, revoked } => (profile, revoked),
            // Nothing to log out of; the client secret may still be there.
            Response::NotLoggedIn { profile } => (profile, false),
            other => return other,
        };
        if let Err(e) = self.source.delete_client_secret(&profile).await {
            return Response::Error(e.to_response());
        }
        tracing::info!(profile = %profile, "profile secrets forgotten");
        Response::LoggedOut { profile, revoked }
    }

    /// Applies the configuration file if it changed on disk since it was
    /// last read, exactly as [`Runtime::reload`] does; a broken file keeps
    /// the previous configuration and shows in `status` and `doctor`.
    /// Called before each request, so an edit applies without a ritual.
    pub fn follow_config(&self) {
        if self.source.profiles_config().changed_on_disk() {
            tracing::info!(
                file = %self.source.profiles_config().path().display(),
                "configuration file changed on disk: reloading"
            );
            // A broken file was logged and is kept for `status`.
            let _ = self.reload();
        }
    }

    /// `Reload` (and SIGHUP): re-read the configuration; sessions of
    /// unchanged profiles stay, those of changed or removed ones go. A
    /// broken file keeps the previous configuration.
    pub fn reload(&self) -> Response {
        match self.source.profiles_config().reload() {
            Ok(changes) => {
                for name in &changes.changed {
                    self.logins.cancel_profile(name);
                    self.source.forget_runtime(name);
                    self.sessions.remove(name);
                }
                Response::Reloaded {
                    profiles: u32::try_from(changes.count).unwrap_or(u32::MAX),
                }
            }
            Err(e) => Response::Error(e.to_response()),
        }
    }

    /// Why the configuration is unusable, if it is.
    pub fn config_error(&self) -> Option<SourceError> {
        self.source.check().err()
    }
}

/// The error for an import the server (or the store) did not take: says
/// that the previous session is untouched, or that there was none.
fn import_rejected(profile: &str, rejected: &ImportRejected) -> ErrorResponse {
    let outcome = if rejected.kept {
        "your previous session is kept"
    } else if rejected.stored {
        "it is stored and used as soon as the server answers"
    } else {
        "nothing was stored"
    };
    let retry = format!(
        "check the token and run the import again: `wrs-token login {profile} --refresh-token-stdin`"
    );
    match &rejected.error {
        // The server refused this token (invalid_grant and the like).
        SourceError::LoginRequired { reason, .. } => ErrorResponse::new(
            ErrorKind::AuthorizationServer,
            format!(
                "the imported refresh token was rejected: invalid_grant{}; {outcome}",
                reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        )
        .with_oauth_error("invalid_grant")
        .with_hint(format!(
            "it must be a current refresh token issued to this profile's client at its server; {retry}"
        )),
        SourceError::AuthorizationServer { code, .. } => ErrorResponse::new(
            ErrorKind::AuthorizationServer,
            format!("the imported refresh token was rejected: {}; {outcome}", rejected.error),
        )
        .with_oauth_error(code.clone())
        .with_hint(retry),
        other => {
            let mut err = other.to_response();
            err.message = format!(
                "the imported refresh token could not be checked: {}; {outcome}",
                err.message
            );
            let generic = err.hint.is_none() || err.hint.as_deref() == Some(RETRIES_BY_ITSELF);
            if generic && rejected.stored {
                err.hint = Some(format!(
                    "the next request for a token tries it again (`wrs-token print -p {profile}`)"
                ));
            } else if generic {
                err.hint = Some(retry);
            }
            err
        }
    }
}

/// The runtime answers the requests that change logins and secrets; its
/// inherent methods hold the logic, this only boxes their futures.
impl Accounts for Runtime {
    fn login_begin<'a>(
        &'a self,
        profile: Option<&'a str>,
        method: LoginMethod,
    ) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::login_begin(self, profile, method))
    }

    fn login_wait<'a>(&'a self, login_id: &'a str, timeout: Duration) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::login_wait(self, login_id, timeout))
    }

    fn login_paste<'a>(
        &'a self,
        login_id: &'a str,
        redirected_url: &'a Secret,
    ) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::login_paste(self, login_id, redirected_url))
    }

    fn login_cancel<'a>(
        &'a self,
        profile: Option<&'a str>,
        login_id: Option<&'a str>,
    ) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::login_cancel(self, profile, login_id))
    }

    fn logout<'a>(&'a self, profile: Option<&'a str>, revoke: bool) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::logout(self, profile, revoke))
    }

    fn reload(&self) -> Response {
        Runtime::reload(self)
    }

    fn follow_config(&self) {
        Runtime::follow_config(self);
    }

    fn config_state(&self) -> Option<(String, Option<String>)> {
        let profiles = self.source.profiles_config();
        Some((profiles.path().display().to_string(), profiles.file_error()))
    }

    fn whoami<'a>(&'a self, profile: Option<&'a str>) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::whoami(self, profile))
    }

    fn import<'a>(
        &'a self,
        profile: Option<&'a str>,
        refresh_token: &'a Secret,
    ) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::import(self, profile, refresh_token))
    }

    fn set_client_secret<'a>(
        &'a self,
        profile: &'a str,
        secret: &'a Secret,
    ) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::set_client_secret(self, profile, secret))
    }

    fn forget<'a>(&'a self, profile: &'a str, revoke: bool) -> BoxFuture<'a, Response> {
        Box::pin(Runtime::forget(self, profile, revoke))
    }
}
