//! The token endpoint: authorization code (PKCE S256), refresh, device code
//! and client credentials grants.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::authorize::checked_scope;
use crate::client_auth::{authenticate, form_params, reject_query_credentials};
use crate::config::{ClientConfig, GrantType};
use crate::counters::Counter;
use crate::device::Poll;
use crate::grants::{TokenSet, parse_scope};
use crate::oauth_error::{OAuthError, no_store};
use crate::params::Params;

/// `POST /as/token.oauth2`.
pub(crate) async fn token(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match exchange(&app, &uri, &headers, &body) {
        Ok(set) => {
            app.counters.bump(Counter::AccessTokensIssued);
            token_response(&set)
        }
        Err(err) => {
            tracing::debug!(error = %err.error, "token request refused");
            err.into_response()
        }
    }
}

/// A token response body: `scope` only when non-empty.
pub(crate) fn token_response(set: &TokenSet) -> Response {
    let mut body = json!({
        "access_token": set.access_token,
        "token_type": set.token_type,
        "expires_in": set.expires_in,
    });
    if let Value::Object(obj) = &mut body {
        if let Some(rt) = &set.refresh_token {
            obj.insert("refresh_token".into(), Value::String(rt.clone()));
        }
        if !set.scope.is_empty() {
            obj.insert("scope".into(), Value::String(set.scope.clone()));
        }
        if let Some(id_token) = &set.id_token {
            obj.insert("id_token".into(), Value::String(id_token.clone()));
        }
    }
    (no_store(), Json(body)).into_response()
}

fn exchange(
    app: &App,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenSet, OAuthError> {
    reject_query_credentials(uri.query())?;
    let params = form_params(headers, body)?;
    let client = authenticate(&app.config, headers, &params)?;
    let grant = match params.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some(g) => GrantType::parse(g).ok_or_else(|| {
            OAuthError::unsupported_grant_type(&format!("grant type {g} is not supported"))
        })?,
    };
    if !client.allows(grant) {
        return Err(OAuthError::unauthorized_client(&format!(
            "the client may not use the {} grant",
            grant.as_str()
        )));
    }
    match grant {
        GrantType::AuthorizationCode => code_grant(app, client, &params),
        GrantType::RefreshToken => {
            let token = required(&params, "refresh_token")?;
            let scope = params.get("scope").map(parse_scope);
            let now = app.now_ms();
            app.grants()
                .refresh(&app.config, now, &client.id, token, scope)
        }
        GrantType::DeviceCode => device_grant(app, client, &params),
        GrantType::ClientCredentials => {
            let scope = checked_scope(client, params.get("scope"))?;
            let now = app.now_ms();
            let (_, set) = app
                .grants()
                .issue_new(&app.config, now, &client.id, None, scope, false);
            Ok(set)
        }
    }
}

fn required<'p>(params: &'p Params, name: &str) -> Result<&'p str, OAuthError> {
    params
        .get(name)
        .ok_or_else(|| OAuthError::invalid_request(&format!("{name} is required")))
}

fn code_grant(app: &App, client: &ClientConfig, params: &Params) -> Result<TokenSet, OAuthError> {
    let code = required(params, "code")?;
    let now = app.now_ms();
    let mut grants = app.grants();
    let entry = grants.take_code(&app.config, now, &client.id, code)?;
    if let Some(expected) = &entry.redirect_uri
        && params.get("redirect_uri") != Some(expected.as_str())
    {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&entry.code_challenge, params.get("code_verifier")) {
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        (Some(challenge), Some(verifier)) => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if &computed != challenge {
                return Err(OAuthError::invalid_grant("PKCE verification failed"));
            }
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent but the authorization request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    let with_refresh = client.allows(GrantType::RefreshToken);
    let (grant, set) = grants.issue_new(
        &app.config,
        now,
        &client.id,
        Some(&entry.user),
        entry.scope,
        with_refresh,
    );
    grants.link_code(code, grant);
    Ok(set)
}

fn device_grant(app: &App, client: &ClientConfig, params: &Params) -> Result<TokenSet, OAuthError> {
    let device_code = required(params, "device_code")?;
    let now = app.now_ms();
    let outcome = app.devices().poll(now, &client.id, device_code);
    match outcome {
        Poll::Approved { user, scope } => {
            let with_refresh = client.allows(GrantType::RefreshToken);
            let (_, set) = app.grants().issue_new(
                &app.config,
                now,
                &client.id,
                Some(&user),
                scope,
                with_refresh,
            );
            Ok(set)
        }
        Poll::Pending => Err(OAuthError::device(
            "authorization_pending",
            "the user has not yet approved the request",
        )),
        Poll::SlowDown => Err(OAuthError::device("slow_down", "polling too fast")),
        Poll::Expired => Err(OAuthError::device(
            "expired_token",
            "the device code has expired",
        )),
        Poll::Denied => Err(OAuthError::device(
            "access_denied",
            "the user denied the request",
        )),
        Poll::Invalid(why) => Err(OAuthError::invalid_grant(why)),
    }
}
