//! `wrs-token profile remove`: the daemon revokes and forgets the profile's
//! tokens and client secret first, then the profile leaves the file. In
//! that order, so a failure never leaves secrets behind for a profile that
//! no longer exists.

use wrs_proto::ErrorKind;

use super::{existing, reload_running};
use crate::cli::ProfileRemoveArgs;
use crate::client::{Client, ClientError};
use crate::exit::Failure;
use crate::output::write_stdout;
use crate::profiles::{config_path, load, save};

/// `wrs-token profile remove`.
pub fn run(client: &Client, args: &ProfileRemoveArgs) -> Result<(), Failure> {
    let name = args.name.as_str();
    let revoke = !args.no_revoke;
    let path = config_path()?;
    let mut config = load(&path)?;
    existing(&config, name, &path)?;
    let revoked = match client.forget_profile(name, revoke) {
        Ok(out) => Some(out.revoked),
        // The daemon never loaded this profile, so it holds nothing for it.
        Err(ClientError::Daemon(e)) if e.kind == ErrorKind::UnknownProfile => None,
        Err(e) => {
            let failure = Failure::from_client(e, Some(name));
            let hint = match (revoke, failure.exit) {
                (true, crate::exit::Exit::AuthorizationServer) => format!(
                    "the profile is still configured; if the server cannot revoke, \
                     run `wrs-token profile remove {name} --no-revoke`"
                ),
                _ => failure
                    .hint
                    .clone()
                    .unwrap_or_else(|| "the profile is still configured; retry".to_owned()),
            };
            return Err(failure.with_hint(hint));
        }
    };
    config.profiles.remove(name);
    if config.default.as_deref() == Some(name) {
        config.default = None;
    }
    save(&config, &path)?;
    reload_running(client);
    write_stdout(render(name, &path, revoked, revoke).as_bytes())
}

/// What `profile remove` reports.
pub fn render(name: &str, path: &std::path::Path, revoked: Option<bool>, asked: bool) -> String {
    let tokens = match (revoked, asked) {
        (None, _) => "the daemon held no tokens or secret for it".to_owned(),
        (Some(true), _) => {
            "its tokens and client secret were deleted; the refresh token was revoked at the server"
                .to_owned()
        }
        (Some(false), true) => "its tokens and client secret were deleted; no refresh token was \
             revoked at the server (none was held, or the server has no revocation endpoint)"
            .to_owned(),
        (Some(false), false) => {
            "its tokens and client secret were deleted without revoking (--no-revoke)".to_owned()
        }
    };
    format!(
        "Removed profile {name} from {}; {tokens}.\n",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn report_says_what_happened_to_the_tokens() {
        let p = Path::new("/c.toml");
        assert!(render("plm", p, Some(true), true).contains("revoked at the server"));
        assert!(render("plm", p, Some(false), false).contains("--no-revoke"));
        assert!(render("plm", p, None, true).contains("held no tokens"));
        assert!(
            render("plm", p, Some(true), true).starts_with("Removed profile plm from /c.toml; ")
        );
    }
}
