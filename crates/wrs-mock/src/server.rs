//! The running server: listener, connections (plain or TLS), shutdown, and
//! the handle tests hold.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::service::{Service as _, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::MockError;
use crate::admin;
use crate::app::{App, Urls, router};
use crate::config::MockConfig;
use crate::counters::Counters;
use crate::faults::{ActiveFault, ConnectionKill, Endpoint, Fault};
use crate::grants::{RefreshTokenState, TokenSet};

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running mock. Dropping it (or [`MockServer::shutdown`]) stops it.
#[derive(Debug)]
pub struct MockServer {
    app: Arc<App>,
    addr: SocketAddr,
    ca_pem: Option<String>,
    shutdown: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What binding produces: everything but the thread.
struct Bound {
    app: Arc<App>,
    addr: SocketAddr,
    ca_pem: Option<String>,
    shutdown: CancellationToken,
}

fn validate(config: &MockConfig) -> Result<(), MockError> {
    let path_ok = config
        .issuer_path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    if !path_ok || (!config.issuer_path.is_empty() && !config.issuer_path.starts_with('/')) {
        return Err(MockError::Config(format!(
            "issuer path {:?} must be like /tenant-1",
            config.issuer_path
        )));
    }
    if config.clients.iter().any(|c| c.id.is_empty()) {
        return Err(MockError::Config("a client has an empty id".into()));
    }
    Ok(())
}

async fn bind(config: MockConfig) -> Result<(Bound, impl Future<Output = ()> + Send), MockError> {
    validate(&config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| MockError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let tls = if config.tls {
        Some(crate::tls::generate()?)
    } else {
        None
    };
    let host = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = Url::parse(&format!("{scheme}://{host}:{}/", addr.port()))
        .map_err(|e| MockError::Config(e.to_string()))?;
    let urls = Urls::new(base, &config.issuer_path);
    let app = Arc::new(App::new(config, urls));
    let shutdown = CancellationToken::new();
    let routes = router(app.clone());
    let (acceptor, ca_pem) = match tls {
        Some(t) => (Some(t.acceptor), Some(t.ca_pem)),
        None => (None, None),
    };
    let run = accept_loop(listener, acceptor, routes, shutdown.clone());
    tracing::info!(%addr, "wrs-mock listening");
    Ok((
        Bound {
            app,
            addr,
            ca_pem,
            shutdown,
        },
        run,
    ))
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    routes: Router,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(
                    stream,
                    tls.clone(),
                    routes.clone(),
                    shutdown.clone(),
                ));
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    routes: Router,
    shutdown: CancellationToken,
) {
    match tls {
        None => serve(TokioIo::new(stream), routes, shutdown).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            let stream = tokio::select! {
                () = shutdown.cancelled() => return,
                r = handshake => match r {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                },
            };
            serve(TokioIo::new(stream), routes, shutdown).await;
        }
    }
}

async fn serve<I>(io: I, routes: Router, shutdown: CancellationToken)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let kill = ConnectionKill::default();
    let service_kill = kill.clone();
    let tower = TowerToHyperService::new(routes);
    let service = service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(service_kill.clone());
        tower.call(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(io, service);
    // Leaving the select drops the connection and with it the socket: that
    // is how `Fault::DropConnection` closes without an answer.
    tokio::select! {
        r = conn => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = kill.0.notified() => tracing::debug!("dropping connection (fault)"),
        () = shutdown.cancelled() => {}
    }
}

impl MockServer {
    /// Binds [`MockConfig::listen`] and serves on the current tokio runtime.
    ///
    /// The server only runs while that runtime does: a caller that blocks its
    /// (current-thread) runtime on a synchronous HTTP client should use
    /// [`MockServer::start_background`] instead.
    pub async fn start(config: MockConfig) -> Result<MockServer, MockError> {
        let (bound, run) = bind(config).await?;
        tokio::spawn(run);
        Ok(MockServer::from_bound(bound, None))
    }

    /// Starts the mock on a thread with its own tokio runtime, for callers
    /// without one (sync tests, the thin client's tests).
    pub fn start_background(config: MockConfig) -> Result<MockServer, MockError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("wrs-mock".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("wrs-mock-worker")
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(MockError::Io(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match bind(config).await {
                        Ok((bound, run)) => {
                            let _ = tx.send(Ok(bound));
                            run.await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
                // Dropping the runtime here cancels the connection tasks.
            })?;
        let bound = rx.recv().map_err(|_| MockError::ThreadDied)??;
        Ok(MockServer::from_bound(bound, Some(thread)))
    }

    fn from_bound(bound: Bound, thread: Option<std::thread::JoinHandle<()>>) -> MockServer {
        MockServer {
            app: bound.app,
            addr: bound.addr,
            ca_pem: bound.ca_pem,
            shutdown: bound.shutdown,
            thread,
        }
    }

    /// Stops serving: the listener closes and open connections are dropped.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// The address the mock listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> Url {
        self.app.urls.base.clone()
    }

    /// The issuer exactly as discovery and `iss` carry it: the base URL
    /// (plus issuer path) without a trailing slash. A `String`, because a
    /// [`Url`] would add the slash back.
    pub fn issuer(&self) -> String {
        self.app.urls.issuer.clone()
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> Url {
        self.app.urls.at(&format!(
            "{}/.well-known/openid-configuration",
            self.app.config.issuer_path
        ))
    }

    /// `/as/authorization.oauth2`.
    pub fn authorization_endpoint(&self) -> Url {
        self.app.urls.at("/as/authorization.oauth2")
    }

    /// `/as/token.oauth2`.
    pub fn token_endpoint(&self) -> Url {
        self.app.urls.at("/as/token.oauth2")
    }

    /// `/as/revoke_token.oauth2`.
    pub fn revocation_endpoint(&self) -> Url {
        self.app.urls.at("/as/revoke_token.oauth2")
    }

    /// `/as/introspect.oauth2`.
    pub fn introspection_endpoint(&self) -> Url {
        self.app.urls.at("/as/introspect.oauth2")
    }

    /// `/as/device_authz.oauth2`.
    pub fn device_authorization_endpoint(&self) -> Url {
        self.app.urls.at("/as/device_authz.oauth2")
    }

    /// `/as/user_authz.oauth2`, the page that approves a device's user code.
    pub fn device_verification_uri(&self) -> Url {
        self.app.urls.at("/as/user_authz.oauth2")
    }

    /// The Windchill OData root, `/Windchill/oauth/servlet/odata/`.
    pub fn wrs_root(&self) -> Url {
        self.app.urls.at(crate::wrs::ROOT_PATH)
    }

    /// The admin API root, `/mock/admin/` (see [`crate::admin`]).
    pub fn admin_url(&self) -> Url {
        self.app.urls.at("/mock/admin/")
    }

    /// The PEM of the generated CA, when serving TLS.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// The configuration the mock runs with.
    pub fn config(&self) -> &MockConfig {
        &self.app.config
    }

    /// A snapshot of the request counters.
    pub fn counters(&self) -> Counters {
        self.app.counters.snapshot()
    }

    /// Sets every counter back to zero.
    pub fn reset_counters(&self) {
        self.app.counters.reset();
    }

    /// Queues a fault for the next `times` requests to `endpoint` (`None`:
    /// every request until [`MockServer::clear_faults`]).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault, times: Option<u32>) {
        self.app.faults.push(endpoint, fault, times);
    }

    /// Removes all queued faults.
    pub fn clear_faults(&self) {
        self.app.faults.clear();
    }

    /// The faults still queued.
    pub fn faults(&self) -> Vec<ActiveFault> {
        self.app.faults.list()
    }

    /// Moves the mock's clock forward: tokens, codes and grace periods expire
    /// without sleeping. (Injected delays still use real time.)
    pub fn advance_clock(&self, by: Duration) {
        self.app.clock.advance(by);
    }

    /// The mock's current time.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.app.now_ms())
    }

    /// Approves a pending device user code as the auto-approve user (`demo`);
    /// false if the code is unknown, expired or already decided.
    pub fn approve_device(&self, user_code: &str) -> bool {
        admin::decide_device(
            &self.app,
            user_code,
            Some(&self.app.config.auto_approve_user),
        )
    }

    /// Approves a pending device user code as `user`.
    pub fn approve_device_as(&self, user_code: &str, user: &str) -> bool {
        admin::decide_device(&self.app, user_code, Some(user))
    }

    /// Denies a pending device user code.
    pub fn deny_device(&self, user_code: &str) -> bool {
        admin::decide_device(&self.app, user_code, None)
    }

    /// Mints a grant for `user` at `client_id` (scope space-separated; empty =
    /// all the client's scopes) with an access and a refresh token.
    pub fn issue_tokens_for_test(
        &self,
        client_id: &str,
        user: &str,
        scope: &str,
    ) -> Result<TokenSet, MockError> {
        admin::issue_tokens(&self.app, client_id, user, scope)
    }

    /// Whether the access token is known, unexpired and unrevoked.
    pub fn is_access_token_valid(&self, token: &str) -> bool {
        self.app
            .grants()
            .valid_access(self.app.now_ms(), token)
            .is_some()
    }

    /// What has become of a refresh token.
    pub fn refresh_token_state(&self, token: &str) -> RefreshTokenState {
        self.app
            .grants()
            .refresh_state(&self.app.config, self.app.now_ms(), token)
    }

    /// How many revocation requests named this token (any client, any outcome).
    pub fn revocation_count(&self, token: &str) -> u32 {
        self.app.grants().revocation_count(token)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop();
    }
}
