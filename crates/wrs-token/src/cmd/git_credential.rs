//! `wrs-token git-credential get|store|erase|capability`: a git credential
//! helper (gitcredentials(7), git-credential(1)).
//!
//! git writes `key=value` lines and a blank line (or closes the pipe) to the
//! helper's stdin. `get` answers with a token for the profile that matches
//! git's URL: as `authtype=Bearer` + `credential=<token>` when git (2.46+)
//! announced `capability[]=authtype`, else as `username`/`password`. Both
//! are marked ephemeral with their expiry so no git store helper keeps
//! them. `erase` means the server rejected the token: the daemon is told to
//! drop it, so the next `get` brings a fresh one. `store` has nothing to do:
//! the daemon keeps the tokens. Any other action is ignored, as the
//! protocol asks. The refresh token is never part of an answer.

use std::io::{self, BufRead, Read as _};

use wrs_config::Config;
use wrs_proto::{Request, Response, Secret, TokenReply};

use crate::cli::GitCredentialArgs;
use crate::client::{Client, QUICK_TIMEOUT, unexpected};
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;
use crate::resource::{self, Location};

/// Longest input line accepted (git's own limit is far below this).
pub const MAX_LINE: usize = 64 * 1024;

/// What git sent. Secrets stay in [`Secret`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialRequest {
    /// `protocol`, e.g. `https`.
    pub protocol: Option<String>,
    /// `host`, with `:port` when not the default.
    pub host: Option<String>,
    /// `path`, sent with `credential.useHttpPath` only.
    pub path: Option<String>,
    /// `url`, which some callers send instead of the parts.
    pub url: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `password` (on `erase`: the rejected token, for older git).
    pub password: Option<Secret>,
    /// `authtype`, e.g. `Bearer`.
    pub authtype: Option<String>,
    /// `credential` (on `erase`: the rejected token, with `authtype`).
    pub credential: Option<Secret>,
    /// Every `capability[]`, in order.
    pub capabilities: Vec<String>,
    /// Every `wwwauth[]` (the server's `WWW-Authenticate` values), in order.
    pub wwwauth: Vec<String>,
}

impl CredentialRequest {
    /// Whether git announced `capability[]=authtype`.
    pub fn supports_authtype(&self) -> bool {
        self.capabilities.iter().any(|c| c == "authtype")
    }

    /// Where git is going, from `protocol`/`host`/`path` or `url`.
    pub fn location(&self) -> Option<Location> {
        match (&self.protocol, &self.host) {
            (Some(protocol), Some(host)) => {
                Location::from_git(protocol, host, self.path.as_deref())
            }
            _ => self.url.as_deref().and_then(Location::parse),
        }
    }

    /// The token git was using, for `erase`.
    fn rejected_token(&self) -> Option<Secret> {
        self.credential
            .clone()
            .or_else(|| self.password.clone())
            .filter(|s| !s.is_empty())
    }
}

/// Why git's input could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// A line longer than [`MAX_LINE`] bytes.
    #[error("a credential line is longer than {MAX_LINE} bytes")]
    TooLong,
    /// A NUL byte, which the protocol forbids.
    #[error("a credential line contains a NUL byte")]
    Nul,
    /// A line that is not UTF-8.
    #[error("a credential line is not UTF-8")]
    NotUtf8,
    /// A line without `=`.
    #[error("invalid credential line {0:?} (expected key=value)")]
    NoEquals(String),
    /// Reading stdin failed.
    #[error("cannot read the credential from stdin: {0}")]
    Io(String),
}

/// Reads `key=value` lines up to a blank line or the end of input. Unknown
/// keys are ignored; a repeated key's last value wins, except the `[]`
/// keys, which collect (an empty value clears the list, as in git).
pub fn parse(mut input: impl BufRead) -> Result<CredentialRequest, ParseError> {
    let mut request = CredentialRequest::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX) + 2;
        let n = (&mut input)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(|e| ParseError::Io(e.to_string()))?;
        if n == 0 {
            break;
        }
        let mut line = buf.as_slice();
        let ended = line.last() == Some(&b'\n');
        if ended {
            line = &line[..line.len() - 1];
        }
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        if line.len() > MAX_LINE {
            return Err(ParseError::TooLong);
        }
        if line.contains(&0) {
            return Err(ParseError::Nul);
        }
        if line.is_empty() {
            break;
        }
        let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
        let Some((key, value)) = line.split_once('=') else {
            return Err(ParseError::NoEquals(line.chars().take(40).collect()));
        };
        let value = value.to_owned();
        match key {
            "protocol" => request.protocol = Some(value),
            "host" => request.host = Some(value),
            "path" => request.path = Some(value),
            "url" => request.url = Some(value),
            "username" => request.username = Some(value),
            "password" => request.password = Some(Secret::new(value)),
            "authtype" => request.authtype = Some(value),
            "credential" => request.credential = Some(Secret::new(value)),
            "capability[]" => push_or_clear(&mut request.capabilities, value),
            "wwwauth[]" => push_or_clear(&mut request.wwwauth, value),
            _ => {}
        }
        if !ended {
            break;
        }
    }
    Ok(request)
}

fn push_or_clear(list: &mut Vec<String>, value: String) {
    if value.is_empty() {
        list.clear();
    } else {
        list.push(value);
    }
}

/// The answer to `get`, holding the token.
pub fn render_get(
    request: &CredentialRequest,
    reply: &TokenReply,
    username: &str,
) -> Result<Secret, Failure> {
    let token = reply.access_token.expose();
    if token.contains(['\n', '\0']) || username.contains(['\n', '\0']) {
        return Err(Failure::new(
            Exit::Failure,
            "the token cannot be written as a git credential (it holds a newline or NUL)",
        ));
    }
    let expiry = reply.expires_at;
    let text = if request.supports_authtype() {
        let scheme = auth_scheme(&reply.token_type);
        format!(
            "capability[]=authtype\nauthtype={scheme}\ncredential={token}\n\
             ephemeral=true\npassword_expiry_utc={expiry}\n"
        )
    } else {
        // `ephemeral` is unknown to git before 2.46 and harmless there;
        // where it is understood it keeps store helpers from saving the token.
        format!(
            "username={username}\npassword={token}\nephemeral=true\npassword_expiry_utc={expiry}\n"
        )
    };
    Ok(Secret::new(text))
}

/// `Bearer` in its canonical spelling; other token types pass through.
fn auth_scheme(token_type: &str) -> &str {
    if token_type.is_empty() || token_type.eq_ignore_ascii_case("bearer") {
        "Bearer"
    } else {
        token_type
    }
}

/// The profile for `request`: `-p`, else the one whose resource matches
/// git's URL, else `$WRS_TOKEN_PROFILE`. `None`: not ours to answer.
pub fn choose_profile(
    explicit: Option<&str>,
    request: &CredentialRequest,
    config: &Config,
    env_profile: Option<&str>,
) -> Option<String> {
    if let Some(p) = explicit.filter(|p| !p.is_empty()) {
        return Some(p.to_owned());
    }
    if let Some(name) = request
        .location()
        .and_then(|l| resource::profile_for(config, &l))
    {
        return Some(name.to_owned());
    }
    env_profile.filter(|p| !p.is_empty()).map(str::to_owned)
}

/// `wrs-token git-credential ACTION`.
pub fn run(client: &Client, args: &GitCredentialArgs) -> Result<(), Failure> {
    match args.action.as_str() {
        "capability" => write_stdout(b"version 0\ncapability authtype\n"),
        "get" => get(client, args),
        "erase" => erase(client, args),
        // `store`: the daemon keeps the tokens. Unknown actions: ignored, as
        // gitcredentials(7) asks. Either way git's input is read and dropped.
        _ => {
            let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
            Ok(())
        }
    }
}

fn read_request() -> Result<CredentialRequest, Failure> {
    parse(io::stdin().lock()).map_err(|e| Failure::new(Exit::Failure, e.to_string()))
}

/// The profile for this request, reading the config file only when `-p`
/// does not settle it.
fn profile_for(
    args: &GitCredentialArgs,
    request: &CredentialRequest,
) -> Result<Option<String>, Failure> {
    let env_profile = std::env::var(wrs_sys::env::PROFILE).ok();
    let config = if args.profile.as_deref().is_some_and(|p| !p.is_empty()) {
        Config::default()
    } else {
        let path = crate::profiles::config_path()?;
        crate::profiles::load(&path)?
    };
    let profile = choose_profile(
        args.profile.as_deref(),
        request,
        &config,
        env_profile.as_deref(),
    );
    // -p and the config's names are checked already; the environment's is
    // not, and must not reach the daemon unchecked.
    if let Some(name) = &profile {
        crate::cli::profile_name::check_usage(name, wrs_sys::env::PROFILE)?;
    }
    Ok(profile)
}

fn get(client: &Client, args: &GitCredentialArgs) -> Result<(), Failure> {
    let request = read_request()?;
    let Some(profile) = profile_for(args, &request)? else {
        // Not a host of ours: say nothing, git asks its other helpers.
        return Ok(());
    };
    let reply = client
        .get_token(Some(profile.clone()), args.min_ttl)
        .map_err(|e| Failure::from_client(e, Some(&profile)))?;
    crate::output::warn_if_short(&reply);
    let answer = render_get(&request, &reply, &args.username)?;
    write_stdout(answer.expose().as_bytes())
}

fn erase(client: &Client, args: &GitCredentialArgs) -> Result<(), Failure> {
    let request = read_request()?;
    let Some(profile) = profile_for(args, &request)? else {
        return Ok(());
    };
    let invalidate = Request::Invalidate {
        profile: Some(profile.clone()),
        token: request.rejected_token(),
    };
    match client.request(invalidate, QUICK_TIMEOUT) {
        Ok(Response::Invalidated { .. }) => Ok(()),
        Ok(other) => Err(Failure::from(unexpected("invalidate", &other))),
        Err(e) => Err(Failure::from_client(e, Some(&profile))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wrs_config::Profile;

    fn parsed(text: &str) -> CredentialRequest {
        parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn reads_fields_up_to_the_blank_line_and_ignores_unknown_keys() {
        let r = parsed(
            "protocol=https\nhost=plm.example.com:8443\npath=git/r.git\n\
             future_key=whatever\nusername=u\npassword=p\n\nprotocol=ftp\n",
        );
        assert_eq!(r.protocol.as_deref(), Some("https"));
        assert_eq!(r.host.as_deref(), Some("plm.example.com:8443"));
        assert_eq!(r.path.as_deref(), Some("git/r.git"));
        assert_eq!(r.username.as_deref(), Some("u"));
        assert_eq!(r.password.as_ref().map(Secret::expose), Some("p"));
    }

    #[test]
    fn a_missing_trailing_blank_line_or_newline_is_fine() {
        assert_eq!(
            parsed("protocol=https\nhost=h\n").host.as_deref(),
            Some("h")
        );
        assert_eq!(parsed("protocol=https\nhost=h").host.as_deref(), Some("h"));
        assert_eq!(parsed(""), CredentialRequest::default());
    }

    #[test]
    fn repeated_keys_last_wins_but_arrays_collect() {
        let r = parsed(
            "host=a\nhost=b\ncapability[]=authtype\ncapability[]=state\n\
             wwwauth[]=Bearer realm=\"x\"\nwwwauth[]=Basic realm=\"y\"\n",
        );
        assert_eq!(r.host.as_deref(), Some("b"));
        assert_eq!(r.capabilities, ["authtype", "state"]);
        assert!(r.supports_authtype());
        assert_eq!(r.wwwauth, ["Bearer realm=\"x\"", "Basic realm=\"y\""]);
        let cleared = parsed("capability[]=authtype\ncapability[]=\n");
        assert!(cleared.capabilities.is_empty());
        assert!(!cleared.supports_authtype());
    }

    #[test]
    fn values_keep_their_equals_signs_and_crlf_is_tolerated() {
        let r = parsed("password=a=b==\r\nhost=h\r\n\r\nignored=1\n");
        assert_eq!(r.password.unwrap().expose(), "a=b==");
        assert_eq!(r.host.as_deref(), Some("h"));
    }

    #[test]
    fn overlong_lines_nul_bytes_and_lines_without_equals_are_errors() {
        let long = format!("host={}\n", "x".repeat(MAX_LINE));
        assert_eq!(parse(long.as_bytes()), Err(ParseError::TooLong));
        let fits = format!("host={}\n", "x".repeat(MAX_LINE - 5));
        assert!(parse(fits.as_bytes()).is_ok());
        assert_eq!(parse(&b"host=a\0b\n"[..]), Err(ParseError::Nul));
        assert!(matches!(
            parse(&b"hostonly\n"[..]),
            Err(ParseError::NoEquals(_))
        ));
        assert_eq!(parse(&b"host=\xff\n"[..]), Err(ParseError::NotUtf8));
    }

    #[test]
    fn location_comes_from_the_parts_or_the_url() {
        let r = parsed("protocol=http\nhost=127.0.0.1:8080\n");
        assert_eq!(r.location(), Location::parse("http://127.0.0.1:8080/"));
        let r = parsed("url=https://plm.example.com/git/r.git\n");
        assert_eq!(r.location().unwrap().path, "/git/r.git");
    }

    fn reply() -> TokenReply {
        TokenReply {
            profile: "plm".into(),
            access_token: Secret::new("tok.en"),
            token_type: "bearer".into(),
            expires_at: 1_800_000_000,
            lifetime_secs: 3600,
            min_ttl_secs: 10,
            min_ttl_met: true,
            warning: None,
            scope: None,
        }
    }

    #[test]
    fn get_answers_bearer_when_git_announced_authtype() {
        let r = parsed("capability[]=authtype\nprotocol=https\nhost=h\n");
        let out = render_get(&r, &reply(), "oauth2").unwrap();
        assert_eq!(
            out.expose(),
            "capability[]=authtype\nauthtype=Bearer\ncredential=tok.en\n\
             ephemeral=true\npassword_expiry_utc=1800000000\n"
        );
    }

    #[test]
    fn get_falls_back_to_username_and_password() {
        let r = parsed("protocol=https\nhost=h\n");
        let out = render_get(&r, &reply(), "oauth2").unwrap();
        let text = out.expose();
        assert!(
            text.starts_with("username=oauth2\npassword=tok.en\n"),
            "{text}"
        );
        assert!(text.contains("password_expiry_utc=1800000000\n"), "{text}");
        assert!(!text.contains("authtype"), "{text}");
        let out = render_get(&r, &reply(), "svc").unwrap();
        assert!(out.expose().starts_with("username=svc\n"));
    }

    #[test]
    fn a_token_with_a_newline_is_never_written() {
        let mut bad = reply();
        bad.access_token = Secret::new("a\nusername=evil");
        assert!(render_get(&CredentialRequest::default(), &bad, "oauth2").is_err());
    }

    #[test]
    fn erase_uses_the_rejected_credential_or_password() {
        let r = parsed("authtype=Bearer\ncredential=old\n");
        assert_eq!(r.rejected_token().unwrap().expose(), "old");
        let r = parsed("username=oauth2\npassword=older\n");
        assert_eq!(r.rejected_token().unwrap().expose(), "older");
        assert!(parsed("host=h\n").rejected_token().is_none());
    }

    #[test]
    fn profile_is_explicit_then_matched_then_from_the_environment() {
        let mut config = Config::default();
        config.profiles.insert(
            "plm".into(),
            Profile {
                client_id: "c".into(),
                token_endpoint: Some("https://sso/t".into()),
                resource: Some("https://plm.example.com/Windchill/oauth/servlet/odata/".into()),
                ..Profile::default()
            },
        );
        let ours = parsed("protocol=https\nhost=plm.example.com\n");
        let theirs = parsed("protocol=https\nhost=github.com\n");
        assert_eq!(
            choose_profile(None, &ours, &config, None).as_deref(),
            Some("plm")
        );
        assert_eq!(choose_profile(None, &theirs, &config, None), None);
        assert_eq!(
            choose_profile(Some("x"), &theirs, &config, None).as_deref(),
            Some("x")
        );
        assert_eq!(
            choose_profile(None, &theirs, &config, Some("env")).as_deref(),
            Some("env")
        );
        // A match beats the environment; an empty -p or variable counts as unset.
        assert_eq!(
            choose_profile(Some(""), &ours, &config, Some("env")).as_deref(),
            Some("plm")
        );
        assert_eq!(choose_profile(None, &theirs, &config, Some("")), None);
    }
}
