//! A daemon runtime (config file, stores, OAuth source, sessions, handler)
//! against a real `wrs-mock` server over HTTP, driven through the handler.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wrs_config::StoreKind;
use wrs_mock::{MockConfig, MockServer};
use wrs_oauth::HttpConfig;
use wrs_proto::{
    ErrorResponse, LoginMethod, LoginPrompt, ProfileStatus, Request, Response, Secret, TokenReply,
};
use wrs_store::SecretKind;
use wrs_tokend::binding::Opened;
use wrs_tokend::clock::{Clock, SystemClock};
use wrs_tokend::handler::Handler;
use wrs_tokend::oauth_source::OAuthSource;
use wrs_tokend::profiles::Profiles;
use wrs_tokend::runtime::Runtime;
use wrs_tokend::stores::Stores;
use wrs_tokend::testing::FakeClock;

pub const PUBLIC: &str = wrs_mock::config::DEMO_PUBLIC_CLIENT;

pub struct Env {
    pub mock: MockServer,
    pub tmp: tempfile::TempDir,
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub runtime: Arc<Runtime>,
    pub handler: Handler,
}

/// A public code-flow profile at the mock, secrets in `store`.
pub fn public_profile(name: &str, mock: &MockServer, store: &str, extra: &str) -> String {
    format!(
        "[profiles.{name}]\nissuer = \"{}\"\nclient_id = \"{PUBLIC}\"\nauth = \"none\"\n\
         scopes = [\"openid\", \"offline_access\", \"WINDCHILL\"]\nstore = \"{store}\"\n{extra}\n",
        mock.issuer()
    )
}

pub fn fake_clock() -> FakeClock {
    FakeClock::new(std::time::SystemTime::now())
}

impl Env {
    /// Starts the mock, writes the config `toml(mock)` and builds a runtime
    /// on `clock`.
    pub async fn start(
        mock: MockConfig,
        toml: impl Fn(&MockServer) -> String,
        clock: Arc<dyn Clock>,
    ) -> Env {
        Env::start_with_stores(mock, toml, clock, |data_dir| Stores::new(data_dir, None)).await
    }

    /// As [`Env::start`], with the stores `stores(data_dir)` makes.
    pub async fn start_with_stores(
        mock: MockConfig,
        toml: impl Fn(&MockServer) -> String,
        clock: Arc<dyn Clock>,
        stores: impl FnOnce(&std::path::Path) -> Stores,
    ) -> Env {
        let mock = MockServer::start(mock).await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let config_path = tmp.path().join("config.toml");
        std::fs::write(&config_path, toml(&mock)).unwrap();
        let data_dir = tmp.path().join("data");
        let runtime = runtime_with(&config_path, stores(&data_dir), clock.clone(), None);
        let handler = Handler::with_runtime(runtime.clone(), tmp.path().join("agent.sock"));
        Env {
            mock,
            tmp,
            config_path,
            data_dir,
            clock,
            runtime,
            handler,
        }
    }

    /// A public profile `plm` in the memory store on the system clock.
    pub async fn public(mock: MockConfig) -> Env {
        Env::start(
            mock.auto_approve(true),
            |m| public_profile("plm", m, "memory", ""),
            Arc::new(SystemClock),
        )
        .await
    }

    /// As [`Env::public`] on a fake clock.
    pub async fn public_fake(mock: MockConfig) -> (Env, FakeClock) {
        Env::public_fake_with(mock, "").await
    }

    /// As [`Env::public_fake`], with `extra` lines in the profile.
    pub async fn public_fake_with(mock: MockConfig, extra: &str) -> (Env, FakeClock) {
        let clock = fake_clock();
        let env = Env::start(
            mock.auto_approve(true),
            |m| public_profile("plm", m, "memory", extra),
            Arc::new(clock.clone()),
        )
        .await;
        (env, clock)
    }

    pub async fn call(&self, request: Request) -> Response {
        self.handler.handle(request).await
    }

    pub async fn token(&self, profile: &str) -> Result<TokenReply, ErrorResponse> {
        self.token_asking(profile, Some(0)).await
    }

    /// A token for `profile`, asking for `min_ttl_secs` (`None`: nothing).
    pub async fn token_asking(
        &self,
        profile: &str,
        min_ttl_secs: Option<u64>,
    ) -> Result<TokenReply, ErrorResponse> {
        match self
            .call(Request::GetToken {
                profile: Some(profile.into()),
                min_ttl_secs,
                env_min_ttl_secs: None,
            })
            .await
        {
            Response::Token(t) => Ok(t),
            Response::Error(e) => Err(e),
            other => panic!("unexpected answer {other:?}"),
        }
    }

    pub async fn begin(&self, profile: &str, method: LoginMethod) -> LoginPrompt {
        match self
            .call(Request::LoginBegin {
                profile: Some(profile.into()),
                method,
            })
            .await
        {
            Response::LoginStarted(prompt) => prompt,
            other => panic!("login did not start: {other:?}"),
        }
    }

    pub async fn wait(&self, login_id: &str, secs: u64) -> Response {
        self.call(Request::LoginWait {
            login_id: login_id.into(),
            timeout_secs: secs,
        })
        .await
    }

    /// A whole browser login: begin, act as the browser (auto-approve, then
    /// follow the redirect to the loopback listener), wait.
    pub async fn browser_login(&self, profile: &str) -> u64 {
        let prompt = self.begin(profile, LoginMethod::Browser).await;
        assert!(!prompt.expects_paste);
        let location = authorize(prompt.url.as_deref().unwrap()).await;
        let page = browser().get(&location).send().await.unwrap();
        assert!(page.status().is_success(), "{}", page.status());
        match self.wait(&prompt.login_id, 10).await {
            Response::LoginFinished {
                profile: p,
                expires_at,
            } => {
                assert_eq!(p, profile);
                expires_at
            }
            other => panic!("login did not finish: {other:?}"),
        }
    }

    /// The profile's stored refresh token.
    pub async fn stored_refresh_token(&self, profile: &str, store: StoreKind) -> Option<String> {
        self.runtime
            .source()
            .stores()
            .get(store, profile, SecretKind::RefreshToken)
            .await
            .unwrap()
            .map(|stored| match wrs_tokend::binding::open(stored) {
                Opened::Bound(_, token) | Opened::Legacy(token) => token.expose().to_owned(),
            })
    }

    /// Imports a refresh token minted by the mock for the public client.
    pub async fn import_fresh_grant(&self, profile: &str) -> String {
        let tokens = self.mock.issue_tokens_for_test(PUBLIC, "demo", "").unwrap();
        let rt = tokens.refresh_token.unwrap();
        match self
            .call(Request::ImportRefreshToken {
                profile: Some(profile.into()),
                refresh_token: Secret::new(rt.clone()),
            })
            .await
        {
            Response::LoginFinished { .. } => rt,
            other => panic!("import failed: {other:?}"),
        }
    }

    pub async fn status(&self, profile: &str) -> ProfileStatus {
        match self.call(Request::Status {}).await {
            Response::Status(s) => s.profiles.into_iter().find(|p| p.name == profile).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    pub fn write_config(&self, toml: &str) {
        std::fs::write(&self.config_path, toml).unwrap();
    }
}

/// A runtime over the config file and data dir, with short HTTP timeouts.
pub fn runtime_over(
    config: &std::path::Path,
    data_dir: &std::path::Path,
    clock: Arc<dyn Clock>,
    http: Option<HttpConfig>,
) -> Arc<Runtime> {
    runtime_with(config, Stores::new(data_dir, None), clock, http)
}

/// A runtime over the config file and `stores`, with short HTTP timeouts.
pub fn runtime_with(
    config: &std::path::Path,
    stores: Stores,
    clock: Arc<dyn Clock>,
    http: Option<HttpConfig>,
) -> Arc<Runtime> {
    let profiles = Arc::new(Profiles::load(config));
    let http = http.unwrap_or(HttpConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        ..HttpConfig::default()
    });
    let source = OAuthSource::new(profiles, stores, clock).with_http_config(http);
    Runtime::new(source)
}

/// A browser that does not follow redirects.
pub use wrs_testkit::mock_http::client as browser;

/// GETs the authorization URL (auto-approve) and returns the redirect's
/// Location.
pub async fn authorize(url: &str) -> String {
    let resp = browser().get(url).send().await.unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::FOUND, "authorize");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// Polls `cond` every 10 ms for up to 10 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
