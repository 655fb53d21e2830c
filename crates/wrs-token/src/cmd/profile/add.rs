//! `wrs-token profile add`: fill in what is missing (asking a person, or
//! naming the flag to a script), validate, check the profile against the
//! server, write the file, hand the client secret to the daemon (see
//! [`super::secret`]), and undo the file change if the secret cannot be
//! stored.
//!
//! The check is `wrs-tokend probe` (what `doctor` runs: discovery and the
//! issuer it names, the TLS chain, the token endpoint and whether it
//! accepts the client), made before anything is written or stored: the
//! probe reads the new profile from a temporary copy of the config file and
//! the secret from its stdin. So a failed check leaves nothing behind, a
//! profile replaced with `--force` included. `--no-check` skips it.

use std::path::Path;

use wrs_config::{Grant, Profile, validate_profile_name};

use super::reload_running;
use super::secret::{client_secret, deliver};
use crate::cli::{GrantArg, ProfileAddArgs};
use crate::client::Client;
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;
use crate::private_temp::PrivateDir;
use crate::probe::Prober;
use crate::profiles::{config_path, load, save};
use crate::prompt;
use wrs_proto::probe::ProbeStatus;

/// A value `profile add` needs and was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// `--client-id`.
    ClientId,
    /// `--issuer` (or the explicit endpoints the grant needs).
    Issuer,
    /// `--authorization-endpoint` (explicit endpoints, code grant).
    AuthorizationEndpoint,
    /// `--token-endpoint` (explicit endpoints).
    TokenEndpoint,
    /// `--device-authorization-endpoint` (explicit endpoints, device grant).
    DeviceAuthorizationEndpoint,
}

impl Missing {
    /// How the usage error names it.
    pub fn flag(self, grant: GrantArg) -> &'static str {
        match (self, grant) {
            (Missing::ClientId, _) => "--client-id",
            (Missing::Issuer, GrantArg::Code) => {
                "--issuer (or --authorization-endpoint and --token-endpoint)"
            }
            (Missing::Issuer, GrantArg::Device) => {
                "--issuer (or --device-authorization-endpoint and --token-endpoint)"
            }
            (Missing::Issuer, GrantArg::ClientCredentials) => "--issuer (or --token-endpoint)",
            (Missing::AuthorizationEndpoint, _) => "--authorization-endpoint",
            (Missing::TokenEndpoint, _) => "--token-endpoint",
            (Missing::DeviceAuthorizationEndpoint, _) => "--device-authorization-endpoint",
        }
    }

    /// How a person is asked for it.
    fn question(self) -> &'static str {
        match self {
            Missing::ClientId => "Client id: ",
            Missing::Issuer => "Issuer URL (e.g. https://sso.example.com): ",
            Missing::AuthorizationEndpoint => "Authorization endpoint URL: ",
            Missing::TokenEndpoint => "Token endpoint URL: ",
            Missing::DeviceAuthorizationEndpoint => "Device authorization endpoint URL: ",
        }
    }

    fn fill(self, args: &mut ProfileAddArgs, value: String) {
        let slot = match self {
            Missing::ClientId => &mut args.client_id,
            Missing::Issuer => &mut args.issuer,
            Missing::AuthorizationEndpoint => &mut args.authorization_endpoint,
            Missing::TokenEndpoint => &mut args.token_endpoint,
            Missing::DeviceAuthorizationEndpoint => &mut args.device_authorization_endpoint,
        };
        *slot = Some(value);
    }
}

/// What `args` lacks for a working profile: the client id, and either an
/// issuer or the explicit endpoints its grant needs.
pub fn missing(args: &ProfileAddArgs) -> Vec<Missing> {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let mut out = Vec::new();
    if !given(&args.client_id) {
        out.push(Missing::ClientId);
    }
    if given(&args.issuer) {
        return out;
    }
    let explicit = [
        &args.authorization_endpoint,
        &args.token_endpoint,
        &args.device_authorization_endpoint,
    ]
    .into_iter()
    .any(given);
    if !explicit {
        out.push(Missing::Issuer);
        return out;
    }
    let needed: &[Missing] = match args.grant {
        GrantArg::Code => &[Missing::AuthorizationEndpoint, Missing::TokenEndpoint],
        GrantArg::Device => &[Missing::DeviceAuthorizationEndpoint, Missing::TokenEndpoint],
        GrantArg::ClientCredentials => &[Missing::TokenEndpoint],
    };
    for m in needed {
        let value = match m {
            Missing::AuthorizationEndpoint => &args.authorization_endpoint,
            Missing::DeviceAuthorizationEndpoint => &args.device_authorization_endpoint,
            _ => &args.token_endpoint,
        };
        if !given(value) {
            out.push(*m);
        }
    }
    out
}

/// Fills what is missing by asking (`ask`), or fails with a usage error
/// naming every missing flag when nobody can be asked.
pub fn complete(
    args: &ProfileAddArgs,
    interactive: bool,
    mut ask: impl FnMut(&str) -> Result<String, Failure>,
) -> Result<ProfileAddArgs, Failure> {
    let gaps = missing(args);
    if gaps.is_empty() {
        return Ok(args.clone());
    }
    if !interactive {
        let flags: Vec<&str> = gaps.iter().map(|m| m.flag(args.grant)).collect();
        return Err(
            Failure::new(Exit::Usage, format!("missing {}", flags.join(" and "))).with_hint(
                "pass it on the command line (values are asked for only when stdin is a terminal)",
            ),
        );
    }
    let mut filled = args.clone();
    for m in gaps {
        m.fill(&mut filled, ask(m.question())?);
    }
    Ok(filled)
}

/// The profile `args` describe; `ca_file` is already absolute (and
/// `resource_ca_file` is made so by [`run`]).
pub fn build(args: &ProfileAddArgs, ca_file: Option<String>) -> Profile {
    let mut scopes: Vec<String> = Vec::new();
    for scope in args.scopes.iter().flat_map(|s| s.split_whitespace()) {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Profile {
        issuer: clean(&args.issuer),
        authorization_endpoint: clean(&args.authorization_endpoint),
        token_endpoint: clean(&args.token_endpoint),
        revocation_endpoint: clean(&args.revocation_endpoint),
        device_authorization_endpoint: clean(&args.device_authorization_endpoint),
        client_id: clean(&args.client_id).unwrap_or_default(),
        auth: args.auth().into(),
        scopes,
        grant: args.grant.into(),
        redirect_uri: clean(&args.redirect_uri),
        ca_file,
        resource: clean(&args.resource),
        resource_ca_file: None,
        store: args.store.into(),
        min_ttl: args.min_ttl,
        keep_warm: args.keep_warm,
        keepalive: args.keepalive,
    }
}

/// `--ca-file` as an absolute, existing path, as the daemon may run with
/// another working directory.
pub fn absolute_ca_file(path: &Path) -> Result<String, Failure> {
    absolute_path("--ca-file", path)
}

/// `path` (given as `what`) as an absolute path to an existing file.
pub fn absolute_path(what: &str, path: &Path) -> Result<String, Failure> {
    let usage = |problem: String| {
        Failure::new(Exit::Usage, format!("{what} {}: {problem}", path.display()))
    };
    let absolute = std::fs::canonicalize(path).map_err(|e| usage(e.to_string()))?;
    if !absolute.is_file() {
        return Err(usage("not a file".into()));
    }
    absolute
        .into_os_string()
        .into_string()
        .map_err(|_| usage("the path is not valid UTF-8".into()))
}

/// `wrs-token profile add`.
pub fn run(client: &Client, args: &ProfileAddArgs) -> Result<(), Failure> {
    let name = args.name.as_str();
    validate_profile_name(name).map_err(|e| Failure::new(Exit::Usage, e.to_string()))?;
    let path = config_path()?;
    let previous = load(&path)?;
    let replacing = previous.profiles.contains_key(name);
    if replacing && !args.force {
        return Err(Failure::new(
            Exit::Failure,
            format!("profile {name} already exists in {}", path.display()),
        )
        .with_hint(format!(
            "pass --force to replace it, or see it with `wrs-token profile show {name}`"
        )));
    }
    // Stdin carries the secret with --client-secret-stdin: no prompts then.
    let interactive = !args.client_secret_stdin && prompt::stdin_is_terminal();
    let args = complete(args, interactive, prompt::ask)?;
    let ca_file = args.ca_file.as_deref().map(absolute_ca_file).transpose()?;
    let mut profile = build(&args, ca_file);
    profile.resource_ca_file = args
        .resource_ca_file
        .as_deref()
        .map(|p| absolute_path("--resource-ca-file", p))
        .transpose()?;
    profile
        .validate(name)
        .map_err(|e| Failure::new(Exit::Usage, e.to_string()))?;
    // Read before anything is written, so a refused secret changes nothing.
    let secret = client_secret(&args, &profile, interactive)?;
    let grant = profile.grant;
    let existed = path.exists();
    let mut config = previous.clone();
    config.profiles.insert(name.to_owned(), profile);
    if args.default || previous.profiles.is_empty() {
        config.default = Some(name.to_owned());
    }
    let checked = if args.no_check {
        None
    } else {
        Some(check(name, &config, secret.as_ref())?)
    };
    save(&config, &path)?;
    let stored = match secret {
        Some(secret) => match deliver(client, name, secret) {
            Ok(store) => Some(store),
            Err(failure) => {
                let previous = existed.then_some(&previous);
                return Err(roll_back(client, previous, &path, name, failure));
            }
        },
        None => {
            reload_running(client);
            None
        }
    };
    if let Some(checked) = checked {
        write_stdout(checked.as_bytes())?;
    }
    let report = render_added(&AddReport {
        name,
        replaced: replacing,
        is_default: config.default.as_deref() == Some(name),
        config_file: &path,
        secret_store: stored.as_deref(),
        grant,
    });
    write_stdout(report.as_bytes())
}

/// Probes profile `name` of `config` (the file as it will be) with
/// `secret`: the checks' lines when none failed, else a failure naming
/// each failed check and its fix. Nothing is written but a temporary copy
/// of the config, removed again.
fn check(
    name: &str,
    config: &wrs_config::Config,
    secret: Option<&wrs_proto::Secret>,
) -> Result<String, Failure> {
    let not_checked = |why: String| {
        Failure::new(
            Exit::Failure,
            format!("profile {name} was not added: it could not be checked: {why}"),
        )
        .with_hint("add it unchecked with --no-check (e.g. when offline)")
    };
    let prober = Prober::locate().map_err(|e| not_checked(e.to_string()))?;
    let dir = PrivateDir::create("add").map_err(|e| not_checked(e.to_string()))?;
    let path = dir.path.join("config.toml");
    save(config, &path)?;
    let report = prober
        .check_new(name, &path, secret)
        .map_err(|e| not_checked(e.to_string()))?;
    let lines = report.render();
    if report.failed() {
        // The checklist, fixes included, on stderr: a failure's message is
        // one line.
        prompt::say(&lines);
        let failed: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.status == ProbeStatus::Fail)
            .map(|c| c.check.label())
            .collect();
        return Err(Failure::new(
            Exit::Failure,
            format!(
                "profile {name} was not added: the {} check failed",
                failed.join(", ")
            ),
        )
        .with_hint(
            "fix what the failed check names (see its fix above) and run the command again, \
             or add the profile unchecked with --no-check",
        ));
    }
    Ok(lines)
}

/// Puts the previous file back (or removes the file when there was none)
/// after the secret could not be stored, so a failed `add` leaves nothing
/// half-done and can simply be run again.
fn roll_back(
    client: &Client,
    previous: Option<&wrs_config::Config>,
    path: &Path,
    name: &str,
    failure: Failure,
) -> Failure {
    let restored = match previous {
        Some(config) => save(config, path),
        None => std::fs::remove_file(path)
            .map_err(|e| Failure::new(Exit::Failure, format!("{}: {e}", path.display()))),
    };
    match restored {
        Ok(()) => {
            let _ = client.reload_if_running();
            Failure {
                message: format!(
                    "profile {name} was not added: its client secret could not be stored: {}",
                    failure.message
                ),
                ..failure
            }
        }
        Err(_) => Failure {
            message: format!(
                "profile {name} is in {} but its client secret could not be stored: {}",
                path.display(),
                failure.message
            ),
            hint: Some(format!(
                "fix the problem, then run `wrs-token profile set-secret {name}`"
            )),
            ..failure
        },
    }
}

/// What `profile add` did.
pub struct AddReport<'a> {
    /// The profile's name.
    pub name: &'a str,
    /// Whether an older profile of that name was replaced.
    pub replaced: bool,
    /// Whether it is now the default.
    pub is_default: bool,
    /// The config file written.
    pub config_file: &'a Path,
    /// Where the daemon stored the client secret, if there was one.
    pub secret_store: Option<&'a str>,
    /// Its grant, which decides the next step.
    pub grant: Grant,
}

/// The report and the next step.
pub fn render_added(r: &AddReport<'_>) -> String {
    let verb = if r.replaced { "Replaced" } else { "Added" };
    let default = if r.is_default {
        " (the default profile)"
    } else {
        ""
    };
    let mut out = format!(
        "{verb} profile {}{default} in {}.\n",
        r.name,
        r.config_file.display()
    );
    if let Some(store) = r.secret_store {
        out.push_str(&format!("Client secret stored in {store}.\n"));
    }
    let next = match r.grant {
        Grant::ClientCredentials => format!("wrs-token print -p {}", r.name),
        Grant::Device => format!("wrs-token login {} --device", r.name),
        Grant::Code => format!("wrs-token login {}", r.name),
    };
    out.push_str(&format!("Next: run `{next}`\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{AuthArg, Cli, Command, ProfileCommand, StoreArg};
    use clap::Parser;
    use wrs_config::{ClientAuth, StoreKind};

    fn parse(extra: &[&str]) -> ProfileAddArgs {
        let argv = ["wrs-token", "profile", "add", "plm"].iter().chain(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Profile(ProfileCommand::Add(args)) => *args,
            other => panic!("{other:?}"),
        }
    }

    fn never_asked(q: &str) -> Result<String, Failure> {
        panic!("asked {q:?}")
    }

    #[test]
    fn issuer_and_client_id_are_enough() {
        let args = parse(&["--issuer", "https://sso", "--client-id", "c"]);
        assert!(missing(&args).is_empty());
        let done = complete(&args, false, never_asked).unwrap();
        let p = build(&done, None);
        assert_eq!(p.issuer.as_deref(), Some("https://sso"));
        assert_eq!(p.client_id, "c");
        assert_eq!(p.auth, ClientAuth::None, "no secret, no --auth: public");
        assert_eq!(p.store, StoreKind::Keyring);
        assert!(p.validate("plm").is_ok());
    }

    #[test]
    fn auth_follows_what_was_given_unless_named() {
        let base = ["--issuer", "https://sso", "--client-id", "c"];
        let auth = |extra: &[&str]| {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            build(&parse(&args), None).auth
        };
        assert_eq!(auth(&[]), ClientAuth::None);
        assert_eq!(auth(&["--client-secret-stdin"]), ClientAuth::Basic);
        assert_eq!(
            auth(&["--client-secret-stdin", "--auth", "post"]),
            ClientAuth::Post
        );
        assert_eq!(auth(&["--auth", "basic"]), ClientAuth::Basic);
        assert_eq!(
            auth(&["--grant", "client-credentials"]),
            ClientAuth::Basic,
            "client credentials has no public form"
        );
        assert_eq!(auth(&["--auth", "none"]), ClientAuth::None);
    }

    #[test]
    fn nothing_given_misses_client_id_and_issuer() {
        let args = parse(&[]);
        assert_eq!(missing(&args), [Missing::ClientId, Missing::Issuer]);
        let err = complete(&args, false, never_asked).unwrap_err();
        assert_eq!(err.exit, Exit::Usage);
        assert_eq!(
            err.message,
            "missing --client-id and --issuer (or --authorization-endpoint and --token-endpoint)"
        );
    }

    #[test]
    fn explicit_endpoints_must_cover_the_grant() {
        let args = parse(&["--client-id", "c", "--token-endpoint", "https://as/t"]);
        assert_eq!(missing(&args), [Missing::AuthorizationEndpoint]);
        let args = parse(&[
            "--client-id",
            "c",
            "--token-endpoint",
            "https://as/t",
            "--grant",
            "client-credentials",
        ]);
        assert!(missing(&args).is_empty());
        let args = parse(&[
            "--client-id",
            "c",
            "--grant",
            "device",
            "--token-endpoint",
            "https://as/t",
        ]);
        assert_eq!(missing(&args), [Missing::DeviceAuthorizationEndpoint]);
        let args = parse(&["--client-id", "c", "--grant", "client-credentials"]);
        assert_eq!(
            complete(&args, false, never_asked).unwrap_err().message,
            "missing --issuer (or --token-endpoint)"
        );
    }

    #[test]
    fn a_terminal_user_is_asked_for_what_is_missing() {
        let args = parse(&["--auth", "none"]);
        let mut asked = Vec::new();
        let done = complete(&args, true, |q| {
            asked.push(q.to_owned());
            Ok(if q.starts_with("Client id") {
                "wrs-cli".into()
            } else {
                "https://sso.example.com".into()
            })
        })
        .unwrap();
        assert_eq!(asked.len(), 2, "{asked:?}");
        let p = build(&done, None);
        assert_eq!(p.client_id, "wrs-cli");
        assert_eq!(p.issuer.as_deref(), Some("https://sso.example.com"));
    }

    #[test]
    fn scopes_may_repeat_or_share_a_value_and_are_deduplicated() {
        let args = parse(&[
            "--issuer",
            "https://sso",
            "--client-id",
            "c",
            "--scope",
            "openid",
            "--scope",
            "WINDCHILL_READ offline_access",
            "--scope",
            "openid",
        ]);
        assert_eq!(
            build(&args, None).scopes,
            ["openid", "WINDCHILL_READ", "offline_access"]
        );
    }

    #[test]
    fn every_setting_reaches_the_profile() {
        let args = parse(&[
            "--token-endpoint",
            "https://as/token",
            "--revocation-endpoint",
            "https://as/revoke",
            "--client-id",
            "ci",
            "--auth",
            "post",
            "--grant",
            "client-credentials",
            "--store",
            "memory",
            "--resource",
            "https://plm/Windchill/oauth/servlet/odata/",
            "--min-ttl",
            "30",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
        ]);
        assert_eq!((args.auth(), args.store), (AuthArg::Post, StoreArg::Memory));
        let p = build(&args, Some("/etc/ca.pem".into()));
        assert_eq!(p.grant, Grant::ClientCredentials);
        assert_eq!(p.auth, ClientAuth::Post);
        assert_eq!(p.store, StoreKind::Memory);
        assert_eq!(p.revocation_endpoint.as_deref(), Some("https://as/revoke"));
        assert_eq!(p.min_ttl, Some(30));
        assert_eq!(p.ca_file.as_deref(), Some("/etc/ca.pem"));
        assert!(p.validate("ci").is_ok());
    }

    #[test]
    fn issuer_conflicts_with_explicit_endpoints() {
        let argv = [
            "wrs-token",
            "profile",
            "add",
            "x",
            "--issuer",
            "https://a",
            "--token-endpoint",
            "https://b",
        ];
        let err = Cli::try_parse_from(argv).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn ca_file_becomes_absolute_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ca.pem");
        std::fs::write(&pem, "x").unwrap();
        let got = absolute_ca_file(&dir.path().join("./ca.pem")).unwrap();
        assert!(Path::new(&got).is_absolute());
        assert_eq!(Path::new(&got), std::fs::canonicalize(&pem).unwrap());
        let err = absolute_ca_file(&dir.path().join("nope.pem")).unwrap_err();
        assert_eq!(err.exit, Exit::Usage);
        assert!(err.message.starts_with("--ca-file "), "{err:?}");
        assert!(absolute_ca_file(dir.path()).is_err(), "a directory");
    }

    #[test]
    fn report_names_the_next_step_for_the_grant() {
        let r = AddReport {
            name: "plm",
            replaced: false,
            is_default: true,
            config_file: Path::new("/c.toml"),
            secret_store: Some("keyring (Secret Service)"),
            grant: Grant::Code,
        };
        assert_eq!(
            render_added(&r),
            "Added profile plm (the default profile) in /c.toml.\n\
             Client secret stored in keyring (Secret Service).\n\
             Next: run `wrs-token login plm`\n"
        );
        let r = AddReport {
            grant: Grant::ClientCredentials,
            replaced: true,
            is_default: false,
            secret_store: None,
            ..r
        };
        let text = render_added(&r);
        assert!(text.starts_with("Replaced profile plm in"), "{text}");
        assert!(
            text.ends_with("Next: run `wrs-token print -p plm`\n"),
            "{text}"
        );
    }
}
