//! `wrs-token profile …`: the arguments of the profile commands.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use wrs_config::{ClientAuth, Grant, StoreKind};

use super::ProfileNameParser;

const ADD_HELP: &str = "\
Examples:
  # A PingFederate issuer; endpoints come from its discovery document.
  printf '%s' \"$SECRET\" | wrs-token profile add plm \\
      --issuer https://sso.example.com --client-id wrs-cli \\
      --client-secret-stdin \\
      --scope openid --scope WINDCHILL_READ \\
      --resource https://plm.example.com/Windchill/oauth/servlet/odata/
  # A public client (no secret, no --auth), asked for what is missing:
  wrs-token profile add dev
  # A CI service account with explicit endpoints, secrets kept in memory:
  wrs-token profile add ci --grant client-credentials --auth post \\
      --token-endpoint https://sso.example.com/as/token.oauth2 \\
      --client-id wrs-ci --client-secret-stdin --store memory < secret.txt

Before anything is written, the profile is checked as `doctor` checks it:
the server answers discovery naming the same issuer, its TLS chain is
trusted, the token endpoint answers and accepts the client (its secret).
A failed check adds nothing and says what to fix; --no-check skips them.

The client secret never goes into the config file or onto the command line:
it is read from stdin (or typed at a prompt without echo) and handed to the
daemon, which keeps it in the profile's store.";

const LIST_HELP: &str = "\
Examples:
  wrs-token profile list
  wrs-token profile list --names      # one a line, for scripts and completion
  wrs-token profile list --json | jq -r '.[].name'";

const SET_HELP: &str = "\
Examples:
  wrs-token profile set plm keepalive 3600
  wrs-token profile set plm scopes 'openid offline_access WINDCHILL_READ'
  wrs-token profile set plm ca_file ./corp-ca.pem  # kept as an absolute path
  wrs-token profile set plm issuer https://sso2.example.com

Edits one key of the profile in the config file, keeping its comments and
order; the result is checked as `profile add` checks a profile, and a value
that does not fit leaves the file untouched. Keys: issuer,
authorization_endpoint, token_endpoint, revocation_endpoint,
device_authorization_endpoint, client_id, auth, scopes, grant,
redirect_uri, ca_file, resource, resource_ca_file, store, min_ttl,
keep_warm, keepalive. Changing issuer, token_endpoint or client_id gives
the profile another server or client: its stored refresh token and client
secret belong to the old one and are no longer used (log in again; store the
secret again with `profile set-secret`).";

const UNSET_HELP: &str = "\
Examples:
  wrs-token profile unset plm min_ttl       # back to the default
  wrs-token profile unset plm resource_ca_file";

const RENAME_HELP: &str = "\
Examples:
  wrs-token profile rename plm plm-prod
  wrs-token profile rename old-test test --no-revoke

The profile keeps its place and comments in the config file (and stays the
default if it was). Its session and client secret are stored under its name
and are not carried over: the daemon forgets them (revoking the refresh
token unless --no-revoke), and you log in again as the new name (and store
a confidential client's secret again with `profile set-secret NEW`).";

const SHOW_HELP: &str = "\
Examples:
  wrs-token profile show plm";

const REMOVE_HELP: &str = "\
Examples:
  wrs-token profile remove plm
  wrs-token profile remove old-test --no-revoke";

const SET_SECRET_HELP: &str = "\
Examples:
  wrs-token profile set-secret plm                      # asks without echo
  printf '%s' \"$NEW_SECRET\" | \\
      wrs-token profile set-secret plm --client-secret-stdin";

const SET_DEFAULT_HELP: &str = "\
Examples:
  wrs-token profile set-default plm";

/// `wrs-token profile …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ProfileCommand {
    /// Add a profile to the config file (its client secret goes to the daemon).
    #[command(after_help = ADD_HELP)]
    Add(Box<ProfileAddArgs>),
    /// List the configured profiles. Works without the daemon.
    #[command(after_help = LIST_HELP)]
    List(ProfileListArgs),
    /// Show a profile's settings, where its secrets live and its session.
    #[command(after_help = SHOW_HELP)]
    Show(ProfileShowArgs),
    /// Remove a profile: revoke and forget its tokens and secret, then
    /// delete it from the config file.
    #[command(after_help = REMOVE_HELP)]
    Remove(ProfileRemoveArgs),
    /// Store a new client secret for a profile (e.g. after rotating it).
    #[command(after_help = SET_SECRET_HELP)]
    SetSecret(ProfileSetSecretArgs),
    /// Make a profile the default one.
    #[command(after_help = SET_DEFAULT_HELP)]
    SetDefault(ProfileSetDefaultArgs),
    /// Change one setting of a profile in the config file.
    #[command(after_help = SET_HELP)]
    Set(ProfileSetArgs),
    /// Remove one setting of a profile, so that its default applies.
    #[command(after_help = UNSET_HELP)]
    Unset(ProfileUnsetArgs),
    /// Give a profile another name (its session is not carried over).
    #[command(after_help = RENAME_HELP)]
    Rename(ProfileRenameArgs),
}

/// How the client authenticates at the token endpoint (`--auth`).
// No `Default`: without --auth the method follows the other arguments
// (`ProfileAddArgs::auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// client_secret_basic: HTTP Basic (PingFederate's default).
    Basic,
    /// client_secret_post: id and secret in the form body.
    Post,
    /// A public client: no secret, PKCE only.
    None,
}

impl From<AuthArg> for ClientAuth {
    fn from(a: AuthArg) -> Self {
        match a {
            AuthArg::Basic => ClientAuth::Basic,
            AuthArg::Post => ClientAuth::Post,
            AuthArg::None => ClientAuth::None,
        }
    }
}

/// How the profile gets its first tokens (`--grant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum GrantArg {
    /// Authorization code with PKCE in a browser.
    #[default]
    Code,
    /// Device authorization grant (RFC 8628): a code typed on another device.
    Device,
    /// Client credentials: a service account, no user, no browser.
    ClientCredentials,
}

impl From<GrantArg> for Grant {
    fn from(g: GrantArg) -> Self {
        match g {
            GrantArg::Code => Grant::Code,
            GrantArg::Device => Grant::Device,
            GrantArg::ClientCredentials => Grant::ClientCredentials,
        }
    }
}

/// Where the profile's refresh token and client secret live (`--store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum StoreArg {
    /// The OS keyring.
    #[default]
    Keyring,
    /// A 0600 file in the data directory (plaintext; for hosts without a keyring).
    File,
    /// The daemon's memory only: lost when it stops (CI).
    Memory,
}

impl From<StoreArg> for StoreKind {
    fn from(s: StoreArg) -> Self {
        match s {
            StoreArg::Keyring => StoreKind::Keyring,
            StoreArg::File => StoreKind::File,
            StoreArg::Memory => StoreKind::Memory,
        }
    }
}

/// `wrs-token profile add`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileAddArgs {
    /// The new profile's name (letters, digits, '.', '_', '-').
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,

    /// The issuer URL; endpoints come from its discovery document.
    #[arg(long, value_name = "URL", conflicts_with_all = ["authorization_endpoint", "token_endpoint"])]
    pub issuer: Option<String>,

    /// The authorization endpoint, instead of --issuer.
    #[arg(long, value_name = "URL")]
    pub authorization_endpoint: Option<String>,

    /// The token endpoint, instead of --issuer.
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,

    /// The revocation endpoint (RFC 7009), when discovery does not give one.
    #[arg(long, value_name = "URL")]
    pub revocation_endpoint: Option<String>,

    /// The device authorization endpoint (RFC 8628), when discovery does not
    /// give one.
    #[arg(long, value_name = "URL")]
    pub device_authorization_endpoint: Option<String>,

    /// The client id registered at the authorization server.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Read the client secret from stdin (one trailing newline is dropped).
    /// Without it, the secret is asked for at the terminal when needed.
    #[arg(long)]
    pub client_secret_stdin: bool,

    /// How the client authenticates at the token endpoint [default:
    /// `basic` with --client-secret-stdin or the client-credentials grant,
    /// else `none`, a public client].
    #[arg(long, value_enum, value_name = "METHOD")]
    pub auth: Option<AuthArg>,

    /// A scope to request; repeat for more (a value may also hold several,
    /// separated by spaces).
    #[arg(long = "scope", value_name = "S")]
    pub scopes: Vec<String>,

    /// How the profile gets its first tokens.
    #[arg(long, value_enum, value_name = "GRANT", default_value_t)]
    pub grant: GrantArg,

    /// A registered redirect URI (default: loopback on 127.0.0.1, any port).
    /// A URI that is not loopback means paste mode.
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,

    /// An extra CA bundle (PEM) to trust besides the system roots; stored as
    /// an absolute path.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// The Windchill OData root this profile's tokens are for (the URL
    /// ending in `/Windchill/oauth/servlet/odata/`).
    #[arg(long, value_name = "URL")]
    pub resource: Option<String>,

    /// The CA bundle (PEM) `wrs-token curl` trusts for the Windchill host
    /// [default: --ca-file, as one internal CA usually signs both].
    #[arg(long, value_name = "PATH")]
    pub resource_ca_file: Option<PathBuf>,

    /// Where the refresh token and client secret are kept.
    #[arg(long, value_enum, value_name = "STORE", default_value_t)]
    pub store: StoreArg,

    /// Minimum remaining validity, in seconds, of a token handed out when
    /// the caller asks for none (at most what a token has left at its
    /// renewal point, 20-25 % of its lifetime, can be met).
    #[arg(long, value_name = "SECS")]
    pub min_ttl: Option<u64>,

    /// Stop renewing ahead of expiry after this many seconds without a
    /// token request [default: 600]; the next request then fetches a token
    /// in one round trip.
    #[arg(long, value_name = "SECS")]
    pub keep_warm: Option<u64>,

    /// Refresh an idle session every this many seconds, so that a grant
    /// with an idle timeout at the server survives; 0 turns it off
    /// [default: 21600, four a day].
    #[arg(long, value_name = "SECS")]
    pub keepalive: Option<u64>,

    /// Make this the default profile.
    #[arg(long)]
    pub default: bool,

    /// Replace a profile of the same name.
    #[arg(long)]
    pub force: bool,

    /// Add the profile without checking it against the server first
    /// (offline set-up); `wrs-token doctor` makes the same checks later.
    #[arg(long)]
    pub no_check: bool,
}

impl ProfileAddArgs {
    /// The client authentication to configure: `--auth` when given, else
    /// what the other arguments imply. A secret on stdin means a
    /// confidential client (PingFederate's default, `basic`); so does the
    /// client-credentials grant, which has no public form; anything else
    /// without a secret is a public client. So the README's first
    /// `profile add … --client-id wrs-cli` needs no `--auth none`.
    pub fn auth(&self) -> AuthArg {
        match self.auth {
            Some(auth) => auth,
            None if self.client_secret_stdin || self.grant == GrantArg::ClientCredentials => {
                AuthArg::Basic
            }
            None => AuthArg::None,
        }
    }
}

/// `wrs-token profile list`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileListArgs {
    /// Print a JSON array of profiles.
    #[arg(long, conflicts_with = "names")]
    pub json: bool,

    /// Print only the names, one a line (for scripts and shell completion).
    #[arg(long)]
    pub names: bool,
}

/// `wrs-token profile set`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileSetArgs {
    /// The profile.
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,

    /// The setting, as in the config file (e.g. keepalive, scopes, ca_file).
    #[arg(value_name = "KEY")]
    pub key: String,

    /// Its new value (scopes: separated by spaces or commas).
    #[arg(value_name = "VALUE")]
    pub value: String,
}

/// `wrs-token profile unset`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileUnsetArgs {
    /// The profile.
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,

    /// The setting to remove.
    #[arg(value_name = "KEY")]
    pub key: String,
}

/// `wrs-token profile rename`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileRenameArgs {
    /// The profile's name now.
    #[arg(value_name = "OLD", value_parser = ProfileNameParser::required())]
    pub old: String,

    /// Its new name.
    #[arg(value_name = "NEW", value_parser = ProfileNameParser::required())]
    pub new: String,

    /// Do not revoke the old name's refresh token at the server; only
    /// forget it.
    #[arg(long)]
    pub no_revoke: bool,
}

/// `wrs-token profile show`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileShowArgs {
    /// The profile (default: $WRS_TOKEN_PROFILE, then the default or only one).
    #[arg(
        value_name = "NAME",
        env = wrs_sys::env::PROFILE,
        value_parser = ProfileNameParser::optional()
    )]
    pub name: Option<String>,
}

/// `wrs-token profile remove`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileRemoveArgs {
    /// The profile to remove.
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,

    /// Do not revoke the refresh token at the server; only forget it.
    #[arg(long)]
    pub no_revoke: bool,
}

/// `wrs-token profile set-secret`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileSetSecretArgs {
    /// The profile.
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,

    /// Read the client secret from stdin (one trailing newline is dropped).
    #[arg(long)]
    pub client_secret_stdin: bool,
}

/// `wrs-token profile set-default`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ProfileSetDefaultArgs {
    /// The profile to use when none is named.
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,
}
