//! The requests that change what the daemon holds for a profile: login,
//! logout, import, the client secret, forgetting a profile, and reload.
//! Each method sends one request and returns the one response that answers
//! it, typed; anything else is [`ClientError::Unexpected`].

use std::time::Duration;

use wrs_proto::{IdentityReport, LoginMethod, LoginPrompt, Request, Response, Secret};

use super::{
    Client, ClientError, Connection, LOGIN_WAIT_MARGIN, NETWORK_TIMEOUT, STORE_TIMEOUT,
    try_connect, unexpected,
};

/// A login that completed: the daemon holds tokens for `profile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    /// The profile now logged in.
    pub profile: String,
    /// When its access token expires (Unix seconds).
    pub expires_at: u64,
}

/// The daemon's answer to [`Request::LoginBegin`].
#[derive(Debug, Clone, PartialEq)]
pub enum LoginStart {
    /// The user has something to do; wait for (or paste) the result.
    Started(LoginPrompt),
    /// Nothing for the user to do (client credentials): already done.
    Finished(LoggedIn),
}

/// The daemon's answer to [`Request::LoginWait`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginProgress {
    /// Not yet: ask again.
    Pending,
    /// Done.
    Finished(LoggedIn),
}

/// The daemon's answer to [`Request::Logout`] and [`Request::ForgetProfile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOut {
    /// The profile.
    pub profile: String,
    /// Whether the refresh token was revoked at the server.
    pub revoked: bool,
    /// Whether there was a login to end (false: nothing was stored).
    pub logged_in: bool,
}

impl Client {
    /// Starts an interactive login (or, for client credentials, performs it).
    pub fn login_begin(
        &self,
        profile: Option<String>,
        method: LoginMethod,
    ) -> Result<LoginStart, ClientError> {
        match self.request(Request::LoginBegin { profile, method }, NETWORK_TIMEOUT)? {
            Response::LoginStarted(prompt) => Ok(LoginStart::Started(prompt)),
            Response::LoginFinished {
                profile,
                expires_at,
            } => Ok(LoginStart::Finished(LoggedIn {
                profile,
                expires_at,
            })),
            other => Err(unexpected("login-begin", &other)),
        }
    }

    /// Waits up to `wait` (whole seconds, at least one) for a login.
    pub fn login_wait(&self, login_id: &str, wait: Duration) -> Result<LoginProgress, ClientError> {
        let timeout_secs = wait.as_secs().max(1);
        let request = Request::LoginWait {
            login_id: login_id.to_owned(),
            timeout_secs,
        };
        let bound = Duration::from_secs(timeout_secs) + LOGIN_WAIT_MARGIN;
        match self.request(request, bound)? {
            Response::LoginPending {} => Ok(LoginProgress::Pending),
            Response::LoginFinished {
                profile,
                expires_at,
            } => Ok(LoginProgress::Finished(LoggedIn {
                profile,
                expires_at,
            })),
            other => Err(unexpected("login-wait", &other)),
        }
    }

    /// Finishes a paste-mode login with the URL the browser landed on.
    pub fn login_paste(
        &self,
        login_id: &str,
        redirected_url: Secret,
    ) -> Result<LoggedIn, ClientError> {
        let request = Request::LoginPaste {
            login_id: login_id.to_owned(),
            redirected_url,
        };
        logged_in("login-paste", self.request(request, NETWORK_TIMEOUT)?)
    }

    /// Cancels `profile`'s pending login (only the one with `login_id`,
    /// when given); returns the profile and whether one was pending.
    pub fn login_cancel(
        &self,
        profile: Option<String>,
        login_id: Option<String>,
    ) -> Result<(String, bool), ClientError> {
        match self.request(Request::LoginCancel { profile, login_id }, STORE_TIMEOUT)? {
            Response::LoginCancelled { profile, cancelled } => Ok((profile, cancelled)),
            other => Err(unexpected("login-cancel", &other)),
        }
    }

    /// Hands the daemon an existing refresh token for `profile`.
    pub fn import_refresh_token(
        &self,
        profile: Option<String>,
        refresh_token: Secret,
    ) -> Result<LoggedIn, ClientError> {
        let request = Request::ImportRefreshToken {
            profile,
            refresh_token,
        };
        logged_in(
            "import-refresh-token",
            self.request(request, NETWORK_TIMEOUT)?,
        )
    }

    /// Logs `profile` out, revoking its refresh token first if `revoke`.
    pub fn logout(&self, profile: Option<String>, revoke: bool) -> Result<LoggedOut, ClientError> {
        logged_out(
            "logout",
            self.request(Request::Logout { profile, revoke }, NETWORK_TIMEOUT)?,
        )
    }

    /// Makes the daemon forget everything it keeps for `profile`.
    pub fn forget_profile(&self, profile: &str, revoke: bool) -> Result<LoggedOut, ClientError> {
        let request = Request::ForgetProfile {
            profile: profile.to_owned(),
            revoke,
        };
        logged_out("forget-profile", self.request(request, NETWORK_TIMEOUT)?)
    }

    /// Who `profile`'s session belongs to (never a token). The daemon may
    /// read its store to answer, after a restart.
    pub fn whoami(&self, profile: Option<String>) -> Result<IdentityReport, ClientError> {
        match self.request(Request::WhoAmI { profile }, STORE_TIMEOUT)? {
            Response::Identity(report) => Ok(report),
            other => Err(unexpected("whoami", &other)),
        }
    }

    /// Stores `profile`'s client secret; returns where it went, in words.
    pub fn set_client_secret(
        &self,
        profile: &str,
        client_secret: Secret,
    ) -> Result<String, ClientError> {
        let request = Request::SetClientSecret {
            profile: profile.to_owned(),
            client_secret,
        };
        match self.request(request, STORE_TIMEOUT)? {
            Response::SecretStored { store, .. } => Ok(store),
            other => Err(unexpected("set-client-secret", &other)),
        }
    }

    /// Makes the daemon re-read the config file, starting it if allowed.
    /// Returns how many profiles it now has.
    pub fn reload(&self) -> Result<u32, ClientError> {
        reload_on(self.connect()?)
    }

    /// As [`Client::reload`], but only if a daemon runs: `Ok(None)` if none
    /// does (it reads the file when it starts anyway).
    pub fn reload_if_running(&self) -> Result<Option<u32>, ClientError> {
        try_connect(&self.endpoint)?.map(reload_on).transpose()
    }
}

fn reload_on(conn: Connection) -> Result<u32, ClientError> {
    match conn.call(Request::Reload {}, STORE_TIMEOUT)? {
        Response::Reloaded { profiles } => Ok(profiles),
        other => Err(unexpected("reload", &other)),
    }
}

fn logged_in(request: &'static str, response: Response) -> Result<LoggedIn, ClientError> {
    match response {
        Response::LoginFinished {
            profile,
            expires_at,
        } => Ok(LoggedIn {
            profile,
            expires_at,
        }),
        other => Err(unexpected(request, &other)),
    }
}

fn logged_out(request: &'static str, response: Response) -> Result<LoggedOut, ClientError> {
    match response {
        Response::LoggedOut { profile, revoked } => Ok(LoggedOut {
            profile,
            revoked,
            logged_in: true,
        }),
        Response::NotLoggedIn { profile } => Ok(LoggedOut {
            profile,
            revoked: false,
            logged_in: false,
        }),
        other => Err(unexpected(request, &other)),
    }
}
