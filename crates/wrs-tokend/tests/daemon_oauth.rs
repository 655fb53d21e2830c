//! The real `wrs-tokend` binary with a real configuration (no test source)
//! against the mock: the config is found through WRS_TOKEN_CONFIG, an
//! imported refresh token gives tokens the server accepts, SIGHUP reloads.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use wrs_mock::{MockConfig, MockServer};
use wrs_proto::{ErrorKind, Request, Response, Secret};
use wrs_testkit::daemon::{StopOnDrop, call};
use wrs_testkit::wait_until;

const BIN: &str = env!("CARGO_BIN_EXE_wrs-tokend");

fn profile(name: &str, mock: &MockServer) -> String {
    format!(
        "[profiles.{name}]\nissuer = \"{}\"\nclient_id = \"wrs-cli\"\nauth = \"none\"\nstore = \"memory\"\n",
        mock.issuer()
    )
}

#[test]
fn the_daemon_serves_a_configured_profile_and_reloads_on_sighup() {
    let mock = MockServer::start_background(MockConfig::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, profile("plm", &mock)).unwrap();
    let socket = tmp.path().join("rt").join("agent.sock");
    let out = Command::new(BIN)
        .arg("--socket")
        .arg(&socket)
        .env(wrs_sys::env::CONFIG, &config)
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path().join("cfg"))
        .env("XDG_DATA_HOME", tmp.path().join("data"))
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _stopper = StopOnDrop(socket.clone());
    assert!(out.status.success(), "{out:?}");

    // Configured but not logged in: exit-3 kind, naming the login command.
    match call(
        &socket,
        Request::GetToken {
            profile: None,
            min_ttl_secs: Some(0),
            env_min_ttl_secs: None,
        },
    ) {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::LoginRequired);
            assert_eq!(e.hint.as_deref(), Some("run `wrs-token login plm`"));
        }
        other => panic!("{other:?}"),
    }

    let grant = mock.issue_tokens_for_test("wrs-cli", "demo", "").unwrap();
    match call(
        &socket,
        Request::ImportRefreshToken {
            profile: Some("plm".into()),
            refresh_token: Secret::new(grant.refresh_token.unwrap()),
        },
    ) {
        Response::LoginFinished { profile, .. } => assert_eq!(profile, "plm"),
        other => panic!("{other:?}"),
    }
    let token = match call(
        &socket,
        Request::GetToken {
            profile: Some("plm".into()),
            min_ttl_secs: Some(60),
            env_min_ttl_secs: None,
        },
    ) {
        Response::Token(t) => t,
        other => panic!("{other:?}"),
    };
    assert!(mock.is_access_token_valid(token.access_token.expose()));

    // SIGHUP: a second profile appears; the first keeps its session.
    std::fs::write(&config, profile("plm", &mock) + &profile("other", &mock)).unwrap();
    let pid = match call(&socket, Request::Status {}) {
        Response::Status(s) => s.pid,
        other => panic!("{other:?}"),
    };
    let hup = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    assert!(
        wait_until(Duration::from_secs(10), || matches!(
            call(&socket, Request::ListProfiles {}),
            Response::Profiles(list) if list.len() == 2
        )),
        "SIGHUP did not reload"
    );
    match call(
        &socket,
        Request::GetToken {
            profile: Some("plm".into()),
            min_ttl_secs: Some(60),
            env_min_ttl_secs: None,
        },
    ) {
        Response::Token(t) => assert_eq!(t.access_token, token.access_token),
        other => panic!("{other:?}"),
    }
    assert_eq!(mock.counters().token_refresh, 1);
}
