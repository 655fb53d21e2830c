//! The network checks, through the real `curl` (this client has no HTTP
//! stack, by design): discovery and the issuer it names, the token
//! endpoint, the TLS chain, the clock against the server's `Date`, and the
//! proxy variables.
//!
//! TLS is judged as the daemon trusts: the system's CAs plus the profile's
//! `ca_file`. curl's `--cacert` replaces the system CAs instead of adding to
//! them, so a request that fails verification is retried with `--cacert`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wrs_config::Profile;

use super::Check;
use crate::output::now_unix;

/// What `curl --max-time` allows each request.
const MAX_TIME_SECS: u32 = 10;

/// Clock skew that earns a warning, and a failure (token expiry is computed
/// locally from `expires_in`, so a wrong clock hands out expired tokens or
/// refreshes far too often).
const SKEW_WARN_SECS: u64 = 30;
const SKEW_FAIL_SECS: u64 = 300;

/// The proxy variables curl and the daemon read, in the order shown.
const PROXY_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The curl to run.
pub(super) struct Curl {
    program: PathBuf,
}

impl Curl {
    /// `$WRS_TOKEN_CURL`, else `curl` on PATH; `None` when there is none.
    pub(super) fn locate() -> Option<Curl> {
        crate::programs::locate(Path::new(&crate::programs::curl_program()))
            .map(|program| Curl { program })
    }

    /// One request: GET, or POST of an empty `grant_type` (to a token
    /// endpoint), trusting `cacert` instead of the system CAs when given.
    fn fetch(&self, url: &str, post: bool, cacert: Option<&Path>) -> Result<Answer, CurlFailure> {
        let mut cmd = Command::new(&self.program);
        // -q first: the user's ~/.curlrc must not change what is checked.
        cmd.args(["-q", "-sS", "-i", "--max-time"])
            .arg(MAX_TIME_SECS.to_string())
            .args(["--connect-timeout", "5", "-H", "Accept: application/json"]);
        if post {
            cmd.args(["--data", "grant_type="]);
        }
        if let Some(ca) = cacert {
            cmd.arg("--cacert").arg(ca);
        }
        cmd.arg("--url").arg(url);
        let output = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| CurlFailure {
                code: None,
                message: format!("cannot run {}: {e}", self.program.display()),
            })?;
        let at = now_unix();
        if !output.status.success() {
            // The first line is the diagnosis; the rest is curl's advice
            // to read its web page.
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr.lines().map(str::trim).find(|l| !l.is_empty());
            let first = first.unwrap_or("").trim_start_matches("curl: ");
            let message = match first.strip_prefix('(').and_then(|r| r.split_once(") ")) {
                Some((code, rest)) if code.bytes().all(|b| b.is_ascii_digit()) => rest,
                _ => first,
            }
            .to_owned();
            return Err(CurlFailure {
                code: output.status.code(),
                message,
            });
        }
        parse_answer(&output.stdout, at).ok_or_else(|| CurlFailure {
            code: None,
            message: "curl printed no HTTP answer".into(),
        })
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// Our clock when curl returned (Unix seconds).
    at: u64,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// curl's failure: its exit code and message.
#[derive(Debug, Clone)]
struct CurlFailure {
    code: Option<i32>,
    message: String,
}

/// What a curl failure means, in the terms a fix is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    UntrustedCa,
    WrongHost,
    Expired,
    CaFileUnusable,
    Handshake,
    Resolve,
    ResolveProxy,
    Connect,
    Timeout,
    Other,
}

impl CurlFailure {
    fn trouble(&self) -> Trouble {
        let m = self.message.to_ascii_lowercase();
        match self.code {
            // curl 7.62+ reports a name mismatch as 60 too; older ones as 51.
            Some(51) => Trouble::WrongHost,
            Some(60) if m.contains("subject name") || m.contains("does not match") => {
                Trouble::WrongHost
            }
            Some(60) if m.contains("expired") => Trouble::Expired,
            Some(60) => Trouble::UntrustedCa,
            Some(77) => Trouble::CaFileUnusable,
            Some(35) => Trouble::Handshake,
            Some(6) => Trouble::Resolve,
            Some(5) => Trouble::ResolveProxy,
            Some(7) => Trouble::Connect,
            Some(28) => Trouble::Timeout,
            _ => Trouble::Other,
        }
    }

    fn is_tls(&self) -> bool {
        matches!(
            self.trouble(),
            Trouble::UntrustedCa
                | Trouble::WrongHost
                | Trouble::Expired
                | Trouble::CaFileUnusable
                | Trouble::Handshake
        )
    }
}

/// Reads `curl -i` output: the last header block (after any proxy
/// `CONNECT` or `100 Continue` answer) and the body.
fn parse_answer(raw: &[u8], at: u64) -> Option<Answer> {
    let mut rest = raw;
    loop {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        let after = &rest[end + 4..];
        if after.starts_with(b"HTTP/") {
            rest = after;
            continue;
        }
        let mut lines = head.lines();
        let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        return Some(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(after).into_owned(),
            at,
        });
    }
}

/// The global proxy line: which variables are set (credentials hidden).
pub(super) fn proxy_variables(out: &mut Vec<Check>) {
    let set: Vec<String> = PROXY_VARS
        .iter()
        .filter_map(|k| {
            let v = std::env::var(k).ok().filter(|v| !v.is_empty())?;
            Some(format!("{k}={}", redact_userinfo(&v)))
        })
        .collect();
    if set.is_empty() {
        out.push(Check::ok(
            "proxy",
            "no proxy variables set: direct connections",
        ));
    } else {
        out.push(Check::ok("proxy", set.join(", ")));
    }
}

/// `http://user:pass@proxy:3128` → `http://***@proxy:3128`.
fn redact_userinfo(value: &str) -> String {
    let (scheme, rest) = match value.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), value),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => value.to_owned(),
    }
}

/// The proxy (variable and value) a request to `scheme://host` would use,
/// `None` when none is set or `NO_PROXY` covers the host.
fn proxy_for(env: &impl Fn(&str) -> Option<String>, scheme: &str, host: &str) -> Option<String> {
    let keys: &[&str] = if scheme == "https" {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    let proxy = keys.iter().find_map(|k| env(k).filter(|v| !v.is_empty()))?;
    let no_proxy = env("NO_PROXY")
        .filter(|v| !v.is_empty())
        .or_else(|| env("no_proxy"))
        .unwrap_or_default();
    (!no_proxy_covers(&no_proxy, host)).then(|| redact_userinfo(&proxy))
}

/// Whether a `NO_PROXY` list covers `host` (exact names, domain suffixes
/// with or without a leading dot, `*`).
pub fn no_proxy_covers(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let domain = entry.trim_start_matches("*.").trim_start_matches('.');
            // An entry may carry a port (`host:443`); hosts here carry none.
            let domain = match domain.rsplit_once(':') {
                Some((d, port)) if port.bytes().all(|b| b.is_ascii_digit()) => d,
                _ => domain,
            };
            host == domain || host.ends_with(&format!(".{domain}"))
        })
}

/// A URL's scheme and host (no port, no brackets around IPv6).
fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| (scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// The OpenID Connect and RFC 8414 discovery URLs of `issuer`, as the
/// daemon tries them.
pub fn discovery_urls(issuer: &str) -> Vec<String> {
    let (scheme, rest) = issuer.split_once("://").unwrap_or(("https", issuer));
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = path.trim_end_matches('/');
    vec![
        format!("{scheme}://{authority}{path}/.well-known/openid-configuration"),
        format!("{scheme}://{authority}/.well-known/oauth-authorization-server{path}"),
    ]
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b)
}

/// An RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) in Unix
/// seconds.
pub fn parse_http_date(value: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as u64 + 1;
    let year: u64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if year < 1970 || !(1..=31).contains(&day) || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, for dates from 1970 on).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Every network check of one profile.
pub(super) fn profile(
    curl: &Curl,
    name: &str,
    profile: &Profile,
    config_path: &Path,
    out: &mut Vec<Check>,
) {
    let mut probe = Probe {
        curl,
        name,
        ca: profile.ca_file.as_deref().map(Path::new),
        config_path,
        tls_seen: Vec::new(),
        failed_hosts: Vec::new(),
        clock: None,
        out,
    };
    if let Some(ca) = probe.ca {
        probe.check_ca_file(ca);
    }
    let urls: Vec<&str> = [profile.issuer.as_deref(), profile.token_endpoint.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    probe.proxy_coverage(&urls);
    let mut token_endpoint = profile.token_endpoint.clone();
    if let Some(issuer) = &profile.issuer
        && let Some(found) = probe.discovery(issuer)
    {
        token_endpoint = token_endpoint.or(Some(found));
    }
    if let Some(url) = token_endpoint {
        probe.token_endpoint(&url);
    }
    if let Some(clock) = probe.clock.take() {
        probe.out.push(clock);
    }
}

/// The network checks of one profile, with what they have reported so far.
struct Probe<'a> {
    curl: &'a Curl,
    name: &'a str,
    ca: Option<&'a Path>,
    config_path: &'a Path,
    /// Hosts whose TLS (or plain-http) line is out.
    tls_seen: Vec<String>,
    /// Hosts a request failed for: not asked again (one failure, one line).
    failed_hosts: Vec<String>,
    /// The clock line, from the first answer with a `Date`; shown last.
    clock: Option<Check>,
    out: &'a mut Vec<Check>,
}

impl Probe<'_> {
    fn check(&self, what: &str) -> String {
        format!("{}: {what}", self.name)
    }

    fn check_ca_file(&mut self, ca: &Path) {
        let check = self.check("ca_file");
        // The daemon reads it under the config file's rules (a small
        // regular file): a FIFO here must not hang doctor either.
        let read = wrs_config::read_regular_file(ca, wrs_config::MAX_FILE_BYTES)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        match read {
            Ok(text) => {
                let n = text.matches("-----BEGIN CERTIFICATE-----").count();
                if n == 0 {
                    self.out.push(Check::fail(
                        check,
                        format!("{} holds no PEM certificate", ca.display()),
                        "ca_file must be PEM (`-----BEGIN CERTIFICATE-----`); convert a DER file with \
                         `openssl x509 -inform der -in corp-ca.cer -out corp-ca.pem`",
                    ));
                } else {
                    self.out.push(Check::ok(
                        check,
                        format!("{}: {n} certificate(s)", ca.display()),
                    ));
                }
            }
            Err(e) => self.out.push(Check::fail(
                check,
                e.to_string(),
                format!(
                    "point ca_file under [profiles.{}] in {} at a readable PEM file",
                    self.name,
                    self.config_path.display()
                ),
            )),
        }
    }

    fn proxy_coverage(&mut self, urls: &[&str]) {
        let env = |k: &str| std::env::var(k).ok();
        let mut seen: Vec<String> = Vec::new();
        for (scheme, host) in urls.iter().filter_map(|u| scheme_and_host(u)) {
            if seen.contains(&host) {
                continue;
            }
            seen.push(host.clone());
            let any_proxy = PROXY_VARS[..6]
                .iter()
                .any(|k| env(k).is_some_and(|v| !v.is_empty()));
            if !any_proxy {
                continue;
            }
            let check = self.check("proxy");
            match proxy_for(&env, &scheme, &host) {
                Some(proxy) => self.out.push(Check::warn(
                    check,
                    format!(
                        "requests to {host} go through the proxy {proxy} ({host} is not in NO_PROXY); \
                         an internal PingFederate is usually reached directly, not through the corporate proxy"
                    ),
                    format!(
                        "if {host} is inside your network: export NO_PROXY={host},$NO_PROXY, then restart \
                         the daemon so it sees it (`wrs-token daemon stop`; for the systemd service also \
                         `systemctl --user set-environment NO_PROXY=…`)"
                    ),
                )),
                None => self.out.push(Check::ok(
                    check,
                    format!("{host} is reached directly (NO_PROXY, or no proxy for {scheme})"),
                )),
            }
        }
    }

    /// Discovery and the issuer check; the token endpoint it names.
    fn discovery(&mut self, issuer: &str) -> Option<String> {
        let check = self.check("discovery");
        let mut misses = Vec::new();
        for url in discovery_urls(issuer) {
            let answer = self.request(&url, false, &check)?;
            if (400..500).contains(&answer.status) {
                misses.push(format!("{url} answered HTTP {}", answer.status));
                continue;
            }
            if !(200..300).contains(&answer.status) {
                self.out.push(Check::fail(
                    check,
                    format!("{url} answered HTTP {}", answer.status),
                    "the authorization server has a problem: retry later, or ask its administrators",
                ));
                return None;
            }
            let Ok(doc) = serde_json::from_str::<serde_json::Value>(&answer.body) else {
                self.out.push(Check::fail(
                    check,
                    format!("{url} did not answer with JSON (a login page or a proxy's page?)"),
                    "check the issuer URL, and NO_PROXY if a proxy answered",
                ));
                return None;
            };
            self.out.push(Check::ok(check, format!("{url} answered")));
            let check = self.check("issuer");
            match doc["issuer"].as_str() {
                Some(got) if same_issuer(got, issuer) => self.out.push(Check::ok(
                    check,
                    format!("discovery names {got}, as configured"),
                )),
                got => {
                    let got = got.unwrap_or("no issuer");
                    self.out.push(Check::fail(
                        check,
                        format!("discovery names {got}, the profile says {issuer}: tokens would be refused"),
                        format!(
                            "set issuer = \"{got}\" under [profiles.{}] in {} (it must match exactly)",
                            self.name,
                            self.config_path.display()
                        ),
                    ));
                }
            }
            return doc["token_endpoint"].as_str().map(str::to_owned);
        }
        self.out.push(Check::fail(
            check,
            format!("no discovery document: {}", misses.join("; ")),
            "check issuer (PingFederate's is its base URL, e.g. https://sso.example.com, without /as/…), \
             or give the endpoints explicitly: `wrs-token profile add … --authorization-endpoint URL --token-endpoint URL`",
        ));
        None
    }

    fn token_endpoint(&mut self, url: &str) {
        let check = self.check("token endpoint");
        let Some(answer) = self.request(url, true, &check) else {
            return;
        };
        let error = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(|e| format!(", `{e}`")))
            .unwrap_or_default();
        let status = answer.status;
        let detail = format!("{url} answered HTTP {status}{error} to an empty request");
        match status {
            200..=299 | 400 | 401 => self.out.push(Check::ok(
                check,
                format!("{detail}, as a token endpoint does"),
            )),
            404 | 405 => self.out.push(Check::fail(
                check,
                format!("{detail}: no token endpoint there"),
                "check token_endpoint (PingFederate's is https://HOST/as/token.oauth2)",
            )),
            _ => self.out.push(Check::warn(
                check,
                detail,
                "the authorization server may have a problem: retry later, or ask its administrators",
            )),
        }
    }

    /// One request, trusting the system CAs and then `ca_file`; reports a
    /// failure (under `check`, or as `tls`) and the TLS and clock lines.
    fn request(&mut self, url: &str, post: bool, check: &str) -> Option<Answer> {
        let (scheme, host) = scheme_and_host(url).unwrap_or_default();
        if self.failed_hosts.contains(&host) {
            return None;
        }
        let mut used_ca = false;
        let mut result = self.curl.fetch(url, post, None);
        if let (Err(f), Some(ca)) = (&result, self.ca)
            && f.trouble() == Trouble::UntrustedCa
        {
            used_ca = true;
            result = self.curl.fetch(url, post, Some(ca));
            // With a ca_file that is not the server's CA, OpenSSL may fail
            // the handshake rather than the verification (e.g. a CA of the
            // same name but another key): still "not trusted, not even with
            // ca_file", since without it the chain was plainly untrusted.
            if let Err(f) = &mut result
                && matches!(f.trouble(), Trouble::Handshake | Trouble::Other)
            {
                f.code = Some(60);
            }
        }
        match result {
            Ok(answer) => {
                self.tls_line(&scheme, &host, used_ca);
                self.clock_line(&host, &answer);
                Some(answer)
            }
            Err(failure) => {
                self.failed_hosts.push(host.clone());
                let check = if failure.is_tls() {
                    self.tls_seen.push(host.clone());
                    self.check("tls")
                } else {
                    check.to_owned()
                };
                let (detail, fix) = self.explain(&failure, url, &host, used_ca);
                self.out.push(Check::fail(check, detail, fix));
                None
            }
        }
    }

    fn tls_line(&mut self, scheme: &str, host: &str, used_ca: bool) {
        if self.tls_seen.iter().any(|h| h == host) {
            return;
        }
        self.tls_seen.push(host.to_owned());
        let check = self.check("tls");
        let line = match (scheme, is_loopback(host)) {
            ("https", _) => Check::ok(
                check,
                match (used_ca, self.ca) {
                    (true, Some(ca)) => format!(
                        "{host}: certificate chain verified with ca_file {}",
                        ca.display()
                    ),
                    _ => format!("{host}: certificate chain verified with the system's CAs"),
                },
            ),
            (_, true) => Check::ok(check, format!("{host}: plain http on loopback")),
            _ => Check::warn(
                check,
                format!("{host}: plain http, tokens cross the network unencrypted"),
                "use the server's https:// URLs in the profile",
            ),
        };
        self.out.push(line);
    }

    fn clock_line(&mut self, host: &str, answer: &Answer) {
        if self.clock.is_some() {
            return;
        }
        let Some(server) = answer.header("date").and_then(parse_http_date) else {
            return;
        };
        let check = self.check("clock");
        let skew = answer.at.abs_diff(server);
        let direction = if answer.at >= server {
            "ahead of"
        } else {
            "behind"
        };
        let detail = format!(
            "this machine's clock is {skew} s {direction} {host}'s (token expiry is computed locally)"
        );
        let fix = "synchronise the clock: `timedatectl set-ntp true` (or chrony/ntpd); on macOS \
                   System Settings → General → Date & Time";
        self.clock = Some(if skew > SKEW_FAIL_SECS {
            Check::fail(check, detail, fix)
        } else if skew > SKEW_WARN_SECS {
            Check::warn(check, detail, fix)
        } else {
            Check::ok(check, format!("within {skew} s of {host}'s clock"))
        });
    }

    /// The failure in plain words, and its fix.
    fn explain(
        &self,
        failure: &CurlFailure,
        url: &str,
        host: &str,
        used_ca: bool,
    ) -> (String, String) {
        let curl_said = format!("(curl: {})", failure.message);
        let name = self.name;
        let config = self.config_path.display();
        match failure.trouble() {
            Trouble::UntrustedCa => match (used_ca, self.ca) {
                (true, Some(ca)) => (
                    format!(
                        "{host}: the server's certificate is signed by a CA this machine does not trust, \
                         and ca_file {} does not hold it either {curl_said}",
                        ca.display()
                    ),
                    format!(
                        "ca_file must hold the CA that issued {host}'s certificate (PEM, with any \
                         intermediate CAs): ask the server's administrators for it and fix ca_file \
                         under [profiles.{name}] in {config}"
                    ),
                ),
                _ => (
                    format!(
                        "{host}: the server's certificate is signed by a CA this machine does not trust {curl_said}"
                    ),
                    format!(
                        "get your organisation's CA certificate (PEM) and add it to the profile: \
                         `wrs-token profile add {name} … --ca-file /path/to/corp-ca.pem --force`, \
                         or set ca_file = \"/path/to/corp-ca.pem\" under [profiles.{name}] in {config}"
                    ),
                ),
            },
            Trouble::WrongHost => (
                format!("{host}: the server's certificate is for another host name {curl_said}"),
                format!(
                    "use the host name the certificate was issued for in the profile's URLs \
                     (see it with `openssl s_client -connect {host}:443 </dev/null | openssl x509 -noout -ext subjectAltName`)"
                ),
            ),
            Trouble::Expired => (
                format!("{host}: the server's certificate has expired, or this machine's clock is wrong {curl_said}"),
                "check this machine's date (`date`); if it is right, the server's administrators must renew the certificate".into(),
            ),
            Trouble::CaFileUnusable => (
                format!("curl cannot use the profile's ca_file {curl_said}"),
                format!("point ca_file under [profiles.{name}] in {config} at a readable PEM file"),
            ),
            Trouble::Handshake => (
                format!("{host}: the TLS handshake failed {curl_said}"),
                "check that the URL's port speaks HTTPS, and the proxy variables".into(),
            ),
            Trouble::Resolve => (
                format!("cannot resolve {host} {curl_said}"),
                "check the host name in the profile's URLs, DNS, and the VPN".into(),
            ),
            Trouble::ResolveProxy => (
                format!("cannot resolve the proxy for {url} {curl_said}"),
                "check HTTPS_PROXY / https_proxy (see `proxy` above)".into(),
            ),
            Trouble::Connect => (
                format!("cannot connect to {host} {curl_said}"),
                "check the URL and port, the VPN or firewall, and the proxy variables (see `proxy` above)"
                    .into(),
            ),
            Trouble::Timeout => (
                format!("{url}: no answer within {MAX_TIME_SECS} s {curl_said}"),
                "check the VPN or firewall, and whether a proxy is needed (or must be bypassed with NO_PROXY)"
                    .into(),
            ),
            Trouble::Other => (
                format!(
                    "{url}: curl failed{} {curl_said}",
                    failure
                        .code
                        .map(|c| format!(" with exit code {c}"))
                        .unwrap_or_default()
                ),
                format!("run the request by hand to see more: curl -v {url}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_as_unix_seconds() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"),
            Some(951_782_400)
        );
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"), None);
    }

    #[test]
    fn curl_output_yields_the_last_answer_after_a_proxy_connect() {
        let raw = b"HTTP/1.1 200 Connection established\r\n\r\n\
HTTP/1.1 400 Bad Request\r\nDate: Thu, 01 Jan 1970 00:01:00 GMT\r\ncontent-type: application/json\r\n\r\n{\"error\":\"x\"}";
        let a = parse_answer(raw, 61).unwrap();
        assert_eq!(a.status, 400);
        assert_eq!(a.header("DATE"), Some("Thu, 01 Jan 1970 00:01:00 GMT"));
        assert_eq!(a.body, "{\"error\":\"x\"}");
        assert!(parse_answer(b"garbage", 0).is_none());
    }

    #[test]
    fn unknown_ca_name_mismatch_and_expiry_are_told_apart() {
        let f = |code, message: &str| CurlFailure {
            code: Some(code),
            message: message.into(),
        };
        assert_eq!(
            f(
                60,
                "SSL certificate problem: unable to get local issuer certificate"
            )
            .trouble(),
            Trouble::UntrustedCa
        );
        assert_eq!(
            f(
                60,
                "SSL certificate problem: self-signed certificate in certificate chain"
            )
            .trouble(),
            Trouble::UntrustedCa
        );
        assert_eq!(
            f(
                60,
                "SSL: no alternative certificate subject name matches target host name 'x'"
            )
            .trouble(),
            Trouble::WrongHost
        );
        assert_eq!(
            f(60, "SSL certificate problem: certificate has expired").trouble(),
            Trouble::Expired
        );
        assert!(f(77, "error setting certificate file").is_tls());
        assert!(!f(7, "Failed to connect").is_tls());
    }

    #[test]
    fn discovery_urls_are_the_oidc_then_rfc8414_locations() {
        assert_eq!(
            discovery_urls("https://sso.example.com/"),
            [
                "https://sso.example.com/.well-known/openid-configuration",
                "https://sso.example.com/.well-known/oauth-authorization-server",
            ]
        );
        assert_eq!(
            discovery_urls("http://127.0.0.1:9/tenant/a"),
            [
                "http://127.0.0.1:9/tenant/a/.well-known/openid-configuration",
                "http://127.0.0.1:9/.well-known/oauth-authorization-server/tenant/a",
            ]
        );
    }

    #[test]
    fn no_proxy_matches_names_suffixes_and_star() {
        assert!(no_proxy_covers("sso.corp.example", "sso.corp.example"));
        assert!(no_proxy_covers(
            "localhost, .corp.example",
            "sso.corp.example"
        ));
        assert!(no_proxy_covers("corp.example", "sso.corp.example"));
        assert!(no_proxy_covers("*", "anything"));
        assert!(no_proxy_covers("sso.corp.example:443", "sso.corp.example"));
        assert!(!no_proxy_covers("example.com", "sso.corp.example"));
        assert!(!no_proxy_covers("rp.example", "sso.corp.example"));
        assert!(!no_proxy_covers("", "sso.corp.example"));
    }

    #[test]
    fn a_proxy_applies_unless_no_proxy_covers_the_host_and_hides_credentials() {
        let env = |k: &str| match k {
            "HTTPS_PROXY" => Some("http://u:secret@proxy.example:3128".to_owned()),
            "NO_PROXY" => Some(".internal.example".to_owned()),
            _ => None,
        };
        assert_eq!(
            proxy_for(&env, "https", "sso.example.com").as_deref(),
            Some("http://***@proxy.example:3128")
        );
        assert_eq!(proxy_for(&env, "https", "sso.internal.example"), None);
        assert_eq!(
            proxy_for(&env, "http", "sso.example.com"),
            None,
            "HTTPS_PROXY is for https only"
        );
    }

    /// The clock line for a server whose `Date` is `behind` seconds behind
    /// ours.
    fn clock_check(behind: u64) -> Check {
        let curl = Curl {
            program: PathBuf::from("curl"),
        };
        let mut out = Vec::new();
        let mut probe = Probe {
            curl: &curl,
            name: "plm",
            ca: None,
            config_path: Path::new("/c.toml"),
            tls_seen: Vec::new(),
            failed_hosts: Vec::new(),
            clock: None,
            out: &mut out,
        };
        let answer = Answer {
            status: 200,
            // 2000-01-01T00:00:00Z
            headers: vec![("Date".into(), "Sat, 01 Jan 2000 00:00:00 GMT".into())],
            body: String::new(),
            at: 946_684_800 + behind,
        };
        probe.clock_line("sso", &answer);
        probe.clock.take().unwrap()
    }

    #[test]
    fn clock_skew_warns_above_30_s_and_fails_above_5_min() {
        use super::super::Status;
        assert_eq!(clock_check(2).status, Status::Ok);
        assert_eq!(clock_check(30).status, Status::Ok);
        let warn = clock_check(45);
        assert_eq!(warn.status, Status::Warn);
        assert!(
            warn.detail.contains("45 s ahead of sso's"),
            "{}",
            warn.detail
        );
        assert_eq!(clock_check(301).status, Status::Fail);
    }

    #[test]
    fn hosts_come_out_of_urls_without_port_or_credentials() {
        assert_eq!(
            scheme_and_host("https://u:p@SSO.example.com:8443/as/token.oauth2"),
            Some(("https".into(), "sso.example.com".into()))
        );
        assert_eq!(
            scheme_and_host("http://[::1]:80/x"),
            Some(("http".into(), "::1".into()))
        );
        assert_eq!(scheme_and_host("nonsense"), None);
    }
}
