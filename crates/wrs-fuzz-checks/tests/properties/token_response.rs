//! Token endpoint answers: generated token and error bodies parse to what
//! they say, and any answer goes through the fuzz check.

use std::time::Duration;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::{Value, json};
use wrs_fuzz_checks::token_response::{SENT_AT, check, http_response};
use wrs_oauth::http::HttpResponse;
use wrs_oauth::token::parse_token_response;
use wrs_oauth::{ErrorCode, OAuthError};

use crate::cases;

fn answer(status: u16, body: &Value) -> HttpResponse {
    HttpResponse {
        status,
        content_type: "application/json".to_owned(),
        retry_after: None,
        body: serde_json::to_vec(body).unwrap(),
    }
}

/// `expires_in` as servers send it, with the seconds it means.
fn expires_in() -> impl Strategy<Value = (Value, Option<u64>)> {
    prop_oneof![
        Just((Value::Null, None)),
        (0u64..1_000_000_000).prop_map(|s| (json!(s), Some(s))),
        (0u64..1_000_000).prop_map(|s| (json!(s.to_string()), Some(s))),
        (0u64..1_000_000).prop_map(|s| (json!(format!(" {s} ")), Some(s))),
        (0u64..1_000_000).prop_map(|s| (json!(s as f64 + 0.5), Some(s))),
    ]
}

/// JSON values of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec(
                (
                    prop_oneof![
                        Just("access_token".to_owned()),
                        Just("token_type".to_owned()),
                        Just("expires_in".to_owned()),
                        Just("refresh_token".to_owned()),
                        Just("error".to_owned()),
                        Just("error_description".to_owned()),
                        "[a-z_]{1,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn a_token_body_parses_to_its_fields(
        access_token in "[A-Za-z0-9._~+/-]{1,60}={0,2}",
        token_type in "(?i:bearer)",
        (expires, seconds) in expires_in(),
        refresh_token in option::of("[!-~]{0,40}"),
        scope in option::of("[a-z_ ]{0,30}"),
        status in 200u16..300,
    ) {
        let mut body = json!({
            "access_token": access_token,
            "token_type": token_type,
            "expires_in": expires,
            "scope": scope,
        });
        if let Some(rt) = &refresh_token {
            body["refresh_token"] = json!(rt);
        }
        let response = answer(status, &body);
        let token = parse_token_response(&response, SENT_AT).unwrap();
        prop_assert_eq!(token.access_token.expose(), access_token.as_str());
        prop_assert_eq!(token.token_type.as_str(), "Bearer");
        prop_assert_eq!(token.expires_in, seconds.map(Duration::from_secs));
        prop_assert_eq!(token.expires_at, seconds.map(|s| SENT_AT + Duration::from_secs(s)));
        prop_assert_eq!(
            token.refresh_token.as_ref().map(|t| t.expose().to_owned()),
            refresh_token.filter(|t| !t.is_empty())
        );
        prop_assert_eq!(token.scope, scope);
        check(&response);
    }

    #[test]
    fn an_error_body_is_a_server_error_whatever_the_status(
        code in "[a-z_]{1,30}",
        description in option::of(".{0,400}"),
        status in 100u16..600,
        with_token in any::<bool>(),
    ) {
        let mut body = json!({ "error": code, "error_description": description });
        if with_token {
            body["access_token"] = json!("AT-must-not-matter");
            body["token_type"] = json!("Bearer");
        }
        let response = answer(status, &body);
        match parse_token_response(&response, SENT_AT) {
            Err(OAuthError::Server { code: got, status: s, .. }) => {
                prop_assert_eq!(got, ErrorCode::parse(&code));
                prop_assert_eq!(s, status);
            }
            other => prop_assert!(false, "{:?}", other),
        }
        check(&response);
    }

    #[test]
    fn any_json_body_goes_through_the_token_check(status in prop_oneof![200u16..300, 100u16..600], body in json_value()) {
        check(&answer(status, &body));
    }

    #[test]
    fn any_answer_goes_through_the_token_check(
        status in any::<u16>(),
        content_type in "[ -~]{0,90}",
        body in vec(any::<u8>(), 0..300),
    ) {
        let mut data = format!("{status} {content_type}\n").into_bytes();
        data.extend_from_slice(&body);
        let response = http_response(&data).unwrap();
        check(&response);
    }
}
