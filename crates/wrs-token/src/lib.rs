//! The thin client `wrs-token`: everything between a user (or a script,
//! `curl`, `git`) and the per-user daemon `wrs-tokend`.
//!
//! It owns the command line, the connection policy (one connect, one write,
//! one read; start the daemon when none answers; bounded waits) and the
//! output formats. It owns no tokens and no OAuth: the daemon does. It is
//! synchronous and never links tokio or reqwest (`tests/dependency_tree.rs`
//! checks), so a call costs a few milliseconds.
//!
//! - [`cli`]: the clap definitions of every command and flag.
//! - [`client`]: connect, autostart, request → response; reused by every
//!   command that talks to the daemon.
//! - [`cmd`]: one module per subcommand.
//! - [`exit`]: the stable exit codes and the one-line error report.
//! - [`output`]: stdout that tolerates a closed pipe, time formatting.
//!
//! # Exit codes
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | any other failure |
//! | 2 | usage error |
//! | 3 | login required: run `wrs-token login <profile>` |
//! | 4 | daemon unreachable (not running with autostart off, failed to start, timed out, other protocol version) |
//! | 5 | authorization server or network error |

pub mod cli;
pub mod client;
pub mod cmd;
pub mod exit;
pub mod output;

use wrs_proto::endpoint::{Endpoint, EndpointError};

use crate::cli::{Cli, Command};
use crate::client::Client;
use crate::exit::{Exit, Failure};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let endpoint = endpoint(cli.global.socket.as_deref())?;
    let client = Client::new(endpoint).with_autostart(!cli.global.no_autostart);
    match &cli.command {
        Command::Print(args) => cmd::print::run(&client, args),
        Command::Header(args) => cmd::print::run_header(&client, args),
        Command::Status(args) => cmd::status::run(&client, args),
        Command::Daemon(command) => cmd::daemon::run(&client, *command),
    }
}

/// The daemon's endpoint: `--socket` / `WRS_TOKEN_SOCKET`, else the
/// platform default.
fn endpoint(socket: Option<&std::path::Path>) -> Result<Endpoint, Failure> {
    let resolved = match socket.filter(|p| !p.as_os_str().is_empty()) {
        Some(path) => Endpoint::at(path),
        None => Endpoint::resolve(),
    };
    resolved.map_err(|e| match e {
        EndpointError::BadOverride(_) => Failure::new(Exit::Usage, e.to_string()),
        EndpointError::NoDirectory => Failure::new(Exit::Failure, e.to_string())
            .with_hint("set WRS_TOKEN_SOCKET or --socket to the daemon's socket path"),
    })
}
