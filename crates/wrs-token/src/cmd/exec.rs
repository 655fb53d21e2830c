//! `wrs-token exec [-p NAME] [--env VAR] -- CMD…`: runs CMD with the token
//! in `VAR` (default `WRS_ACCESS_TOKEN`) and its expiry, in Unix seconds,
//! in `<VAR>_EXPIRES_AT`.
//!
//! On Unix the client replaces itself with CMD (`execvp`): CMD gets the
//! terminal's signals directly and its exit status is the caller's, with no
//! wrs-token process left in between. Elsewhere CMD runs as a child and its
//! exit status is passed on (see [`crate::exit::exit_with`]).

use std::ffi::OsStr;
use std::io::{self, Write as _};
use std::process::Command;

use crate::cli::ExecArgs;
use crate::client::Client;
use crate::exit::{Exit, Failure};

/// Exit status when CMD exists but cannot be run (as POSIX shells do).
const CANNOT_EXECUTE: i32 = 126;
/// Exit status when CMD is not found (as POSIX shells do).
const NOT_FOUND: i32 = 127;

/// `wrs-token exec`.
pub fn run(client: &Client, args: &ExecArgs) -> Result<(), Failure> {
    let expires_var = expiry_var(&args.var)?;
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Failure::new(Exit::Usage, "no command given to run"));
    };
    let profile = args.token.profile();
    let reply = client
        .get_token(profile.clone(), args.token.min_ttl)
        .map_err(|e| Failure::from_client(e, profile.as_deref()))?;
    crate::output::warn_if_short(&reply);
    let mut command = Command::new(program);
    command
        .args(rest)
        .env(&args.var, reply.access_token.expose())
        .env(&expires_var, reply.expires_at.to_string());
    run_command(command, program)
}

/// `VAR_EXPIRES_AT` for a valid variable name `VAR`.
fn expiry_var(var: &str) -> Result<String, Failure> {
    if var.is_empty() || var.contains(['=', '\0']) {
        return Err(Failure::new(
            Exit::Usage,
            format!("--env {var:?} is not a usable environment variable name"),
        ));
    }
    Ok(format!("{var}_EXPIRES_AT"))
}

#[cfg(unix)]
fn run_command(mut command: Command, program: &OsStr) -> Result<(), Failure> {
    use std::os::unix::process::CommandExt as _;
    // Only returns on failure.
    let err = command.exec();
    cannot_run(program, &err)
}

#[cfg(not(unix))]
fn run_command(mut command: Command, program: &OsStr) -> Result<(), Failure> {
    match command.status() {
        Ok(status) => crate::exit::exit_with(status),
        Err(err) => cannot_run(program, &err),
    }
}

/// Reports that `program` could not be started and exits 127 (not found)
/// or 126 (found, not runnable), as shells do.
fn cannot_run(program: &OsStr, err: &io::Error) -> ! {
    let code = if err.kind() == io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        CANNOT_EXECUTE
    };
    let failure = Failure::new(
        Exit::Failure,
        format!("cannot run {}: {err}", program.to_string_lossy()),
    );
    let _ = io::stderr().write_all(failure.report().as_bytes());
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_variable_follows_the_token_variable() {
        assert_eq!(
            expiry_var("WRS_ACCESS_TOKEN").unwrap(),
            "WRS_ACCESS_TOKEN_EXPIRES_AT"
        );
        assert_eq!(expiry_var("WC").unwrap(), "WC_EXPIRES_AT");
        for bad in ["", "A=B", "A\0"] {
            assert_eq!(expiry_var(bad).unwrap_err().exit, Exit::Usage, "{bad:?}");
        }
    }
}
