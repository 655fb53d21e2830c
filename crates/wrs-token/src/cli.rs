//! The command line, as clap types. Each subcommand's arguments live here
//! (the profile commands' in [`profile`]); what a subcommand does lives in
//! [`crate::cmd`]. Every subcommand's `--help` ends with examples.

pub mod integrations;
pub mod ops;
pub mod profile;
pub mod profile_name;

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

pub use integrations::{CompletionsArgs, CurlArgs, ExecArgs, GitCredentialArgs, ManArgs};
pub use ops::{DoctorArgs, ServiceCommand, ServiceInstallArgs};
pub use profile::{
    AuthArg, GrantArg, ProfileAddArgs, ProfileCommand, ProfileListArgs, ProfileRemoveArgs,
    ProfileRenameArgs, ProfileSetArgs, ProfileSetDefaultArgs, ProfileSetSecretArgs,
    ProfileShowArgs, ProfileUnsetArgs, StoreArg,
};
pub use profile_name::ProfileNameParser;

/// Default for `login --timeout`: how long to wait for the user.
pub const DEFAULT_LOGIN_TIMEOUT_SECS: u64 = 300;

/// Exit codes, as shown at the end of `--help`. Keep in step with
/// [`crate::exit::Exit`].
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure
  2  usage error (bad arguments)
  3  login required: run `wrs-token login <profile>`
  4  daemon unreachable (not running with autostart off, failed to start,
     timed out, speaks another protocol version, or the socket's directory
     or listener belongs to another user: then nothing is sent)
  5  authorization server or network error

Environment:
  WRS_TOKEN_PROFILE        default for -p/--profile
  WRS_TOKEN_SOCKET         daemon socket path (same as --socket)
  WRS_TOKEN_NO_AUTOSTART   set to 1 to never start the daemon (same as --no-autostart)
  WRS_TOKEN_CONFIG         config file path
  WRS_TOKEN_MIN_TTL        minimum validity in seconds when neither --min-ttl
                           nor the profile's min_ttl sets one
  WRS_TOKEND               path of the daemon binary to autostart
  BROWSER                  browser command(s) for `login`, separated by ':'

Get started:
  wrs-token demo             # the whole flow against a local mock, first
  wrs-token profile add plm --issuer https://sso.example.com --client-id wrs-cli
  wrs-token login plm
  curl -H @<(wrs-token header) \\
      https://plm.example.com/Windchill/oauth/servlet/odata/";

const PRINT_HELP: &str = "\
Examples:
  TOKEN=$(wrs-token print plm)       # or: wrs-token print -p plm
  wrs-token print --json --min-ttl 60";

const HEADER_HELP: &str = "\
Examples:
  curl -H @<(wrs-token header) \\
      https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts
  curl -H @<(wrs-token header plm) \\
      https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts";

const STATUS_HELP: &str = "\
Examples:
  wrs-token status
  wrs-token status plm               # one profile
  wrs-token status --json

Works without the daemon: then it shows the profiles from the config file,
each one's stored login (read by `wrs-tokend stored`, never a token) and
says the daemon is not running (exit 0). A config file that does not load
is shown with its file and line.";

const WHOAMI_HELP: &str = "\
Examples:
  wrs-token whoami
  wrs-token whoami plm --json

Shows who the profile's login belongs to (from the ID token's claims, not
verified: for display only), the scopes granted (or those asked for, when
the server did not say), when the login and the current refresh token
happened, and the access token's lifetime. Never a token. Exit 3 when the
profile is not logged in.";

const DAEMON_HELP: &str = "\
Examples:
  wrs-token daemon status
  wrs-token daemon stop      # the next command starts a fresh one";

const DAEMON_START_HELP: &str = "\
Examples:
  wrs-token daemon start     # rarely needed: commands start it on demand";

const DAEMON_STOP_HELP: &str = "\
Examples:
  wrs-token daemon stop      # the next command starts a fresh one";

const DAEMON_STATUS_HELP: &str = "\
Examples:
  wrs-token daemon status
  wrs-token daemon status || echo 'no daemon (exit code 4)'";

const DAEMON_RELOAD_HELP: &str = "\
Examples:
  wrs-token daemon reload    # apply the config file now (edits also apply by
                             # themselves on the daemon's next request)";

const LOGIN_HELP: &str = "\
Examples:
  wrs-token login plm                 # opens $BROWSER or the system browser
  wrs-token login plm --no-browser    # prints the URL to open elsewhere
  wrs-token login plm --device        # a code to type on another device
  wrs-token login plm --paste         # paste the URL the browser landed on
  wrs-token login plm --refresh-token-stdin < old-refresh-token.txt
  wrs-token login plm --cancel        # end a pending login started elsewhere

Ctrl-C (or a closed terminal) cancels the pending login at the daemon too.
Over SSH, --no-browser prints the `ssh -L` line that lets your own browser
reach this machine's loopback redirect; --device needs no forwarding.

$BROWSER is a ':'-separated list of commands tried in order; '%s' in a
command is replaced by the URL, else the URL is added as the last argument.
Commands are run directly, not through a shell.";

const DEMO_HELP: &str = "\
Examples:
  cargo build --workspace --bins && target/debug/wrs-token demo

Runs `wrs-demo demo` (beside wrs-token, else on PATH; WRS_DEMO overrides):
a local mock authorization server and Windchill, a throw-away profile, a
login, a token, a Windchill call and a renewal, all in a temporary
directory removed at the end. Your own config, keyring and daemon are not
touched.";

const LOGOUT_HELP: &str = "\
Examples:
  wrs-token logout plm
  wrs-token logout plm --no-revoke    # forget the tokens; the server keeps them

A profile that is not logged in: \"not logged in to profile NAME\", exit 1.";

/// A local OAuth 2 token helper for Windchill REST Services: asks the
/// per-user `wrs-tokend` daemon for a valid access token and prints it.
#[derive(Debug, PartialEq, Eq, Parser)]
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
#[derive(Debug, PartialEq, Eq, Args)]
pub struct GlobalArgs {
    /// Never start the daemon; fail with exit code 4 if none is running.
    // Falsey parsing: WRS_TOKEN_NO_AUTOSTART=1/yes/true turns it on; unset,
    // empty, 0, no, false and off leave it off.
    #[arg(
        long,
        global = true,
        env = wrs_sys::env::NO_AUTOSTART,
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub no_autostart: bool,

    /// The daemon's socket (default: the per-user runtime directory).
    #[arg(long, global = true, value_name = "PATH", env = wrs_sys::env::SOCKET)]
    pub socket: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Print a valid access token (bare, as a header line, or as JSON).
    #[command(after_help = PRINT_HELP)]
    Print(PrintArgs),
    /// Print `Authorization: Bearer <token>` (same as `print --header`).
    #[command(after_help = HEADER_HELP)]
    Header(HeaderArgs),
    /// Show the daemon and every profile's session. Never starts the daemon.
    #[command(after_help = STATUS_HELP)]
    Status(StatusArgs),
    /// Show who a profile's login belongs to: user, scopes, login time.
    /// Never a token.
    #[command(after_help = WHOAMI_HELP)]
    Whoami(WhoamiArgs),
    /// Log a profile in: in the browser, with a device code, or by pasting
    /// the redirected URL.
    #[command(after_help = LOGIN_HELP)]
    Login(LoginArgs),
    /// Log a profile out: revoke its refresh token and forget its tokens.
    #[command(after_help = LOGOUT_HELP)]
    Logout(LogoutArgs),
    /// Add, list, show, edit, rename and remove profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Control the background daemon.
    #[command(subcommand, after_help = DAEMON_HELP)]
    Daemon(DaemonCommand),
    /// Show everything working against a local mock server, without
    /// touching your own set-up.
    #[command(after_help = DEMO_HELP)]
    Demo(DemoArgs),
    /// Run the real curl with the token, passed on curl's stdin, never in
    /// its arguments; retries once on HTTP 401; adds Windchill's CSRF nonce
    /// to writes.
    #[command(after_help = integrations::CURL_HELP)]
    Curl(CurlArgs),
    /// Run a command with the token (and its expiry) in its environment.
    #[command(after_help = integrations::EXEC_HELP)]
    Exec(ExecArgs),
    /// A git credential helper: hands git a Bearer token for Windchill hosts.
    #[command(after_help = integrations::GIT_CREDENTIAL_HELP)]
    GitCredential(GitCredentialArgs),
    /// Write a shell completion script to stdout.
    #[command(after_help = integrations::COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Write the manual page(s), generated from this command line.
    #[command(after_help = integrations::MAN_HELP)]
    Man(ManArgs),
    /// Check the set-up (config, daemon, secret store, network, TLS,
    /// clock, proxy) and say how to fix what is wrong.
    #[command(after_help = ops::DOCTOR_HELP)]
    Doctor(DoctorArgs),
    /// Install, remove or inspect the daemon as a per-user service
    /// (systemd on Linux, launchd on macOS).
    #[command(subcommand, after_help = ops::SERVICE_HELP)]
    Service(ServiceCommand),
}

/// Which token to get.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TokenArgs {
    /// Profile name (default: $WRS_TOKEN_PROFILE, then the daemon's default
    /// profile).
    #[arg(
        short,
        long,
        value_name = "NAME",
        env = wrs_sys::env::PROFILE,
        value_parser = ProfileNameParser::optional()
    )]
    pub profile: Option<String>,

    /// The token should stay valid at least this many seconds [default:
    /// the profile's min_ttl, then $WRS_TOKEN_MIN_TTL, then up to 10 s as
    /// the server's tokens allow]. Met from the daemon's cache: more than a
    /// token has left at its renewal point is not met, and a warning says
    /// what the server's tokens give.
    #[arg(long, value_name = "SECS")]
    pub min_ttl: Option<u64>,
}

impl TokenArgs {
    /// The profile to ask for; an empty name (e.g. `WRS_TOKEN_PROFILE=`)
    /// means the daemon's default.
    pub fn profile(&self) -> Option<String> {
        self.profile.clone().filter(|p| !p.is_empty())
    }

    /// The profile named positionally (`name`) or with `-p`; both given
    /// and different is a usage error ([`profile_name::either`]).
    pub fn profile_or(&self, name: Option<&str>) -> Result<Option<String>, crate::exit::Failure> {
        let env = std::env::var(wrs_sys::env::PROFILE).ok();
        profile_name::either(name, self.profile.as_deref(), env.as_deref())
    }
}

/// `wrs-token print`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct PrintArgs {
    /// The profile, as with -p (both given must agree).
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::optional())]
    pub name: Option<String>,

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
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HeaderArgs {
    /// The profile, as with -p (both given must agree).
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::optional())]
    pub name: Option<String>,

    /// Which token.
    #[command(flatten)]
    pub token: TokenArgs,

    /// Do not end the output with a newline.
    #[arg(long)]
    pub no_newline: bool,
}

/// `wrs-token status`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct StatusArgs {
    /// Show only this profile (default: every profile).
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::optional())]
    pub name: Option<String>,

    /// Show only this profile, as NAME (both given must agree). Not taken
    /// from $WRS_TOKEN_PROFILE: status shows every profile unless asked.
    #[arg(short, long, value_name = "NAME", value_parser = ProfileNameParser::optional())]
    pub profile: Option<String>,

    /// Print the daemon's status report as JSON.
    #[arg(long)]
    pub json: bool,
}

impl StatusArgs {
    /// The one profile to show, or `None` for all.
    pub fn profile(&self) -> Result<Option<String>, crate::exit::Failure> {
        profile_name::either(self.name.as_deref(), self.profile.as_deref(), None)
    }
}

/// `wrs-token whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct WhoamiArgs {
    /// Which profile.
    #[command(flatten)]
    pub choice: ProfileChoice,

    /// Print the identity as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which profile a login or logout is for.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileChoice {
    /// The profile (default: -p, then $WRS_TOKEN_PROFILE, then the default
    /// or only profile).
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::optional())]
    pub name: Option<String>,

    /// The profile, as for `print` (NAME wins when both are given).
    #[arg(
        short,
        long,
        value_name = "NAME",
        env = wrs_sys::env::PROFILE,
        value_parser = ProfileNameParser::optional()
    )]
    pub profile: Option<String>,
}

impl ProfileChoice {
    /// The profile to ask for; `None` (or an empty name) means the daemon's
    /// default.
    pub fn profile(&self) -> Option<String> {
        self.name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| self.profile.clone().filter(|p| !p.is_empty()))
    }
}

/// `wrs-token login`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(group(ArgGroup::new("method").args(["no_browser", "device", "paste", "refresh_token_stdin", "cancel"])))]
pub struct LoginArgs {
    /// Which profile.
    #[command(flatten)]
    pub choice: ProfileChoice,

    /// Do not open a browser: print the URL to open (on any machine whose
    /// browser can reach this one's loopback redirect).
    #[arg(long)]
    pub no_browser: bool,

    /// Use the device authorization grant: a URL and a code to type there.
    #[arg(long)]
    pub device: bool,

    /// Paste mode: after logging in, paste the URL the browser landed on.
    #[arg(long)]
    pub paste: bool,

    /// Do not log in: import an existing refresh token read from stdin
    /// (migrating from another tool). The server must accept it first: a
    /// rejected token leaves the current session as it is.
    #[arg(long)]
    pub refresh_token_stdin: bool,

    /// Do not log in: cancel the profile's pending login (one started
    /// elsewhere, or left behind); its loopback port closes at once.
    #[arg(long)]
    pub cancel: bool,

    /// Give up after this many seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = DEFAULT_LOGIN_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub timeout: u64,
}

/// `wrs-token logout`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LogoutArgs {
    /// Which profile.
    #[command(flatten)]
    pub choice: ProfileChoice,

    /// Do not revoke the refresh token at the server; only forget it here.
    #[arg(long)]
    pub no_revoke: bool,
}

/// `wrs-token demo` (no options: it is meant to just work).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DemoArgs {}

/// `wrs-token daemon …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum DaemonCommand {
    /// Start the daemon in the background (does nothing if it is running).
    #[command(after_help = DAEMON_START_HELP)]
    Start,
    /// Ask the daemon to shut down and wait until it has.
    #[command(after_help = DAEMON_STOP_HELP)]
    Stop,
    /// Say whether the daemon runs, with its pid, version and socket
    /// (exit code 4 if it does not).
    #[command(after_help = DAEMON_STATUS_HELP)]
    Status,
    /// Make the running daemon re-read the config file (does nothing if it
    /// does not run).
    #[command(after_help = DAEMON_RELOAD_HELP)]
    Reload,
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
        // No minimum given: the daemon applies the profile's, the
        // environment's or its default.
        assert_eq!(args.token.min_ttl, None);
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
        assert_eq!(args.token.min_ttl, Some(60));
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
            Some(std::ffi::OsStr::new(wrs_sys::env::PROFILE))
        );
        let no_autostart = cmd
            .get_arguments()
            .find(|a| a.get_id() == "no_autostart")
            .unwrap();
        assert_eq!(
            no_autostart.get_env(),
            Some(std::ffi::OsStr::new(wrs_sys::env::NO_AUTOSTART))
        );
    }

    /// `--help`'s list of variables is a literal (clap's `after_help`):
    /// it names each variable the client reads as its constant says.
    #[test]
    fn the_help_names_every_variable_the_client_reads() {
        use wrs_sys::env;
        for name in [
            env::PROFILE,
            env::SOCKET,
            env::NO_AUTOSTART,
            env::CONFIG,
            env::MIN_TTL,
            env::TOKEND,
        ] {
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {name} ")),
                "{name} is missing from --help"
            );
        }
    }

    #[test]
    fn empty_profile_means_the_daemon_default() {
        let args = TokenArgs {
            profile: Some(String::new()),
            min_ttl: Some(1),
        };
        assert_eq!(args.profile(), None);
    }

    fn login(args: &[&str]) -> Result<LoginArgs, clap::Error> {
        let mut argv = vec!["login"];
        argv.extend_from_slice(args);
        parse(&argv).map(|cli| match cli.command {
            Command::Login(a) => a,
            other => panic!("not login: {other:?}"),
        })
    }

    #[test]
    fn login_defaults_to_the_browser_and_five_minutes() {
        let a = login(&[]).unwrap();
        assert!(!a.no_browser && !a.device && !a.paste && !a.refresh_token_stdin);
        assert_eq!(a.timeout, DEFAULT_LOGIN_TIMEOUT_SECS);
        assert_eq!(a.timeout, 300);
        assert_eq!(a.choice.profile(), None);
    }

    #[test]
    fn login_methods_exclude_each_other() {
        for pair in [
            ["--device", "--paste"],
            ["--device", "--no-browser"],
            ["--paste", "--no-browser"],
            ["--refresh-token-stdin", "--device"],
        ] {
            let err = login(&pair).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{pair:?}"
            );
            assert_eq!(err.exit_code(), 2);
        }
        assert!(login(&["--device"]).unwrap().device);
        assert!(login(&["--paste", "--timeout", "60"]).unwrap().paste);
    }

    #[test]
    fn login_name_wins_over_dash_p_and_zero_timeout_is_refused() {
        let a = login(&["plm", "-p", "other"]).unwrap();
        assert_eq!(a.choice.profile(), Some("plm".into()));
        let a = login(&["-p", "other"]).unwrap();
        assert_eq!(a.choice.profile(), Some("other".into()));
        assert!(login(&["--timeout", "0"]).is_err());
    }

    #[test]
    fn logout_takes_a_name_and_no_revoke() {
        let cli = parse(&["logout", "plm", "--no-revoke"]).unwrap();
        let Command::Logout(a) = cli.command else {
            panic!("not logout")
        };
        assert_eq!(a.choice.profile(), Some("plm".into()));
        assert!(a.no_revoke);
        let cli = parse(&["logout"]).unwrap();
        let Command::Logout(a) = cli.command else {
            panic!("not logout")
        };
        assert!(!a.no_revoke && a.choice.profile().is_none());
    }

    #[test]
    fn whoami_takes_a_name_or_dash_p_and_json() {
        let cli = parse(&["whoami", "plm", "--json"]).unwrap();
        let Command::Whoami(a) = cli.command else {
            panic!("not whoami")
        };
        assert_eq!(a.choice.profile(), Some("plm".into()));
        assert!(a.json);
        let cli = parse(&["whoami", "-p", "other"]).unwrap();
        let Command::Whoami(a) = cli.command else {
            panic!("not whoami")
        };
        assert_eq!(a.choice.profile(), Some("other".into()));
        assert!(!a.json);
    }

    #[test]
    fn profile_subcommands_parse() {
        let cli = parse(&["profile", "list", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Profile(ProfileCommand::List(ProfileListArgs { json: true, .. }))
        ));
        let cli = parse(&["profile", "show", "plm"]).unwrap();
        let Command::Profile(ProfileCommand::Show(a)) = cli.command else {
            panic!("not show")
        };
        assert_eq!(a.name.as_deref(), Some("plm"));
        let cli = parse(&["profile", "remove", "plm", "--no-revoke"]).unwrap();
        let Command::Profile(ProfileCommand::Remove(a)) = cli.command else {
            panic!("not remove")
        };
        assert_eq!((a.name.as_str(), a.no_revoke), ("plm", true));
        assert!(
            parse(&["profile", "remove"]).is_err(),
            "remove needs a name"
        );
        let cli = parse(&["daemon", "reload"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Daemon(DaemonCommand::Reload)
        ));
    }

    #[test]
    fn profile_add_enums_use_the_documented_spellings() {
        let cli = parse(&[
            "profile", "add", "ci", "--auth", "none", "--grant", "device", "--store", "file",
        ])
        .unwrap();
        let Command::Profile(ProfileCommand::Add(a)) = cli.command else {
            panic!("not add")
        };
        assert_eq!(
            (a.auth(), a.grant, a.store),
            (AuthArg::None, GrantArg::Device, StoreArg::File)
        );
        assert!(parse(&["profile", "add", "x", "--grant", "client-credentials"]).is_ok());
        assert!(parse(&["profile", "add", "x", "--auth", "jwt"]).is_err());
        assert!(parse(&["profile", "add", "x", "--store", "plaintext"]).is_err());
    }

    /// Every (sub)command's `--help` ends with an example.
    #[test]
    fn every_command_help_has_an_example() {
        fn walk(cmd: &mut clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            let subs: Vec<String> = cmd
                .get_subcommands()
                .map(|s| s.get_name().to_owned())
                .collect();
            if subs.is_empty() || cmd.get_after_help().is_some() {
                let help = cmd.render_long_help().to_string();
                if !help.contains("Examples:") && !help.contains("Get started:") {
                    missing.push(path.clone());
                }
            }
            for name in subs {
                if name == "help" {
                    continue;
                }
                if let Some(sub) = cmd.find_subcommand_mut(&name) {
                    walk(sub, &path, missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk(&mut Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "no examples in --help of {missing:?}");
    }

    /// Every command's `after_help`, by path.
    fn after_helps() -> Vec<(String, String)> {
        fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
            let path = format!("{path} {}", cmd.get_name());
            if let Some(help) = cmd.get_after_help() {
                out.push((path.clone(), help.to_string()));
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &path, out);
            }
        }
        let mut out = Vec::new();
        walk(&Cli::command(), "", &mut out);
        out
    }

    /// clap wraps help text at the terminal's width, and an example line
    /// wrapped there is a broken command (its continuation has no `\`). So
    /// every example line fits an 80-column terminal, long ones continued
    /// with `\` by hand.
    #[test]
    fn example_lines_fit_80_columns() {
        let mut long = Vec::new();
        for (path, help) in after_helps() {
            let examples = help
                .split("Examples:\n")
                .nth(1)
                .or_else(|| help.split("Get started:\n").nth(1))
                .unwrap_or("");
            for line in examples.lines().take_while(|l| !l.is_empty()) {
                if line.chars().count() > 80 {
                    long.push(format!("{path}: {line}"));
                }
            }
        }
        assert!(
            long.is_empty(),
            "wrapped at 80 columns:\n{}",
            long.join("\n")
        );
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
