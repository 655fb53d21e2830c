//! What each answer (or its absence) means, in plain words with a fix:
//! the verdicts of [`super`]'s checks, as pure functions of what was seen.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;
use wrs_config::{Grant, Profile};
use wrs_oauth::{
    ErrorCode, HttpConfig, NetworkProblem, OAuthError, Reached, TokenResponse, Unreached,
};
use wrs_proto::probe::{ProbeCheck, ProbeStatus, ProbeTopic};

/// Clock skew that earns a warning, and a failure: expiry is computed
/// locally from `expires_in`, so a wrong clock hands out expired tokens or
/// refreshes far too often.
const SKEW_WARN_SECS: u64 = 30;
const SKEW_FAIL_SECS: u64 = 300;

/// The profile a verdict is about, for the fixes that name it.
pub(super) struct Subject<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its settings.
    pub profile: &'a Profile,
    /// "under [profiles.NAME] in FILE", for fixes that edit the config.
    pub in_config: String,
}

fn fail(topic: ProbeTopic, detail: String, fix: String) -> ProbeCheck {
    check(topic, ProbeStatus::Fail, detail, Some(fix))
}

/// The failure of a server that did not answer (not through a proxy), in
/// plain words: under `tls` for the TLS layer's refusals, else under
/// `topic`, the check that needed the server.
pub(super) fn unreached(
    subject: &Subject<'_>,
    base: &HttpConfig,
    url: &Url,
    host: &str,
    topic: ProbeTopic,
    unreached: &Unreached,
) -> ProbeCheck {
    let said = &unreached.message;
    let name = subject.name;
    let config = &subject.in_config;
    let tls = ProbeTopic::Tls;
    let (topic, detail, fix) = match unreached.problem {
        NetworkProblem::UntrustedCertificate => match &subject.profile.ca_file {
            Some(ca) => (
                tls,
                format!(
                    "{host}: the server's certificate is signed by a CA this machine does not trust, \
                     and ca_file {ca} does not hold it either ({said})"
                ),
                format!(
                    "ca_file must hold the CA that issued {host}'s certificate (PEM, with any \
                     intermediate CAs): ask the server's administrators for it and fix ca_file {config}"
                ),
            ),
            None => (
                tls,
                format!(
                    "{host}: the server's certificate is signed by a CA this machine does not trust ({said})"
                ),
                format!(
                    "get your organisation's CA certificate (PEM) and add it to the profile: \
                     `wrs-token profile add {name} … --ca-file /path/to/corp-ca.pem --force`, \
                     or set ca_file = \"/path/to/corp-ca.pem\" {config}"
                ),
            ),
        },
        NetworkProblem::CertificateNameMismatch => (
            tls,
            format!("{host}: the server's certificate is for another host name ({said})"),
            format!(
                "use the host name the certificate was issued for in the profile's URLs (see it with \
                 `openssl s_client -connect {host}:443 </dev/null | openssl x509 -noout -ext subjectAltName`)"
            ),
        ),
        NetworkProblem::CertificateExpired => (
            tls,
            format!(
                "{host}: the server's certificate has expired, or this machine's clock is wrong ({said})"
            ),
            "check this machine's date (`date`); if it is right, the server's administrators must \
             renew the certificate"
                .into(),
        ),
        NetworkProblem::Tls => (
            tls,
            format!("{host}: the TLS handshake failed ({said})"),
            "check that the URL's port speaks HTTPS".into(),
        ),
        NetworkProblem::Dns => (
            topic,
            format!("cannot resolve {host} ({said})"),
            "check the host name in the profile's URLs, DNS, and the VPN".into(),
        ),
        NetworkProblem::Connect => (
            topic,
            format!("cannot connect to {url} ({said})"),
            "check the URL and port, the VPN or firewall, and whether a proxy is needed".into(),
        ),
        NetworkProblem::Timeout => (
            topic,
            format!(
                "{url}: no answer in time (connect timeout {} s, request timeout {} s)",
                base.connect_timeout.as_secs(),
                base.timeout.as_secs()
            ),
            "check the VPN or firewall, and whether a proxy is needed".into(),
        ),
        NetworkProblem::Other => (
            topic,
            format!("{url}: {said}"),
            "check the URL, the network and the proxy settings".into(),
        ),
    };
    fail(topic, detail, fix)
}

/// A check's line.
pub(super) fn check(
    check: ProbeTopic,
    status: ProbeStatus,
    detail: String,
    fix: Option<String>,
) -> ProbeCheck {
    ProbeCheck {
        check,
        status,
        detail,
        fix,
    }
}

/// The failure of a request through `proxy`: the proxy's line.
pub(super) fn through_proxy(host: &str, proxy: &str, unreached: &Unreached) -> ProbeCheck {
    fail(
        ProbeTopic::Proxy,
        format!(
            "requests to {host} go through the proxy {proxy}, which could not be used ({})",
            unreached.message
        ),
        format!(
            "check the proxy variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) or, if {host} is inside \
             your network, bypass the proxy: export NO_PROXY={host},$NO_PROXY; then restart the daemon \
             so it sees them (`wrs-token daemon stop`; for the systemd service also \
             `systemctl --user set-environment NO_PROXY=…`)"
        ),
    )
}

/// The clock line for an answer, `None` without a `Date`.
pub(super) fn clock(host: &str, reached: &Reached) -> Option<ProbeCheck> {
    let secs = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs()
    };
    let server = secs(reached.server_date?);
    let local = secs(reached.received_at);
    let skew = local.abs_diff(server);
    let direction = if local >= server {
        "ahead of"
    } else {
        "behind"
    };
    let detail = format!(
        "this machine's clock is {skew} s {direction} {host}'s (token expiry is computed locally)"
    );
    let fix = "synchronise the clock: `timedatectl set-ntp true` (or chrony/ntpd); on macOS \
               System Settings → General → Date & Time";
    Some(if skew > SKEW_FAIL_SECS {
        check(
            ProbeTopic::Clock,
            ProbeStatus::Fail,
            detail,
            Some(fix.into()),
        )
    } else if skew > SKEW_WARN_SECS {
        check(
            ProbeTopic::Clock,
            ProbeStatus::Warn,
            detail,
            Some(fix.into()),
        )
    } else {
        check(
            ProbeTopic::Clock,
            ProbeStatus::Ok,
            format!("within {skew} s of {host}'s clock"),
            None,
        )
    })
}

/// What the answer to a refresh with a dummy token says about the token
/// endpoint and the client: the endpoint's line, and the client's when the
/// answer tells.
///
/// RFC 6749 5.2: `invalid_client` is a failed client authentication;
/// `unauthorized_client` is an *authenticated* client that may not use the
/// grant; `invalid_grant` comes after the client was authenticated.
pub(super) fn refresh_answer(
    subject: &Subject<'_>,
    url: &Url,
    answer: &Result<TokenResponse, OAuthError>,
    public: bool,
) -> (ProbeCheck, Option<ProbeCheck>) {
    let (name, profile, in_config) = (subject.name, subject.profile, &subject.in_config);
    let id = &profile.client_id;
    let ok = |topic, detail| check(topic, ProbeStatus::Ok, detail, None);
    let warn = |topic, detail, fix: String| check(topic, ProbeStatus::Warn, detail, Some(fix));
    let fail = |topic, detail, fix: String| check(topic, ProbeStatus::Fail, detail, Some(fix));
    let rejected = |why: String| {
        if public {
            fail(
                ProbeTopic::ClientAuth,
                format!("the server does not accept {id} as a public client ({why})"),
                format!(
                    "check client_id {in_config}; a confidential client needs auth = \"basic\" or \
                     \"post\" there and its secret: `wrs-token profile set-secret {name}`"
                ),
            )
        } else {
            fail(
                ProbeTopic::ClientAuth,
                format!("the server rejected client {id} with its stored secret ({why})"),
                format!(
                    "store the client's current secret: `wrs-token profile set-secret {name}` \
                     (and check client_id and auth {in_config})"
                ),
            )
        }
    };
    let e = match answer {
        Ok(_) => {
            return (
                ok(
                    ProbeTopic::TokenEndpoint,
                    format!("{url} answered with a token"),
                ),
                Some(warn(
                    ProbeTopic::ClientAuth,
                    "the server issued a token for a dummy refresh token".into(),
                    "tell the authorization server's administrators".into(),
                )),
            );
        }
        Err(e) => e,
    };
    let (code, description, status) = match e {
        OAuthError::Server {
            code,
            description,
            status,
            ..
        } => (code, description, *status),
        OAuthError::Http { status: 401, .. } => {
            let endpoint = ok(
                ProbeTopic::TokenEndpoint,
                format!("{url} answered HTTP 401 to a refresh with a dummy token"),
            );
            return (endpoint, Some(rejected(e.to_string())));
        }
        OAuthError::Http {
            status: 404 | 405, ..
        } => {
            let endpoint = fail(
                ProbeTopic::TokenEndpoint,
                format!("{url}: no token endpoint there ({e})"),
                format!(
                    "check token_endpoint {in_config} (PingFederate's is https://HOST/as/token.oauth2)"
                ),
            );
            return (endpoint, None);
        }
        OAuthError::Http { .. } => {
            let endpoint = warn(
                ProbeTopic::TokenEndpoint,
                format!("{url}: {e}"),
                "the authorization server may have a problem: retry later, or ask its administrators"
                    .into(),
            );
            return (endpoint, None);
        }
        OAuthError::InvalidResponse { .. } => {
            let endpoint = fail(
                ProbeTopic::TokenEndpoint,
                format!("{url} did not answer like a token endpoint: {e}"),
                format!(
                    "check token_endpoint {in_config}; if a proxy or sign-on page answered, bypass the \
                     proxy for this host with NO_PROXY"
                ),
            );
            return (endpoint, None);
        }
        other => {
            let endpoint = fail(
                ProbeTopic::TokenEndpoint,
                format!("{url}: {other}"),
                "check the network, the VPN and the proxy settings, then try again".into(),
            );
            return (endpoint, None);
        }
    };
    let said = match description {
        Some(d) => format!("`{code}`: {d}"),
        None => format!("`{code}`"),
    };
    let endpoint = ok(
        ProbeTopic::TokenEndpoint,
        format!(
            "{url} answered HTTP {status} `{code}` to a refresh with a dummy token, as a token endpoint does"
        ),
    );
    let client = match code {
        ErrorCode::InvalidGrant => ok(
            ProbeTopic::ClientAuth,
            if public {
                format!("the server knows public client {id}")
            } else {
                format!("client {id} was authenticated with its stored secret")
            },
        ),
        ErrorCode::InvalidClient => rejected(said),
        ErrorCode::UnauthorizedClient if profile.grant == Grant::ClientCredentials => ok(
            ProbeTopic::ClientAuth,
            format!(
                "client {id} was authenticated; it may not refresh tokens ({said}), which a \
                 client-credentials profile does not need"
            ),
        ),
        ErrorCode::UnauthorizedClient => warn(
            ProbeTopic::ClientAuth,
            format!(
                "client {id} was authenticated, but the server does not let it refresh tokens \
                 ({said}): every expiry will need a new login"
            ),
            format!(
                "ask the server's administrators to allow the refresh token grant for client {id} \
                 (PingFederate: the client's Allowed Grant Types)"
            ),
        ),
        _ => warn(
            ProbeTopic::ClientAuth,
            format!(
                "the server answered {said} to a refresh with a dummy token: it does not say whether \
                 it accepts client {id}"
            ),
            format!("check client_id and auth {in_config}"),
        ),
    };
    (endpoint, Some(client))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn reached(ours: u64, theirs: u64) -> Reached {
        Reached {
            status: 200,
            server_date: Some(UNIX_EPOCH + Duration::from_secs(theirs)),
            received_at: UNIX_EPOCH + Duration::from_secs(ours),
        }
    }

    #[test]
    fn clock_skew_warns_above_30_s_and_fails_above_5_min() {
        let status = |ours, theirs| clock("sso", &reached(ours, theirs)).unwrap().status;
        assert_eq!(status(1000, 1002), ProbeStatus::Ok);
        assert_eq!(status(1030, 1000), ProbeStatus::Ok);
        assert_eq!(status(1045, 1000), ProbeStatus::Warn);
        assert_eq!(status(1000, 1301), ProbeStatus::Fail);
        let behind = clock("sso", &reached(1000, 1600)).unwrap();
        assert!(
            behind.detail.contains("600 s behind sso's"),
            "{}",
            behind.detail
        );
        assert!(behind.fix.unwrap().contains("timedatectl"));
        let no_date = Reached {
            server_date: None,
            ..reached(0, 0)
        };
        assert_eq!(clock("sso", &no_date), None);
    }

    fn server(code: &str, status: u16) -> Result<TokenResponse, OAuthError> {
        Err(OAuthError::Server {
            code: ErrorCode::parse(code),
            description: None,
            status,
            retry_after: None,
        })
    }

    fn judge(
        answer: &Result<TokenResponse, OAuthError>,
        public: bool,
        grant: Grant,
    ) -> (ProbeCheck, Option<ProbeCheck>) {
        let url = Url::parse("https://sso.example.com/as/token.oauth2").unwrap();
        let profile = Profile {
            client_id: "wrs-ci".into(),
            grant,
            ..Profile::default()
        };
        let subject = Subject {
            name: "ci",
            profile: &profile,
            in_config: "under [profiles.ci] in /c.toml".into(),
        };
        refresh_answer(&subject, &url, answer, public)
    }

    #[test]
    fn invalid_grant_means_the_client_was_authenticated() {
        let (endpoint, client) = judge(&server("invalid_grant", 400), false, Grant::Code);
        assert_eq!(endpoint.status, ProbeStatus::Ok);
        assert!(
            endpoint.detail.contains("HTTP 400 `invalid_grant`"),
            "{}",
            endpoint.detail
        );
        let client = client.unwrap();
        assert_eq!(
            (client.check, client.status),
            (ProbeTopic::ClientAuth, ProbeStatus::Ok)
        );
        assert!(client.detail.contains("stored secret"), "{}", client.detail);
        let (_, client) = judge(&server("invalid_grant", 400), true, Grant::Code);
        assert!(
            client
                .unwrap()
                .detail
                .contains("knows public client wrs-ci")
        );
    }

    #[test]
    fn invalid_client_is_a_rejected_secret_whose_fix_is_set_secret() {
        let (endpoint, client) = judge(&server("invalid_client", 401), false, Grant::Code);
        assert_eq!(endpoint.status, ProbeStatus::Ok, "the endpoint did answer");
        let client = client.unwrap();
        assert_eq!(client.status, ProbeStatus::Fail);
        assert!(
            client
                .fix
                .unwrap()
                .contains("`wrs-token profile set-secret ci`"),
            "{}",
            client.detail
        );
    }

    #[test]
    fn unauthorized_client_is_authenticated_but_may_not_refresh() {
        let (_, client) = judge(
            &server("unauthorized_client", 400),
            false,
            Grant::ClientCredentials,
        );
        assert_eq!(client.unwrap().status, ProbeStatus::Ok);
        let (_, client) = judge(&server("unauthorized_client", 400), true, Grant::Code);
        let client = client.unwrap();
        assert_eq!(client.status, ProbeStatus::Warn);
        assert!(client.fix.unwrap().contains("refresh token grant"));
    }

    #[test]
    fn a_404_or_a_login_page_is_no_token_endpoint() {
        let not_found = Err(OAuthError::Http {
            status: 404,
            retry_after: None,
            detail: String::new(),
        });
        let (endpoint, client) = judge(&not_found, false, Grant::Code);
        assert_eq!(endpoint.status, ProbeStatus::Fail);
        assert!(endpoint.fix.unwrap().contains("as/token.oauth2"));
        assert_eq!(client, None, "nothing is known about the client");
        let page = Err(OAuthError::InvalidResponse {
            reason: "not JSON".into(),
            status: 200,
            content_type: "text/html".into(),
            snippet: "<html>".into(),
        });
        let (endpoint, _) = judge(&page, false, Grant::Code);
        assert_eq!(endpoint.status, ProbeStatus::Fail);
    }
}
