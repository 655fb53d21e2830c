//! The Windchill REST Services stand-in under `/Windchill/oauth/servlet/odata/`.
//!
//! Every request needs a valid Bearer access token (else 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"`); writes also need a
//! `CSRF_NONCE` header holding a nonce from `PTC/GetCSRFToken()` issued to the
//! same grant. Paths are matched after percent-decoding, so
//! `GetCSRFToken%28%29` is `GetCSRFToken()`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::counters::Counter;
use crate::params::percent_decode;

/// The OData root path.
pub(crate) const ROOT_PATH: &str = "/Windchill/oauth/servlet/odata/";

/// The parts the stand-in knows.
#[derive(Debug)]
pub(crate) struct Parts {
    parts: Vec<Map<String, Value>>,
    next_number: u64,
}

impl Parts {
    pub(crate) fn seeded() -> Parts {
        let mut parts = Parts {
            parts: Vec::new(),
            next_number: 1,
        };
        for name in ["Bracket", "Housing", "Drive Shaft"] {
            parts.create(Map::new(), name);
        }
        parts
    }

    fn create(&mut self, mut fields: Map<String, Value>, name: &str) -> Map<String, Value> {
        let n = self.next_number;
        self.next_number += 1;
        fields.insert(
            "ID".into(),
            json!(format!("OR:wt.part.WTPart:{}", 100_000 + n)),
        );
        fields
            .entry("Number")
            .or_insert_with(|| json!(format!("{n:010}")));
        fields.insert("Name".into(), json!(name));
        fields.entry("Version").or_insert_with(|| json!("A.1"));
        self.parts.push(fields.clone());
        fields
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.parts
            .iter()
            .position(|p| p.get("ID").and_then(Value::as_str) == Some(id))
    }
}

/// An OData error body.
fn odata_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn unauthorized(description: &str) -> Response {
    let challenge = format!(
        "Bearer realm=\"Windchill\", error=\"invalid_token\", error_description=\"{description}\""
    );
    let mut resp = odata_error(StatusCode::UNAUTHORIZED, "401", "Authentication required");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Every method on every path under [`ROOT_PATH`].
pub(crate) async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let resp = serve(&app, &method, &uri, &headers, &body);
    if resp.status().is_success() {
        app.counters.bump(Counter::WrsOk);
    } else if resp.status() == StatusCode::UNAUTHORIZED {
        app.counters.bump(Counter::WrsUnauthorized);
    }
    resp
}

fn serve(app: &App, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let now = app.now_ms();
    let grant = {
        let grants = app.grants();
        match bearer(headers) {
            None => return unauthorized("no access token"),
            Some(token) => match grants.valid_access(now, token) {
                Some(entry) => entry.grant,
                None => return unauthorized(grants.access_problem(now, token)),
            },
        }
    };
    let raw = uri.path().strip_prefix(ROOT_PATH).unwrap_or("");
    let Some(path) = percent_decode(raw, false) else {
        return odata_error(StatusCode::BAD_REQUEST, "400", "malformed path");
    };
    let base = app.urls.at(ROOT_PATH);
    if *method != Method::GET && *method != Method::HEAD {
        let nonce = headers.get("CSRF_NONCE").and_then(|v| v.to_str().ok());
        if !nonce.is_some_and(|n| app.grants().nonce_matches(n, grant)) {
            app.counters.bump(Counter::WrsCsrfRejected);
            return odata_error(
                StatusCode::BAD_REQUEST,
                "CSRF_NONCE_INVALID",
                "The request is missing a valid CSRF_NONCE header",
            );
        }
    }
    let context = format!("{base}ProdMgmt/$metadata#Parts");
    match (method.clone(), path.as_str()) {
        (Method::GET, "") => Json(json!({
            "@odata.context": format!("{base}$metadata"),
            "value": [
                { "name": "ProdMgmt", "kind": "EntityContainer", "url": "ProdMgmt" },
                { "name": "PTC", "kind": "EntityContainer", "url": "PTC" },
            ],
        }))
        .into_response(),
        (Method::GET, "PTC/GetCSRFToken()") => {
            let nonce = app.grants().new_nonce(grant);
            Json(json!({
                "@odata.context": format!("{base}PTC/$metadata#CSRFToken"),
                "NonceKey": "CSRF_NONCE",
                "NonceValue": nonce,
            }))
            .into_response()
        }
        (Method::GET, "ProdMgmt/Parts") => {
            let parts = app.parts();
            Json(json!({ "@odata.context": context, "value": parts.parts })).into_response()
        }
        (Method::POST, "ProdMgmt/Parts") => create_part(app, &context, body),
        (m, p) => match part_id(p) {
            Some(id) => one_part(app, &m, &context, &id, body),
            None => odata_error(StatusCode::NOT_FOUND, "404", "No such resource"),
        },
    }
}

/// `ProdMgmt/Parts('ID')` → `ID`.
fn part_id(path: &str) -> Option<String> {
    let inner = path.strip_prefix("ProdMgmt/Parts(")?.strip_suffix(')')?;
    let inner = inner.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

fn parse_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Some(obj),
        _ => None,
    }
}

fn not_an_object() -> Response {
    odata_error(
        StatusCode::BAD_REQUEST,
        "400",
        "The body must be a JSON object",
    )
}

fn create_part(app: &App, context: &str, body: &[u8]) -> Response {
    let Some(fields) = parse_object(body) else {
        return not_an_object();
    };
    let Some(name) = fields
        .get("Name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return odata_error(StatusCode::BAD_REQUEST, "400", "Name is required");
    };
    let mut part = app.parts().create(fields, &name);
    part.insert("@odata.context".into(), json!(format!("{context}/$entity")));
    (StatusCode::CREATED, Json(Value::Object(part))).into_response()
}

fn one_part(app: &App, method: &Method, context: &str, id: &str, body: &[u8]) -> Response {
    let mut parts = app.parts();
    let Some(index) = parts.position(id) else {
        return odata_error(StatusCode::NOT_FOUND, "404", "No such part");
    };
    match *method {
        Method::GET => {
            let mut part = parts.parts[index].clone();
            part.insert("@odata.context".into(), json!(format!("{context}/$entity")));
            Json(Value::Object(part)).into_response()
        }
        Method::PATCH => {
            let Some(fields) = parse_object(body) else {
                return not_an_object();
            };
            let part = &mut parts.parts[index];
            for (k, v) in fields {
                if k != "ID" {
                    part.insert(k, v);
                }
            }
            let mut part = part.clone();
            part.insert("@odata.context".into(), json!(format!("{context}/$entity")));
            Json(Value::Object(part)).into_response()
        }
        Method::DELETE => {
            parts.parts.remove(index);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => odata_error(StatusCode::METHOD_NOT_ALLOWED, "405", "Method not allowed"),
    }
}
