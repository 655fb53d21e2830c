//! A profile's client secret: where it comes from and how it reaches the
//! daemon.
//!
//! It travels stdin (`--client-secret-stdin`) or a prompt without echo →
//! a [`Secret`] in this process (zeroed on drop) →
//! [`wrs_proto::Request::SetClientSecret`] over the user's private socket →
//! the daemon, which puts it in the profile's store. It is never in argv,
//! the environment or the config file.

use wrs_config::Profile;
use wrs_proto::Secret;

use super::existing;
use crate::cli::{AuthArg, ProfileAddArgs, ProfileSetSecretArgs};
use crate::client::Client;
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;
use crate::profiles::{config_path, load};
use crate::prompt;

/// The prompt for a client secret.
const SECRET_PROMPT: &str = "Client secret: ";

/// The client secret for `profile`, when its auth method needs one: from
/// stdin with the flag, else asked for at a terminal, else a usage error.
pub(super) fn client_secret(
    args: &ProfileAddArgs,
    profile: &Profile,
    interactive: bool,
) -> Result<Option<Secret>, Failure> {
    let needed = profile.needs_client_secret();
    if args.client_secret_stdin {
        if !needed {
            return Err(Failure::new(
                Exit::Usage,
                "--client-secret-stdin: a public client (--auth none) has no client secret",
            ));
        }
        return prompt::secret_from_stdin(SECRET_PROMPT).map(Some);
    }
    if !needed {
        return Ok(None);
    }
    if interactive {
        return prompt::ask_secret(SECRET_PROMPT).map(Some);
    }
    Err(Failure::new(
        Exit::Usage,
        format!(
            "missing --client-secret-stdin: client authentication `{}` needs a client secret",
            auth_name(args)
        ),
    )
    .with_hint(
        "pipe the secret in with --client-secret-stdin, or leave out --auth for a public client",
    ))
}

fn auth_name(args: &ProfileAddArgs) -> &'static str {
    match args.auth() {
        AuthArg::Basic => "basic",
        AuthArg::Post => "post",
        AuthArg::None => "none",
    }
}

/// Tells the daemon about the new profile, then hands it the secret.
/// Returns where the daemon put it.
pub(super) fn deliver(client: &Client, name: &str, secret: Secret) -> Result<String, Failure> {
    // Reload first: a daemon that was already running does not know the
    // profile yet and would refuse a secret for it. This starts the daemon
    // when allowed, as the secret has nowhere else to go.
    client
        .reload()
        .map_err(|e| Failure::from_client(e, Some(name)))?;
    client
        .set_client_secret(name, secret)
        .map_err(|e| Failure::from_client(e, Some(name)))
}

/// `wrs-token profile set-secret`.
pub fn run(client: &Client, args: &ProfileSetSecretArgs) -> Result<(), Failure> {
    let name = args.name.as_str();
    let path = config_path()?;
    let config = load(&path)?;
    let profile = existing(&config, name, &path)?;
    if !profile.needs_client_secret() {
        return Err(Failure::new(
            Exit::Usage,
            format!("profile {name} is a public client (auth none): it has no client secret"),
        ));
    }
    let secret = if args.client_secret_stdin {
        prompt::secret_from_stdin(SECRET_PROMPT)?
    } else if prompt::stdin_is_terminal() {
        prompt::ask_secret(SECRET_PROMPT)?
    } else {
        return Err(Failure::new(Exit::Usage, "missing --client-secret-stdin")
            .with_hint("pipe the secret in with --client-secret-stdin"));
    };
    let store = deliver(client, name, secret)?;
    write_stdout(format!("Client secret for profile {name} stored in {store}.\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, ProfileCommand};
    use clap::Parser;

    fn add_args(extra: &[&str]) -> ProfileAddArgs {
        let argv = ["wrs-token", "profile", "add", "p", "--issuer", "https://a"]
            .iter()
            .chain(["--client-id", "c"].iter())
            .chain(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Profile(ProfileCommand::Add(args)) => *args,
            other => panic!("{other:?}"),
        }
    }

    fn profile(args: &ProfileAddArgs) -> Profile {
        super::super::add::build(args, None)
    }

    #[test]
    fn a_confidential_client_without_a_secret_is_a_usage_error_naming_the_flag() {
        for auth in ["basic", "post"] {
            let args = add_args(&["--auth", auth]);
            let err = client_secret(&args, &profile(&args), false).unwrap_err();
            assert_eq!(err.exit, Exit::Usage);
            assert_eq!(
                err.message,
                format!(
                    "missing --client-secret-stdin: client authentication `{auth}` needs a client secret"
                )
            );
        }
    }

    #[test]
    fn a_public_client_needs_no_secret_and_refuses_one() {
        let args = add_args(&["--auth", "none"]);
        assert!(
            client_secret(&args, &profile(&args), false)
                .unwrap()
                .is_none()
        );
        let args = add_args(&["--auth", "none", "--client-secret-stdin"]);
        let err = client_secret(&args, &profile(&args), false).unwrap_err();
        assert_eq!(err.exit, Exit::Usage);
        assert!(err.message.contains("public client"), "{err:?}");
    }
}
