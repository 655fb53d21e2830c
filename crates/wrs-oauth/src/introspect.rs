//! Token introspection (RFC 7662), for `doctor`: is this token still active,
//! and what does the server think it is for?

use serde_json::Value;
use wrs_proto::Secret;

use crate::client::OAuthClient;
use crate::error::{OAuthError, sanitize};
use crate::http::HttpResponse;
use crate::revoke::TokenTypeHint;

/// What the server says about a token. Only the non-secret fields are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    /// Whether the token is currently active.
    pub active: bool,
    /// The token's scope.
    pub scope: Option<String>,
    /// The client it was issued to.
    pub client_id: Option<String>,
    /// The resource owner.
    pub username: Option<String>,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: Option<u64>,
}

impl OAuthClient {
    /// Asks the introspection endpoint about `token`.
    pub async fn introspect(
        &self,
        token: &Secret,
        hint: TokenTypeHint,
    ) -> Result<Introspection, OAuthError> {
        let endpoint = self.endpoint(&self.endpoints.introspection, "introspection")?;
        let form = vec![
            ("token", token.expose().to_owned()),
            ("token_type_hint", hint.as_str().to_owned()),
        ];
        let response = self.post_form(endpoint, form).await?;
        parse_introspection(&response)
    }
}

/// Parses an introspection endpoint's answer (RFC 7662 2.2): an error body
/// is [`OAuthError::Server`], another non-2xx [`OAuthError::Http`]; a 2xx
/// must be a JSON object with a boolean `active`. Only the non-secret
/// fields are kept, sanitized and cut short.
pub fn parse_introspection(response: &HttpResponse) -> Result<Introspection, OAuthError> {
    let body = response.success_object("introspection response")?;
    let active = body.get("active").and_then(Value::as_bool).ok_or_else(|| {
        response.invalid("the required field `active` is missing or not a boolean")
    })?;
    let text = |field: &str| {
        body.get(field)
            .and_then(Value::as_str)
            .map(|s| sanitize(s, 500))
    };
    Ok(Introspection {
        active,
        scope: text("scope"),
        client_id: text("client_id"),
        username: text("username"),
        exp: body.get("exp").and_then(Value::as_u64),
    })
}
