//! The shared state behind every handler, and the router that serves it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::routing::{any, get, post};
use url::Url;

use crate::authorize::Interactions;
use crate::clock::Clock;
use crate::config::{ClientConfig, MockConfig, UserConfig};
use crate::counters::CounterCells;
use crate::device::Devices;
use crate::faults::FaultTable;
use crate::grants::Grants;
use crate::wrs::Parts;

/// The URLs the mock serves, fixed once the port is known.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    /// `scheme://host:port/`.
    pub(crate) base: Url,
    /// The issuer: base URL plus issuer path, without a trailing slash.
    pub(crate) issuer: String,
    issuer_path: String,
}

impl Urls {
    pub(crate) fn new(base: Url, issuer_path: &str) -> Urls {
        let issuer = format!("{}{}", base.as_str().trim_end_matches('/'), issuer_path);
        Urls {
            base,
            issuer,
            issuer_path: issuer_path.to_string(),
        }
    }

    /// The base URL joined with an absolute path.
    pub(crate) fn at(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    /// The discovery paths: OpenID (`{issuer}/.well-known/openid-configuration`)
    /// and RFC 8414 (`/.well-known/oauth-authorization-server{issuer path}`).
    pub(crate) fn discovery_paths(&self) -> Vec<String> {
        let mut paths = vec![
            format!("{}/.well-known/openid-configuration", self.issuer_path),
            format!(
                "/.well-known/oauth-authorization-server{}",
                self.issuer_path
            ),
        ];
        if !self.issuer_path.is_empty() {
            paths.push("/.well-known/openid-configuration".into());
        }
        paths
    }

    pub(crate) fn is_discovery_path(&self, path: &str) -> bool {
        self.discovery_paths().iter().any(|p| p == path)
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) config: MockConfig,
    pub(crate) urls: Urls,
    pub(crate) clock: Clock,
    pub(crate) counters: CounterCells,
    pub(crate) faults: FaultTable,
    grants: Mutex<Grants>,
    devices: Mutex<Devices>,
    interactions: Mutex<Interactions>,
    parts: Mutex<Parts>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked mid-update is a bug, but the mock keeps serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    pub(crate) fn new(config: MockConfig, urls: Urls) -> App {
        App {
            config,
            urls,
            clock: Clock::default(),
            counters: CounterCells::default(),
            faults: FaultTable::default(),
            grants: Mutex::default(),
            devices: Mutex::default(),
            interactions: Mutex::default(),
            parts: Mutex::new(Parts::seeded()),
        }
    }

    pub(crate) fn grants(&self) -> MutexGuard<'_, Grants> {
        lock(&self.grants)
    }

    pub(crate) fn devices(&self) -> MutexGuard<'_, Devices> {
        lock(&self.devices)
    }

    pub(crate) fn interactions(&self) -> MutexGuard<'_, Interactions> {
        lock(&self.interactions)
    }

    pub(crate) fn parts(&self) -> MutexGuard<'_, Parts> {
        lock(&self.parts)
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub(crate) fn client(&self, id: &str) -> Option<&ClientConfig> {
        self.config.find_client(id)
    }

    /// The user with these credentials.
    pub(crate) fn check_user(&self, username: &str, password: &str) -> Option<&UserConfig> {
        self.config
            .users
            .iter()
            .find(|u| u.username == username && u.password == password)
    }
}

/// All routes, behind the counting/fault middleware; every answer's `Date`
/// is the mock's clock.
pub(crate) fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route(
            "/as/authorization.oauth2",
            get(crate::authorize::get_authorize).post(crate::authorize::post_authorize),
        )
        .route("/as/token.oauth2", post(crate::token::token))
        .route("/as/revoke_token.oauth2", post(crate::introspect::revoke))
        .route("/as/introspect.oauth2", post(crate::introspect::introspect))
        .route(
            "/as/device_authz.oauth2",
            post(crate::device::device_authorization),
        )
        .route(
            "/as/user_authz.oauth2",
            get(crate::device::user_page).post(crate::device::user_submit),
        )
        .route(crate::wrs::ROOT_PATH, any(crate::wrs::handle))
        .route(
            &format!("{}{{*rest}}", crate::wrs::ROOT_PATH),
            any(crate::wrs::handle),
        )
        .merge(crate::admin::routes());
    for path in app.urls.discovery_paths() {
        router = router.route(&path, get(crate::discovery::discovery));
    }
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::faults::intercept,
        ))
        .layer(axum::middleware::map_response_with_state(
            app.clone(),
            stamp_date,
        ))
        .with_state(app)
}

/// Sets `Date` from the mock's clock (hyper would stamp the wall clock and
/// keeps a `Date` that is there): a test that moves the clock also skews
/// the server time a client's clock check sees.
async fn stamp_date(
    State(app): State<Arc<App>>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let now = UNIX_EPOCH + Duration::from_millis(app.now_ms());
    if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

async fn not_found() -> axum::response::Response {
    crate::html::error_page(axum::http::StatusCode::NOT_FOUND, "Not found")
}
