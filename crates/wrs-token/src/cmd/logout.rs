//! `wrs-token logout`: the daemon revokes the refresh token at the server
//! (unless told not to) and forgets the profile's tokens. A profile with
//! nothing to log out of is an error, "not logged in", exit 1, as
//! `gh auth logout` does: a script that logs out twice learns that the
//! first time already did it.

use crate::cli::LogoutArgs;
use crate::client::{Client, LoggedOut};
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;

/// `wrs-token logout`.
pub fn run(client: &Client, args: &LogoutArgs) -> Result<(), Failure> {
    let profile = args.choice.profile();
    let out = client
        .logout(profile.clone(), !args.no_revoke)
        .map_err(|e| Failure::from_client(e, profile.as_deref()))?;
    if !out.logged_in {
        return Err(not_logged_in(&out.profile));
    }
    write_stdout(render(&out, !args.no_revoke).as_bytes())
}

/// The failure of a logout with nothing to log out of.
pub fn not_logged_in(profile: &str) -> Failure {
    Failure::new(Exit::Failure, format!("not logged in to profile {profile}"))
        .with_hint(format!("log in with `wrs-token login {profile}`"))
}

/// What `logout` reports.
pub fn render(out: &LoggedOut, asked_to_revoke: bool) -> String {
    let revocation = match (out.revoked, asked_to_revoke) {
        (true, _) => "the refresh token was revoked at the server",
        (false, true) => {
            "the refresh token was not revoked at the server (there was none, \
             or the server has no revocation endpoint or refused); it was deleted here"
        }
        (false, false) => "the refresh token was not revoked (--no-revoke); it was deleted here",
    };
    format!("Logged out of profile {}; {revocation}.\n", out.profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_says_whether_the_server_revoked() {
        let out = |revoked| LoggedOut {
            profile: "plm".into(),
            revoked,
            logged_in: true,
        };
        assert_eq!(
            render(&out(true), true),
            "Logged out of profile plm; the refresh token was revoked at the server.\n"
        );
        assert!(render(&out(false), true).contains("was not revoked at the server"));
        assert!(render(&out(false), false).contains("--no-revoke"));
    }

    #[test]
    fn nothing_to_log_out_of_is_exit_1_with_a_hint() {
        let f = not_logged_in("plm");
        assert_eq!(f.message, "not logged in to profile plm");
        assert_eq!(f.exit, Exit::Failure);
        assert_eq!(f.hint.as_deref(), Some("log in with `wrs-token login plm`"));
    }
}
