//! Steps 1–6 of the demo: the mock, the profile, the login, the token, the
//! Windchill call and the renewal. Step 7, the clean-up, is in the parent
//! module because it runs however these end.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use serde_json::Value;
use wrs_mock::config::DEMO_PUBLIC_CLIENT;
use wrs_mock::{MockConfig, MockServer};

use super::display::{abbreviate, count, relative};
use super::{COMMAND_TIMEOUT, Demo, PROFILE, windchill, words};

/// Access-token lifetime: short, so a renewal happens while you watch.
const ACCESS_TOKEN_SECS: u64 = 8;
/// How long the demo waits for the daemon's own renewal.
const RENEWAL_WAIT: Duration = Duration::from_secs(15);
/// `wrs-token login --timeout`, and (plus a margin) the bound on the login.
const LOGIN_TIMEOUT_SECS: u64 = 30;
/// How often the demo runs `wrs-token print` while it waits for a renewal.
const PRINT_EVERY: Duration = Duration::from_millis(200);

impl Demo {
    /// Steps 1 to 6, stopping at the first failure.
    pub(super) async fn steps(&mut self) -> anyhow::Result<()> {
        self.start_mock().await?;
        self.add_profile().await?;
        self.log_in().await?;
        let token = self.get_token().await?;
        self.call_windchill(&token).await?;
        self.watch_renewal(&token).await
    }

    /// Step 1.
    async fn start_mock(&mut self) -> anyhow::Result<()> {
        self.begin(1);
        let config = MockConfig::default()
            .tls(true)
            .auto_approve(true)
            .access_token_lifetime(Duration::from_secs(ACCESS_TOKEN_SECS))
            .roll_refresh_tokens(true);
        let mock = MockServer::start(config)
            .await
            .context("cannot start the mock")?;
        let pem = mock.ca_pem().context("the mock serves no TLS")?;
        std::fs::write(&self.sandbox.ca_file, &pem)
            .with_context(|| format!("cannot write {}", self.sandbox.ca_file.display()))?;
        self.http = Some(windchill::http_client(&pem)?);
        let out = &self.out;
        out.detail(&format!("authorization server  {}", mock.issuer()));
        out.detail(&format!("Windchill OData root  {}", mock.wrs_root()));
        out.detail(&format!(
            "CA certificate        {} (made just now; only this demo trusts it)",
            self.sandbox.ca_file.display()
        ));
        out.detail(&format!(
            "access tokens live {ACCESS_TOKEN_SECS} s; each refresh rolls the refresh token; \
             logins are approved at once"
        ));
        self.mock = Some(mock);
        Ok(())
    }

    /// Step 2.
    async fn add_profile(&mut self) -> anyhow::Result<()> {
        self.begin(2);
        self.out.detail(&format!(
            "every command runs with {}, {} and XDG_* pointing into the directory above",
            wrs_sys::env::CONFIG,
            wrs_sys::env::SOCKET
        ));
        let mock = self.mock()?;
        let (issuer, root) = (mock.issuer(), mock.wrs_root().to_string());
        let ca = self.sandbox.ca_file.display().to_string();
        let args = words(&[
            "profile",
            "add",
            PROFILE,
            "--issuer",
            &issuer,
            "--client-id",
            DEMO_PUBLIC_CLIENT,
            "--auth",
            "none",
            "--scope",
            "openid",
            "--scope",
            "offline_access",
            "--scope",
            "WINDCHILL",
            "--ca-file",
            &ca,
            "--resource",
            &root,
            "--store",
            "memory",
        ]);
        self.client(args, &[], COMMAND_TIMEOUT).await?;
        Ok(())
    }

    /// Step 3.
    async fn log_in(&mut self) -> anyhow::Result<()> {
        self.begin(3);
        let demo_exe = self.sandbox.demo_exe.display().to_string();
        if demo_exe.chars().any(char::is_whitespace) {
            return Err(anyhow!(
                "the path of wrs-demo ({demo_exe}) contains a space, which $BROWSER cannot \
                 carry; build in a directory without spaces"
            ));
        }
        self.out
            .detail("the browser is `wrs-demo browse`: headless, and the mock approves at once");
        self.out
            .detail(&format!("BROWSER=\"{}\"", self.sandbox.browser()));
        let timeout = LOGIN_TIMEOUT_SECS.to_string();
        let args = words(&["login", PROFILE, "--timeout", &timeout]);
        let bound = Duration::from_secs(LOGIN_TIMEOUT_SECS + 10);
        let result = self.client(args, &self.sandbox.browser_env(), bound).await;
        // What the headless browser saw, whether the login worked or not.
        if let Some(report) = self.browse_report().await {
            self.out.output(&report);
        }
        result?;
        self.note_daemon().await;
        Ok(())
    }

    /// The headless browser's report line. The daemon finishes the login
    /// when the redirect reaches it, which can be before the browser has
    /// read the answer and written its line: wait for a whole line, briefly.
    async fn browse_report(&self) -> Option<String> {
        for _ in 0..60 {
            if let Ok(report) = std::fs::read_to_string(&self.sandbox.browse_report)
                && report.ends_with('\n')
            {
                return Some(report);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Step 4: the token, abbreviated, and the daemon's status.
    async fn get_token(&mut self) -> anyhow::Result<String> {
        self.begin(4);
        let args = words(&["print", "-p", PROFILE]);
        let mut shown = vec!["wrs-token".to_owned()];
        shown.extend(args.iter().cloned());
        self.out.command(&shown);
        let ran = self
            .sandbox
            .run(&args, &[], COMMAND_TIMEOUT)
            .await?
            .check(&shown.join(" "))?;
        let token = ran.stdout.trim().to_owned();
        if token.is_empty() {
            return Err(anyhow!("`wrs-token print` printed no token"));
        }
        self.out.detail(&format!(
            "{}   ({} characters, abbreviated here; the command prints it whole)",
            abbreviate(&token),
            token.chars().count()
        ));
        self.out.detail(&format!(
            "(these tokens live {ACCESS_TOKEN_SECS} s: the daemon renews each at 75-80 % of its \
             life, and answers every `print` in between from its cache)"
        ));
        self.client(words(&["status"]), &[], COMMAND_TIMEOUT)
            .await?;
        self.note_daemon().await;
        Ok(token)
    }

    /// Step 5.
    async fn call_windchill(&mut self, token: &str) -> anyhow::Result<()> {
        self.begin(5);
        let root = self.mock()?.wrs_root();
        let url = windchill::parts_url(&root)?;
        self.out.detail(&format!("GET {url}"));
        self.out
            .detail(&format!("Authorization: Bearer {}", abbreviate(token)));
        let answer = windchill::get_parts(self.http()?, &root, token).await?;
        self.out
            .detail(&format!("→ {}, {}", answer.status, answer.summary()));
        self.out.detail(&format!(
            "(the same from a shell: curl --cacert {} -H @<(wrs-token header -p {PROFILE}) {url})",
            self.sandbox.ca_file.display()
        ));
        Ok(())
    }

    /// Step 6: the scheduler's renewal, observed without asking for one.
    async fn watch_renewal(&mut self, old_token: &str) -> anyhow::Result<()> {
        self.begin(6);
        let status = self.status_json().await?;
        let session = status
            .get("profiles")
            .and_then(Value::as_array)
            .and_then(|ps| ps.iter().find(|p| p["name"] == PROFILE))
            .cloned()
            .unwrap_or(Value::Null);
        let time = |key: &str| session.get(key).and_then(Value::as_u64);
        let mut plan = format!("token {} expires", abbreviate(old_token));
        plan.push_str(
            &time("expires_at").map_or_else(|| " soon".into(), |t| format!(" {}", relative(t))),
        );
        if let Some(next) = time("next_refresh_at") {
            plan.push_str(&format!(
                "; the daemon plans to renew it {}",
                relative(next)
            ));
        }
        self.out.detail(&plan);
        self.out.detail(&format!(
            "waiting (at most {} s), running `wrs-token print -p {PROFILE}` every {} ms…",
            RENEWAL_WAIT.as_secs(),
            PRINT_EVERY.as_millis()
        ));
        let refreshes_before = self.mock()?.counters().token_refresh;
        let started = Instant::now();
        let print = words(&["print", "-p", PROFILE]);
        let mut prints = 0u32;
        // The mock counts each refresh request as it arrives; the prints
        // ask the daemon, which answers them from its cache, so the only
        // refresh is the scheduler's own.
        let mut refreshed_after = None;
        loop {
            self.sandbox
                .run(&print, &[], COMMAND_TIMEOUT)
                .await?
                .check("wrs-token print")?;
            prints += 1;
            let refreshes = self.mock()?.counters().token_refresh - refreshes_before;
            match refreshed_after {
                None if refreshes > 0 => refreshed_after = Some(started.elapsed()),
                // Keep printing a moment after the renewal: still no refresh.
                Some(at) if started.elapsed() >= at + Duration::from_secs(1) => break,
                _ => {}
            }
            if refreshed_after.is_none() && started.elapsed() >= RENEWAL_WAIT {
                return Err(anyhow!(
                    "the daemon did not renew the token within {} s",
                    RENEWAL_WAIT.as_secs()
                ));
            }
            tokio::time::sleep(PRINT_EVERY).await;
        }
        let refreshes = self.mock()?.counters().token_refresh - refreshes_before;
        self.out.detail(&format!(
            "the daemon refreshed after {:.1} s; {prints} prints meanwhile, all from the \
             daemon's cache; {} at the authorization server",
            refreshed_after.unwrap_or_default().as_secs_f64(),
            count(refreshes, "refresh", "refreshes"),
        ));
        if refreshes != 1 {
            return Err(anyhow!(
                "{refreshes} refreshes for one renewal: the daemon should refresh once per \
                 renewal period, whatever the callers do"
            ));
        }
        let args = words(&["print", "-p", PROFILE, "--json"]);
        let ran = self.client(args, &[], COMMAND_TIMEOUT).await?;
        let reply: Value =
            serde_json::from_str(&ran.stdout).context("`wrs-token print --json` is not JSON")?;
        let new_token = reply
            .get("access_token")
            .and_then(Value::as_str)
            .context("`wrs-token print --json` has no access_token")?;
        if new_token == old_token {
            return Err(anyhow!(
                "the daemon refreshed, but `wrs-token print` still returns the old token"
            ));
        }
        let expires = reply
            .get("expires_at")
            .and_then(Value::as_str)
            .unwrap_or("?");
        self.out.detail(&format!(
            "old {} → new {}, valid until {expires}",
            abbreviate(old_token),
            abbreviate(new_token)
        ));
        let root = self.mock()?.wrs_root();
        let answer = windchill::get_parts(self.http()?, &root, new_token).await?;
        self.out.detail(&format!(
            "GET {} with the new token → {}, {} parts",
            windchill::PARTS_PATH,
            answer.status,
            answer.parts.len()
        ));
        let c = self.mock()?.counters();
        self.out.detail(&format!(
            "the mock served {}, {}, {} and {}",
            count(
                c.authorization,
                "authorization request",
                "authorization requests"
            ),
            count(c.token_code, "code exchange", "code exchanges"),
            count(c.token_refresh, "refresh", "refreshes"),
            count(c.wrs_ok, "Windchill call", "Windchill calls"),
        ));
        Ok(())
    }
}
