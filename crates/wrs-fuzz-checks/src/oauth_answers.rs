//! The other answers of the authorization server the daemon parses:
//! the device authorization endpoint's
//! (`wrs_oauth::device::parse_device_authorization`) and the introspection
//! endpoint's (`wrs_oauth::introspect::parse_introspection`).
//!
//! Input: as for [`crate::token_response`], a first line `STATUS
//! CONTENT-TYPE`, then the body. Checked for both:
//!
//! - a result comes only from a 2xx JSON object without `error`, and an
//!   error has its cause in the answer, by the same checks as a token
//!   endpoint's answer (`token_response::result_body`, `check_error`);
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

use crate::token_response::{
    check_error, clean, http_response, other_string, result_body, with_body,
};

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
