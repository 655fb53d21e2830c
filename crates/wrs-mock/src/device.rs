//! The device authorization grant (RFC 8628): the device endpoint, the user
//! page that approves a user code, and the state the token endpoint polls.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::App;
use crate::authorize::checked_scope;
use crate::client_auth::{authenticate, form_params, reject_query_credentials};
use crate::clock::ms;
use crate::config::GrantType;
use crate::grants::{random_token, random_user_code};
use crate::html;
use crate::oauth_error::{OAuthError, no_store};
use crate::params::Params;

/// RFC 8628 3.5: each `slow_down` adds five seconds to the interval.
const SLOW_DOWN_STEP_MS: u64 = 5000;

#[derive(Debug, Clone)]
enum Status {
    Pending,
    Approved(String),
    Denied,
    Consumed,
}

#[derive(Debug)]
struct DeviceEntry {
    client_id: String,
    user_code: String,
    scope: Vec<String>,
    expires_ms: u64,
    interval_ms: u64,
    last_poll_ms: Option<u64>,
    status: Status,
}

/// What a poll of the token endpoint finds.
#[derive(Debug)]
pub(crate) enum Poll {
    Pending,
    SlowDown,
    Expired,
    Denied,
    Approved { user: String, scope: Vec<String> },
    Invalid(&'static str),
}

/// Outstanding device codes.
#[derive(Debug, Default)]
pub(crate) struct Devices {
    by_device_code: HashMap<String, DeviceEntry>,
    /// Normalized user code → device code.
    by_user_code: HashMap<String, String>,
}

/// `ABCD-EFGH`, `abcdefgh` and `abcd efgh` are the same code.
fn normalize(user_code: &str) -> String {
    user_code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Devices {
    /// Polls a device code; the approved answer is given once.
    pub(crate) fn poll(&mut self, now_ms: u64, client_id: &str, device_code: &str) -> Poll {
        let Some(entry) = self.by_device_code.get_mut(device_code) else {
            return Poll::Invalid("unknown device_code");
        };
        if entry.client_id != client_id {
            return Poll::Invalid("device_code was issued to another client");
        }
        if now_ms >= entry.expires_ms {
            return Poll::Expired;
        }
        let last = entry.last_poll_ms.replace(now_ms);
        if last.is_some_and(|last| now_ms < last.saturating_add(entry.interval_ms)) {
            entry.interval_ms = entry.interval_ms.saturating_add(SLOW_DOWN_STEP_MS);
            return Poll::SlowDown;
        }
        match entry.status.clone() {
            Status::Pending => Poll::Pending,
            Status::Denied => Poll::Denied,
            Status::Consumed => Poll::Invalid("device_code has already been used"),
            Status::Approved(user) => {
                entry.status = Status::Consumed;
                Poll::Approved {
                    user,
                    scope: entry.scope.clone(),
                }
            }
        }
    }

    /// Approves (`Some(user)`) or denies (`None`) a pending user code; false if
    /// there is no such pending, unexpired code.
    pub(crate) fn decide(&mut self, now_ms: u64, user_code: &str, user: Option<&str>) -> bool {
        let Some(device_code) = self.by_user_code.get(&normalize(user_code)) else {
            return false;
        };
        let Some(entry) = self.by_device_code.get_mut(device_code) else {
            return false;
        };
        if now_ms >= entry.expires_ms || !matches!(entry.status, Status::Pending) {
            return false;
        }
        entry.status = match user {
            Some(user) => Status::Approved(user.to_string()),
            None => Status::Denied,
        };
        true
    }

    fn client_of(&self, user_code: &str) -> Option<String> {
        let device_code = self.by_user_code.get(&normalize(user_code))?;
        self.by_device_code
            .get(device_code)
            .map(|e| format!("{} ({})", e.client_id, e.user_code))
    }
}

/// `POST /as/device_authz.oauth2`.
pub(crate) async fn device_authorization(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match begin(&app, &uri, &headers, &body) {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}

fn begin(app: &App, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    reject_query_credentials(uri.query())?;
    let params = form_params(headers, body)?;
    let client = authenticate(&app.config, headers, &params)?;
    if !client.allows(GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the device authorization grant",
        ));
    }
    let scope = checked_scope(client, params.get("scope"))?;
    let now = app.now_ms();
    let device_code = random_token("wrsdc_");
    let lifetime_ms = ms(app.config.device_code_lifetime).max(1000);
    let interval_ms = ms(app.config.device_poll_interval);
    let mut guard = app.devices();
    let devices = &mut *guard;
    devices.by_device_code.retain(|_, e| now < e.expires_ms);
    let live = &devices.by_device_code;
    devices.by_user_code.retain(|_, dc| live.contains_key(dc));
    let user_code = loop {
        let candidate = random_user_code();
        if !devices.by_user_code.contains_key(&normalize(&candidate)) {
            break candidate;
        }
    };
    devices
        .by_user_code
        .insert(normalize(&user_code), device_code.clone());
    devices.by_device_code.insert(
        device_code.clone(),
        DeviceEntry {
            client_id: client.id.clone(),
            user_code: user_code.clone(),
            scope,
            expires_ms: now.saturating_add(lifetime_ms),
            interval_ms,
            last_poll_ms: None,
            status: Status::Pending,
        },
    );
    drop(guard);
    let verification_uri = app.urls.at("/as/user_authz.oauth2");
    let mut complete = verification_uri.clone();
    complete
        .query_pairs_mut()
        .append_pair("user_code", &user_code);
    let body = json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri.as_str(),
        "verification_uri_complete": complete.as_str(),
        "expires_in": lifetime_ms / 1000,
        "interval": interval_ms.div_ceil(1000),
    });
    Ok((no_store(), Json(body)).into_response())
}

fn user_form(app: &App, user_code: &str, error: Option<&str>) -> Response {
    let body = format!(
        "<p>Enter the code shown on your device.</p>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <label>Code <input name=\"user_code\" value=\"{code}\"></label>\n{fields}\n</form>",
        action = html::escape(app.urls.at("/as/user_authz.oauth2").path()),
        code = html::escape(user_code),
        fields = html::login_fields(error),
    );
    html::page(StatusCode::OK, "Device sign on", &body)
}

/// `GET /as/user_authz.oauth2[?user_code=…]`: the form.
pub(crate) async fn user_page(State(app): State<Arc<App>>, uri: Uri) -> Response {
    let params = Params::from_query(uri.query()).unwrap_or_default();
    user_form(&app, params.get("user_code").unwrap_or(""), None)
}

/// `POST /as/user_authz.oauth2` with `user_code`, `username`, `password`, `decision`.
pub(crate) async fn user_submit(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Ok(params) = Params::parse(&body) else {
        return html::error_page(StatusCode::BAD_REQUEST, "A form field is repeated.");
    };
    let user_code = params.get("user_code").unwrap_or("");
    let now = app.now_ms();
    let Some(what) = app.devices().client_of(user_code) else {
        return html::error_page(StatusCode::BAD_REQUEST, "Unknown or expired code.");
    };
    if params.get("decision") == Some("deny") {
        return if app.devices().decide(now, user_code, None) {
            html::page(
                StatusCode::OK,
                "Request denied",
                "<p>The device was not signed in.</p>",
            )
        } else {
            html::error_page(StatusCode::BAD_REQUEST, "This code is no longer pending.")
        };
    }
    let user = params
        .get("username")
        .zip(params.get("password"))
        .and_then(|(u, p)| app.check_user(u, p))
        .map(|u| u.username.clone());
    let Some(user) = user else {
        return user_form(&app, user_code, Some("Invalid username or password."));
    };
    if app.devices().decide(now, user_code, Some(&user)) {
        let body = format!("<p>Device approved: {}</p>", html::escape(&what));
        html::page(StatusCode::OK, "Device approved", &body)
    } else {
        html::error_page(StatusCode::BAD_REQUEST, "This code is no longer pending.")
    }
}
