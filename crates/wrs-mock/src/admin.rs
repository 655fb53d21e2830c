//! The admin HTTP API under `/mock/admin/`, for scripts and tests in other
//! processes, and the operations it shares with [`crate::MockServer`].
//!
//! Unauthenticated: the mock is a test tool bound to loopback.
//!
//! | request | body | answer |
//! | --- | --- | --- |
//! | `GET /mock/admin/counters` | | [`crate::Counters`] |
//! | `POST /mock/admin/counters/reset` | | 204 |
//! | `GET /mock/admin/faults` | | `[ActiveFault]` |
//! | `POST /mock/admin/faults` | `{"endpoint":"token","fault":…,"times":2}` | 204 |
//! | `DELETE /mock/admin/faults` | | 204 |
//! | `GET /mock/admin/clock` | | `{"offset_ms":…,"now":…}` |
//! | `POST /mock/admin/clock` | `{"advance_secs":60}` or `{"advance_ms":1500}` | as GET |
//! | `POST /mock/admin/devices/approve` | `{"user_code":"BCDF-GHJK","user":"demo"}` | 204 / 404 |
//! | `POST /mock/admin/devices/deny` | `{"user_code":"BCDF-GHJK"}` | 204 / 404 |
//! | `POST /mock/admin/tokens` | `{"client_id":…,"user":"demo","scope":"openid"}` | [`crate::TokenSet`] |
//! | `POST /mock/admin/token-state` | `{"token":…}` | `{"access_token_valid":…,"refresh_token_state":…,"revocations":…}` |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::MockError;
use crate::app::App;
use crate::counters::Counter;
use crate::faults::{Endpoint, Fault};
use crate::grants::{TokenSet, parse_scope};

/// The admin routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/mock/admin/", get(index))
        .route("/mock/admin/counters", get(counters))
        .route("/mock/admin/counters/reset", post(reset_counters))
        .route(
            "/mock/admin/faults",
            get(list_faults).post(set_fault).delete(clear_faults),
        )
        .route("/mock/admin/clock", get(clock).post(advance_clock))
        .route("/mock/admin/devices/approve", post(approve_device))
        .route("/mock/admin/devices/deny", post(deny_device))
        .route("/mock/admin/tokens", post(mint_tokens))
        .route("/mock/admin/token-state", post(token_state))
}

/// Mints a grant directly, with a refresh token whatever the client's grant
/// types (refreshing still needs the client to allow `refresh_token`).
pub(crate) fn issue_tokens(
    app: &App,
    client_id: &str,
    user: &str,
    scope: &str,
) -> Result<TokenSet, MockError> {
    let client = app
        .client(client_id)
        .ok_or_else(|| MockError::UnknownClient(client_id.to_string()))?;
    let mut scope = parse_scope(scope);
    if scope.is_empty() {
        scope = client.scopes.clone();
    }
    let now = app.now_ms();
    let (_, set) = app
        .grants()
        .issue_new(&app.config, now, &client.id, Some(user), scope, true);
    app.counters.bump(Counter::AccessTokensIssued);
    Ok(set)
}

/// Approves (`Some(user)`) or denies a pending device user code.
pub(crate) fn decide_device(app: &App, user_code: &str, user: Option<&str>) -> bool {
    let now = app.now_ms();
    app.devices().decide(now, user_code, user)
}

async fn index(State(app): State<Arc<App>>) -> Response {
    let admin = app.urls.at("/mock/admin/");
    Json(json!({
        "issuer": app.urls.issuer,
        "admin_url": admin.as_str(),
        "endpoints": ["counters", "counters/reset", "faults", "clock", "devices/approve",
                      "devices/deny", "tokens", "token-state"],
    }))
    .into_response()
}

async fn counters(State(app): State<Arc<App>>) -> Response {
    Json(app.counters.snapshot()).into_response()
}

async fn reset_counters(State(app): State<Arc<App>>) -> StatusCode {
    app.counters.reset();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(app): State<Arc<App>>) -> Response {
    Json(app.faults.list()).into_response()
}

#[derive(Deserialize)]
struct SetFault {
    endpoint: Endpoint,
    fault: Fault,
    #[serde(default)]
    times: Option<u32>,
}

async fn set_fault(State(app): State<Arc<App>>, Json(req): Json<SetFault>) -> StatusCode {
    app.faults.push(req.endpoint, req.fault, req.times);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(app): State<Arc<App>>) -> StatusCode {
    app.faults.clear();
    StatusCode::NO_CONTENT
}

fn clock_body(app: &App) -> Response {
    Json(json!({
        "offset_ms": crate::clock::ms(app.clock.offset()),
        "now": app.clock.now_secs(),
    }))
    .into_response()
}

async fn clock(State(app): State<Arc<App>>) -> Response {
    clock_body(&app)
}

#[derive(Deserialize)]
struct Advance {
    #[serde(default)]
    advance_secs: Option<u64>,
    #[serde(default)]
    advance_ms: Option<u64>,
}

async fn advance_clock(State(app): State<Arc<App>>, Json(req): Json<Advance>) -> Response {
    let secs = Duration::from_secs(req.advance_secs.unwrap_or(0));
    let millis = Duration::from_millis(req.advance_ms.unwrap_or(0));
    app.clock.advance(secs.saturating_add(millis));
    clock_body(&app)
}

#[derive(Deserialize)]
struct DeviceDecision {
    user_code: String,
    #[serde(default)]
    user: Option<String>,
}

async fn approve_device(
    State(app): State<Arc<App>>,
    Json(req): Json<DeviceDecision>,
) -> StatusCode {
    let user = req
        .user
        .unwrap_or_else(|| app.config.auto_approve_user.clone());
    found(decide_device(&app, &req.user_code, Some(&user)))
}

async fn deny_device(State(app): State<Arc<App>>, Json(req): Json<DeviceDecision>) -> StatusCode {
    found(decide_device(&app, &req.user_code, None))
}

fn found(ok: bool) -> StatusCode {
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[derive(Deserialize)]
struct Mint {
    client_id: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

async fn mint_tokens(State(app): State<Arc<App>>, Json(req): Json<Mint>) -> Response {
    let user = req.user.unwrap_or_else(|| "demo".into());
    match issue_tokens(
        &app,
        &req.client_id,
        &user,
        req.scope.as_deref().unwrap_or(""),
    ) {
        Ok(set) => Json(set).into_response(),
        Err(e) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

async fn token_state(State(app): State<Arc<App>>, Json(req): Json<TokenQuery>) -> Response {
    let now = app.now_ms();
    let grants = app.grants();
    Json(json!({
        "access_token_valid": grants.valid_access(now, &req.token).is_some(),
        "refresh_token_state": grants.refresh_state(&app.config, now, &req.token),
        "revocations": grants.revocation_count(&req.token),
    }))
    .into_response()
}
