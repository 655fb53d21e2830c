//! `wrs-tokend probe PROFILE --json`, the real binary against the real mock
//! (in this process): TLS with a CA of the mock's own, the issuer check,
//! the client secret, the clock, proxies. Each test is its own world: a
//! config file, a data dir, no daemon.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use wrs_config::{Paths, StoreKind};
use wrs_mock::{MockConfig, MockServer};
use wrs_proto::Secret;
use wrs_proto::probe::{ProbeReport, ProbeStatus, ProbeTopic};
use wrs_store::SecretKind;
use wrs_testkit::process::{isolate, run};
use wrs_tokend::binding::{self, Owner};
use wrs_tokend::stores::Stores;

const BIN: &str = env!("CARGO_BIN_EXE_wrs-tokend");

/// Variables that would change which proxy the probe uses.
const PROXY_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
];

/// A config file and data dir of their own.
struct World {
    tmp: tempfile::TempDir,
}

impl World {
    fn new(config: &str) -> World {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("config.toml"), config).unwrap();
        World { tmp }
    }

    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        let p = |s: &str| self.tmp.path().join(s);
        vec![
            ("WRS_TOKEN_CONFIG", p("config.toml")),
            ("HOME", p("home")),
            ("XDG_CONFIG_HOME", p("config")),
            ("XDG_DATA_HOME", p("data")),
            // Where a daemon would put its socket: the probe must not.
            ("XDG_RUNTIME_DIR", p("run")),
            ("WRS_TOKEN_SOCKET", p("run/wrs-token/agent.sock")),
        ]
    }

    /// The paths the probe resolves from [`World::env`].
    fn paths(&self) -> Paths {
        let env = self.env();
        Paths::resolve_with(|k| {
            env.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone().into_os_string())
        })
        .unwrap()
    }

    /// Stores `secret` as `name`'s client secret, as the daemon would.
    fn store_client_secret(&self, name: &str, secret: &str) {
        let paths = self.paths();
        let config = wrs_config::Config::load(&paths.config_file).unwrap();
        let profile = &config.profiles[name];
        let sealed = binding::seal(&Owner::of(profile), &Secret::new(secret));
        Stores::for_paths(&paths)
            .open(StoreKind::File)
            .unwrap()
            .set(name, SecretKind::ClientSecret, &sealed)
            .unwrap();
    }

    /// `wrs-tokend probe NAME --json` with `extra` variables: the exit
    /// code, the report and the raw output.
    fn probe(&self, name: &str, extra: &[(&str, &str)]) -> (i32, ProbeReport, String) {
        let mut cmd = Command::new(BIN);
        isolate(&mut cmd).args(["probe", name, "--json"]);
        for var in PROXY_VARS {
            cmd.env_remove(var);
        }
        cmd.envs(self.env()).envs(extra.iter().copied());
        let (code, stdout, stderr) = run(&mut cmd);
        let report = ProbeReport::from_json(&stdout)
            .unwrap_or_else(|e| panic!("{e}\nstdout: {stdout}\nstderr: {stderr}"));
        assert!(
            !self.tmp.path().join("run").exists(),
            "the probe made a daemon's runtime dir"
        );
        (code, report, stdout)
    }
}

fn public_profile(name: &str, issuer: &str, extra: &str) -> String {
    format!(
        "[profiles.{name}]\nissuer = \"{issuer}\"\nclient_id = \"wrs-cli\"\nauth = \"none\"\nstore = \"file\"\n{extra}"
    )
}

fn status(report: &ProbeReport, topic: ProbeTopic) -> ProbeStatus {
    report
        .check(topic)
        .unwrap_or_else(|| panic!("no {topic:?} check in {report:#?}"))
        .status
}

fn detail(report: &ProbeReport, topic: ProbeTopic) -> &str {
    &report.check(topic).unwrap().detail
}

fn fix(report: &ProbeReport, topic: ProbeTopic) -> &str {
    report.check(topic).unwrap().fix.as_deref().unwrap_or("")
}

fn failures(report: &ProbeReport) -> Vec<ProbeTopic> {
    report
        .checks
        .iter()
        .filter(|c| c.status == ProbeStatus::Fail)
        .map(|c| c.check)
        .collect()
}

fn write_ca(mock: &MockServer, dir: &Path) -> PathBuf {
    let path = dir.join("mock-ca.pem");
    std::fs::write(&path, mock.ca_pem().unwrap()).unwrap();
    path
}

#[test]
fn an_untrusted_ca_is_one_tls_failure_in_plain_words_and_ca_file_fixes_it() {
    let mock = MockServer::start_background(MockConfig::default().tls(true)).unwrap();
    let world = World::new(&public_profile("plm", &mock.issuer(), ""));
    let (code, report, _) = world.probe("plm", &[]);
    assert_eq!(code, 1, "{report:#?}");
    assert_eq!(failures(&report), [ProbeTopic::Tls], "{report:#?}");
    assert!(
        detail(&report, ProbeTopic::Tls)
            .contains("the server's certificate is signed by a CA this machine does not trust"),
        "{report:#?}"
    );
    assert!(
        fix(&report, ProbeTopic::Tls).contains("--ca-file /path/to/corp-ca.pem"),
        "{report:#?}"
    );
    assert_eq!(
        report.check(ProbeTopic::Discovery),
        None,
        "one failure, one line"
    );

    // Another CA in ca_file: still untrusted, and the report says ca_file
    // does not hold the right one.
    let other = MockServer::start_background(MockConfig::default().tls(true)).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other_ca = write_ca(&other, other_dir.path());
    let world = World::new(&public_profile(
        "plm",
        &mock.issuer(),
        &format!("ca_file = \"{}\"\n", other_ca.display()),
    ));
    let (code, report, _) = world.probe("plm", &[]);
    assert_eq!(code, 1, "{report:#?}");
    assert_eq!(status(&report, ProbeTopic::CaFile), ProbeStatus::Ok);
    assert!(
        detail(&report, ProbeTopic::Tls).contains(&format!(
            "and ca_file {} does not hold it either",
            other_ca.display()
        )),
        "{report:#?}"
    );

    // The mock's own CA: everything passes, and the chain is trusted
    // because of ca_file.
    let ca = write_ca(&mock, world.tmp.path());
    let world = World::new(&public_profile(
        "plm",
        &mock.issuer(),
        &format!("ca_file = \"{}\"\n", ca.display()),
    ));
    let (code, report, _) = world.probe("plm", &[]);
    assert_eq!(code, 0, "{report:#?}");
    for topic in [
        ProbeTopic::CaFile,
        ProbeTopic::Proxy,
        ProbeTopic::Tls,
        ProbeTopic::Discovery,
        ProbeTopic::Issuer,
        ProbeTopic::TokenEndpoint,
        ProbeTopic::ClientAuth,
        ProbeTopic::Clock,
    ] {
        assert_eq!(
            status(&report, topic),
            ProbeStatus::Ok,
            "{topic:?}: {report:#?}"
        );
    }
    assert!(
        detail(&report, ProbeTopic::Tls)
            .contains(&format!("verified with ca_file {}", ca.display())),
        "{report:#?}"
    );
    assert!(
        detail(&report, ProbeTopic::ClientAuth).contains("knows public client wrs-cli"),
        "{report:#?}"
    );
    assert!(
        detail(&report, ProbeTopic::TokenEndpoint).contains("`invalid_grant`"),
        "{report:#?}"
    );
}

#[test]
fn an_issuer_other_than_the_one_discovery_names_fails_with_the_right_one_in_the_fix() {
    let mock = MockServer::start_background(MockConfig::default()).unwrap();
    let named = mock.issuer();
    // The same server under another name: discovery answers, naming itself.
    let configured = named.replace("127.0.0.1", "localhost");
    let world = World::new(&public_profile("plm", &configured, ""));
    let (code, report, _) = world.probe("plm", &[]);
    assert_eq!(code, 1, "{report:#?}");
    assert_eq!(status(&report, ProbeTopic::Discovery), ProbeStatus::Ok);
    assert_eq!(failures(&report), [ProbeTopic::Issuer], "{report:#?}");
    assert!(
        detail(&report, ProbeTopic::Issuer).contains(&format!(
            "discovery names {named}, the profile says {configured}"
        )),
        "{report:#?}"
    );
    assert!(
        fix(&report, ProbeTopic::Issuer).contains(&format!("issuer = \"{named}\"")),
        "{report:#?}"
    );
    assert_eq!(report.check(ProbeTopic::TokenEndpoint), None);
}

#[test]
fn a_wrong_client_secret_fails_client_auth_and_the_right_one_passes() {
    let mock = MockServer::start_background(MockConfig::default()).unwrap();
    let world = World::new(&format!(
        "[profiles.plm]\nissuer = \"{}\"\nclient_id = \"{}\"\nauth = \"basic\"\nstore = \"file\"\n\
         [profiles.ci]\nissuer = \"{0}\"\nclient_id = \"{}\"\nauth = \"basic\"\nstore = \"file\"\n\
         grant = \"client-credentials\"\n",
        mock.issuer(),
        wrs_mock::config::DEMO_CONFIDENTIAL_CLIENT,
        wrs_mock::config::DEMO_SERVICE_CLIENT,
    ));

    // None stored yet.
    let (code, report, _) = world.probe("plm", &[]);
    assert_eq!(code, 1, "{report:#?}");
    assert_eq!(failures(&report), [ProbeTopic::ClientAuth], "{report:#?}");
    assert!(
        detail(&report, ProbeTopic::ClientAuth).contains("no client secret is stored"),
        "{report:#?}"
    );
    assert_eq!(status(&report, ProbeTopic::TokenEndpoint), ProbeStatus::Ok);

    let wrong = "not-the-secret-at-all";
    world.store_client_secret("plm", wrong);
    let (code, report, stdout) = world.probe("plm", &[]);
    assert_eq!(code, 1, "{report:#?}");
    assert_eq!(failures(&report), [ProbeTopic::ClientAuth], "{report:#?}");
    assert!(
        detail(&report, ProbeTopic::ClientAuth).contains("`invalid_client`"),
        "{report:#?}"
    );
    assert!(
        fix(&report, ProbeTopic::ClientAuth).contains("`wrs-token profile set-secret plm`"),
        "{report:#?}"
    );
    assert!(!stdout.contains(wrong), "the secret was printed: {stdout}");

    world.store_client_secret("plm", wrs_mock::config::DEMO_CONFIDENTIAL_SECRET);
    let (code, report, stdout) = world.probe("plm", &[]);
    assert_eq!(code, 0, "{report:#?}");
    assert!(
        detail(&report, ProbeTopic::ClientAuth).contains("authenticated with its stored secret"),
        "{report:#?}"
    );
    assert!(
        !stdout.contains(wrs_mock::config::DEMO_CONFIDENTIAL_SECRET),
        "{stdout}"
    );

    // A client-credentials client may not refresh: `unauthorized_client`
    // comes after its secret was accepted.
    world.store_client_secret("ci", wrs_mock::config::DEMO_SERVICE_SECRET);
    let (code, report, _) = world.probe("ci", &[]);
    assert_eq!(code, 0, "{report:#?}");
    assert_eq!(status(&report, ProbeTopic::ClientAuth), ProbeStatus::Ok);
    world.store_client_secret("ci", wrong);
    let (_, report, _) = world.probe("ci", &[]);
    assert_eq!(failures(&report), [ProbeTopic::ClientAuth], "{report:#?}");
}

#[test]
fn clock_skew_against_the_servers_date_warns_then_fails() {
    let mock = MockServer::start_background(MockConfig::default()).unwrap();
    let world = World::new(&public_profile("plm", &mock.issuer(), ""));
    let (_, report, _) = world.probe("plm", &[]);
    assert_eq!(status(&report, ProbeTopic::Clock), ProbeStatus::Ok);
    assert_eq!(
        report.checks.last().map(|c| c.check),
        Some(ProbeTopic::Clock),
        "the clock line comes last"
    );

    mock.advance_clock(Duration::from_secs(90));
    let (code, report, _) = world.probe("plm", &[]);
    assert_eq!(code, 0, "a warning is no failure: {report:#?}");
    assert_eq!(status(&report, ProbeTopic::Clock), ProbeStatus::Warn);
    let said = detail(&report, ProbeTopic::Clock);
    assert!(said.contains("s behind 127.0.0.1's"), "{said}");

    mock.advance_clock(Duration::from_secs(600));
    let (code, report, _) = world.probe("plm", &[]);
    assert_eq!(code, 1, "{report:#?}");
    assert_eq!(failures(&report), [ProbeTopic::Clock], "{report:#?}");
    assert!(fix(&report, ProbeTopic::Clock).contains("timedatectl"));
}

#[test]
fn a_proxy_that_does_not_answer_fails_naming_it_and_no_proxy_goes_around_it() {
    let mock = MockServer::start_background(MockConfig::default()).unwrap();
    let world = World::new(&public_profile("plm", &mock.issuer(), ""));
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = format!("http://127.0.0.1:{port}");

    let (code, report, _) = world.probe("plm", &[("HTTP_PROXY", &proxy)]);
    assert_eq!(code, 1, "{report:#?}");
    assert_eq!(failures(&report), [ProbeTopic::Proxy], "{report:#?}");
    assert!(
        detail(&report, ProbeTopic::Proxy).contains(&format!("the proxy {proxy}")),
        "{report:#?}"
    );
    assert!(
        fix(&report, ProbeTopic::Proxy).contains("NO_PROXY=127.0.0.1"),
        "{report:#?}"
    );

    let (code, report, _) =
        world.probe("plm", &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")]);
    assert_eq!(code, 0, "{report:#?}");
    assert_eq!(status(&report, ProbeTopic::Proxy), ProbeStatus::Ok);
    assert!(
        detail(&report, ProbeTopic::Proxy).contains("reached directly"),
        "{report:#?}"
    );
}

#[test]
fn an_unknown_profile_is_an_error_on_stderr_and_no_report() {
    let world = World::new(&public_profile("plm", "https://sso.example.com", ""));
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd)
        .args(["probe", "nope", "--json"])
        .envs(world.env());
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("profile nope is not configured"),
        "{stderr}"
    );
}
