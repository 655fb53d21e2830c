//! `wrs-token logout`: the daemon revokes the refresh token at the server
//! (unless told not to) and forgets the profile's tokens.

use crate::cli::LogoutArgs;
use crate::client::{Client, LoggedOut};
use crate::exit::Failure;
use crate::output::write_stdout;

/// `wrs-token logout`.
pub fn run(client: &Client, args: &LogoutArgs) -> Result<(), Failure> {
    let profile = args.choice.profile();
    let out = client
        .logout(profile.clone(), !args.no_revoke)
        .map_err(|e| Failure::from_client(e, profile.as_deref()))?;
    write_stdout(render(&out, !args.no_revoke).as_bytes())
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
        };
        assert_eq!(
            render(&out(true), true),
            "Logged out of profile plm; the refresh token was revoked at the server.\n"
        );
        assert!(render(&out(false), true).contains("was not revoked at the server"));
        assert!(render(&out(false), false).contains("--no-revoke"));
    }
}
