//! The thin client `wrs-token`: everything between a user (or a script,
//! `curl`, `git`) and the per-user daemon `wrs-tokend`.
//!
//! It owns the command line, the connection policy (one connect, one write,
//! one read; start the daemon when none answers; bounded waits), the output
//! formats, the interactive side of logging in (browser, device code,
//! paste) and editing the config file's profiles. It owns no tokens and no
//! OAuth: the daemon does; secrets the user types or pipes in are handed to
//! the daemon over the socket, never written by the client. It is
//! synchronous and never links tokio or reqwest (`tests/dependency_tree.rs`
//! checks), so a call costs a few milliseconds.
//!
//! # Layout
//!
//! [`cli`] parses, [`cmd`] has one module per command, and commands never
//! reach into each other: what several share sits below them, named for
//! what it decides. [`client`] talks to the daemon (connection, trust
//! checks, autostart); [`exit`] maps failures to exit codes and passes a
//! child's status on; [`output`] writes stdout and formats times and states;
//! [`token_text`] is the shapes a token is written in; [`profiles`] reads
//! and writes the config file; [`programs`] finds the programs commands run
//! (curl, the daemon); [`resource`] matches URLs to profiles; [`browser`]
//! and [`prompt`] face the user during a login.
//!
//! # Commands
//!
//! | command | what it does |
//! | --- | --- |
//! | `print [NAME \| -p NAME] [--min-ttl SECS] [--header \| --json] [--no-newline]` | a valid access token on stdout |
//! | `header [NAME \| -p NAME]` | `Authorization: Bearer …` |
//! | `status [NAME \| -p NAME] [--json]` | the daemon and every profile's session, or one (never starts the daemon) |
//! | `login [NAME] [--no-browser \| --device \| --paste \| --refresh-token-stdin \| --cancel] [--timeout SECS]` | log a profile in (Ctrl-C cancels it at the daemon); honours `$BROWSER` |
//! | `logout [NAME] [--no-revoke]` | revoke and forget a profile's tokens |
//! | `profile add NAME … [--no-check]` | check a profile against its server, add it to the config file; its client secret goes to the daemon |
//! | `profile list [--names \| --json]` / `show [NAME]` | the config file's profiles (no daemon needed) |
//! | `profile set NAME KEY VALUE` / `unset NAME KEY` | edit one setting in place, comments kept |
//! | `profile rename OLD NEW [--no-revoke]` | rename; the daemon forgets OLD's session and secret |
//! | `profile remove NAME [--no-revoke]` | forget a profile's secrets, then delete it from the file |
//! | `profile set-secret NAME` / `set-default NAME` | rotate a client secret; choose the default |
//! | `daemon start\|stop\|status\|reload` | the daemon's life |
//! | `demo` | the whole flow against a local mock (runs `wrs-demo demo`), isolated from your set-up |
//! | `curl [-p NAME] [--no-csrf] [CURL ARGS…]` | the real curl, token on its stdin (never in argv); retry on 401; Windchill CSRF nonce for writes |
//! | `exec [-p NAME] [--env VAR] -- CMD…` | CMD with the token and its expiry in its environment |
//! | `git-credential get\|store\|erase\|capability` | git's credential-helper protocol, Bearer via `authtype` |
//! | `completions SHELL` / `man [--dir DIR]` | shell completions and manual pages |
//! | `doctor [NAME] [--json]` | a checklist of the set-up, with a fix for each failure (exit 1 on a failure) |
//! | `service install [--dry-run] \| uninstall \| status` | the daemon as a systemd user service (launchd agent on macOS) |
//!
//! # Modules
//!
//! - [`cli`]: the clap definitions of every command and flag.
//! - [`fast_path`]: the simple forms of `print`, `header` and
//!   `git-credential get`, parsed without building clap's command tree
//!   (anything else goes to clap).
//! - [`client`]: connect, autostart, request → response; reused by every
//!   command that talks to the daemon. Before it sends a byte it checks
//!   that the socket's directory and the listening process are the user's
//!   own ([`client::trust`]).
//! - [`cmd`]: one module per subcommand.
//! - [`browser`]: `$BROWSER` and the platform's URL opener.
//! - [`prompt`]: questions at the terminal, secrets without echo or from stdin.
//! - [`exit`]: the stable exit codes and the one-line error report.
//! - [`output`]: stdout that tolerates a closed pipe, time formatting, tables.
//! - [`resource`]: which profile a URL belongs to (for `curl` and git).
//! - [`probe`]: a profile's network checks, asked of `wrs-tokend probe`
//!   (the daemon's binary has the HTTP stack; this client has none); for
//!   `doctor`, and for `profile add` to check a profile before adding it.
//! - [`private_temp`]: private temporary directories (curl's header dump
//!   and cookies, `profile add`'s config copy).
//!
//! # Exit codes
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | any other failure |
//! | 2 | usage error |
//! | 3 | login required: run `wrs-token login <profile>` |
//! | 4 | daemon unreachable (not running with autostart off, failed to start, timed out, other protocol version, or the socket's directory or listener is not the user's own: nothing is sent then) |
//! | 5 | authorization server or network error |

#![deny(missing_docs)]

pub mod browser;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod exit;
pub mod fast_path;
pub mod output;
pub mod private_temp;
pub mod probe;
pub mod profiles;
pub mod programs;
pub mod prompt;
pub mod resource;
pub mod token_text;

use wrs_sys::endpoint::{Endpoint, EndpointError};

use crate::cli::{Cli, Command};
use crate::client::Client;
use crate::exit::{Exit, Failure};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    // The demo brings its own isolated environment: resolve nothing of ours.
    if let Command::Demo(args) = &cli.command {
        return cmd::demo::run(args);
    }
    // Generated from the command line alone: no daemon, no socket.
    match &cli.command {
        Command::Completions(args) => return cmd::completions::run(args),
        Command::Man(args) => return cmd::completions::run_man(args),
        // Needs no daemon; installs what starts it.
        Command::Service(command) => return cmd::service::run(command),
        // Reports an unusable socket location as a check instead of failing.
        Command::Doctor(args) => return cmd::doctor::run(&cli.global, args),
        _ => {}
    }
    let endpoint = endpoint(cli.global.socket.as_deref())?;
    let elsewhere = cli
        .global
        .socket
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty())
        .is_some_and(|_| {
            client::autostart::is_elsewhere(&endpoint.socket, |k| std::env::var_os(k))
        });
    let client = Client::new(endpoint)
        .with_autostart(!cli.global.no_autostart)
        .with_socket_elsewhere(elsewhere);
    match &cli.command {
        Command::Print(args) => cmd::print::run(&client, args),
        Command::Header(args) => cmd::print::run_header(&client, args),
        Command::Status(args) => cmd::status::run(&client, args),
        Command::Login(args) => cmd::login::run(&client, args),
        Command::Logout(args) => cmd::logout::run(&client, args),
        Command::Whoami(args) => cmd::whoami::run(&client, args),
        Command::Profile(command) => cmd::profile::run(&client, command),
        Command::Daemon(command) => cmd::daemon::run(&client, *command),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Curl(args) => cmd::curl::run(&client, args),
        Command::Exec(args) => cmd::exec::run(&client, args),
        Command::GitCredential(args) => cmd::git_credential::run(&client, args),
        Command::Completions(args) => cmd::completions::run(args),
        Command::Man(args) => cmd::completions::run_man(args),
        Command::Doctor(args) => cmd::doctor::run(&cli.global, args),
        Command::Service(command) => cmd::service::run(command),
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
        EndpointError::NoDirectory => {
            Failure::new(Exit::Failure, e.to_string()).with_hint(format!(
                "set {} or --socket to the daemon's socket path",
                wrs_sys::env::SOCKET
            ))
        }
    })
}
