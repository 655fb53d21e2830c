//! Command-line arguments, parsed into plain values.
//!
//! This module knows clap and nothing of the daemon: `launch` turns the
//! values into what the daemon is built from (connection
//! limits, log options, the test source).

use std::path::PathBuf;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};

/// The wrs-token daemon: keeps access tokens ready for `wrs-token` and IDE
/// plugins on a private local socket.
///
/// Without --foreground it detaches and exits 0 once the socket accepts
/// connections, 75 if another daemon already serves this user, 1 on error.
#[derive(Debug, Clone, Parser)]
#[command(name = "wrs-tokend", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A one-shot job instead of the daemon.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Stay in the foreground and log to stderr (for systemd, launchd and
    /// debugging). Implied when systemd passes a socket.
    #[arg(long)]
    pub foreground: bool,

    /// Socket path [default: $WRS_TOKEN_SOCKET, else
    /// $XDG_RUNTIME_DIR/wrs-token/agent.sock or a per-user temp dir]. Its
    /// directory must be private to you (0700); it is created if missing.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// More log output (-v debug, -vv trace); RUST_LOG adds directives.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Less log output (warnings and errors only).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log to this file (0600, rotated at 1 MiB, two old files kept as
    /// PATH.1 and PATH.2), in the foreground too. Without it a background
    /// daemon logs to the systemd journal when one runs, else to
    /// wrs-tokend.log beside the socket; the foreground logs to stderr.
    #[arg(long, value_name = "PATH", env = wrs_sys::env::TOKEND_LOG_FILE)]
    pub log_file: Option<PathBuf>,

    /// Time a client has to send a complete request or take an answer
    /// [default: the server's `Limits::io_timeout`].
    #[arg(long, hide = true, value_name = "MS")]
    pub io_timeout_ms: Option<u64>,

    /// Connections served at once; a newer one takes an idle one's slot,
    /// and when every slot is working it is answered `busy` [default: the
    /// server's `Limits::max_connections`].
    #[arg(long, hide = true, value_name = "N")]
    pub max_connections: Option<usize>,

    /// TEST AID, never for real use: serve fake tokens
    /// `wrs-test-<profile>-<n>` without an authorization server. SPEC is
    /// `profile=NAME,...,lifetime=SECS,delay_ms=MS,fail=login_required|network|none`
    /// (all keys: `wrs_tokend::testing::TestSourceSpec`).
    #[arg(long, hide = true, value_name = "SPEC")]
    pub test_source: Option<String>,
}

/// The one-shot jobs.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Check one profile's way to its authorization server with the
    /// daemon's own HTTP client: proxy, TLS, discovery, issuer, token
    /// endpoint, client authentication, clock.
    ///
    /// Needs no daemon and leaves a running one alone (no socket, no lock,
    /// nothing written). `wrs-token doctor` runs it. Exits 0 when no check
    /// failed, 1 when one did or the profile cannot be read.
    Probe(ProbeArgs),
    /// Say which profiles have a login kept in their secret store, and
    /// whose, as a daemon started now would find it. Never prints a token.
    ///
    /// Needs no daemon and leaves a running one alone (it only reads).
    /// `wrs-token status` runs it when no daemon is running. Exits 0 when
    /// the report was made, 1 when the configuration cannot be read.
    Stored(StoredArgs),
}

/// `wrs-tokend stored`.
#[derive(Debug, Clone, Args)]
pub struct StoredArgs {
    /// Print the report as one JSON document (`wrs_proto::stored::StoredReport`).
    #[arg(long)]
    pub json: bool,
}

/// `wrs-tokend probe`.
#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// The profile to check, as named in the config file.
    pub profile: String,

    /// Print the report as one JSON document (`wrs_proto::probe::ProbeReport`).
    #[arg(long)]
    pub json: bool,

    /// Check the client secret read from stdin instead of the stored one
    /// (`wrs-token profile add` checks a secret before anything stores it).
    #[arg(long)]
    pub client_secret_stdin: bool,
}

impl Cli {
    /// The error for a flag whose value the daemon refused after parsing
    /// (`flag` as in `--test-source <SPEC>`), to be printed with exit code
    /// 2 like any other bad flag.
    pub fn invalid_value(flag: &str, value: &str, why: &str) -> clap::Error {
        clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            format!("invalid value '{value}' for '{flag}': {why}"),
        )
        .format(&mut Cli::command())
    }

    /// The default log level the flags ask for.
    pub fn log_level(&self) -> tracing::level_filters::LevelFilter {
        use tracing::level_filters::LevelFilter;
        match (self.quiet, self.verbose) {
            (true, _) => LevelFilter::WARN,
            (false, 0) => LevelFilter::INFO,
            (false, 1) => LevelFilter::DEBUG,
            (false, _) => LevelFilter::TRACE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_flags_are_hidden_from_help() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("--foreground") && help.contains("--socket"));
        assert!(help.contains("--log-file"), "{help}");
        assert!(!help.contains("--test-source"), "{help}");
        assert!(!help.contains("--io-timeout-ms"), "{help}");
    }

    #[test]
    fn hidden_flags_parse() {
        let cli = Cli::try_parse_from([
            "wrs-tokend",
            "--foreground",
            "--io-timeout-ms",
            "200",
            "--test-source",
            "profile=a,lifetime=7",
            "-vv",
        ])
        .unwrap();
        assert_eq!(cli.io_timeout_ms, Some(200));
        assert_eq!(cli.max_connections, None);
        assert_eq!(cli.test_source.as_deref(), Some("profile=a,lifetime=7"));
        assert_eq!(cli.verbose, 2);
        assert_eq!(cli.log_level(), tracing::level_filters::LevelFilter::TRACE);
    }

    #[test]
    fn probe_and_stored_take_their_arguments_and_refuse_daemon_flags() {
        let cli = Cli::try_parse_from(["wrs-tokend", "probe", "plm", "--json"]).unwrap();
        match cli.command {
            Some(Command::Probe(args)) => {
                assert_eq!(args.profile, "plm");
                assert!(args.json);
            }
            other => panic!("not probe: {other:?}"),
        }
        let cli = Cli::try_parse_from(["wrs-tokend", "stored", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Stored(StoredArgs { json: true }))
        ));
        assert!(Cli::try_parse_from(["wrs-tokend", "stored", "plm"]).is_err());
        assert!(Cli::try_parse_from(["wrs-tokend", "--foreground", "probe", "plm"]).is_err());
        assert!(Cli::try_parse_from(["wrs-tokend", "probe"]).is_err());
        assert!(
            Cli::try_parse_from(["wrs-tokend"])
                .unwrap()
                .command
                .is_none()
        );
    }

    #[test]
    fn a_value_refused_after_parsing_is_a_bad_flag() {
        let err = Cli::invalid_value("--test-source <SPEC>", "bogus", "expected key=value");
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string()
                .contains("invalid value 'bogus' for '--test-source <SPEC>': expected key=value"),
            "{err}"
        );
    }
}
