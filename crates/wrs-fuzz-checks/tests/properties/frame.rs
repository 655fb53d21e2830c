//! The wire: every message round-trips in both modes, any bytes go through
//! the fuzz check, and the 64 KiB cap holds for prefixes and lines.

use std::io::{BufReader, Cursor};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use wrs_fuzz_checks::frame;
use wrs_proto::frame::{
    LEN_PREFIX, Mode, WireError, decode_binary, decode_json, decode_request, encode_binary,
    encode_json, read_frame, read_json_line,
};
use wrs_proto::{
    ErrorKind, ErrorResponse, IdentityReport, LoginMethod, LoginPrompt, MAX_FRAME_LEN,
    PlannedFetch, ProfileStatus, ProfileSummary, Request, RequestEnvelope, Response, Secret,
    SessionEnd, SessionState, StatusReport, TokenReply,
};

use crate::cases;

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, control characters included (JSON escapes them).
    ".{0,24}"
}

fn name() -> impl Strategy<Value = Option<String>> {
    option::of(text())
}

fn secret() -> impl Strategy<Value = Secret> {
    text().prop_map(Secret::new)
}

/// Every variant of a field-less enum, found by decoding each variant
/// index: variants appended later are generated too.
fn every<T: serde::de::DeserializeOwned + Clone + std::fmt::Debug + 'static>()
-> impl Strategy<Value = T> {
    let all: Vec<T> = (0u8..=250)
        .filter_map(|i| decode_binary(&[i]).ok())
        .collect();
    assert!(!all.is_empty());
    proptest::sample::select(all)
}

fn login_method() -> impl Strategy<Value = LoginMethod> {
    every()
}

/// Every request variant (a new one must be added here).
fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (name(), option::of(any::<u64>()), option::of(any::<u64>())).prop_map(
            |(profile, min_ttl_secs, env_min_ttl_secs)| Request::GetToken {
                profile,
                min_ttl_secs,
                env_min_ttl_secs,
            }
        ),
        Just(Request::Status {}),
        (name(), option::of(secret()))
            .prop_map(|(profile, token)| Request::Invalidate { profile, token }),
        (name(), login_method())
            .prop_map(|(profile, method)| Request::LoginBegin { profile, method }),
        (text(), any::<u64>()).prop_map(|(login_id, timeout_secs)| Request::LoginWait {
            login_id,
            timeout_secs
        }),
        (text(), secret()).prop_map(|(login_id, redirected_url)| Request::LoginPaste {
            login_id,
            redirected_url
        }),
        (name(), any::<bool>()).prop_map(|(profile, revoke)| Request::Logout { profile, revoke }),
        Just(Request::ListProfiles {}),
        Just(Request::Reload {}),
        Just(Request::Shutdown {}),
        (name(), secret()).prop_map(|(profile, refresh_token)| Request::ImportRefreshToken {
            profile,
            refresh_token
        }),
        (text(), secret()).prop_map(|(profile, client_secret)| Request::SetClientSecret {
            profile,
            client_secret
        }),
        (text(), any::<bool>())
            .prop_map(|(profile, revoke)| Request::ForgetProfile { profile, revoke }),
        (name(), option::of(text()))
            .prop_map(|(profile, login_id)| Request::LoginCancel { profile, login_id }),
        name().prop_map(|profile| Request::WhoAmI { profile }),
    ]
}

fn session_end() -> impl Strategy<Value = Option<SessionEnd>> {
    option::of(every())
}

fn identity() -> impl Strategy<Value = IdentityReport> {
    let who = (name(), name(), name(), name(), name());
    let times = (
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
    );
    (
        (text(), text(), session_state()),
        who,
        (name(), any::<bool>()),
        times,
        session_end(),
    )
        .prop_map(|(head, who, scope, times, ended)| IdentityReport {
            profile: head.0,
            server: head.1,
            state: head.2,
            subject: who.0,
            username: who.1,
            name: who.2,
            email: who.3,
            issuer: who.4,
            scope: scope.0,
            scope_granted: scope.1,
            logged_in_at: times.0,
            refresh_token_issued_at: times.1,
            access_token_lifetime_secs: times.2,
            access_token_expires_at: times.3,
            ended,
        })
}

fn error_kind() -> impl Strategy<Value = ErrorKind> {
    every()
}

fn session_state() -> impl Strategy<Value = SessionState> {
    every()
}

fn planned() -> impl Strategy<Value = Option<PlannedFetch>> {
    option::of(every())
}

fn profile_status() -> impl Strategy<Value = ProfileStatus> {
    let times = (
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
    );
    let counts = (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>());
    (
        text(),
        session_state(),
        name(),
        planned(),
        times,
        counts,
        (name(), session_end()),
    )
        .prop_map(
            |(name, state, last_error, next_refresh, times, counts, who)| ProfileStatus {
                name,
                state,
                expires_at: times.0,
                next_refresh_at: times.1,
                last_error,
                next_refresh,
                token_lifetime_secs: times.2,
                last_used_at: times.3,
                served_last_hour: counts.0,
                token_requests_last_hour: counts.1,
                token_request_budget_per_hour: times.4,
                keep_warm_secs: counts.2,
                keepalive_secs: counts.3,
                user: who.0,
                ended: who.1,
            },
        )
}

/// Every response variant (a new one must be added here).
fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        (error_kind(), text(), name(), name(), any::<u32>()).prop_map(
            |(kind, message, hint, oauth_error, protocol_version)| {
                Response::Error(ErrorResponse {
                    kind,
                    message,
                    hint,
                    oauth_error,
                    protocol_version,
                })
            }
        ),
        (
            text(),
            secret(),
            text(),
            (any::<u64>(), any::<u64>(), any::<u64>()),
            any::<bool>(),
            name(),
            name()
        )
            .prop_map(
                |(profile, access_token, token_type, n, min_ttl_met, warning, scope)| {
                    Response::Token(TokenReply {
                        profile,
                        access_token,
                        token_type,
                        expires_at: n.0,
                        lifetime_secs: n.1,
                        min_ttl_secs: n.2,
                        min_ttl_met,
                        warning,
                        scope,
                    })
                }
            ),
        (
            text(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            text(),
            vec(profile_status(), 0..3),
            (text(), name())
        )
            .prop_map(
                |(daemon_version, protocol_version, pid, uptime_secs, socket, profiles, config)| {
                    Response::Status(StatusReport {
                        daemon_version,
                        protocol_version,
                        pid,
                        uptime_secs,
                        socket,
                        profiles,
                        config_file: config.0,
                        config_error: config.1,
                    })
                }
            ),
        (text(), any::<bool>())
            .prop_map(|(profile, dropped)| Response::Invalidated { profile, dropped }),
        (
            text(),
            text(),
            (name(), name(), name()),
            any::<bool>(),
            any::<u64>()
        )
            .prop_map(|(login_id, profile, urls, expects_paste, expires_in)| {
                Response::LoginStarted(LoginPrompt {
                    login_id,
                    profile,
                    url: urls.0,
                    user_code: urls.1,
                    url_complete: urls.2,
                    expects_paste,
                    expires_in,
                })
            }),
        Just(Response::LoginPending {}),
        (text(), any::<u64>()).prop_map(|(profile, expires_at)| Response::LoginFinished {
            profile,
            expires_at
        }),
        (text(), any::<bool>())
            .prop_map(|(profile, revoked)| Response::LoggedOut { profile, revoked }),
        vec(
            (text(), any::<bool>(), text(), session_state()).prop_map(
                |(name, is_default, server, state)| ProfileSummary {
                    name,
                    is_default,
                    server,
                    state,
                }
            ),
            0..4
        )
        .prop_map(Response::Profiles),
        any::<u32>().prop_map(|profiles| Response::Reloaded { profiles }),
        Just(Response::ShuttingDown {}),
        (text(), text()).prop_map(|(profile, store)| Response::SecretStored { profile, store }),
        (text(), any::<bool>())
            .prop_map(|(profile, cancelled)| Response::LoginCancelled { profile, cancelled }),
        identity().prop_map(Response::Identity),
        text().prop_map(|profile| Response::NotLoggedIn { profile }),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn every_request_round_trips_in_both_modes(request in request()) {
        let envelope = RequestEnvelope::new(request);
        let frame_bytes = encode_binary(&envelope).unwrap();
        prop_assert_eq!(decode_request(Mode::Binary, &frame_bytes[LEN_PREFIX..]).unwrap(), envelope.clone());
        frame::request(&frame_bytes);
        let line = encode_json(&envelope).unwrap();
        prop_assert_eq!(decode_request(Mode::Json, &line).unwrap(), envelope);
        frame::request(&line);
    }

    #[test]
    fn every_response_round_trips_in_both_modes(response in response()) {
        let frame_bytes = encode_binary(&response).unwrap();
        prop_assert_eq!(decode_binary::<Response>(&frame_bytes[LEN_PREFIX..]).unwrap(), response.clone());
        frame::response(&frame_bytes);
        let line = encode_json(&response).unwrap();
        prop_assert_eq!(decode_json::<Response>(&line).unwrap(), response);
        frame::response(&line);
    }

    #[test]
    fn arbitrary_bytes_go_through_the_frame_checks(bytes in vec(any::<u8>(), 0..512)) {
        frame::request(&bytes);
        frame::response(&bytes);
        // The same bytes as a binary body behind a valid prefix.
        let mut framed = (bytes.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        frame::request(&framed);
        frame::response(&framed);
    }

    #[test]
    fn json_like_lines_go_through_the_frame_checks(body in "[{}\\[\\]\":,a-z0-9_ \\\\]{0,200}") {
        let line = format!("{{\"version\":3,\"request\":{body}\n");
        frame::request(line.as_bytes());
        let line = format!("{{{body}\n");
        frame::response(line.as_bytes());
    }

    #[test]
    fn a_length_prefix_above_the_cap_is_refused_on_the_prefix(
        len in (MAX_FRAME_LEN as u32 + 1)..=u32::MAX,
        tail in vec(any::<u8>(), 0..32),
    ) {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend_from_slice(&tail);
        let mut reader = Cursor::new(bytes);
        match read_frame(&mut reader) {
            Err(WireError::TooLarge { len: got }) => prop_assert_eq!(got, u64::from(len)),
            other => prop_assert!(false, "{:?}", other),
        }
        prop_assert_eq!(reader.position(), LEN_PREFIX as u64, "nothing past the prefix is read");
    }

    #[test]
    fn a_json_line_above_the_cap_is_refused_without_reading_it_all(
        extra in 2usize..4096,
        newline in any::<bool>(),
    ) {
        let mut line = vec![b'{'];
        line.resize(MAX_FRAME_LEN + 1 + extra, b' ');
        if newline {
            line.push(b'\n');
        }
        line.extend_from_slice(b"{\"version\":3}\n");
        let mut reader = BufReader::new(Cursor::new(line));
        let refused = match read_json_line(&mut reader) {
            Err(WireError::TooLarge { .. }) => true,
            // Exactly at the edge a line may be read; its decode refuses it.
            Ok(Some(line)) => matches!(decode_json::<RequestEnvelope>(&line), Err(WireError::TooLarge { .. })),
            _ => false,
        };
        prop_assert!(refused);
    }
}

proptest! {
    #![proptest_config(cases(8))]

    #[test]
    fn bodies_up_to_the_cap_are_read_whole(len in prop_oneof![0..64usize, (MAX_FRAME_LEN - 64)..=MAX_FRAME_LEN]) {
        let mut bytes = (len as u32).to_be_bytes().to_vec();
        bytes.resize(LEN_PREFIX + len, 7);
        let body = read_frame(&mut Cursor::new(bytes)).unwrap().unwrap();
        prop_assert_eq!(body.len(), len);
    }
}
