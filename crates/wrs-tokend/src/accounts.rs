//! The requests that change who is logged in where: login (begin, wait,
//! paste), logout, reload, importing a refresh token, storing a client
//! secret, forgetting a profile.
//!
//! The handler ([`crate::handler`]) only forwards them to an [`Accounts`].
//! The daemon's OAuth runtime ([`crate::runtime::Runtime`]) is the real
//! one. [`NoAccounts`] answers every such request "not supported": it
//! serves a daemon without the runtime, that is the test source
//! (`--test-source`) and a daemon that cannot tell where its configuration
//! lives.

use std::time::Duration;

use wrs_proto::{LoginMethod, Response, Secret};

use crate::future::BoxFuture;
use crate::source::SourceError;

/// Whatever answers the requests that change logins and secrets. Each
/// method answers the request it is named after with its complete wire
/// response, errors included.
pub trait Accounts: Send + Sync + 'static {
    /// `LoginBegin`: starts an interactive login for `profile` (the default
    /// when `None`).
    fn login_begin<'a>(
        &'a self,
        profile: Option<&'a str>,
        method: LoginMethod,
    ) -> BoxFuture<'a, Response>;

    /// `LoginWait`: waits up to `timeout` for the login to finish.
    fn login_wait<'a>(&'a self, login_id: &'a str, timeout: Duration) -> BoxFuture<'a, Response>;

    /// `LoginPaste`: completes a paste-mode login with the URL the browser
    /// was sent to.
    fn login_paste<'a>(
        &'a self,
        login_id: &'a str,
        redirected_url: &'a Secret,
    ) -> BoxFuture<'a, Response>;

    /// `LoginCancel`: ends `profile`'s pending login (only the one with
    /// `login_id`, when given) at once.
    fn login_cancel<'a>(
        &'a self,
        profile: Option<&'a str>,
        login_id: Option<&'a str>,
    ) -> BoxFuture<'a, Response>;

    /// `Logout`: forgets `profile`'s tokens, revoking the refresh token
    /// first when `revoke`.
    fn logout<'a>(&'a self, profile: Option<&'a str>, revoke: bool) -> BoxFuture<'a, Response>;

    /// `Reload`: re-reads the configuration.
    fn reload(&self) -> Response;

    /// `ImportRefreshToken`: stores `refresh_token` for `profile` and
    /// validates it.
    fn import<'a>(
        &'a self,
        profile: Option<&'a str>,
        refresh_token: &'a Secret,
    ) -> BoxFuture<'a, Response>;

    /// `SetClientSecret`: stores `profile`'s client secret.
    fn set_client_secret<'a>(
        &'a self,
        profile: &'a str,
        secret: &'a Secret,
    ) -> BoxFuture<'a, Response>;

    /// `ForgetProfile`: logs `profile` out and deletes its client secret.
    fn forget<'a>(&'a self, profile: &'a str, revoke: bool) -> BoxFuture<'a, Response>;

    /// Before any request: applies the configuration file if it changed
    /// on disk. Nothing to follow without a configuration file.
    fn follow_config(&self) {}

    /// The configuration file and why it does not load, if it does not;
    /// `None` without a configuration file.
    fn config_state(&self) -> Option<(String, Option<String>)> {
        None
    }

    /// `WhoAmI`: who `profile`'s session belongs to.
    fn whoami<'a>(&'a self, _profile: Option<&'a str>) -> BoxFuture<'a, Response> {
        NoAccounts::answer("whoami")
    }
}

/// The accounts of a daemon without the OAuth runtime: every request is
/// answered "… is not supported by this token source yet".
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAccounts;

impl NoAccounts {
    /// The answer to the request that does `what`.
    fn unsupported(what: &str) -> Response {
        Response::Error(SourceError::Unsupported(what.into()).to_response())
    }

    fn answer(what: &str) -> BoxFuture<'static, Response> {
        let response = NoAccounts::unsupported(what);
        Box::pin(async move { response })
    }
}

impl Accounts for NoAccounts {
    fn login_begin<'a>(&'a self, _: Option<&'a str>, _: LoginMethod) -> BoxFuture<'a, Response> {
        NoAccounts::answer("login")
    }

    fn login_wait<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, Response> {
        NoAccounts::answer("waiting for a login")
    }

    fn login_paste<'a>(&'a self, _: &'a str, _: &'a Secret) -> BoxFuture<'a, Response> {
        NoAccounts::answer("paste-mode login")
    }

    fn login_cancel<'a>(
        &'a self,
        _: Option<&'a str>,
        _: Option<&'a str>,
    ) -> BoxFuture<'a, Response> {
        NoAccounts::answer("cancelling a login")
    }

    fn logout<'a>(&'a self, _: Option<&'a str>, _: bool) -> BoxFuture<'a, Response> {
        NoAccounts::answer("logout")
    }

    fn reload(&self) -> Response {
        NoAccounts::unsupported("reload")
    }

    fn import<'a>(&'a self, _: Option<&'a str>, _: &'a Secret) -> BoxFuture<'a, Response> {
        NoAccounts::answer("importing a refresh token")
    }

    fn set_client_secret<'a>(&'a self, _: &'a str, _: &'a Secret) -> BoxFuture<'a, Response> {
        NoAccounts::answer("storing a client secret")
    }

    fn forget<'a>(&'a self, _: &'a str, _: bool) -> BoxFuture<'a, Response> {
        NoAccounts::answer("forgetting a profile")
    }
}

#[cfg(test)]
mod tests {
    use wrs_proto::ErrorKind;

    use super::*;

    #[tokio::test]
    async fn no_accounts_answers_every_request_not_supported() {
        let secret = Secret::new("s");
        let answers = [
            NoAccounts.login_begin(None, LoginMethod::NoBrowser).await,
            NoAccounts.login_wait("id", Duration::ZERO).await,
            NoAccounts.login_paste("id", &secret).await,
            NoAccounts.logout(None, true).await,
            NoAccounts.reload(),
            NoAccounts.import(None, &secret).await,
            NoAccounts.set_client_secret("p", &secret).await,
            NoAccounts.forget("p", true).await,
            NoAccounts.whoami(None).await,
        ];
        for answer in answers {
            let Response::Error(e) = answer else {
                panic!("expected an error, got {answer:?}");
            };
            assert_eq!(e.kind, ErrorKind::Config);
            assert!(
                e.message
                    .ends_with("is not supported by this token source yet"),
                "{e:?}"
            );
            assert_eq!(
                e.hint.as_deref(),
                Some("this daemon build cannot do that yet")
            );
        }
    }
}
