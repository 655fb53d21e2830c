//! `wrs-token profile …`: the config file's profiles.
//!
//! The client edits the file itself (through `wrs_config`: validated,
//! written atomically with mode 0600) and then tells a running daemon to
//! reload. Secrets never go into the file: they travel to the daemon over
//! the socket and live in the profile's store. `list` and `show` read the
//! file directly, so they work without a daemon.

mod add;
mod edit;
mod remove;
mod secret;

use std::path::Path;

use wrs_config::{Config, Grant, Paths, Profile, StoreKind};

use crate::cli::{ProfileCommand, ProfileListArgs, ProfileSetDefaultArgs, ProfileShowArgs};
use crate::client::{self, Client, ClientError};
use crate::exit::{Exit, Failure};
use crate::output::{human_duration, now_unix, state_name, table, write_stdout};
use crate::profiles::{config_path, load, save};
use crate::prompt::say;

/// `wrs-token profile …`.
pub fn run(client: &Client, command: &ProfileCommand) -> Result<(), Failure> {
    match command {
        ProfileCommand::Add(args) => add::run(client, args),
        ProfileCommand::List(args) => list(args),
        ProfileCommand::Show(args) => show(client, args),
        ProfileCommand::Remove(args) => remove::run(client, args),
        ProfileCommand::SetSecret(args) => secret::run(client, args),
        ProfileCommand::SetDefault(args) => set_default(client, args),
        ProfileCommand::Set(args) => edit::set(client, args),
        ProfileCommand::Unset(args) => edit::unset(client, args),
        ProfileCommand::Rename(args) => edit::rename(client, args),
    }
}

/// The profile `name` of `config`, or "no such profile" naming the file.
fn existing<'a>(config: &'a Config, name: &str, path: &Path) -> Result<&'a Profile, Failure> {
    config
        .profiles
        .get(name)
        .ok_or_else(|| no_such_profile(name, path))
}

fn no_such_profile(name: &str, path: &Path) -> Failure {
    Failure::new(
        Exit::Failure,
        format!("no profile named {name:?} in {}", path.display()),
    )
    .with_hint("see `wrs-token profile list`")
}

/// Tells a running daemon about a changed file. A failure is reported but
/// does not fail the command: the file is already right, and the daemon
/// reads it when it next starts.
fn reload_running(client: &Client) {
    if let Err(e) = client.reload_if_running() {
        say(&format!(
            "warning: the running daemon did not reload the configuration: {}\n\
             hint: the daemon also applies the file by itself on its next request; \
             `wrs-token status` shows whether it loads\n",
            Failure::from(e).message
        ));
    }
}

fn list(args: &ProfileListArgs) -> Result<(), Failure> {
    let path = config_path()?;
    let config = load(&path)?;
    let text = if args.names {
        // Names only, from the file: shell completion calls this on every
        // TAB, so it never talks to the daemon.
        config.profiles.keys().map(|n| format!("{n}\n")).collect()
    } else if args.json {
        let mut json = serde_json::to_string_pretty(&list_json(&config))
            .map_err(|e| Failure::new(Exit::Failure, e.to_string()))?;
        json.push('\n');
        json
    } else if config.profiles.is_empty() {
        say(&format!(
            "no profiles in {}: add one with `wrs-token profile add NAME --issuer URL --client-id ID`\n",
            path.display()
        ));
        return Ok(());
    } else {
        render_list(&config)
    };
    write_stdout(text.as_bytes())
}

/// `profile list --json`: one object per profile, its settings as in the
/// file plus `name` and `default`.
pub fn list_json(config: &Config) -> serde_json::Value {
    let default = config.resolve_name(None);
    let profiles = config.profiles.iter().map(|(name, profile)| {
        let mut value = serde_json::to_value(profile).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("name".into(), name.as_str().into());
            map.insert("default".into(), (default == Some(name)).into());
            map.insert("server".into(), profile.server().into());
        }
        value
    });
    serde_json::Value::Array(profiles.collect())
}

/// The `profile list` table; `*` marks the profile used when none is named.
pub fn render_list(config: &Config) -> String {
    let default = config.resolve_name(None);
    let mut rows = vec![[" ", "PROFILE", "GRANT", "STORE", "SERVER"].map(String::from)];
    for (name, p) in &config.profiles {
        rows.push([
            if default == Some(name) { "*" } else { " " }.to_owned(),
            name.clone(),
            grant_name(p.grant).to_owned(),
            store_name(p.store).to_owned(),
            p.server().to_owned(),
        ]);
    }
    table(&rows)
}

fn grant_name(grant: Grant) -> &'static str {
    match grant {
        Grant::Code => "code",
        Grant::Device => "device",
        Grant::ClientCredentials => "client-credentials",
    }
}

fn store_name(store: StoreKind) -> &'static str {
    match store {
        StoreKind::Keyring => "keyring",
        StoreKind::File => "file",
        StoreKind::Memory => "memory",
    }
}

fn show(client: &Client, args: &ProfileShowArgs) -> Result<(), Failure> {
    let path = config_path()?;
    let config = load(&path)?;
    let requested = args.name.as_deref().filter(|n| !n.is_empty());
    let name = config.resolve_name(requested).ok_or_else(|| {
        let f = Failure::new(Exit::Usage, "which profile? name one");
        if config.profiles.is_empty() {
            f.with_hint("no profiles yet: add one with `wrs-token profile add NAME`")
        } else {
            f.with_hint("see `wrs-token profile list`")
        }
    })?;
    let profile = existing(&config, name, &path)?;
    let data_dir = Paths::resolve().map(|p| p.data_dir);
    let session = session_line(client, name);
    let text = render_show(&ShowContext {
        name,
        profile,
        is_default: config.resolve_name(None) == Some(name),
        config_file: &path,
        data_dir: data_dir.as_deref(),
        session: &session,
    });
    write_stdout(text.as_bytes())
}

/// Everything `profile show` prints.
pub struct ShowContext<'a> {
    /// The profile's name.
    pub name: &'a str,
    /// Its settings.
    pub profile: &'a Profile,
    /// Whether it is used when no profile is named.
    pub is_default: bool,
    /// The config file.
    pub config_file: &'a Path,
    /// The data directory (where a file store keeps secrets).
    pub data_dir: Option<&'a Path>,
    /// The session as the daemon sees it, in words.
    pub session: &'a str,
}

/// The `profile show` text: the profile as in the file, then where things
/// are. It names where secrets live, never a secret.
pub fn render_show(ctx: &ShowContext<'_>) -> String {
    let settings = toml::to_string(ctx.profile).unwrap_or_default();
    let default = if ctx.is_default {
        "  # the default profile"
    } else {
        ""
    };
    let mut out = format!("[profiles.{}]{default}\n{settings}\n", ctx.name);
    let mut kinds = Vec::new();
    if ctx.profile.needs_client_secret() {
        kinds.push("client_secret");
    }
    if ctx.profile.grant != Grant::ClientCredentials {
        kinds.push("refresh_token");
    }
    let secrets = if kinds.is_empty() {
        "none (a public client with the client-credentials grant keeps nothing)".to_owned()
    } else {
        let what = kinds.join(", ");
        match ctx.profile.store {
            StoreKind::Keyring => format!(
                "{what} in the OS keyring, service \"wrs-token:{}\"",
                ctx.name
            ),
            StoreKind::File => format!(
                "{what} in a file store (owner-only, not encrypted) under {}",
                ctx.data_dir.map_or_else(
                    || "the data directory".to_owned(),
                    |d| d.display().to_string()
                )
            ),
            StoreKind::Memory => format!("{what} in the daemon's memory only (lost when it stops)"),
        }
    };
    let rows = [
        [
            "config file".to_owned(),
            ctx.config_file.display().to_string(),
        ],
        ["secrets".to_owned(), secrets],
        ["session".to_owned(), ctx.session.to_owned()],
    ];
    out.push_str(&table(&rows));
    out
}

/// The profile's session, from a daemon that already runs (this command
/// never starts one just to look).
fn session_line(client: &Client, name: &str) -> String {
    let report = match client::try_connect(client.endpoint()) {
        Ok(Some(conn)) => client::status_of(conn),
        Ok(None) => return "unknown: the daemon is not running".to_owned(),
        Err(e) => Err(e),
    };
    match report {
        Ok(report) => match report.profiles.iter().find(|p| p.name == name) {
            Some(p) => {
                let mut line = state_name(p.state).to_owned();
                let now = now_unix();
                if let Some(at) = p.expires_at.filter(|at| *at > now) {
                    line.push_str(&format!(
                        ", access token valid for {}",
                        human_duration(at - now)
                    ));
                }
                if let Some(err) = &p.last_error {
                    line.push_str(&format!(" (last error: {})", err.trim()));
                }
                line
            }
            None => {
                "unknown to the running daemon: `wrs-token status` shows whether it loads the file"
                    .to_owned()
            }
        },
        Err(e) => format!("unknown: {}", describe(e)),
    }
}

fn describe(e: ClientError) -> String {
    Failure::from(e).message
}

fn set_default(client: &Client, args: &ProfileSetDefaultArgs) -> Result<(), Failure> {
    let path = config_path()?;
    let mut config = load(&path)?;
    existing(&config, &args.name, &path)?;
    config.default = Some(args.name.clone());
    save(&config, &path)?;
    reload_running(client);
    write_stdout(format!("Default profile: {}\n", args.name).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = r#"
[profiles.plm]
issuer = "https://sso.example.com"
client_id = "wrs-cli"
scopes = ["openid", "WINDCHILL_READ"]

[profiles.ci]
token_endpoint = "https://sso.example.com/as/token.oauth2"
client_id = "wrs-ci"
grant = "client-credentials"
store = "memory"
"#;
        Config::parse(Path::new("c.toml"), text).unwrap()
    }

    #[test]
    fn list_marks_the_default_or_the_only_profile() {
        let mut c = config();
        assert_eq!(
            render_list(&c),
            "   PROFILE  GRANT               STORE    SERVER\n   \
             ci       client-credentials  memory   https://sso.example.com/as/token.oauth2\n   \
             plm      code                keyring  https://sso.example.com\n"
        );
        c.default = Some("plm".into());
        assert!(render_list(&c).contains("\n*  plm "), "{}", render_list(&c));
        c.default = None;
        c.profiles.remove("ci");
        assert!(render_list(&c).contains("\n*  plm "), "the only profile");
    }

    #[test]
    fn list_json_has_name_default_and_settings() {
        let mut c = config();
        c.default = Some("ci".into());
        let v = list_json(&c);
        let ci = &v[0];
        assert_eq!(ci["name"], "ci");
        assert_eq!(ci["default"], true);
        assert_eq!(ci["grant"], "client-credentials");
        assert_eq!(ci["server"], "https://sso.example.com/as/token.oauth2");
        assert_eq!(v[1]["default"], false);
        assert_eq!(v[1]["scopes"][1], "WINDCHILL_READ");
    }

    #[test]
    fn show_prints_settings_file_and_secret_locations_but_no_secret() {
        let c = config();
        let text = render_show(&ShowContext {
            name: "plm",
            profile: &c.profiles["plm"],
            is_default: true,
            config_file: Path::new("/cfg/config.toml"),
            data_dir: Some(Path::new("/data/wrs-token")),
            session: "active, access token valid for 4m 10s",
        });
        assert!(
            text.starts_with("[profiles.plm]  # the default profile\n"),
            "{text}"
        );
        assert!(
            text.contains("issuer = \"https://sso.example.com\"\n"),
            "{text}"
        );
        assert!(text.contains("client_id = \"wrs-cli\"\n"), "{text}");
        assert!(text.contains("config file  /cfg/config.toml\n"), "{text}");
        assert!(
            text.contains(
                "client_secret, refresh_token in the OS keyring, service \"wrs-token:plm\""
            ),
            "{text}"
        );
        assert!(text.contains("session      active"), "{text}");
        let text = render_show(&ShowContext {
            name: "ci",
            profile: &c.profiles["ci"],
            is_default: false,
            config_file: Path::new("/c"),
            data_dir: None,
            session: "-",
        });
        assert!(
            text.contains("secrets      client_secret in the daemon's memory only"),
            "{text}"
        );
    }
}
