use std::io::{BufReader, Cursor};

use super::*;
use crate::{ErrorKind, ErrorResponse, Request, Response, Secret, TokenReply};

fn sample_requests() -> Vec<Request> {
    vec![
        Request::GetToken {
            profile: Some("plm".into()),
            min_ttl_secs: Some(30),
            env_min_ttl_secs: None,
        },
        Request::GetToken {
            profile: None,
            min_ttl_secs: Some(0),
            env_min_ttl_secs: None,
        },
        Request::Status {},
        Request::Invalidate {
            profile: None,
            token: Some(Secret::new("tok")),
        },
        Request::LoginBegin {
            profile: Some("plm".into()),
            method: crate::LoginMethod::Device,
        },
        Request::LoginWait {
            login_id: "l1".into(),
            timeout_secs: 5,
        },
        Request::LoginPaste {
            login_id: "l1".into(),
            redirected_url: Secret::new("http://x/?code=1"),
        },
        Request::Logout {
            profile: None,
            revoke: true,
        },
        Request::ListProfiles {},
        Request::Reload {},
        Request::Shutdown {},
        Request::ImportRefreshToken {
            profile: None,
            refresh_token: Secret::new("rt"),
        },
        Request::LoginCancel {
            profile: Some("plm".into()),
            login_id: Some("l1".into()),
        },
        Request::LoginCancel {
            profile: None,
            login_id: None,
        },
        Request::WhoAmI {
            profile: Some("plm".into()),
        },
        Request::WhoAmI { profile: None },
    ]
}

fn sample_responses() -> Vec<Response> {
    vec![
        Response::Error(
            ErrorResponse::new(ErrorKind::LoginRequired, "login required")
                .with_hint("run `wrs-token login plm`")
                .with_oauth_error("invalid_grant"),
        ),
        Response::Token(TokenReply {
            profile: "plm".into(),
            access_token: Secret::new("abc.def"),
            token_type: "Bearer".into(),
            expires_at: 1_800_000_000,
            lifetime_secs: 3600,
            min_ttl_secs: 10,
            min_ttl_met: true,
            warning: None,
            scope: Some("openid offline_access".into()),
        }),
        Response::Invalidated {
            profile: "plm".into(),
            dropped: true,
        },
        Response::LoginPending {},
        Response::Profiles(vec![]),
        Response::ShuttingDown {},
        Response::SecretStored {
            profile: "plm".into(),
            store: "memory".into(),
        },
        Response::LoginCancelled {
            profile: "plm".into(),
            cancelled: true,
        },
        Response::Identity(crate::IdentityReport {
            profile: "plm".into(),
            server: "https://sso.example.com".into(),
            state: crate::SessionState::Active,
            subject: Some("alice".into()),
            username: Some("alice".into()),
            name: Some("Alice Example".into()),
            email: Some("alice@example.com".into()),
            issuer: Some("https://sso.example.com".into()),
            scope: Some("openid offline_access".into()),
            scope_granted: true,
            logged_in_at: Some(1_800_000_000),
            refresh_token_issued_at: Some(1_800_000_100),
            access_token_lifetime_secs: Some(7),
            access_token_expires_at: Some(1_800_000_107),
            ended: None,
        }),
        Response::Identity(crate::IdentityReport {
            profile: "old".into(),
            server: "https://sso.example.com".into(),
            state: crate::SessionState::NeedsLogin,
            subject: None,
            username: None,
            name: None,
            email: None,
            issuer: None,
            scope: None,
            scope_granted: false,
            logged_in_at: None,
            refresh_token_issued_at: None,
            access_token_lifetime_secs: None,
            access_token_expires_at: None,
            ended: Some(crate::SessionEnd::Revoked),
        }),
        Response::NotLoggedIn {
            profile: "plm".into(),
        },
    ]
}

#[test]
fn every_request_round_trips_in_binary_mode() {
    for request in sample_requests() {
        let frame = encode_binary(&RequestEnvelope::new(request.clone())).unwrap();
        let mut reader = Cursor::new(frame);
        let body = read_frame(&mut reader).unwrap().unwrap();
        let back = decode_request(Mode::detect(body[0]), &body).unwrap();
        assert_eq!(back.request, request);
        assert_eq!(
            read_frame(&mut reader).unwrap(),
            None,
            "clean end of stream"
        );
    }
}

#[test]
fn every_request_round_trips_in_json_mode() {
    for request in sample_requests() {
        let line = encode_json(&RequestEnvelope::new(request.clone())).unwrap();
        assert_eq!(line[0], b'{');
        assert_eq!(Mode::detect(line[0]), Mode::Json);
        let mut reader = BufReader::new(Cursor::new(line));
        let got = read_json_line(&mut reader).unwrap().unwrap();
        assert_eq!(decode_request(Mode::Json, &got).unwrap().request, request);
        assert_eq!(read_json_line(&mut reader).unwrap(), None);
    }
}

#[test]
fn every_response_round_trips_in_both_modes() {
    for response in sample_responses() {
        let frame = encode_binary(&response).unwrap();
        let back: Response = decode_binary(&frame[LEN_PREFIX..]).unwrap();
        assert_eq!(back, response);
        let line = encode_json(&response).unwrap();
        let back: Response = decode_json(&line).unwrap();
        assert_eq!(back, response);
    }
}

#[test]
fn binary_frames_start_with_zero_so_json_detection_is_unambiguous() {
    let frame = encode_binary(&RequestEnvelope::new(Request::Status {})).unwrap();
    assert_eq!(frame[0], 0);
    assert_eq!(Mode::detect(frame[0]), Mode::Binary);
}

#[test]
fn json_request_shape_is_the_documented_one() {
    // docs/protocol.md shows this exact line; plugins depend on it.
    let line = br#"{"version":3,"request":{"get_token":{"profile":"plm","min_ttl_secs":60}}}"#;
    let env = decode_request(Mode::Json, line).unwrap();
    assert_eq!(
        env.request,
        Request::GetToken {
            profile: Some("plm".into()),
            min_ttl_secs: Some(60),
            env_min_ttl_secs: None
        }
    );
    let status = br#"{"version":3,"request":{"status":{}}}"#;
    assert_eq!(
        decode_request(Mode::Json, status).unwrap().request,
        Request::Status {}
    );
    let whoami = br#"{"version":3,"request":{"who_am_i":{"profile":"plm"}}}"#;
    assert_eq!(
        decode_request(Mode::Json, whoami).unwrap().request,
        Request::WhoAmI {
            profile: Some("plm".into())
        }
    );
}

#[test]
fn truncated_frame_is_a_typed_error() {
    let frame = encode_binary(&RequestEnvelope::new(Request::Status {})).unwrap();
    for cut in 1..frame.len() {
        let err = read_frame(&mut Cursor::new(&frame[..cut])).unwrap_err();
        assert!(matches!(err, WireError::Truncated), "cut at {cut}: {err:?}");
    }
}

#[test]
fn oversize_length_prefix_is_rejected_without_allocating() {
    // A 4 GiB announcement must fail on the prefix alone.
    let mut bytes = u32::MAX.to_be_bytes().to_vec();
    bytes.extend_from_slice(b"tiny");
    let err = read_frame(&mut Cursor::new(bytes)).unwrap_err();
    assert!(matches!(err, WireError::TooLarge { len } if len == u64::from(u32::MAX)));
    let just_over = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes();
    assert!(matches!(
        body_len(just_over),
        Err(WireError::TooLarge { .. })
    ));
    assert_eq!(
        body_len((MAX_FRAME_LEN as u32).to_be_bytes()).unwrap(),
        MAX_FRAME_LEN
    );
}

#[test]
fn oversize_messages_are_refused_on_write_too() {
    let huge = Request::GetToken {
        profile: Some("x".repeat(MAX_FRAME_LEN)),
        min_ttl_secs: Some(0),
        env_min_ttl_secs: None,
    };
    let env = RequestEnvelope::new(huge);
    assert!(matches!(
        encode_binary(&env),
        Err(WireError::TooLarge { .. })
    ));
    assert!(matches!(encode_json(&env), Err(WireError::TooLarge { .. })));
}

#[test]
fn hostile_inner_length_does_not_allocate() {
    // version 3, variant 0 (get_token), Some, then a string length of ~2^60:
    // the decode limit must refuse it instead of reserving memory.
    let body = [3u8, 0, 1, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0x10];
    let err = decode_request(Mode::Binary, &body).unwrap_err();
    assert!(matches!(err, WireError::Decode(_)), "{err:?}");
}

#[test]
fn unknown_variant_is_a_decode_error() {
    let body = [3u8, 200];
    assert!(matches!(
        decode_request(Mode::Binary, &body),
        Err(WireError::Decode(_))
    ));
    let json = br#"{"version":3,"request":{"make_coffee":{}}}"#;
    assert!(matches!(
        decode_request(Mode::Json, json),
        Err(WireError::InvalidJson(_))
    ));
}

#[test]
fn wrong_version_is_reported_before_the_body_is_decoded() {
    // A future client whose request layout we cannot read at all.
    let body = [7u8, 0xff, 0xff, 0xff];
    assert!(matches!(
        decode_request(Mode::Binary, &body),
        Err(WireError::VersionMismatch { peer: 7 })
    ));
    let json = br#"{"version":4,"request":{"something_new":{"x":1}}}"#;
    assert!(matches!(
        decode_request(Mode::Json, json),
        Err(WireError::VersionMismatch { peer: 4 })
    ));
    // Version 1 clients sent `min_ttl_secs` as a plain number.
    let json = br#"{"version":1,"request":{"get_token":{"profile":null,"min_ttl_secs":10}}}"#;
    assert!(matches!(
        decode_request(Mode::Json, json),
        Err(WireError::VersionMismatch { peer: 1 })
    ));
}

#[test]
fn invalid_json_and_invalid_utf8_are_typed_errors() {
    assert!(matches!(
        decode_request(Mode::Json, b"{not json"),
        Err(WireError::InvalidJson(_))
    ));
    assert!(matches!(
        decode_request(Mode::Json, b"{\"version\":3}"),
        Err(WireError::InvalidJson(_))
    ));
    assert!(matches!(
        decode_request(Mode::Json, b"{\"v\xff\"}"),
        Err(WireError::InvalidUtf8)
    ));
}

#[test]
fn trailing_bytes_after_a_message_are_rejected() {
    let mut frame = encode_binary(&RequestEnvelope::new(Request::Status {})).unwrap();
    frame.push(0);
    assert!(matches!(
        decode_request(Mode::Binary, &frame[LEN_PREFIX..]),
        Err(WireError::TrailingBytes(1))
    ));
}

#[test]
fn overlong_json_line_is_rejected_without_reading_it_all() {
    let mut line = b"{\"version\":1,\"pad\":\"".to_vec();
    line.extend(std::iter::repeat_n(b'a', 4 * MAX_FRAME_LEN));
    let mut reader = BufReader::new(Cursor::new(line));
    assert!(matches!(
        read_json_line(&mut reader),
        Err(WireError::TooLarge { .. })
    ));
}

#[test]
fn json_line_without_newline_at_eof_is_truncated() {
    let mut reader = BufReader::new(Cursor::new(b"{\"version\":1".to_vec()));
    assert!(matches!(
        read_json_line(&mut reader),
        Err(WireError::Truncated)
    ));
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic xorshift so the test is reproducible.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|i| (state >> (i % 8 * 8)) as u8 ^ i as u8)
            .collect();
        let _ = decode_request(Mode::Binary, &bytes);
        let _ = decode_request(Mode::Json, &bytes);
        let _ = decode_binary::<Response>(&bytes);
        let _ = read_frame(&mut Cursor::new(&bytes));
    }
}
