//! The configuration as the daemon sees it: broken at start, reload keeping
//! unchanged sessions, a broken reload keeping the old configuration.
#![allow(clippy::unwrap_used)]

mod mock_env;

use std::sync::Arc;

use mock_env::{Env, public_profile};
use wrs_mock::MockConfig;
use wrs_proto::{ErrorKind, Request, Response};
use wrs_tokend::clock::SystemClock;

#[tokio::test]
async fn a_broken_config_at_start_answers_every_profile_request_with_file_and_line() {
    let env = Env::start(
        MockConfig::default(),
        |_| "[profiles.plm]\nclient_id = \"x\"\ncolour = \"red\"\n".into(),
        Arc::new(SystemClock),
    )
    .await;
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(err.message.contains("config.toml:3"), "{}", err.message);
    assert!(err.message.contains("colour"), "{}", err.message);
    assert!(
        err.hint
            .unwrap()
            .contains("the daemon applies it by itself")
    );
    for request in [
        Request::ListProfiles {},
        Request::Logout {
            profile: None,
            revoke: true,
        },
        Request::LoginBegin {
            profile: None,
            method: wrs_proto::LoginMethod::Browser,
        },
    ] {
        match env.call(request).await {
            Response::Error(e) => assert_eq!(e.kind, ErrorKind::Config),
            other => panic!("{other:?}"),
        }
    }
    // The daemon itself still answers.
    assert!(matches!(
        env.call(Request::Status {}).await,
        Response::Status(_)
    ));

    // Fixed and reloaded: served.
    env.write_config(&public_profile("plm", &env.mock, "memory", ""));
    assert!(matches!(
        env.call(Request::Reload {}).await,
        Response::Reloaded { profiles: 1 }
    ));
    assert_eq!(
        env.token("plm").await.unwrap_err().kind,
        ErrorKind::LoginRequired
    );
}

#[tokio::test]
async fn no_profiles_is_still_no_profile_configured() {
    let env = Env::start(
        MockConfig::default(),
        |_| String::new(),
        Arc::new(SystemClock),
    )
    .await;
    let err = env.token("plm").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoProfile);
    match env
        .call(Request::GetToken {
            profile: None,
            min_ttl_secs: Some(0),
            env_min_ttl_secs: None,
        })
        .await
    {
        Response::Error(e) => assert_eq!(e.message, "no profile configured"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn reload_keeps_unchanged_sessions_and_refuses_a_broken_file() {
    let env = Env::start(
        MockConfig::default().auto_approve(true),
        |m| public_profile("a", m, "memory", "") + &public_profile("b", m, "memory", ""),
        Arc::new(SystemClock),
    )
    .await;
    env.browser_login("a").await;
    env.browser_login("b").await;
    let a = env.token("a").await.unwrap();
    let requests = env.mock.counters().token;

    // b changes, c appears, a stays.
    env.write_config(
        &(public_profile("a", &env.mock, "memory", "")
            + &public_profile("b", &env.mock, "memory", "min_ttl = 30")
            + &public_profile("c", &env.mock, "memory", "")),
    );
    assert!(matches!(
        env.call(Request::Reload {}).await,
        Response::Reloaded { profiles: 3 }
    ));
    assert_eq!(env.token("a").await.unwrap(), a, "a's session survived");
    assert_eq!(env.mock.counters().token, requests, "without a request");
    // b's session was dropped; its refresh token (in the store) is not.
    let b = env.token("b").await.unwrap();
    assert!(env.mock.is_access_token_valid(b.access_token.expose()));
    assert_eq!(env.mock.counters().token_refresh, 1);

    // A broken file: the caller hears why, the old configuration stays.
    env.write_config("[profiles.a]\nclient_id = 42\n");
    match env.call(Request::Reload {}).await {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::Config);
            assert!(e.message.contains("config.toml:2"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.token("a").await.unwrap(), a);
    match env.call(Request::ListProfiles {}).await {
        Response::Profiles(list) => {
            let names: Vec<_> = list.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["a", "b", "c"]);
        }
        other => panic!("{other:?}"),
    }
}
