//! `wrs-tokend probe PROFILE [--json]`: one profile's network checks, made
//! with the very parts the daemon builds its OAuth client from
//! ([`crate::oauth_source::client`]): the same configuration, `ca_file`,
//! proxies, timeouts, discovery and stored client secret. `wrs-token
//! doctor` runs it and shows its report; `wrs-token` itself has no HTTP
//! stack.
//!
//! A one-shot run: no socket, no lock, no daemon, nothing written (it only
//! reads the configuration and the secret store), so a running daemon is
//! never disturbed. Each check has a status, a detail and a fix
//! ([`wrs_proto::probe`]); a check that an earlier failure makes
//! meaningless is left out, so one problem is one line:
//!
//! 1. `ca_file`: readable, with certificates (only when set);
//! 2. per host (the issuer's, then the token endpoint's if another):
//!    `proxy` (the one reqwest uses for it, or direct) and `tls` (the chain
//!    the daemon trusts; when `ca_file` is set, whether it is what makes
//!    the chain trusted; plain http on loopback);
//! 3. `discovery` and `issuer` (the RFC 8414 check the daemon makes);
//! 4. `token endpoint` and `client auth`: one refresh with a dummy refresh
//!    token and the client's real credentials. `invalid_grant` means the
//!    endpoint is a token endpoint and the client was authenticated (its
//!    stored secret, or its id for a public client); `invalid_client` means
//!    it was not;
//! 5. `clock`: this machine's clock against the first `Date` seen.
//!
//! The probe never prints a secret: the client secret only travels in the
//! request, and server text passes wrs-oauth's redaction.
//!
//! With `--client-secret-stdin` the secret is read from stdin instead of
//! the store: `wrs-token profile add` probes a profile it has not saved yet
//! (in a temporary `WRS_TOKEN_CONFIG`) with a secret nothing has stored.

mod verdict;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use url::Url;
use wrs_config::{ClientAuth, Profile, StoreKind};
use wrs_oauth::{
    ClientIdentity, HttpClient, HttpConfig, NetworkProblem, OAuthClient, OAuthError,
    ProviderMetadata,
};
use wrs_proto::Secret;
use wrs_proto::probe::{ProbeCheck, ProbeReport, ProbeStatus, ProbeTopic};

use self::verdict::{Subject, check};
use crate::cli::ProbeArgs;
use crate::oauth_source::client;
use crate::profiles::Profiles;
use crate::source::SourceError;
use crate::stores::Stores;

/// The refresh token of the client-authentication check: no server issued
/// it, so the answer is `invalid_grant` once the client is authenticated.
const DUMMY_REFRESH_TOKEN: &str = "wrs-token-probe-not-a-refresh-token";

/// `wrs-tokend probe`: prints the report; exit 0 when no check failed, 1
/// when one did or the probe could not run (then stdout is empty).
pub fn main(args: &ProbeArgs) -> ExitCode {
    let (runtime, paths) = match crate::one_shot::start() {
        Ok(started) => started,
        Err(code) => return code,
    };
    let secret = if args.client_secret_stdin {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("wrs-tokend: cannot read the client secret from stdin: {e}");
            return ExitCode::FAILURE;
        }
        // One trailing newline is the shell's, as for `wrs-token`'s flag;
        // truncated in place, so the text moves into the Secret uncopied.
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        Some(Secret::new(text))
    } else {
        None
    };
    // The daemon's HTTP settings are wrs-oauth's defaults (see `Runtime::load`).
    let base = HttpConfig::default();
    let probed = run(&paths, &args.profile, &base, secret);
    let report = match runtime.block_on(probed) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("wrs-tokend: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = if args.json {
        format!("{}\n", report.to_json())
    } else {
        render(&report)
    };
    // A closed stdout (`| head`) is not worth a panic.
    let _ = std::io::stdout().write_all(text.as_bytes());
    if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Probes profile `name` of the configuration at `paths`, with the secret
/// stores the daemon would use, on `base`'s timeouts. Fails only when the
/// profile cannot be read at all.
pub async fn run(
    paths: &wrs_config::Paths,
    name: &str,
    base: &HttpConfig,
    secret: Option<Secret>,
) -> Result<ProbeReport, SourceError> {
    let profiles = Profiles::load(&paths.config_file);
    let profile = profiles.profile(name)?;
    let stores = Stores::for_paths(paths);
    let mut probe = Probe::new(name, &profile, profiles.path(), base);
    probe.secret = secret;
    Ok(probe.finish(&stores).await)
}

/// Every check of one profile.
pub async fn probe(
    name: &str,
    profile: &Profile,
    config_path: &Path,
    stores: &Stores,
    base: &HttpConfig,
) -> ProbeReport {
    Probe::new(name, profile, config_path, base)
        .finish(stores)
        .await
}

/// The checks of one profile, with what they have found so far.
struct Probe<'a> {
    name: &'a str,
    profile: &'a Profile,
    config_path: &'a Path,
    base: &'a HttpConfig,
    report: ProbeReport,
    /// Origins already reached: their proxy and TLS lines are out.
    reached: Vec<String>,
    /// The clock line, from the first answer with a `Date`; shown last.
    clock: Option<ProbeCheck>,
    /// The client secret to check instead of the stored one.
    secret: Option<Secret>,
}

impl<'a> Probe<'a> {
    fn new(
        name: &'a str,
        profile: &'a Profile,
        config_path: &'a Path,
        base: &'a HttpConfig,
    ) -> Probe<'a> {
        Probe {
            name,
            profile,
            config_path,
            base,
            report: ProbeReport::new(name),
            reached: Vec::new(),
            clock: None,
            secret: None,
        }
    }

    /// Every check, then the clock line last.
    async fn finish(mut self, stores: &Stores) -> ProbeReport {
        self.all(stores).await;
        let mut report = self.report;
        report.checks.extend(self.clock);
        report
    }

    fn push(
        &mut self,
        check: ProbeTopic,
        status: ProbeStatus,
        detail: String,
        fix: Option<String>,
    ) {
        self.report.checks.push(ProbeCheck {
            check,
            status,
            detail,
            fix,
        });
    }

    fn ok(&mut self, check: ProbeTopic, detail: String) {
        self.push(check, ProbeStatus::Ok, detail, None);
    }

    fn fail(&mut self, check: ProbeTopic, detail: String, fix: String) {
        self.push(check, ProbeStatus::Fail, detail, Some(fix));
    }

    /// "under [profiles.NAME] in FILE", for fixes that edit the config.
    fn in_config(&self) -> String {
        format!(
            "under [profiles.{}] in {}",
            self.name,
            self.config_path.display()
        )
    }

    /// What the verdicts' fixes name.
    fn subject(&self) -> Subject<'_> {
        Subject {
            name: self.name,
            profile: self.profile,
            in_config: self.in_config(),
        }
    }

    async fn all(&mut self, stores: &Stores) {
        let Some(http) = self.http_client() else {
            return;
        };
        let p = self.profile;
        let discovered = match &p.issuer {
            Some(issuer) => {
                let Some(url) = self.url("issuer", issuer, ProbeTopic::Discovery) else {
                    return;
                };
                if !self.reach(&http, &url, ProbeTopic::Discovery).await {
                    return;
                }
                let Some(metadata) = self.discovery(&http, issuer).await else {
                    return;
                };
                Some(metadata)
            }
            None => None,
        };
        let endpoints = match client::endpoints(self.name, p, discovered.as_ref()) {
            Ok(endpoints) => endpoints,
            Err(e) => {
                let fix = format!(
                    "correct the profile's endpoints {} (`wrs-token profile show {}` prints them as read)",
                    self.in_config(),
                    self.name
                );
                self.fail(ProbeTopic::TokenEndpoint, e.to_string(), fix);
                return;
            }
        };
        let token = endpoints.token.as_str();
        let Some(token_url) = self.url("token endpoint", token, ProbeTopic::TokenEndpoint) else {
            return;
        };
        if !self
            .reach(&http, &token_url, ProbeTopic::TokenEndpoint)
            .await
        {
            return;
        }
        let (identity, unchecked) = self.identity(stores).await;
        let public = identity.auth == wrs_oauth::ClientAuth::None;
        let client = match OAuthClient::new(http, endpoints, identity) {
            Ok(client) => client,
            Err(e) => {
                let fix = format!(
                    "correct the profile {} (`wrs-token profile show {}` prints it as read)",
                    self.in_config(),
                    self.name
                );
                self.fail(ProbeTopic::TokenEndpoint, e.to_string(), fix);
                return;
            }
        };
        let answer = client
            .refresh(&Secret::new(DUMMY_REFRESH_TOKEN), &[], None)
            .await;
        let (endpoint, client_auth) =
            verdict::refresh_answer(&self.subject(), &token_url, &answer, public);
        self.report.checks.push(endpoint);
        // When the real credentials could not be had, the line saying so
        // replaces what the answer to the public identity would say.
        self.report.checks.extend(unchecked.or(client_auth));
    }

    /// The daemon's HTTP client for the profile, after the `ca_file` line.
    fn http_client(&mut self) -> Option<HttpClient> {
        let ca_fix = format!(
            "point ca_file {} at a readable PEM file (`-----BEGIN CERTIFICATE-----`; convert a \
             DER file with `openssl x509 -inform der -in corp-ca.cer -out corp-ca.pem`)",
            self.in_config()
        );
        let config = match client::http_config(self.profile, self.base) {
            Ok(config) => config,
            Err(e) => {
                self.fail(ProbeTopic::CaFile, e.to_string(), ca_fix);
                return None;
            }
        };
        if let Some(ca) = &self.profile.ca_file {
            let n = config.extra_ca_certificates();
            self.ok(ProbeTopic::CaFile, format!("{ca}: {n} certificate(s)"));
        }
        match HttpClient::new(&config) {
            Ok(http) => Some(http),
            Err(e) => {
                self.fail(ProbeTopic::Tls, e.to_string(), ca_fix);
                None
            }
        }
    }

    /// The profile's `what` URL if the daemon would accept it (https, or
    /// http on loopback: wrs-oauth's rule), else a failure under `topic`.
    fn url(&mut self, what: &str, value: &str, topic: ProbeTopic) -> Option<Url> {
        let checked = Url::parse(value)
            .map_err(|e| format!("the {what} {value:?} is not a URL: {e}"))
            .and_then(|url| {
                wrs_oauth::http::check_endpoint(what, &url)
                    .map(|()| url)
                    .map_err(|e| e.to_string())
            });
        match checked {
            Ok(url) => Some(url),
            Err(detail) => {
                let fix = format!("use the server's https:// URL {}", self.in_config());
                self.fail(topic, detail, fix);
                None
            }
        }
    }

    /// Reaches `url`'s server once per origin: the proxy, TLS and clock
    /// lines, or the one failure (under `topic` unless it is the proxy's
    /// or TLS's). Whether it answered.
    async fn reach(&mut self, http: &HttpClient, url: &Url, topic: ProbeTopic) -> bool {
        let origin = url.origin().ascii_serialization();
        if self.reached.contains(&origin) {
            return true;
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let proxy = http.proxy_for(url);
        match http.reach(url).await {
            Ok(reached) => {
                self.reached.push(origin);
                self.proxy_line(&host, proxy.as_deref());
                self.tls_line(url, &host).await;
                if self.clock.is_none() {
                    self.clock = verdict::clock(&host, &reached);
                }
                true
            }
            Err(unreached) => {
                let failed = match &proxy {
                    Some(proxy) if !unreached.problem.is_tls() => {
                        verdict::through_proxy(&host, proxy, &unreached)
                    }
                    _ => {
                        self.proxy_line(&host, proxy.as_deref());
                        let subject = self.subject();
                        verdict::unreached(&subject, self.base, url, &host, topic, &unreached)
                    }
                };
                self.report.checks.push(failed);
                false
            }
        }
    }

    fn proxy_line(&mut self, host: &str, proxy: Option<&str>) {
        let detail = match proxy {
            Some(proxy) => format!("requests to {host} go through the proxy {proxy}"),
            None => format!("{host} is reached directly (no proxy applies to it)"),
        };
        self.ok(ProbeTopic::Proxy, detail);
    }

    async fn tls_line(&mut self, url: &Url, host: &str) {
        if url.scheme() != "https" {
            // `url` passed `check_endpoint`: plain http only on loopback.
            self.ok(ProbeTopic::Tls, format!("{host}: plain http on loopback"));
            return;
        }
        let Some(ca) = &self.profile.ca_file else {
            self.ok(
                ProbeTopic::Tls,
                format!("{host}: certificate chain verified with the system's CAs"),
            );
            return;
        };
        // Whether ca_file is what makes the chain trusted: ask a client
        // without it.
        let without_ca = match HttpClient::new(self.base) {
            Ok(http) => http.reach(url).await.err().map(|u| u.problem),
            Err(_) => None,
        };
        let detail = match without_ca {
            Some(NetworkProblem::UntrustedCertificate) => {
                format!("{host}: certificate chain verified with ca_file {ca}")
            }
            _ => format!(
                "{host}: certificate chain verified with the system's CAs (ca_file {ca} is not needed for it)"
            ),
        };
        self.ok(ProbeTopic::Tls, detail);
    }

    /// Discovery and the issuer check, exactly as the daemon makes them.
    async fn discovery(&mut self, http: &HttpClient, issuer: &str) -> Option<ProviderMetadata> {
        match wrs_oauth::discover(http, issuer).await {
            Ok(metadata) => {
                let token = metadata.token_endpoint.as_deref().unwrap_or("none");
                self.ok(
                    ProbeTopic::Discovery,
                    format!("{issuer}: the discovery document answered (token endpoint {token})"),
                );
                self.ok(
                    ProbeTopic::Issuer,
                    format!("discovery names {}, as configured", metadata.issuer),
                );
                Some(metadata)
            }
            Err(OAuthError::IssuerMismatch { expected, got }) => {
                self.ok(
                    ProbeTopic::Discovery,
                    format!("{expected}: the discovery document answered"),
                );
                let fix = format!(
                    "set issuer = \"{got}\" {} (it must match exactly)",
                    self.in_config()
                );
                self.fail(
                    ProbeTopic::Issuer,
                    format!(
                        "discovery names {got}, the profile says {expected}: the daemon refuses a \
                         server that names another issuer"
                    ),
                    fix,
                );
                None
            }
            Err(e) => {
                let fix = match e {
                    OAuthError::Discovery(_) | OAuthError::Config(_) => format!(
                        "check issuer {} (PingFederate's is its base URL, e.g. https://sso.example.com, \
                         without /as/…), or give the endpoints explicitly: `wrs-token profile add {} … \
                         --authorization-endpoint URL --token-endpoint URL --force`",
                        self.in_config(),
                        self.name
                    ),
                    _ => "the authorization server has a problem: retry later, or ask its administrators"
                        .into(),
                };
                self.fail(ProbeTopic::Discovery, e.to_string(), fix);
                None
            }
        }
    }

    /// The identity the daemon would send. When its secret cannot be had,
    /// the public identity (still good for the token-endpoint check) and
    /// the `client auth` line saying why.
    async fn identity(&self, stores: &Stores) -> (ClientIdentity, Option<ProbeCheck>) {
        let p = self.profile;
        let public = ClientIdentity::public(&p.client_id);
        if p.auth == ClientAuth::None {
            return (public, None);
        }
        if let Some(secret) = &self.secret {
            return (client::confidential(p, secret.clone()), None);
        }
        if p.store == StoreKind::Memory {
            let unchecked = check(
                ProbeTopic::ClientAuth,
                ProbeStatus::Warn,
                format!(
                    "not checked: the client secret lives in the daemon's memory store, which \
                     this separate process cannot read (client {})",
                    p.client_id
                ),
                Some(format!(
                    "`wrs-token print -p {}` shows whether the daemon's secret is accepted",
                    self.name
                )),
            );
            return (public, Some(unchecked));
        }
        match client::client_secret(stores, self.name, p).await {
            Ok(stored) => (client::confidential(p, stored.secret), None),
            Err(e) => {
                let fix = match &e {
                    SourceError::Store {
                        hint: Some(hint), ..
                    } => hint.clone(),
                    _ => format!("`wrs-token profile set-secret {}`", self.name),
                };
                let failed = check(
                    ProbeTopic::ClientAuth,
                    ProbeStatus::Fail,
                    e.to_string(),
                    Some(fix),
                );
                (public, Some(failed))
            }
        }
    }
}

/// The report for people ([`ProbeReport::render`]).
pub fn render(report: &ProbeReport) -> String {
    report.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_human_report_puts_the_fix_under_each_problem() {
        let mut report = ProbeReport::new("plm");
        report.checks.push(check(
            ProbeTopic::Tls,
            ProbeStatus::Ok,
            "sso: verified".into(),
            None,
        ));
        report.checks.push(check(
            ProbeTopic::TokenEndpoint,
            ProbeStatus::Fail,
            "gone".into(),
            Some("fix it".into()),
        ));
        assert_eq!(
            render(&report),
            "ok    tls: sso: verified\nFAIL  token endpoint: gone\n      fix: fix it\n"
        );
    }
}
