//! The other answers of the authorization server the daemon parses:
//! the device authorization endpoint's
//! (`wrs_oauth::device::parse_device_authorization`) and the introspection
//! endpoint's (`wrs_oauth::introspect::parse_introspection`).
//!
//! Input: as for [`crate::token_response`], a first line `STATUS
//! CONTENT-TYPE`, then the body. Checked for both:
//!
//! - a result comes only from a 2xx JSON object without `error`; an
//!   `error` string is always `OAuthError::Server` with that code, another
//!   non-2xx `OAuthError::Http`, a 2xx that is not the answer
//!   `OAuthError::InvalidResponse`, which quotes nothing of a JSON object;
//! - device: the `device_code` kept is the one sent and is not empty; the
//!   texts shown to the user (`user_code`, the verification URIs) are cut
//!   short and free of control characters; the code lives a while
//!   (`expires_in` > 0) and the polling interval is neither zero nor
//!   longer than that; the device code never reaches an error or `Debug`
//!   output (another code of the same shape changes neither);
//! - introspection: `active` is the body's boolean; the kept texts are cut
//!   short and free of control characters; `exp` is the body's number.

use serde_json::{Map, Value};
use wrs_oauth::device::parse_device_authorization;
use wrs_oauth::http::HttpResponse;
use wrs_oauth::introspect::parse_introspection;
use wrs_oauth::{ErrorCode, OAuthError};

use crate::token_response::{clean, http_response, other_string, with_body};

/// Splits the input and parses it as a device authorization answer.
pub fn device_authorization(data: &[u8]) {
    let Some(response) = http_response(data) else {
        return;
    };
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    match parse_device_authorization(&response) {
        Ok(device) => {
            let body = result_body(&response, json.as_ref());
            let sent = |field: &str| body.get(field).and_then(Value::as_str);
            assert_eq!(Some(device.device_code.expose()), sent("device_code"));
            assert!(!device.device_code.is_empty());
            assert!(clean(&device.user_code, 65), "{:?}", device.user_code);
            assert!(clean(&device.verification_uri, 2001));
            if let Some(uri) = &device.verification_uri_complete {
                assert!(clean(uri, 2001));
            }
            assert!(!device.expires_in.is_zero());
            assert!(!device.interval.is_zero());
            assert!(device.interval <= device.expires_in);
        }
        Err(err) => check_error(&response, json.as_ref(), &err),
    }
    if let Some(Value::Object(body)) = &json {
        check_device_code_hidden(&response, body);
    }
}

/// Splits the input and parses it as an introspection answer.
pub fn introspection(data: &[u8]) {
    let Some(response) = http_response(data) else {
        return;
    };
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    match parse_introspection(&response) {
        Ok(seen) => {
            let body = result_body(&response, json.as_ref());
            assert_eq!(
                Some(seen.active),
                body.get("active").and_then(Value::as_bool)
            );
            for text in [&seen.scope, &seen.client_id, &seen.username]
                .into_iter()
                .flatten()
            {
                assert!(clean(text, 501), "{text:?}");
            }
            assert_eq!(seen.exp, body.get("exp").and_then(Value::as_u64));
        }
        Err(err) => check_error(&response, json.as_ref(), &err),
    }
}

/// The body a successful parse came from: a 2xx JSON object without
/// `error`.
fn result_body<'a>(response: &HttpResponse, json: Option<&'a Value>) -> &'a Map<String, Value> {
    let status = response.status;
    assert!((200..300).contains(&status), "a result from HTTP {status}");
    let Some(Value::Object(body)) = json else {
        panic!("a result from a body that is not a JSON object");
    };
    assert!(
        body.get("error").and_then(Value::as_str).is_none(),
        "a result from an error body"
    );
    body
}

/// A failed parse has its cause in the answer.
fn check_error(response: &HttpResponse, json: Option<&Value>, err: &OAuthError) {
    let status = response.status;
    let success = (200..300).contains(&status);
    let error_code = json.and_then(|v| v.get("error")).and_then(Value::as_str);
    match err {
        OAuthError::Server {
            code,
            description,
            status: s,
            ..
        } => {
            assert_eq!(*s, status);
            let sent = error_code.expect("a server error comes from an `error` string");
            assert_eq!(*code, ErrorCode::parse(sent));
            if let Some(d) = description {
                assert!(clean(d, 301), "{d:?}");
            }
        }
        OAuthError::Http { status: s, .. } => {
            assert_eq!(*s, status);
            assert!(!success && error_code.is_none());
        }
        OAuthError::InvalidResponse {
            status: s, snippet, ..
        } => {
            assert_eq!(*s, status);
            assert!(success && error_code.is_none());
            assert!(clean(snippet, 101), "{snippet:?}");
            if matches!(json, Some(Value::Object(_) | Value::Array(_))) {
                assert!(snippet.is_empty(), "a JSON body is quoted: {snippet:?}");
            }
        }
        other => panic!("parsing an answer cannot give {other:?}"),
    }
}

/// The same answer with another device code of the same shape shows the
/// same: the code is never in an error or `Debug` output.
fn check_device_code_hidden(response: &HttpResponse, body: &Map<String, Value>) {
    let mut masked = body.clone();
    let Some(Value::String(code)) = masked.get_mut("device_code") else {
        return;
    };
    *code = other_string(code);
    let shown =
        |body: &Map<String, Value>| match parse_device_authorization(&with_body(response, body)) {
            Ok(device) => format!("{device:?}"),
            Err(err) => format!("{err} / {err:?}"),
        };
    assert_eq!(
        shown(body),
        shown(&masked),
        "the device code changes what is shown"
    );
}
