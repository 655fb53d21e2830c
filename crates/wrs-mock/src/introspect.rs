//! Token revocation (RFC 7009) and introspection (RFC 7662).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::App;
use crate::client_auth::{authenticate, form_params, reject_query_credentials};
use crate::oauth_error::{OAuthError, no_store};

/// `POST /as/revoke_token.oauth2`: 200 for known and unknown tokens alike;
/// a refresh token takes its whole grant with it.
pub(crate) async fn revoke(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = (|| {
        reject_query_credentials(uri.query())?;
        let params = form_params(&headers, &body)?;
        let client = authenticate(&app.config, &headers, &params)?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        app.grants().revoke(&client.id, token)
    })();
    match result {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `POST /as/introspect.oauth2`: only confidential clients may introspect.
pub(crate) async fn introspect(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = (|| {
        reject_query_credentials(uri.query())?;
        let params = form_params(&headers, &body)?;
        let client = authenticate(&app.config, &headers, &params)?;
        if client.is_public() {
            return Err(OAuthError::invalid_client(
                "public clients may not introspect tokens",
            ));
        }
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        Ok(describe(&app, token))
    })();
    match result {
        Ok(body) => (no_store(), Json(body)).into_response(),
        Err(err) => err.into_response(),
    }
}

fn describe(app: &App, token: &str) -> Value {
    let grants = app.grants();
    let Some(entry) = grants.valid_access(app.now_ms(), token) else {
        return json!({ "active": false });
    };
    let mut body = json!({
        "active": true,
        "token_type": "Bearer",
        "client_id": entry.client_id,
        "scope": entry.scope.join(" "),
        "iat": entry.iat_ms / 1000,
        "exp": entry.exp_ms / 1000,
        "iss": app.urls.issuer,
    });
    if let (Some(user), Value::Object(obj)) = (&entry.user, &mut body) {
        obj.insert("Username".into(), Value::String(user.clone()));
        obj.insert("sub".into(), Value::String(user.clone()));
    }
    body
}
