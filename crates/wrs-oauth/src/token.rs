//! The token endpoint: code exchange, refresh and client credentials, and
//! the defensive parsing of its answers.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use wrs_proto::Secret;

use crate::authorize::{AuthorizationCode, PendingAuthorization};
use crate::client::OAuthClient;
use crate::error::{OAuthError, sanitize};
use crate::http::HttpResponse;

/// A successful token response.
///
/// `expires_at` counts from the moment the request was *sent* (not
/// received), on the wall clock, so it stays right across suspend.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: Secret,
    /// The token type, normalised: always `"Bearer"` (others are rejected).
    pub token_type: String,
    /// `expires_in`, if the server sent it (number or numeric string).
    pub expires_in: Option<Duration>,
    /// When the request was sent.
    pub sent_at: SystemTime,
    /// `sent_at + expires_in`; `None` when the server sent no `expires_in`
    /// (the caller picks a default).
    pub expires_at: Option<SystemTime>,
    /// A new refresh token. On refresh, `None` means the server did not
    /// rotate it: the caller keeps using the old one.
    pub refresh_token: Option<Secret>,
    /// The granted scope, if the server said (space-separated).
    pub scope: Option<String>,
    /// The OpenID Connect ID token, if any (not validated here).
    pub id_token: Option<Secret>,
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
pub(crate) fn parse_token_response(
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
    let token_type = required_string(response, &body, "token_type")?;
    if !token_type.expose().eq_ignore_ascii_case("bearer") {
        return Err(response.invalid(format!(
            "unsupported token_type {:?} (only Bearer is supported)",
            sanitize(token_type.expose(), 20)
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
    fn json_array_is_rejected() {
        assert!(reason(parse("[1]").unwrap_err()).contains("not an object"));
    }
}
