//! Token endpoint answers (`wrs_oauth::token::parse_token_response`, with
//! the error-body handling of `wrs_oauth::error`): an HTTP status, a
//! content type and a body become a `TokenResponse` or an `OAuthError`.
//!
//! Input: a first line `STATUS CONTENT-TYPE` (the type may be empty), then
//! the body, e.g. `200 application/json\n{"access_token":…}`. Checked:
//!
//! - a token comes only from a 2xx JSON object without `error`, and is the
//!   body's non-empty `access_token` (without whitespace or control
//!   characters, which could break a header) with a bearer `token_type`; its expiry
//!   is `sent_at + expires_in`; a refresh token, when given, is not empty;
//! - an `error` field always becomes `OAuthError::Server` with that code,
//!   whatever the status; its description is short and free of control
//!   characters;
//! - a non-2xx answer without `error` is `OAuthError::Http`; a 2xx that is
//!   not a token is `OAuthError::InvalidResponse`, which quotes nothing of
//!   a JSON object or array (it may hold tokens);
//! - no token reaches an error or `Debug` output: replacing the values of
//!   `access_token`, `refresh_token` and `id_token` by others of the same
//!   shape ([`other_string`]) changes neither.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use wrs_oauth::http::HttpResponse;
use wrs_oauth::token::parse_token_response;
use wrs_oauth::{ErrorCode, OAuthError, TokenResponse};

/// When the request was sent, for every parse.
pub const SENT_AT: SystemTime = SystemTime::UNIX_EPOCH;

/// The fields whose values must never show.
pub const SECRET_FIELDS: &[&str] = &["access_token", "refresh_token", "id_token"];

/// Splits the input and parses it as a token endpoint answer.
pub fn token_response(data: &[u8]) {
    let Some(response) = http_response(data) else {
        return;
    };
    check(&response);
}

/// Reads `STATUS CONTENT-TYPE\nBODY`; `None` when the first line is not
/// that. The content type is what the HTTP client would keep: visible
/// ASCII only (else `(none)`, as for a header that is not a string), at
/// most 80 characters.
pub fn http_response(data: &[u8]) -> Option<HttpResponse> {
    let end = data.iter().position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&data[..end]).ok()?;
    let head = head.strip_suffix('\r').unwrap_or(head);
    let (status, content_type) = head.split_once(' ').unwrap_or((head, ""));
    let status: u16 = status.parse().ok()?;
    let content_type = if content_type.is_empty()
        || !content_type
            .chars()
            .all(|c| c == ' ' || c.is_ascii_graphic())
    {
        "(none)".to_owned()
    } else if content_type.len() > 80 {
        format!("{}…", &content_type[..80])
    } else {
        content_type.to_owned()
    };
    Some(HttpResponse {
        status,
        content_type,
        retry_after: None,
        body: data[end + 1..].to_vec(),
    })
}

/// Parses `response` and checks the outcome against the body.
pub fn check(response: &HttpResponse) {
    let outcome = parse_token_response(response, SENT_AT);
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    match &outcome {
        Ok(token) => check_token(token, result_body(response, json.as_ref())),
        Err(err) => check_error(response, json.as_ref(), err),
    }
    if let Some(Value::Object(body)) = &json {
        check_secrets_hidden(response, body);
    }
}

/// The body a successful parse of an authorization server's answer came
/// from (`json`, the body parsed as JSON): a 2xx JSON object without
/// `error`.
pub fn result_body<'a>(response: &HttpResponse, json: Option<&'a Value>) -> &'a Map<String, Value> {
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

/// A failed parse of an authorization server's answer has its cause in
/// the answer (`json`, its body parsed as JSON): an `error` string is
/// `OAuthError::Server` with that code, whatever the status, its
/// description short and clean; another non-2xx is `OAuthError::Http`; a
/// 2xx that is not the answer is `OAuthError::InvalidResponse`, which
/// quotes nothing of a JSON object or array.
pub fn check_error(response: &HttpResponse, json: Option<&Value>, err: &OAuthError) {
    let status = response.status;
    let success = (200..300).contains(&status);
    let error_code = json.and_then(|v| v.get("error")).and_then(Value::as_str);
    match err {
        OAuthError::Server {
            code,
            description,
            status: s,
            retry_after,
        } => {
            assert_eq!(*s, status);
            assert_eq!(*retry_after, response.retry_after);
            let sent = error_code.expect("a server error comes from an `error` string");
            assert_eq!(*code, ErrorCode::parse(sent));
            assert!(clean(code.as_str(), 65), "{:?}", code.as_str());
            if let Some(d) = description {
                assert!(clean(d, 301), "{d:?}");
            }
        }
        OAuthError::Http {
            status: s, detail, ..
        } => {
            assert_eq!(*s, status);
            assert!(!success, "HTTP error for a {status}");
            assert!(error_code.is_none());
            assert!(!detail.chars().any(char::is_control), "{detail:?}");
        }
        OAuthError::InvalidResponse {
            reason,
            status: s,
            content_type,
            snippet,
        } => {
            assert_eq!(*s, status);
            assert!(success, "invalid response for a {status}");
            assert!(error_code.is_none());
            assert!(!reason.is_empty());
            assert_eq!(content_type, &response.content_type);
            assert!(clean(snippet, 101), "{snippet:?}");
            if matches!(json, Some(Value::Object(_) | Value::Array(_))) {
                assert!(snippet.is_empty(), "a JSON body is quoted: {snippet:?}");
            }
        }
        other => panic!("parsing an answer cannot give {other:?}"),
    }
}

fn check_token(token: &TokenResponse, body: &Map<String, Value>) {
    let sent = |field: &str| body.get(field).and_then(Value::as_str);
    assert_eq!(Some(token.access_token.expose()), sent("access_token"));
    assert!(!token.access_token.is_empty());
    assert!(
        !token
            .access_token
            .expose()
            .chars()
            .any(|c| c.is_control() || c.is_whitespace()),
        "an access token that could break a header line"
    );
    assert_eq!(token.token_type, "Bearer");
    assert!(sent("token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer")));
    assert_eq!(token.sent_at, SENT_AT);
    match token.expires_in {
        Some(d) => {
            assert!(d < Duration::from_secs(1_000_000_000_000), "{d:?}");
            assert_eq!(token.expires_at, SENT_AT.checked_add(d));
        }
        None => {
            assert!(matches!(body.get("expires_in"), None | Some(Value::Null)));
            assert_eq!(token.expires_at, None);
        }
    }
    match &token.refresh_token {
        Some(rt) => assert_eq!(
            Some(rt.expose()),
            sent("refresh_token").filter(|t| !t.is_empty())
        ),
        None => assert!(sent("refresh_token").is_none_or(str::is_empty)),
    }
    assert_eq!(token.scope.as_deref(), sent("scope"));
    assert_eq!(
        token.id_token.as_ref().map(|t| t.expose()),
        sent("id_token")
    );
}

/// Parses the body as sent and with every secret replaced by another
/// string of the same length: what is shown must be the same.
fn check_secrets_hidden(response: &HttpResponse, body: &Map<String, Value>) {
    let mut masked = body.clone();
    let mut any = false;
    for field in SECRET_FIELDS {
        if let Some(Value::String(s)) = masked.get_mut(*field) {
            *s = other_string(s);
            any = true;
        }
    }
    if !any {
        return;
    }
    let shown =
        |body: &Map<String, Value>| match parse_token_response(&with_body(response, body), SENT_AT)
        {
            Ok(token) => format!("{token:?}"),
            Err(err) => format!("{err} / {err:?}"),
        };
    assert_eq!(
        shown(body),
        shown(&masked),
        "a secret changes what is shown"
    );
}

/// `response` with `body` instead of its own.
pub fn with_body(response: &HttpResponse, body: &Map<String, Value>) -> HttpResponse {
    HttpResponse {
        status: response.status,
        content_type: response.content_type.clone(),
        retry_after: response.retry_after,
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// Another string of the same shape: every ASCII letter and digit replaced
/// by the next one of its kind, everything else kept. Length, emptiness and
/// any syntax rule about kinds of characters (RFC 6750's `b64token`, say)
/// come out the same; what a leak would show does not.
pub fn other_string(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            c if c.is_ascii_alphanumeric() => char::from(c as u8 + 1),
            c => c,
        })
        .collect()
}

/// At most `max` characters, none of them a control character.
pub fn clean(text: &str, max: usize) -> bool {
    text.chars().count() <= max && !text.chars().any(char::is_control)
}
