//! The command line, as clap types. Each subcommand's arguments live here;
//! what a subcommand does lives in [`crate::cmd`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Default for `--min-ttl`: a token handed out must stay valid at least this
/// long, enough for a caller to start its HTTP request with it.
pub const DEFAULT_MIN_TTL_SECS: u64 = 10;

/// Exit codes, as shown at the end of `--help`. Keep in step with
/// [`crate::exit::Exit`].
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure
  2  usage error (bad arguments)
  3  login required: run `wrs-token login <profile>`
  4  daemon unreachable (not running with autostart off, failed to start,
     timed out, or speaks another protocol version)
  5  authorization server or network error

Environment:
  WRS_TOKEN_PROFILE        default for -p/--profile
  WRS_TOKEN_SOCKET         daemon socket path (same as --socket)
  WRS_TOKEN_NO_AUTOSTART   set to 1 to never start the daemon (same as --no-autostart)
  WRS_TOKEND               path of the daemon binary to autostart";

/// A local OAuth 2 token helper for Windchill REST Services: asks the
/// per-user `wrs-tokend` daemon for a valid access token and prints it.
#[derive(Debug, Parser)]
#[command(name = "wrs-token", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Options that apply to every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after any subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Never start the daemon; fail with exit code 4 if none is running.
    // Falsey parsing: WRS_TOKEN_NO_AUTOSTART=1/yes/true turns it on; unset,
    // empty, 0, no, false and off leave it off.
    #[arg(
        long,
        global = true,
        env = "WRS_TOKEN_NO_AUTOSTART",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub no_autostart: bool,

    /// The daemon's socket (default: the per-user runtime directory).
    #[arg(long, global = true, value_name = "PATH", env = "WRS_TOKEN_SOCKET")]
    pub socket: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a valid access token (bare, as a header line, or as JSON).
    Print(PrintArgs),
    /// Print `Authorization: Bearer <token>` (same as `print --header`).
    Header(HeaderArgs),
    /// Show the daemon and every profile's session. Never starts the daemon.
    Status(StatusArgs),
    /// Control the background daemon.
    #[command(subcommand)]
    Daemon(DaemonCommand),
}

/// Which token to get.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Profile name (default: $WRS_TOKEN_PROFILE, then the daemon's default
    /// profile).
    #[arg(short, long, value_name = "NAME", env = "WRS_TOKEN_PROFILE")]
    pub profile: Option<String>,

    /// The token must stay valid at least this many seconds; the daemon
    /// refreshes first if it would not.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MIN_TTL_SECS)]
    pub min_ttl: u64,
}

impl TokenArgs {
    /// The profile to ask for; an empty name (e.g. `WRS_TOKEN_PROFILE=`)
    /// means the daemon's default.
    pub fn profile(&self) -> Option<String> {
        self.profile.clone().filter(|p| !p.is_empty())
    }
}

/// `wrs-token print`.
#[derive(Debug, Clone, Args)]
pub struct PrintArgs {
    /// Which token.
    #[command(flatten)]
    pub token: TokenArgs,

    /// Print `Authorization: Bearer <token>`.
    #[arg(long, conflicts_with = "json")]
    pub header: bool,

    /// Print {"access_token", "token_type", "expires_in", "expires_at"}.
    #[arg(long)]
    pub json: bool,

    /// Do not end the output with a newline.
    #[arg(long)]
    pub no_newline: bool,
}

/// `wrs-token header`.
#[derive(Debug, Clone, Args)]
pub struct HeaderArgs {
    /// Which token.
    #[command(flatten)]
    pub token: TokenArgs,

    /// Do not end the output with a newline.
    #[arg(long)]
    pub no_newline: bool,
}

/// `wrs-token status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print the daemon's status report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `wrs-token daemon …`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum DaemonCommand {
    /// Start the daemon in the background (does nothing if it is running).
    Start,
    /// Ask the daemon to shut down and wait until it has.
    Stop,
    /// Say whether the daemon runs, with its pid, version and socket
    /// (exit code 4 if it does not).
    Status,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("wrs-token").chain(args.iter().copied()))
    }

    #[test]
    fn print_defaults_to_a_bare_token_with_the_default_min_ttl() {
        let cli = parse(&["print"]).unwrap();
        let Command::Print(args) = cli.command else {
            panic!("not print: {:?}", cli.command)
        };
        assert_eq!(args.token.min_ttl, DEFAULT_MIN_TTL_SECS);
        assert!(!args.header && !args.json && !args.no_newline);
    }

    #[test]
    fn print_takes_profile_min_ttl_and_format() {
        let cli = parse(&[
            "print",
            "-p",
            "plm",
            "--min-ttl",
            "60",
            "--json",
            "--no-newline",
        ])
        .unwrap();
        let Command::Print(args) = cli.command else {
            panic!("not print")
        };
        assert_eq!(args.token.profile(), Some("plm".to_owned()));
        assert_eq!(args.token.min_ttl, 60);
        assert!(args.json && args.no_newline && !args.header);
    }

    #[test]
    fn header_and_json_are_exclusive_and_a_usage_error() {
        let err = parse(&["print", "--header", "--json"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(err.use_stderr());
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn global_flags_work_before_and_after_the_subcommand() {
        let cli = parse(&["--no-autostart", "status", "--socket", "/tmp/x.sock"]).unwrap();
        assert!(cli.global.no_autostart);
        assert_eq!(cli.global.socket, Some(PathBuf::from("/tmp/x.sock")));
        let cli = parse(&["daemon", "status", "--no-autostart"]).unwrap();
        assert!(cli.global.no_autostart);
        assert!(matches!(
            cli.command,
            Command::Daemon(DaemonCommand::Status)
        ));
    }

    #[test]
    fn unknown_command_is_a_usage_error() {
        let err = parse(&["frobnicate"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    /// The environment fallbacks are checked in one test because the process
    /// environment is shared by the test threads.
    #[test]
    fn environment_supplies_profile_and_no_autostart() {
        // `std::env::set_var` is unsafe in edition 2024 (and unsafe code is
        // denied), so this pins the wiring; tests/fake_daemon.rs checks the
        // behaviour through a child process's environment.
        let cmd = Cli::command();
        let print = cmd.find_subcommand("print").unwrap();
        let profile = print
            .get_arguments()
            .find(|a| a.get_id() == "profile")
            .unwrap();
        assert_eq!(
            profile.get_env(),
            Some(std::ffi::OsStr::new("WRS_TOKEN_PROFILE"))
        );
        let no_autostart = cmd
            .get_arguments()
            .find(|a| a.get_id() == "no_autostart")
            .unwrap();
        assert_eq!(
            no_autostart.get_env(),
            Some(std::ffi::OsStr::new("WRS_TOKEN_NO_AUTOSTART"))
        );
    }

    #[test]
    fn empty_profile_means_the_daemon_default() {
        let args = TokenArgs {
            profile: Some(String::new()),
            min_ttl: 1,
        };
        assert_eq!(args.profile(), None);
    }

    #[test]
    fn help_documents_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        for line in [
            "3  login required",
            "4  daemon unreachable",
            "5  authorization server",
        ] {
            assert!(help.contains(line), "missing {line:?} in help");
        }
    }
}
