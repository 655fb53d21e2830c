//! `wrs-token profile …`: the arguments of the profile commands.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use wrs_config::{ClientAuth, Grant, StoreKind};

use super::ProfileNameParser;

const ADD_HELP: &str = "\
Examples:
  # A PingFederate issuer; endpoints come from its discovery document.
  printf '%s' \"$SECRET\" | wrs-token profile add plm \\
      --issuer https://sso.example.com --client-id wrs-cli --client-secret-stdin \\
      --scope openid --scope WINDCHILL_READ \\
      --resource https://plm.example.com/Windchill/oauth/servlet/odata/
  # A public client (no secret), asked for missing values at the terminal:
  wrs-token profile add dev --auth none
  # A CI service account with explicit endpoints, secrets kept in memory:
  wrs-token profile add ci --grant client-credentials --auth post \\
      --token-endpoint https://sso.example.com/as/token.oauth2 \\
      --client-id wrs-ci --client-secret-stdin --store memory < secret.txt

The client secret never goes into the config file or onto the command line:
it is read from stdin (or typed at a prompt without echo) and handed to the
daemon, which keeps it in the profile's store.";

const LIST_HELP: &str = "\
Examples:
  wrs-token profile list
  wrs-token profile list --json | jq -r '.[].name'";

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
  printf '%s' \"$NEW_SECRET\" | wrs-token profile set-secret plm --client-secret-stdin";

const SET_DEFAULT_HELP: &str = "\
Examples:
  wrs-token profile set-default plm";

/// `wrs-token profile …`.
#[derive(Debug, Clone, Subcommand)]
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
}

/// How the client authenticates at the token endpoint (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum AuthArg {
    /// client_secret_basic: HTTP Basic (PingFederate's default).
    #[default]
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
#[derive(Debug, Clone, Args)]
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

    /// How the client authenticates at the token endpoint.
    #[arg(long, value_enum, value_name = "METHOD", default_value_t)]
    pub auth: AuthArg,

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
}

/// `wrs-token profile list`.
#[derive(Debug, Clone, Args)]
pub struct ProfileListArgs {
    /// Print a JSON array of profiles.
    #[arg(long)]
    pub json: bool,
}

/// `wrs-token profile show`.
#[derive(Debug, Clone, Args)]
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
#[derive(Debug, Clone, Args)]
pub struct ProfileRemoveArgs {
    /// The profile to remove.
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,

    /// Do not revoke the refresh token at the server; only forget it.
    #[arg(long)]
    pub no_revoke: bool,
}

/// `wrs-token profile set-secret`.
#[derive(Debug, Clone, Args)]
pub struct ProfileSetSecretArgs {
    /// The profile.
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,

    /// Read the client secret from stdin (one trailing newline is dropped).
    #[arg(long)]
    pub client_secret_stdin: bool,
}

/// `wrs-token profile set-default`.
#[derive(Debug, Clone, Args)]
pub struct ProfileSetDefaultArgs {
    /// The profile to use when none is named.
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::required())]
    pub name: String,
}
