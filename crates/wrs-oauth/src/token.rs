//! The token endpoint: code exchange, refresh and client credentials, and
//! the defensive parsing of its answers, down to the syntax of the access
//! token. How long a token lives is [`crate::lifetime`]'s business.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use wrs_proto::Secret;

use crate::authorize::{AuthorizationCode, PendingAuthorization};
use crate::client::OAuthClient;
use crate::error::{OAuthError, server_text};
use crate::http::HttpResponse;

/// A successful token response.
///
/// Expiry counts from the moment the request was *sent* (not received), on
/// the wall clock, so it stays right across suspend: use
/// [`TokenResponse::lifetime`], which also covers a missing `expires_in`.
///
/// The access token always fits RFC 6750's `b64token` syntax (see
/// [`is_b64token`]): responses with any other access token are refused, so
/// no header, environment variable or JSON output built from it can be
/// broken open by a line break or a space in it.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The access token; always a `b64token`.
    pub access_token: Secret,
    /// The token type, normalised: always `"Bearer"` (others are rejected).
    pub token_type: String,
    /// `expires_in`, if the server sent it (number or numeric string).
    /// Prefer [`TokenResponse::lifetime`], which has the rule for when it is
    /// missing.
    pub expires_in: Option<Duration>,
    /// When the request was sent.
    pub sent_at: SystemTime,
    /// `sent_at + expires_in`; `None` when the server sent no `expires_in`.
    /// Prefer `sent_at + lifetime(sent_at)`, which is never `None`.
    pub expires_at: Option<SystemTime>,
    /// A new refresh token. On refresh, `None` means the server did not
    /// rotate it: the caller keeps using the old one.
    pub refresh_token: Option<Secret>,
    /// The granted scope, if the server said (space-separated).
    pub scope: Option<String>,
    /// The OpenID Connect ID token, if any (not validated here).
    pub id_token: Option<Secret>,
}

/// Whether `token` fits RFC 6750's `b64token`, the syntax of a bearer token
/// in an `Authorization` header: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~"
/// / "+" / "/" ) *"="`. Anything else (a CR/LF, a space, a quote, non-ASCII)
/// could break out of a header line or a shell word when the token is
/// printed, so a token response carrying one is refused.
pub fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.chars().all(is_b64token_char)
}

/// The characters of a `b64token` before its `=` padding.
pub(crate) fn is_b64token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/')
}

/// What is wrong with a token that is not a `b64token`, without showing it:
/// the kind of its first offending character only.
fn describe_non_b64token(token: &str) -> String {
    let body = token.trim_end_matches('=');
    let Some(bad) = body.chars().find(|c| !is_b64token_char(*c)) else {
        return "is empty or only `=` padding".to_owned();
    };
    let what = match bad {
        '\r' | '\n' => "a line break (CR/LF)".to_owned(),
        c if c.is_control() => "a control character".to_owned(),
        ' ' => "whitespace".to_owned(),
        c if !c.is_ascii() => "a non-ASCII character".to_owned(),
        '=' => "`=` before its end".to_owned(),
        // A single ASCII punctuation character tells the server's admin what
        // to look for and nothing about the token.
        c => format!("the character `{c}`"),
    };
    format!("contains {what}")
}

impl OAuthClient {
    /// Exchanges an authorization code, sending the same `redirect_uri` as
    /// the authorization request and the PKCE `code_verifier`.
    pub async fn exchange_code(
        &self,
        pending: &PendingAuthorization,
        code: &AuthorizationCode,
    ) -> Result<TokenResponse, OAuthError> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.0.expose().to_owned()),
            ("redirect_uri", pending.redirect_uri().to_owned()),
            (
                "code_verifier",
                pending.pkce().verifier().expose().to_owned(),
            ),
        ];
        if let Some(resource) = pending.resource() {
            form.push(("resource", resource.to_owned()));
        }
        self.token_request(form).await
    }

    /// Refreshes (`grant_type=refresh_token`). An empty `scopes` asks for the
    /// originally granted scope. If the answer has no `refresh_token`, keep
    /// the old one.
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose().to_owned()),
        ];
        push_scope_and_resource(&mut form, scopes, resource);
        self.token_request(form).await
    }

    /// The client credentials grant (service accounts, CI).
    pub async fn client_credentials(
        &self,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        push_scope_and_resource(&mut form, scopes, resource);
        self.token_request(form).await
    }

    /// POSTs to the token endpoint and parses the answer.
    pub(crate) async fn token_request(
        &self,
        form: Vec<(&'static str, String)>,
    ) -> Result<TokenResponse, OAuthError> {
        let sent_at = SystemTime::now();
        let response = self.post_form(&self.endpoints.token, form).await?;
        parse_token_response(&response, sent_at)
    }
}

pub(crate) fn push_scope_and_resource(
    form: &mut Vec<(&'static str, String)>,
    scopes: &[String],
    resource: Option<&str>,
) {
    if !scopes.is_empty() {
        form.push(("scope", scopes.join(" ")));
    }
    if let Some(resource) = resource {
        form.push(("resource", resource.to_owned()));
    }
}

/// Parses a token endpoint answer: an RFC 6749 error body (whatever the
/// status) is [`OAuthError::Server`]; another non-2xx is [`OAuthError::Http`];
/// a 2xx must be a JSON object with `access_token` and a bearer `token_type`.
pub fn parse_token_response(
    response: &HttpResponse,
    sent_at: SystemTime,
) -> Result<TokenResponse, OAuthError> {
    if let Some(err) = response.oauth_error() {
        return Err(err);
    }
    if !response.is_success() {
        return Err(response.error());
    }
    let Some(Value::Object(body)) = response.json() else {
        return Err(response.invalid(if response.json().is_some() {
            "the token response is JSON but not an object"
        } else {
            "the token response is not JSON (a proxy or sign-on page?)"
        }));
    };
    let access_token = required_string(response, &body, "access_token")?;
    if access_token.is_empty() {
        return Err(response.invalid("`access_token` is empty"));
    }
    // Checked here, where every grant's answer passes (code, refresh, client
    // credentials, device), so nothing downstream ever holds a token that
    // could inject a header line or an environment entry. A server error
    // like a proxy page: `is_transient`, so the daemon retries with backoff.
    if !is_b64token(access_token.expose()) {
        return Err(response.invalid_without_body(format!(
            "`access_token` {} (a bearer token must fit RFC 6750's b64token syntax); the token is not shown",
            describe_non_b64token(access_token.expose())
        )));
    }
    let token_type = required_string(response, &body, "token_type")?;
    // Exactly `bearer` in any case: stricter than `b64token`, so the type
    // cannot carry a line break either, and it is output as "Bearer".
    if !token_type.expose().eq_ignore_ascii_case("bearer") {
        return Err(response.invalid(format!(
            "unsupported token_type {:?} (only Bearer is supported)",
            server_text(token_type.expose(), 20)
        )));
    }
    let expires_in = seconds_field(response, &body, "expires_in")?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in,
        sent_at,
        expires_at: expires_in.and_then(|d| sent_at.checked_add(d)),
        refresh_token: optional_string(response, &body, "refresh_token")?.filter(|t| !t.is_empty()),
        scope: optional_string(response, &body, "scope")?.map(|s| s.expose().to_owned()),
        id_token: optional_string(response, &body, "id_token")?,
    })
}

type Object = serde_json::Map<String, Value>;

fn required_string(
    response: &HttpResponse,
    body: &Object,
    field: &str,
) -> Result<Secret, OAuthError> {
    optional_string(response, body, field)?
        .ok_or_else(|| response.invalid(format!("the required field `{field}` is missing")))
}

/// A string field; `null` counts as absent. The value never appears in errors.
fn optional_string(
    response: &HttpResponse,
    body: &Object,
    field: &str,
) -> Result<Option<Secret>, OAuthError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Secret::new(s.as_str()))),
        Some(_) => Err(response.invalid(format!("the field `{field}` is not a string"))),
    }
}

/// A duration in seconds sent as a number (integer or float) or a numeric
/// string, as some servers do; `null` counts as absent.
pub(crate) fn seconds_field(
    response: &HttpResponse,
    body: &Object,
    field: &str,
) -> Result<Option<Duration>, OAuthError> {
    let invalid = || response.invalid(format!("`{field}` is not a non-negative number of seconds"));
    let seconds = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(|s| s as f64).or_else(|| n.as_f64()),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match seconds {
        Some(s) if (0.0..1e12).contains(&s) => Ok(Some(Duration::from_secs(s as u64))),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, content_type: &str, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            content_type: content_type.to_owned(),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn parse(body: &str) -> Result<TokenResponse, OAuthError> {
        parse_token_response(
            &response(200, "application/json", body),
            SystemTime::UNIX_EPOCH,
        )
    }

    fn reason(err: OAuthError) -> String {
        match err {
            OAuthError::InvalidResponse { reason, .. } => reason,
            other => panic!("not InvalidResponse: {other:?}"),
        }
    }

    #[test]
    fn numeric_expires_in_counts_from_the_send_instant() {
        let t = parse(r#"{"access_token":"at","token_type":"Bearer","expires_in":7,"refresh_token":"rt","scope":"a b"}"#)
            .unwrap();
        assert_eq!(t.access_token.expose(), "at");
        assert_eq!(t.expires_in, Some(Duration::from_secs(7)));
        assert_eq!(
            t.expires_at,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(7))
        );
        assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("rt"));
        assert_eq!(t.scope.as_deref(), Some("a b"));
    }

    #[test]
    fn string_and_float_expires_in_are_accepted() {
        let t =
            parse(r#"{"access_token":"at","token_type":"bearer","expires_in":"3600"}"#).unwrap();
        assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
        let t = parse(r#"{"access_token":"at","token_type":"bearer","expires_in":59.9}"#).unwrap();
        assert_eq!(t.expires_in, Some(Duration::from_secs(59)));
        let err = parse(r#"{"access_token":"at","token_type":"bearer","expires_in":"soon"}"#)
            .unwrap_err();
        assert!(reason(err).contains("expires_in"));
        let err =
            parse(r#"{"access_token":"at","token_type":"bearer","expires_in":-5}"#).unwrap_err();
        assert!(reason(err).contains("expires_in"));
    }

    #[test]
    fn missing_expires_in_and_refresh_token_are_none() {
        let t =
            parse(r#"{"access_token":"at","token_type":"Bearer","refresh_token":null}"#).unwrap();
        assert_eq!(t.expires_in, None);
        assert_eq!(t.expires_at, None);
        assert!(t.refresh_token.is_none());
    }

    #[test]
    fn token_type_is_case_insensitive_bearer_only() {
        for tt in ["Bearer", "bearer", "BEARER"] {
            let t = parse(&format!(r#"{{"access_token":"at","token_type":"{tt}"}}"#)).unwrap();
            assert_eq!(t.token_type, "Bearer");
        }
        let err = parse(r#"{"access_token":"at","token_type":"DPoP"}"#).unwrap_err();
        assert!(reason(err).contains("DPoP"));
    }

    #[test]
    fn missing_required_fields_are_named_without_echoing_tokens() {
        let err = parse(r#"{"token_type":"Bearer","refresh_token":"secret-rt"}"#).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`access_token` is missing"), "{text}");
        assert!(!text.contains("secret-rt"));
        assert!(!format!("{err:?}").contains("secret-rt"));
        let err = parse(r#"{"access_token":"secret-at"}"#).unwrap_err();
        assert!(err.to_string().contains("`token_type` is missing"));
        assert!(!err.to_string().contains("secret-at"));
        let err = parse(r#"{"access_token":42,"token_type":"Bearer"}"#).unwrap_err();
        assert!(reason(err).contains("`access_token` is not a string"));
    }

    #[test]
    fn html_page_with_200_is_an_invalid_response_with_snippet() {
        let html = "<!DOCTYPE html><html><head><title>Corporate proxy sign-in</title></head><body>Please log in</body></html>";
        let err = parse_token_response(
            &response(200, "text/html; charset=utf-8", html),
            SystemTime::now(),
        )
        .unwrap_err();
        match &err {
            OAuthError::InvalidResponse {
                reason,
                status,
                content_type,
                snippet,
            } => {
                assert!(reason.contains("not JSON"));
                assert_eq!(*status, 200);
                assert_eq!(content_type, "text/html; charset=utf-8");
                assert!(snippet.contains("Corporate proxy sign-in"));
                assert!(snippet.chars().count() <= 101);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.is_transient());
    }

    #[test]
    fn truncated_json_is_not_echoed() {
        let err = parse(r#"{"access_token":"secret-at","tok"#).unwrap_err();
        assert!(!err.to_string().contains("secret-at"));
    }

    #[test]
    fn error_json_is_a_typed_server_error_even_with_200() {
        let body = r#"{"error":"invalid_grant","error_description":"refresh token expired"}"#;
        for status in [400, 200] {
            let err = parse_token_response(
                &response(status, "application/json", body),
                SystemTime::now(),
            )
            .unwrap_err();
            match err {
                OAuthError::Server {
                    code,
                    description,
                    status: s,
                    ..
                } => {
                    assert_eq!(code, crate::ErrorCode::InvalidGrant);
                    assert_eq!(description.as_deref(), Some("refresh token expired"));
                    assert_eq!(s, status);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn debug_output_hides_every_token() {
        let t = parse(
            r#"{"access_token":"AT-SECRET","token_type":"Bearer","refresh_token":"RT-SECRET","id_token":"ID-SECRET"}"#,
        )
        .unwrap();
        let debug = format!("{t:?}");
        for secret in ["AT-SECRET", "RT-SECRET", "ID-SECRET"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn b64token_syntax_follows_rfc_6750() {
        for good in [
            "a",
            "wrsat_2YotnFZFEjr1zCsicMWpAA",
            "a-b.c_d~e+f/g",
            "abc=",
            "abc==",
            "eyJhbGciOiJub25lIn0.eyJleHAiOjF9.",
        ] {
            assert!(is_b64token(good), "{good:?}");
        }
        for bad in [
            "",
            "=",
            "==",
            "a=b",
            "a b",
            "a\tb",
            "a\r\nb",
            "a\nb",
            "a\0b",
            "caf\u{e9}",
            "a:b",
            "a\"b",
            "a,b",
            "a;b",
            "a%0Ab",
            " ab",
            "ab ",
        ] {
            assert!(!is_b64token(bad), "{bad:?}");
        }
    }

    /// Regression: a CR/LF in an access token turned `wrs-token header`
    /// into a header injection. Such a token never leaves this crate.
    #[test]
    fn access_tokens_outside_b64token_are_a_server_error_that_never_shows_them() {
        for (token, what) in [
            ("SECRETAT\r\nX-Injected: 1", "line break"),
            ("SECRETAT\nX", "line break"),
            ("SECRET AT", "whitespace"),
            ("SECRET\tAT", "control character"),
            ("SECRET\u{0}AT", "control character"),
            ("SECRET\u{e9}AT", "non-ASCII"),
            ("SECRET\u{2028}AT", "non-ASCII"),
            ("SECRET=AT", "`=` before its end"),
            ("SECRET\"AT", "the character `\"`"),
            ("====", "only `=` padding"),
        ] {
            let body = serde_json::json!({"access_token": token, "token_type": "Bearer"});
            let err = parse(&body.to_string()).unwrap_err();
            assert!(
                err.is_transient(),
                "a bad server answer is retried: {err:?}"
            );
            let text = err.to_string();
            let debug = format!("{err:?}");
            assert!(text.contains("b64token"), "{text}");
            assert!(text.contains(what), "{token:?}: {text}");
            for shown in [&text, &debug] {
                assert!(!shown.contains("SECRET"), "{shown}");
                assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown}");
            }
            match err {
                OAuthError::InvalidResponse { snippet, .. } => assert_eq!(snippet, ""),
                other => panic!("{other:?}"),
            }
        }
        // Empty stays its own, clearer message.
        let err = parse(r#"{"access_token":"","token_type":"Bearer"}"#).unwrap_err();
        assert!(reason(err).contains("`access_token` is empty"));
    }

    #[test]
    fn a_token_type_with_a_line_break_is_refused_without_echoing_it() {
        let body =
            serde_json::json!({"access_token": "at", "token_type": "Bearer\r\nX-Injected: 1"});
        let text = parse(&body.to_string()).unwrap_err().to_string();
        assert!(text.contains("unsupported token_type"), "{text}");
        assert!(!text.contains('\r') && !text.contains('\n'), "{text}");
        let body =
            serde_json::json!({"access_token": "at", "token_type": "2YotnFZFEjr1zCsicMWpAA"});
        let text = parse(&body.to_string()).unwrap_err().to_string();
        assert!(
            !text.contains("2YotnFZF"),
            "a token in the wrong field: {text}"
        );
    }

    #[test]
    fn a_jwt_access_token_is_accepted_and_its_exp_read() {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"exp":6}"#)
        );
        let body = serde_json::json!({"access_token": token, "token_type": "Bearer"});
        let t = parse(&body.to_string()).unwrap();
        assert_eq!(t.expires_in, None);
        assert_eq!(t.lifetime(t.sent_at), Duration::from_secs(6));
    }

    #[test]
    fn json_array_is_rejected() {
        assert!(reason(parse("[1]").unwrap_err()).contains("not an object"));
    }
}
