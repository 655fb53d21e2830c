//! The authorization endpoint: request validation, the login + consent page,
//! and the redirect back with a code or an error.
//!
//! `GET /as/authorization.oauth2?…` answers with an HTML form holding a
//! hidden `txn`; `POST /as/authorization.oauth2` with `txn`, `username`,
//! `password` and `decision=approve|deny` answers 302 to the redirect URI.
//! Errors about the client or redirect URI are shown on a page, never
//! redirected (RFC 6749 4.1.2.1).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::app::App;
use crate::config::{ClientConfig, GrantType};
use crate::grants::{AuthCode, parse_scope, random_token};
use crate::html;
use crate::oauth_error::OAuthError;
use crate::params::Params;

/// How long a login form stays usable.
const INTERACTION_LIFETIME_MS: u64 = 10 * 60 * 1000;

/// A validated authorization request.
#[derive(Debug, Clone)]
pub(crate) struct AuthzRequest {
    client_id: String,
    /// The `redirect_uri` parameter as sent (the token request must repeat it).
    redirect_uri_param: Option<String>,
    /// Where to send the answer.
    redirect_uri: String,
    state: Option<String>,
    scope: Vec<String>,
    code_challenge: Option<String>,
    created_ms: u64,
}

/// Login forms waiting for the user, by `txn`.
#[derive(Debug, Default)]
pub(crate) struct Interactions {
    pending: HashMap<String, AuthzRequest>,
}

enum Failure {
    /// Shown to the user; the client is not told.
    Page(String),
    /// Sent back to the client's redirect URI.
    Redirect(Box<AuthzRequest>, OAuthError),
}

/// Whether `given` matches the registered `registered` redirect URI: exactly,
/// or, for http loopback URIs, on any port (RFC 8252 7.3).
pub(crate) fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    let (Ok(r), Ok(g)) = (Url::parse(registered), Url::parse(given)) else {
        return false;
    };
    let loopback = matches!(
        r.host_str(),
        Some("127.0.0.1") | Some("[::1]") | Some("localhost")
    );
    loopback
        && r.scheme() == "http"
        && g.scheme() == "http"
        && r.host_str() == g.host_str()
        && r.path() == g.path()
        && r.query() == g.query()
        && g.fragment().is_none()
        && g.username().is_empty()
        && g.password().is_none()
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn validate(app: &App, query: Option<&str>) -> Result<AuthzRequest, Failure> {
    let params = Params::from_query(query)
        .map_err(|name| Failure::Page(format!("The parameter {name} is repeated.")))?;
    let client_id = params
        .get("client_id")
        .ok_or_else(|| Failure::Page("The request has no client_id.".into()))?;
    let client = app
        .client(client_id)
        .ok_or_else(|| Failure::Page(format!("Unknown client: {client_id}")))?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(given)
            if client
                .redirect_uris
                .iter()
                .any(|r| redirect_matches(r, given)) =>
        {
            given.to_string()
        }
        Some(given) => {
            return Err(Failure::Page(format!(
                "The redirect_uri {given} is not registered for this client."
            )));
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return Err(Failure::Page("The request has no redirect_uri.".into())),
    };
    if Url::parse(&redirect_uri).is_err() {
        return Err(Failure::Page("The redirect_uri is not a URL.".into()));
    }
    let mut request = AuthzRequest {
        client_id: client.id.clone(),
        redirect_uri_param: params.get("redirect_uri").map(str::to_string),
        redirect_uri,
        state: params.get("state").map(str::to_string),
        scope: Vec::new(),
        code_challenge: None,
        created_ms: app.now_ms(),
    };
    match check_request(client, &params) {
        Ok((scope, challenge)) => {
            request.scope = scope;
            request.code_challenge = challenge;
            Ok(request)
        }
        Err(err) => Err(Failure::Redirect(Box::new(request), err)),
    }
}

/// The checks whose failures are redirected: response type, grant, scope, PKCE.
fn check_request(
    client: &ClientConfig,
    params: &Params,
) -> Result<(Vec<String>, Option<String>), OAuthError> {
    match params.get("response_type") {
        None => return Err(OAuthError::invalid_request("response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_response_type",
                Some("only response_type=code is supported".into()),
            ));
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the authorization code grant",
        ));
    }
    let scope = checked_scope(client, params.get("scope"))?;
    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method")) {
        (None, None) if client.is_public() => Err(OAuthError::invalid_request(
            "PKCE code_challenge is required",
        )),
        (None, None) => Ok((scope, None)),
        (None, Some(_)) => Err(OAuthError::invalid_request("code_challenge is required")),
        (Some(_), Some(m)) if m != "S256" => Err(OAuthError::invalid_request(
            "transform algorithm not supported: use S256",
        )),
        // RFC 7636: a missing method means "plain", which is refused.
        (Some(_), None) => Err(OAuthError::invalid_request(
            "transform algorithm not supported: code_challenge_method=S256 is required",
        )),
        (Some(c), Some(_)) if !is_pkce_value(c) => {
            Err(OAuthError::invalid_request("malformed code_challenge"))
        }
        (Some(c), Some(_)) => Ok((scope, Some(c.to_string()))),
    }
}

/// The requested scope if the client may have it, else all the client's scopes.
pub(crate) fn checked_scope(
    client: &ClientConfig,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let requested = parse_scope(requested.unwrap_or(""));
    if requested.is_empty() {
        return Ok(client.scopes.clone());
    }
    match requested.iter().find(|s| !client.scopes.contains(s)) {
        Some(bad) => Err(OAuthError::invalid_scope(&format!(
            "scope {bad} is not allowed"
        ))),
        None => Ok(requested),
    }
}

/// A 302 to `redirect_uri` with `pairs` (plus `state` and `iss`) in the query.
fn redirect(
    app: &App,
    redirect_uri: &str,
    state: Option<&str>,
    pairs: &[(&str, &str)],
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return html::error_page(StatusCode::BAD_REQUEST, "The redirect_uri is not a URL.");
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(state) = state {
            q.append_pair("state", state);
        }
        if app.config.send_iss_in_authz_response {
            q.append_pair("iss", &app.urls.issuer);
        }
    }
    found(url.as_str())
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => html::error_page(StatusCode::BAD_REQUEST, "The redirect_uri is not valid."),
    }
}

fn redirect_error(app: &App, request: &AuthzRequest, err: &OAuthError) -> Response {
    let mut pairs = vec![("error", err.error.as_str())];
    if let Some(d) = &err.description {
        pairs.push(("error_description", d.as_str()));
    }
    redirect(app, &request.redirect_uri, request.state.as_deref(), &pairs)
}

fn failure_response(app: &App, failure: Failure) -> Response {
    match failure {
        Failure::Page(message) => html::error_page(StatusCode::BAD_REQUEST, &message),
        Failure::Redirect(request, err) => redirect_error(app, &request, &err),
    }
}

fn issue_code(app: &App, request: &AuthzRequest, user: &str) -> Response {
    let code = random_token("wrsac_");
    app.grants().insert_code(
        code.clone(),
        AuthCode::new(
            request.client_id.clone(),
            request.redirect_uri_param.clone(),
            user.to_string(),
            request.scope.clone(),
            request.code_challenge.clone(),
            app.now_ms(),
        ),
    );
    redirect(
        app,
        &request.redirect_uri,
        request.state.as_deref(),
        &[("code", &code)],
    )
}

fn login_page(app: &App, txn: &str, request: &AuthzRequest, error: Option<&str>) -> Response {
    let body = format!(
        "<p>The application <b>{client}</b> asks for access to: {scope}</p>\n\
         <form method=\"post\" action=\"{action}\">\n{hidden}\n{fields}\n</form>",
        client = html::escape(&request.client_id),
        scope = html::escape(&request.scope.join(" ")),
        action = html::escape(app.urls.at("/as/authorization.oauth2").path()),
        hidden = html::hidden("txn", txn),
        fields = html::login_fields(error),
    );
    html::page(StatusCode::OK, "Sign on", &body)
}

/// `GET /as/authorization.oauth2`.
pub(crate) async fn get_authorize(State(app): State<Arc<App>>, uri: Uri) -> Response {
    start(&app, uri.query())
}

fn start(app: &App, query: Option<&str>) -> Response {
    let request = match validate(app, query) {
        Ok(r) => r,
        Err(f) => return failure_response(app, f),
    };
    if app.config.auto_approve {
        return issue_code(app, &request, &app.config.auto_approve_user);
    }
    let txn = random_token("txn_");
    let page = login_page(app, &txn, &request, None);
    let now = app.now_ms();
    let mut interactions = app.interactions();
    interactions
        .pending
        .retain(|_, r| now < r.created_ms.saturating_add(INTERACTION_LIFETIME_MS));
    interactions.pending.insert(txn, request);
    page
}

/// `POST /as/authorization.oauth2`: the login form's answer, or (without
/// `txn`) an authorization request sent as a form.
pub(crate) async fn post_authorize(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Ok(params) = Params::parse(&body) else {
        return html::error_page(StatusCode::BAD_REQUEST, "A form field is repeated.");
    };
    let Some(txn) = params.get("txn") else {
        return match std::str::from_utf8(&body) {
            Ok(form) => start(&app, Some(form)),
            Err(_) => html::error_page(StatusCode::BAD_REQUEST, "The form is not UTF-8."),
        };
    };
    let now = app.now_ms();
    let request = app.interactions().pending.get(txn).cloned();
    let Some(request) =
        request.filter(|r| now < r.created_ms.saturating_add(INTERACTION_LIFETIME_MS))
    else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "This sign-on page has expired or is unknown. Start again from the application.",
        );
    };
    if params.get("decision") == Some("deny") {
        app.interactions().pending.remove(txn);
        let err = OAuthError::new(
            StatusCode::BAD_REQUEST,
            "access_denied",
            Some("the user denied the request".into()),
        );
        return redirect_error(&app, &request, &err);
    }
    let user = params
        .get("username")
        .zip(params.get("password"))
        .and_then(|(u, p)| app.check_user(u, p))
        .map(|u| u.username.clone());
    let Some(user) = user else {
        return login_page(&app, txn, &request, Some("Invalid username or password."));
    };
    app.interactions().pending.remove(txn);
    issue_code(&app, &request, &user)
}

/// The [`crate::Fault::OAuthError`] fault at the authorization endpoint:
/// redirected to the request's `redirect_uri` when it has one.
pub(crate) fn redirect_fault(req: &Request, err: &OAuthError) -> Option<Response> {
    let params = Params::from_query(req.uri().query()).ok()?;
    let mut url = Url::parse(params.get("redirect_uri")?).ok()?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", &err.error);
        if let Some(d) = &err.description {
            q.append_pair("error_description", d);
        }
        if let Some(state) = params.get("state") {
            q.append_pair("state", state);
        }
    }
    Some(found(url.as_str()))
}
