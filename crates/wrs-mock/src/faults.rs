//! Fault injection: what can go wrong at an endpoint, and the middleware that
//! counts every request and makes the queued faults happen.
//!
//! Faults queue per endpoint in the order they were set; each answers the
//! next `times` requests to its endpoint (or every request, with no count,
//! until cleared, hiding the faults queued after it).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use tokio_util::io::ReaderStream;

use crate::app::App;
use crate::counters::Counter;
use crate::oauth_error::OAuthError;

/// The largest request body the mock reads.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// An endpoint faults can be set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/as/token.oauth2`.
    Token,
    /// `/as/authorization.oauth2` (GET and POST).
    Authorization,
    /// `/as/revoke_token.oauth2`.
    Revocation,
    /// `/as/introspect.oauth2`.
    Introspection,
    /// `/as/device_authz.oauth2`.
    DeviceAuthorization,
    /// The discovery documents under `/.well-known/`.
    Discovery,
    /// Everything under the Windchill OData root.
    Wrs,
}

/// Something that goes wrong at an endpoint.
///
/// Serialized externally tagged in snake case, e.g. `"drop_connection"`,
/// `{"delay": 1500}` (milliseconds), `{"missing_field": "expires_in"}`,
/// `{"status": {"code": 503, "retry_after": 2, "body": null}}`,
/// `{"oauth_error": {"error": "invalid_grant", "description": null, "status": 400}}`,
/// `"html_login_page_200"`, `"non_json_body"`, `"expires_in_as_string"`, `"never_ending_body"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status, an optional `Retry-After` (seconds) and body
    /// (default: a plain-text reason phrase). Nothing is processed.
    Status {
        /// The HTTP status code.
        code: u16,
        /// `Retry-After` in seconds, if any.
        #[serde(default)]
        retry_after: Option<u32>,
        /// The body, sent as `text/plain`; `None` sends the reason phrase.
        #[serde(default)]
        body: Option<String>,
    },
    /// Wait this long (real time), then process the request normally.
    Delay(#[serde(with = "millis")] Duration),
    /// Close the TCP connection without sending a response.
    DropConnection,
    /// `200` with `Content-Type: application/json` and a body that is not JSON.
    NonJsonBody,
    /// `200` with an HTML sign-on page, as an intercepting proxy sends.
    #[serde(rename = "html_login_page_200")]
    HtmlLoginPage200,
    /// Process the request, then remove this top-level field from the JSON answer.
    MissingField(String),
    /// Process the request, then send `expires_in` as a string (`"3600"`).
    ExpiresInAsString,
    /// Process the request, then send this `expires_in` instead (`0`: a
    /// token that is expired on arrival).
    ExpiresIn(u64),
    /// Headers, the start of a JSON body, then one byte a second, forever.
    NeverEndingBody,
    /// An RFC 6749 error response (a redirect at the authorization endpoint).
    #[serde(rename = "oauth_error")]
    OAuthError {
        /// The `error` code, e.g. `invalid_grant`, `temporarily_unavailable`.
        error: String,
        /// The `error_description`, if any.
        #[serde(default)]
        description: Option<String>,
        /// The HTTP status, e.g. 400 (401 adds `WWW-Authenticate: Basic`).
        status: u16,
    },
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(crate::clock::ms(*d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// A fault waiting to happen, as listed by the admin endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveFault {
    /// Where it happens.
    pub endpoint: Endpoint,
    /// What happens.
    pub fault: Fault,
    /// How many more requests it answers; `None` = until cleared.
    pub remaining: Option<u32>,
}

/// The queued faults.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    queue: Mutex<Vec<ActiveFault>>,
}

impl FaultTable {
    pub(crate) fn push(&self, endpoint: Endpoint, fault: Fault, times: Option<u32>) {
        if times == Some(0) {
            return;
        }
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.push(ActiveFault {
            endpoint,
            fault,
            remaining: times,
        });
    }

    pub(crate) fn clear(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub(crate) fn list(&self) -> Vec<ActiveFault> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The fault for the next request to `endpoint`, used up by one.
    fn take(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let index = queue.iter().position(|f| f.endpoint == endpoint)?;
        let entry = &mut queue[index];
        let fault = entry.fault.clone();
        if let Some(n) = entry.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                queue.remove(index);
            }
        }
        Some(fault)
    }
}

/// Lets a handler close its own TCP connection; the server puts one in every
/// request's extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionKill(pub(crate) Arc<Notify>);

/// What a request path is, for counting and faults.
fn classify(app: &App, path: &str) -> Option<(Counter, Option<Endpoint>)> {
    let route = match path {
        "/as/authorization.oauth2" => (Counter::Authorization, Some(Endpoint::Authorization)),
        "/as/token.oauth2" => (Counter::Token, Some(Endpoint::Token)),
        "/as/revoke_token.oauth2" => (Counter::Revocation, Some(Endpoint::Revocation)),
        "/as/introspect.oauth2" => (Counter::Introspection, Some(Endpoint::Introspection)),
        "/as/device_authz.oauth2" => (
            Counter::DeviceAuthorization,
            Some(Endpoint::DeviceAuthorization),
        ),
        "/as/user_authz.oauth2" => (Counter::DeviceUserPage, None),
        p if app.urls.is_discovery_path(p) => (Counter::Discovery, Some(Endpoint::Discovery)),
        p if p.starts_with(crate::wrs::ROOT_PATH) => (Counter::Wrs, Some(Endpoint::Wrs)),
        _ => return None,
    };
    Some(route)
}

/// Counts the request, then answers it with the next queued fault or passes it on.
pub(crate) async fn intercept(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let Some((counter, endpoint)) = classify(&app, req.uri().path()) else {
        return next.run(req).await;
    };
    app.counters.bump(counter);
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return OAuthError::invalid_request("request body too large or unreadable")
                .into_response();
        }
    };
    if endpoint == Some(Endpoint::Token) {
        app.counters.bump(grant_counter(&bytes));
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    let fault = endpoint.and_then(|e| app.faults.take(e));
    match fault {
        None => next.run(req).await,
        Some(fault) => {
            app.counters.bump(Counter::FaultsInjected);
            tracing::info!(path = req.uri().path(), ?fault, "injecting fault");
            apply(fault, endpoint, req, next).await
        }
    }
}

fn grant_counter(body: &Bytes) -> Counter {
    let grant = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    match grant.as_deref().and_then(crate::config::GrantType::parse) {
        Some(crate::config::GrantType::RefreshToken) => Counter::TokenRefresh,
        Some(crate::config::GrantType::AuthorizationCode) => Counter::TokenCode,
        Some(crate::config::GrantType::DeviceCode) => Counter::TokenDevice,
        Some(crate::config::GrantType::ClientCredentials) => Counter::TokenClientCredentials,
        None => Counter::TokenOther,
    }
}

async fn apply(fault: Fault, endpoint: Option<Endpoint>, req: Request, next: Next) -> Response {
    match fault {
        Fault::Status {
            code,
            retry_after,
            body,
        } => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = body.unwrap_or_else(|| {
                format!(
                    "{} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                )
            });
            let mut resp = (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response();
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        }
        Fault::Delay(by) => {
            tokio::time::sleep(by).await;
            next.run(req).await
        }
        Fault::DropConnection => {
            if let Some(kill) = req.extensions().get::<ConnectionKill>() {
                kill.0.notify_one();
                // The connection task drops this future with the connection.
                std::future::pending::<()>().await;
            }
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Fault::NonJsonBody => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "this is not JSON <html>",
        )
            .into_response(),
        Fault::HtmlLoginPage200 => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            PROXY_LOGIN_PAGE,
        )
            .into_response(),
        Fault::MissingField(field) => {
            let resp = next.run(req).await;
            edit_json(resp, |obj| {
                obj.remove(&field);
            })
            .await
        }
        Fault::ExpiresInAsString => {
            let resp = next.run(req).await;
            edit_json(resp, |obj| {
                if let Some(v) = obj.get_mut("expires_in") {
                    *v = serde_json::Value::String(v.to_string());
                }
            })
            .await
        }
        Fault::ExpiresIn(secs) => {
            let resp = next.run(req).await;
            edit_json(resp, |obj| {
                if obj.contains_key("expires_in") {
                    obj.insert("expires_in".into(), secs.into());
                }
            })
            .await
        }
        Fault::NeverEndingBody => never_ending_body(),
        Fault::OAuthError {
            error,
            description,
            status,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let err = OAuthError::new(status, error, description);
            if endpoint == Some(Endpoint::Authorization)
                && let Some(resp) = crate::authorize::redirect_fault(&req, &err)
            {
                return resp;
            }
            err.into_response()
        }
    }
}

async fn edit_json(
    resp: Response,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, 1024 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut obj)) => {
            edit(&mut obj);
            Bytes::from(serde_json::Value::Object(obj).to_string())
        }
        _ => bytes,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

fn never_ending_body() -> Response {
    let (mut writer, reader) = tokio::io::duplex(64);
    tokio::spawn(async move {
        if writer.write_all(b"{\"access_token\":\"").await.is_err() {
            return;
        }
        // Ends when the client goes away (the reader is dropped with the connection).
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if writer.write_all(b"x").await.is_err() {
                return;
            }
        }
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(ReaderStream::new(reader)),
    )
        .into_response()
}

const PROXY_LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign On</title></head>\
<body><h1>Corporate Proxy - Sign On</h1><form method=\"post\" action=\"/proxy/login\">\
<input name=\"user\"><input name=\"password\" type=\"password\">\
<button type=\"submit\">Sign On</button></form></body></html>\n";
