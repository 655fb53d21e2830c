//! The config file: valid configs are written and read back equal, any
//! text goes through the fuzz check, and an unknown key is named with its
//! line.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use wrs_config::{ClientAuth, Config, ConfigError, Grant, Profile, StoreKind};
use wrs_fuzz_checks::config;

use crate::cases;

fn url() -> impl Strategy<Value = String> {
    "https?://[a-z0-9.-]{1,12}(:[0-9]{1,5})?(/[a-zA-Z0-9._~%/-]{0,20})?"
}

/// Seconds, small or past what a TOML integer holds (the toml crate reads
/// and writes all of u64).
fn seconds() -> impl Strategy<Value = Option<u64>> {
    option::of(prop_oneof![0u64..100_000, any::<u64>()])
}

fn profile() -> impl Strategy<Value = Profile> {
    let endpoints = (
        option::of(url()),
        option::of(url()),
        option::of(url()),
        option::of(url()),
        option::of(url()),
    );
    let client = (
        "[!-~][ -~]{0,15}",
        prop_oneof![
            Just(ClientAuth::Basic),
            Just(ClientAuth::Post),
            Just(ClientAuth::None)
        ],
        vec(".{0,12}", 0..4),
        prop_oneof![
            Just(Grant::Code),
            Just(Grant::Device),
            Just(Grant::ClientCredentials)
        ],
    );
    let rest = (
        option::of("(https?|com\\.example\\.app)://[ -~]{0,20}"),
        option::of(".{0,20}"),
        option::of(url()),
        prop_oneof![
            Just(StoreKind::Keyring),
            Just(StoreKind::File),
            Just(StoreKind::Memory)
        ],
        (
            seconds(),
            seconds(),
            option::of(prop_oneof![Just(0u64), 60u64..=u64::MAX]),
        ),
    );
    (url(), endpoints, client, rest).prop_map(|(issuer, e, c, r)| {
        let mut p = Profile {
            issuer: Some(issuer),
            authorization_endpoint: e.0,
            token_endpoint: e.1,
            revocation_endpoint: e.2,
            device_authorization_endpoint: e.3,
            client_id: c.0,
            auth: c.1,
            scopes: c.2,
            grant: c.3,
            redirect_uri: r.0,
            ca_file: r.1,
            resource: r.2,
            resource_ca_file: None,
            store: r.3,
            min_ttl: r.4.0,
            keep_warm: r.4.1,
            keepalive: r.4.2,
        };
        // Client credentials need a secret, so no public client.
        if p.grant == Grant::ClientCredentials && p.auth == ClientAuth::None {
            p.auth = ClientAuth::Basic;
        }
        // Without an issuer the explicit endpoints must cover the grant.
        if e.4.is_some() && p.token_endpoint.is_some() && p.grant == Grant::ClientCredentials {
            p.issuer = None;
        }
        p
    })
}

fn valid_config() -> impl Strategy<Value = Config> {
    vec(("[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,15}", profile()), 0..4).prop_flat_map(|profiles| {
        let profiles: BTreeMap<String, Profile> = profiles.into_iter().collect();
        let names: Vec<String> = profiles.keys().cloned().collect();
        let default = if names.is_empty() {
            Just(None).boxed()
        } else {
            option::of(proptest::sample::select(names)).boxed()
        };
        default.prop_map(move |default| Config {
            default,
            profiles: profiles.clone(),
        })
    })
}

/// Lines a config file could have, right or wrong.
fn line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("issuer"),
        Just("client_id"),
        Just("token_endpoint"),
        Just("scopes"),
        Just("grant"),
        Just("auth"),
        Just("store"),
        Just("keepalive"),
        Just("min_ttl"),
        Just("redirect_uri"),
        Just("default"),
        Just("clientid"),
    ];
    let value = prop_oneof![
        Just("\"https://sso.example.com\"".to_owned()),
        Just("\"device\"".to_owned()),
        Just("\"client-credentials\"".to_owned()),
        Just("[\"openid\", \"x\"]".to_owned()),
        (-5i64..100_000).prop_map(|n| n.to_string()),
        "\"[ -~]{0,10}\"",
        ".{0,10}",
    ];
    prop_oneof![
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        "\\[profiles\\.[a-z.\"]{1,8}\\]",
        Just(String::new()),
        "#.{0,10}",
    ]
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn a_valid_config_is_written_and_read_back_equal(c in valid_config()) {
        let text = toml::to_string_pretty(&c).unwrap();
        match Config::parse(Path::new("c.toml"), &text) {
            Ok(back) => prop_assert_eq!(back, c),
            Err(e) => prop_assert!(false, "{e}\n{text}"),
        }
        config::check_text(&text);
    }

    #[test]
    fn config_like_text_goes_through_the_config_check(lines in vec(line(), 0..12), crlf in any::<bool>()) {
        let eol = if crlf { "\r\n" } else { "\n" };
        config::check_text(&lines.join(eol));
    }

    #[test]
    fn any_text_goes_through_the_config_check(text in ".{0,200}") {
        config::check_text(&text);
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line(before in 0usize..6, key in "[a-z]{1,8}_x") {
        let mut text = String::from("[profiles.p]\nissuer = \"https://sso\"\n");
        for i in 0..before {
            text.push_str(&format!("# comment {i}\n"));
        }
        text.push_str(&format!("{key} = 1\nclient_id = \"c\"\n"));
        match Config::parse(Path::new("c.toml"), &text) {
            Err(ConfigError::Parse { line, message, .. }) => {
                prop_assert_eq!(line, 3 + before);
                prop_assert!(message.contains(&key), "{}", message);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
