//! `wrs-token print` and `wrs-token header`: one token on stdout.

use crate::cli::{HeaderArgs, PrintArgs};
use crate::client::Client;
use crate::exit::Failure;
use crate::output::{now_unix, warn_if_short, write_stdout};
use crate::token_text::{Format, render};

/// `wrs-token print`.
pub fn run(client: &Client, args: &PrintArgs) -> Result<(), Failure> {
    let format = if args.json {
        Format::Json
    } else if args.header {
        Format::Header
    } else {
        Format::Bare
    };
    let profile = args.token.profile_or(args.name.as_deref())?;
    fetch_and_print(client, profile, &args.token, format, !args.no_newline)
}

/// `wrs-token header`.
pub fn run_header(client: &Client, args: &HeaderArgs) -> Result<(), Failure> {
    let profile = args.token.profile_or(args.name.as_deref())?;
    fetch_and_print(
        client,
        profile,
        &args.token,
        Format::Header,
        !args.no_newline,
    )
}

fn fetch_and_print(
    client: &Client,
    profile: Option<String>,
    token: &crate::cli::TokenArgs,
    format: Format,
    newline: bool,
) -> Result<(), Failure> {
    let reply = client
        .get_token(profile.clone(), token.min_ttl)
        .map_err(|e| Failure::from_client(e, profile.as_deref()))?;
    warn_if_short(&reply);
    let text = render(&reply, format, newline, now_unix());
    write_stdout(text.expose().as_bytes())
}
