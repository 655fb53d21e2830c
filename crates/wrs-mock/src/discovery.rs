//! The discovery document (`/.well-known/openid-configuration`), as
//! PingFederate publishes it: issuer = base URL, no trailing slash.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::App;
use crate::config::{AuthMethod, GrantType};

/// `GET /.well-known/openid-configuration` (and the RFC 8414 path).
pub(crate) async fn discovery(State(app): State<Arc<App>>) -> Response {
    let urls = &app.urls;
    let mut grants: Vec<&str> = Vec::new();
    let mut methods: Vec<&str> = Vec::new();
    let mut scopes: Vec<&str> = Vec::new();
    for client in &app.config.clients {
        for g in &client.grant_types {
            push_unique(&mut grants, g.as_str());
        }
        for m in &client.auth_methods {
            push_unique(&mut methods, m.as_str());
        }
        for s in &client.scopes {
            push_unique(&mut scopes, s);
        }
    }
    for g in [GrantType::AuthorizationCode, GrantType::RefreshToken] {
        push_unique(&mut grants, g.as_str());
    }
    push_unique(&mut methods, AuthMethod::ClientSecretBasic.as_str());
    // Public clients may revoke their tokens but not introspect.
    let confidential: Vec<&str> = methods
        .iter()
        .copied()
        .filter(|m| *m != AuthMethod::None.as_str())
        .collect();
    Json(json!({
        "issuer": urls.issuer,
        "authorization_endpoint": urls.at("/as/authorization.oauth2").as_str(),
        "token_endpoint": urls.at("/as/token.oauth2").as_str(),
        "revocation_endpoint": urls.at("/as/revoke_token.oauth2").as_str(),
        "introspection_endpoint": urls.at("/as/introspect.oauth2").as_str(),
        "device_authorization_endpoint": urls.at("/as/device_authz.oauth2").as_str(),
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": grants,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": confidential,
        "scopes_supported": scopes,
        "authorization_response_iss_parameter_supported": app.config.send_iss_in_authz_response,
    }))
    .into_response()
}

fn push_unique<'a>(list: &mut Vec<&'a str>, value: &'a str) {
    if !list.contains(&value) {
        list.push(value);
    }
}
