//! `wrs-token curl [-p NAME] [--no-csrf] [CURL ARGS…]`: the real curl, with
//! the token handed over where `ps` cannot see it.
//!
//! - **The token** travels in curl's config, read from stdin: wrs-token runs
//!   `curl --config - ARGS…` and writes `header = "Authorization: Bearer …"`
//!   into the pipe. Arguments that would make curl read stdin themselves are
//!   refused ([`args::CurlLine::stdin_reader`]).
//! - **HTTP 401**: the same config adds `dump-header = "<file>"`, a file in
//!   a private directory (0700, the file 0600, both removed at the end),
//!   whose last status line is the final response's status. curl's stdout
//!   is untouched (unlike `--write-out`, which curl 7.x can only send to
//!   stdout or stderr). On 401 the daemon is told the token was rejected
//!   (`Invalidate{profile, token}`) and curl runs once more with a fresh one.
//! - **Windchill writes** (POST, PUT, PATCH, DELETE to an OData URL): a side
//!   request `GET …/PTC/GetCSRFToken()` with the same token and the user's
//!   connection options fetches a nonce, sent as `CSRF_NONCE: <value>`
//!   through the config too. Its cookies (a Windchill session) go into the
//!   private directory and along with the write.
//!
//! curl's exit status (signals as 128 + n), stdout and stderr are curl's.

pub mod args;

use std::ffi::{OsStr, OsString};
use std::io::{self, Write as _};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use wrs_config::Config;
use wrs_proto::{Request, Response, Secret, TokenReply};

use self::args::{CurlLine, Refusal};
use crate::cli::CurlArgs;
use crate::client::{Client, ClientError, QUICK_TIMEOUT, unexpected};
use crate::exit::exit_with;
use crate::exit::{Exit, Failure};
use crate::output::now_unix;
use crate::private_temp::PrivateDir;
use crate::resource::{self, Location};
use crate::token_text::{Format, render};

/// The Windchill action that hands out a CSRF nonce, below the OData root.
const NONCE_PATH: &str = "PTC/GetCSRFToken()";

/// The path segment every Windchill OData URL has.
const ODATA_MARK: &str = "/servlet/odata/";

/// Methods Windchill guards with a CSRF nonce.
const WRITE_METHODS: &[&str] = &["POST", "PUT", "PATCH", "DELETE", "MERGE"];

/// `wrs-token curl`.
pub fn run(client: &Client, args: &CurlArgs) -> Result<(), Failure> {
    let line = CurlLine::parse(&args.curl_args);
    if let Some(Refusal::ReadsStdin(arg)) = line.stdin_reader() {
        return Err(Failure::new(
            Exit::Usage,
            format!(
                "`{arg}` makes curl read stdin, but wrs-token passes the token to curl on stdin"
            ),
        )
        .with_hint("put that data in a file and name it instead (e.g. -d @body.json, -T file)"));
    }
    let Chosen {
        profile,
        resource,
        resource_ca,
    } = choose_profile(args, &line)?;
    // The user's own trust options win; else the CA that signs the
    // Windchill host (the profile's resource_ca_file, else its ca_file).
    let cacert = resource_ca.filter(|_| !line.sets_trust());
    let csrf_root = if args.no_csrf || !WRITE_METHODS.contains(&line.method().as_str()) {
        None
    } else {
        line.urls
            .first()
            .and_then(|url| csrf_root(url, resource.as_deref()))
    };
    let dir = PrivateDir::create("curl").map_err(|e| {
        Failure::new(
            Exit::Failure,
            format!("cannot create a private temporary directory: {e}"),
        )
        .with_hint("check TMPDIR")
    })?;
    let curl = crate::programs::curl_program();
    let session = Session {
        client,
        curl: &curl,
        line: &line,
        profile,
        min_ttl: args.min_ttl,
        cacert: cacert.as_deref(),
        dir: &dir,
    };
    let status = session.run(&args.curl_args, csrf_root.as_deref())?;
    drop(dir);
    exit_with(status)
}

/// The profile a `wrs-token curl` is for, and what it says about the
/// Windchill host.
struct Chosen {
    /// The profile to ask for (`None`: the daemon's default).
    profile: Option<String>,
    /// Its Windchill OData root.
    resource: Option<String>,
    /// The CA bundle that signs the Windchill host ([`wrs_config::Profile::resource_ca`]).
    resource_ca: Option<String>,
}

fn choose_profile(args: &CurlArgs, line: &CurlLine) -> Result<Chosen, Failure> {
    let path = crate::profiles::config_path()?;
    let config = crate::profiles::load(&path)?;
    let env_profile = std::env::var(wrs_sys::env::PROFILE).ok();
    let profile = pick(
        args.profile.as_deref(),
        line.urls.first().map(String::as_str),
        &config,
        env_profile.as_deref(),
    );
    let chosen = config
        .resolve_name(profile.as_deref())
        .and_then(|name| config.profiles.get(name));
    let resource = chosen.and_then(|p| p.resource.clone());
    let resource_ca = chosen.and_then(|p| p.resource_ca().map(str::to_owned));
    // -p and the config's names are checked already; the environment's is
    // not, and must not reach the daemon unchecked.
    if let Some(name) = &profile {
        crate::cli::profile_name::check_usage(name, wrs_sys::env::PROFILE)?;
    }
    Ok(Chosen {
        profile,
        resource,
        resource_ca,
    })
}

/// `-p`, else the profile matching `url`, else the environment's.
fn pick(
    explicit: Option<&str>,
    url: Option<&str>,
    config: &Config,
    env_profile: Option<&str>,
) -> Option<String> {
    let non_empty = |p: Option<&str>| p.filter(|p| !p.is_empty()).map(str::to_owned);
    non_empty(explicit)
        .or_else(|| {
            url.and_then(Location::parse)
                .and_then(|l| resource::profile_for(config, &l))
                .map(str::to_owned)
        })
        .or_else(|| non_empty(env_profile))
}

/// The OData root whose `PTC/GetCSRFToken()` serves `url`: the profile's
/// resource when `url` lies under it, else the URL up to `/servlet/odata/`.
/// `None`: not a Windchill OData URL.
pub fn csrf_root(url: &str, resource: Option<&str>) -> Option<String> {
    let target = Location::parse(url)?;
    if let Some(resource) = resource
        && Location::parse(resource).is_some_and(|r| r.contains(&target))
    {
        let mut root = resource.to_owned();
        if !root.ends_with('/') {
            root.push('/');
        }
        return Some(root);
    }
    let end = url.find(ODATA_MARK)? + ODATA_MARK.len();
    // Only a mark in the path counts, not one in the query.
    let query = url.find(['?', '#']).unwrap_or(url.len());
    (end <= query).then(|| url[..end].to_owned())
}

/// `value` as a double-quoted curl config string: `\` and `"` escaped.
/// Line breaks cannot be written (curl would end the line there), so a
/// value holding one is refused.
pub fn quote(value: &str) -> Option<String> {
    if value.contains(['\n', '\r', '\0']) {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    Some(out)
}

/// The config curl reads from stdin. It holds the token, hence a [`Secret`].
pub fn config_text(
    authorization: &str,
    nonce: Option<&Nonce>,
    dump_header: Option<&Path>,
    cookies: Option<&Path>,
) -> Result<Secret, Failure> {
    let unwritable = || {
        Failure::new(
            Exit::Failure,
            "a value for curl's config holds a line break",
        )
    };
    let mut text = String::new();
    let mut line = |key: &str, value: &str| -> Result<(), Failure> {
        let quoted = quote(value).ok_or_else(unwritable)?;
        text.push_str(&format!("{key} = {quoted}\n"));
        Ok(())
    };
    line("header", authorization)?;
    if let Some(nonce) = nonce {
        line("header", &format!("{}: {}", nonce.key, nonce.value))?;
    }
    if let Some(path) = dump_header {
        line("dump-header", &path.to_string_lossy())?;
    }
    if let Some(path) = cookies {
        line("cookie", &path.to_string_lossy())?;
    }
    Ok(Secret::new(text))
}

/// The status of the last response in a `--dump-header` file (redirects,
/// `100 Continue` and proxy `CONNECT` answers come before it).
pub fn last_status(headers: &str) -> Option<u16> {
    headers
        .lines()
        .filter(|l| l.starts_with("HTTP/"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .next_back()
}

/// A CSRF nonce and the header that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce {
    /// The header name (`NonceKey`, normally `CSRF_NONCE`).
    pub key: String,
    /// The nonce (`NonceValue`).
    pub value: String,
}

/// How fetching the nonce went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonceOutcome {
    /// Got one.
    Nonce(Nonce),
    /// The server rejected the token.
    Unauthorized,
    /// Anything else, said in words.
    Failed(String),
}

/// Reads `GetCSRFToken()`'s answer: the body, a newline, the status.
pub fn read_nonce_answer(output: &str) -> NonceOutcome {
    let Some((body, code)) = output.rsplit_once('\n') else {
        return NonceOutcome::Failed("no answer".into());
    };
    match code.trim() {
        "401" => return NonceOutcome::Unauthorized,
        c if c.starts_with('2') => {}
        "000" => return NonceOutcome::Failed("no HTTP answer".into()),
        c => return NonceOutcome::Failed(format!("HTTP {c}")),
    }
    let json: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => return NonceOutcome::Failed("the answer is not JSON".into()),
    };
    let key = json["NonceKey"].as_str().unwrap_or("CSRF_NONCE");
    let header_name = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match json["NonceValue"].as_str() {
        Some(value) if header_name && !value.is_empty() => NonceOutcome::Nonce(Nonce {
            key: key.to_owned(),
            value: value.to_owned(),
        }),
        _ => NonceOutcome::Failed("the answer has no usable NonceKey/NonceValue".into()),
    }
}

/// Tells the daemon `token` was rejected, so the next request gets a new one.
pub fn invalidate(
    client: &Client,
    profile: Option<String>,
    token: &Secret,
) -> Result<(), ClientError> {
    let request = Request::Invalidate {
        profile,
        token: Some(token.clone()),
    };
    match client.request(request, QUICK_TIMEOUT)? {
        Response::Invalidated { .. } => Ok(()),
        other => Err(unexpected("invalidate", &other)),
    }
}

/// One `wrs-token curl` call: at most two attempts.
struct Session<'a> {
    client: &'a Client,
    curl: &'a OsStr,
    line: &'a CurlLine,
    profile: Option<String>,
    min_ttl: Option<u64>,
    /// `--cacert` for curl, unless the user set their own trust.
    cacert: Option<&'a str>,
    dir: &'a PrivateDir,
}

impl Session<'_> {
    fn run(&self, user_args: &[OsString], csrf_root: Option<&str>) -> Result<ExitStatus, Failure> {
        // With the user's own --dump-header, ours would be overridden.
        let headers = if self.line.dumps_headers() {
            None
        } else {
            Some(self.dir.file("headers").map_err(|e| {
                Failure::new(
                    Exit::Failure,
                    format!("cannot create a private temporary file: {e}"),
                )
            })?)
        };
        let jar = self.dir.path.join("cookies");
        let mut retried = false;
        loop {
            let token = self.token()?;
            let authorization = render(&token, Format::Header, false, now_unix());
            let mut nonce = None;
            if let Some(root) = csrf_root {
                match self.fetch_nonce(root, &authorization, &jar)? {
                    NonceOutcome::Nonce(n) => nonce = Some(n),
                    NonceOutcome::Unauthorized if !retried => {
                        retried = true;
                        self.invalidate(&token)?;
                        continue;
                    }
                    NonceOutcome::Unauthorized => warn(&format!(
                        "{root}{NONCE_PATH} rejected a fresh token (HTTP 401); \
                         sending the request without a CSRF nonce"
                    )),
                    NonceOutcome::Failed(why) => warn(&format!(
                        "cannot get a CSRF nonce from {root}{NONCE_PATH} ({why}); \
                         sending the request without one"
                    )),
                }
            }
            let headers_file = headers.as_deref();
            let cookies = has_cookies(&jar).then_some(jar.as_path());
            let config = config_text(
                authorization.expose(),
                nonce.as_ref(),
                headers_file,
                cookies,
            )?;
            let status = self.curl(&config, user_args)?;
            let rejected = headers_file
                .and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(|h| last_status(&h))
                == Some(401);
            if rejected && !retried {
                retried = true;
                self.invalidate(&token)?;
                continue;
            }
            return Ok(status);
        }
    }

    fn token(&self) -> Result<TokenReply, Failure> {
        let reply = self
            .client
            .get_token(self.profile.clone(), self.min_ttl)
            .map_err(|e| Failure::from_client(e, self.profile.as_deref()))?;
        crate::output::warn_if_short(&reply);
        Ok(reply)
    }

    fn invalidate(&self, token: &TokenReply) -> Result<(), Failure> {
        invalidate(self.client, self.profile.clone(), &token.access_token)
            .map_err(|e| Failure::from_client(e, self.profile.as_deref()))
    }

    /// Runs the user's curl with `config` on stdin.
    fn curl(&self, config: &Secret, user_args: &[OsString]) -> Result<ExitStatus, Failure> {
        let mut command = Command::new(self.curl);
        command.arg("--config").arg("-");
        if let Some(ca) = self.cacert {
            command.arg("--cacert").arg(ca);
        }
        command.args(user_args);
        spawn_with_config(command, config, false).map(|(status, _)| status)
    }

    /// `GET <root>PTC/GetCSRFToken()` with the same token and connection
    /// options; cookies the server sets go into `jar`.
    fn fetch_nonce(
        &self,
        root: &str,
        authorization: &Secret,
        jar: &Path,
    ) -> Result<NonceOutcome, Failure> {
        let mut command = Command::new(self.curl);
        command
            .args(["--config", "-", "--silent", "--show-error", "--globoff"])
            .args(self.line.connection_args())
            .args(self.cacert.iter().flat_map(|ca| ["--cacert", ca]))
            .arg("--cookie-jar")
            .arg(jar)
            .args(["--write-out", "\n%{http_code}"])
            .arg(format!("{root}{NONCE_PATH}"));
        let config = config_text(authorization.expose(), None, None, None)?;
        let (_, output) = spawn_with_config(command, &config, true)?;
        Ok(read_nonce_answer(&String::from_utf8_lossy(&output)))
    }
}

/// Spawns `command` with `config` written to its stdin, stderr passed
/// through; stdout too unless `capture`, in which case it is returned.
fn spawn_with_config(
    mut command: Command,
    config: &Secret,
    capture: bool,
) -> Result<(ExitStatus, Vec<u8>), Failure> {
    command.stdin(Stdio::piped());
    if capture {
        command.stdout(Stdio::piped());
    }
    let mut child = command.spawn().map_err(|e| {
        Failure::new(
            Exit::Failure,
            format!(
                "cannot run {}: {e}",
                command.get_program().to_string_lossy()
            ),
        )
        .with_hint(format!(
            "install curl, or set {} to the curl to run",
            wrs_sys::env::CURL
        ))
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        // curl may exit before reading (a usage error): its own message
        // and status say why, so a broken pipe here is not ours to report.
        let _ = stdin.write_all(config.expose().as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| Failure::new(Exit::Failure, format!("waiting for curl failed: {e}")))?;
    Ok((output.status, output.stdout))
}

fn warn(message: &str) {
    let _ = io::stderr().write_all(format!("wrs-token: {message}\n").as_bytes());
}

/// Whether a cookie jar curl wrote holds a cookie (not just its header).
fn has_cookies(jar: &Path) -> bool {
    std::fs::read_to_string(jar).is_ok_and(|text| {
        text.lines()
            .any(|l| !l.trim().is_empty() && (!l.starts_with('#') || l.starts_with("#HttpOnly_")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wrs_config::Profile;

    #[test]
    fn config_strings_escape_quotes_and_backslashes() {
        assert_eq!(quote("plain").unwrap(), "\"plain\"");
        assert_eq!(quote(r#"a"b\c"#).unwrap(), r#""a\"b\\c""#);
        assert_eq!(quote("tab\there").unwrap(), "\"tab\\there\"");
        assert_eq!(quote(r"\"), Some(r#""\\""#.to_owned()));
        for bad in ["a\nb", "a\rb", "a\0b"] {
            assert_eq!(quote(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn config_carries_the_header_the_nonce_and_the_header_dump() {
        let nonce = Nonce {
            key: "CSRF_NONCE".into(),
            value: "n\"1".into(),
        };
        let text = config_text(
            "Authorization: Bearer t.k",
            Some(&nonce),
            Some(Path::new("/tmp/d/headers")),
            Some(Path::new("/tmp/d/cookies")),
        )
        .unwrap();
        assert_eq!(
            text.expose(),
            "header = \"Authorization: Bearer t.k\"\n\
             header = \"CSRF_NONCE: n\\\"1\"\n\
             dump-header = \"/tmp/d/headers\"\n\
             cookie = \"/tmp/d/cookies\"\n"
        );
        assert!(config_text("Authorization: Bearer a\nb", None, None, None).is_err());
    }

    #[test]
    fn the_last_status_line_is_the_final_answer() {
        let dump = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n\
                    HTTP/2 401 \r\nwww-authenticate: Bearer\r\n\r\n";
        assert_eq!(last_status(dump), Some(401));
        assert_eq!(last_status("HTTP/1.1 200 OK\r\n\r\n"), Some(200));
        assert_eq!(last_status(""), None);
    }

    #[test]
    fn csrf_root_is_the_resource_or_the_odata_prefix() {
        let resource = Some("https://plm.example.com/Windchill/oauth/servlet/odata/");
        assert_eq!(
            csrf_root(
                "https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts",
                resource
            )
            .as_deref(),
            resource
        );
        assert_eq!(
            csrf_root("http://127.0.0.1:9/W/", Some("http://127.0.0.1:9/W")).as_deref(),
            Some("http://127.0.0.1:9/W/")
        );
        assert_eq!(
            csrf_root(
                "https://qa.example.com/Windchill/servlet/odata/v5/ProdMgmt/Parts",
                resource
            )
            .as_deref(),
            Some("https://qa.example.com/Windchill/servlet/odata/")
        );
        assert_eq!(csrf_root("https://example.com/api/items", resource), None);
        assert_eq!(
            csrf_root("https://example.com/a?next=/servlet/odata/", None),
            None
        );
    }

    #[test]
    fn nonce_answers_are_read_with_care() {
        let ok = "{\"NonceKey\":\"CSRF_NONCE\",\"NonceValue\":\"abc=\"}\n200";
        assert_eq!(
            read_nonce_answer(ok),
            NonceOutcome::Nonce(Nonce {
                key: "CSRF_NONCE".into(),
                value: "abc=".into()
            })
        );
        assert_eq!(read_nonce_answer("{}\n401"), NonceOutcome::Unauthorized);
        assert!(matches!(
            read_nonce_answer("\n000"),
            NonceOutcome::Failed(_)
        ));
        assert!(matches!(
            read_nonce_answer("nope\n200"),
            NonceOutcome::Failed(_)
        ));
        let injected = "{\"NonceKey\":\"X: y\\r\\nZ\",\"NonceValue\":\"v\"}\n200";
        assert!(matches!(
            read_nonce_answer(injected),
            NonceOutcome::Failed(_)
        ));
    }

    #[test]
    fn profile_is_explicit_then_matched_then_from_the_environment() {
        let mut config = Config::default();
        config.profiles.insert(
            "wc".into(),
            Profile {
                client_id: "c".into(),
                token_endpoint: Some("http://127.0.0.1:1/t".into()),
                resource: Some("http://127.0.0.1:9031/Windchill/oauth/servlet/odata/".into()),
                ..Profile::default()
            },
        );
        let url = Some("http://127.0.0.1:9031/Windchill/oauth/servlet/odata/ProdMgmt/Parts");
        assert_eq!(pick(None, url, &config, Some("env")).as_deref(), Some("wc"));
        assert_eq!(pick(Some("x"), url, &config, None).as_deref(), Some("x"));
        let other = Some("http://127.0.0.1:9032/x");
        assert_eq!(
            pick(None, other, &config, Some("env")).as_deref(),
            Some("env")
        );
        assert_eq!(pick(None, other, &config, None), None);
        assert_eq!(pick(None, None, &config, Some("")), None);
    }

    #[test]
    fn only_real_cookie_lines_count() {
        let dir = PrivateDir::create("curl").unwrap();
        let jar = dir.path.join("jar");
        assert!(!has_cookies(&jar));
        std::fs::write(&jar, "# Netscape HTTP Cookie File\n# comment\n\n").unwrap();
        assert!(!has_cookies(&jar));
        std::fs::write(&jar, "#HttpOnly_h\tFALSE\t/\tFALSE\t0\tJSESSIONID\tx\n").unwrap();
        assert!(has_cookies(&jar));
    }
}
