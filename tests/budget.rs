//! The authorization server's load, with real processes: the real mock
//! issuing 7-second tokens with refresh-token rotation, the real daemon,
//! and eight concurrent client loops through every entry point a user has
//! (`print`, `header` with the real curl, `wrs-token curl`, `exec`,
//! `git-credential get`, the JSON socket with and without a minimum), each
//! token used at once against the Windchill stand-in. Real time, because
//! the point is real concurrency between real processes.
//!
//! The budget: at most one token-endpoint request per renewal period
//! (75-80 % of 7 s, so at least 5.25 s) plus one, no expired token, no 401.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wrs_testkit::daemon::call_json;
use wrs_testkit::http::http;
use wrs_testkit::process::{isolate, output_with_stdin};
use wrs_testkit::{Mock, Sandbox, describe, path_with_binaries, stderr, stdout};

const LIFETIME_SECS: u64 = 7;
/// How long the clients run: at least 30 s, as the budget is about periods.
const RUN: Duration = Duration::from_secs(30);
const CLIENTS: usize = 8;

/// The most token-endpoint requests `RUN` may cost: one per shortest
/// renewal period, plus one.
fn budget() -> u64 {
    (RUN.as_secs_f64() / (0.75 * LIFETIME_SECS as f64)).ceil() as u64 + 1
}

struct World {
    mock: Mock,
    sb: Sandbox,
}

impl World {
    /// The mock, a logged-in public-client profile `plm` whose resource is
    /// the Windchill stand-in, and its daemon.
    fn new() -> World {
        let mock = Mock::start_with(&[
            "--auto-approve",
            "--access-token-lifetime",
            &LIFETIME_SECS.to_string(),
            "--roll-refresh-tokens",
        ]);
        let sb = Sandbox::new();
        let log = sb.root.path().join("daemon.log");
        sb.start_daemon(&["--log-file", log.to_str().unwrap()]);
        sb.add_public_profile(
            "plm",
            &mock.ready.issuer,
            "memory",
            &["--resource", &mock.ready.wrs_root],
        );
        let out = sb
            .client()
            .args(["login", "plm", "--timeout", "30"])
            .env("BROWSER", sb.browser())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        World { mock, sb }
    }

    fn parts_url(&self) -> String {
        format!("{}ProdMgmt/Parts", self.mock.ready.wrs_root)
    }

    /// A shell command line run as a user's shell would, with the sandbox's
    /// environment and the workspace binaries first on `PATH`.
    fn shell(&self, script: &str, stdin: &str) -> Output {
        let mut cmd = Command::new("bash");
        isolate(&mut cmd)
            .args(["-c", script])
            .envs(self.sb.env())
            .env("PATH", path_with_binaries())
            .env("URL", self.parts_url());
        output_with_stdin(&mut cmd, stdin.as_bytes())
    }

    /// One GET of the parts with `token`; its HTTP status.
    fn get_parts(&self, token: &str) -> u16 {
        let bearer = format!("Bearer {token}");
        http("GET", &self.parts_url(), &[("Authorization", &bearer)], b"").0
    }

    /// A token over the JSON socket, as an IDE plugin asks; `extra` are
    /// more `get_token` fields.
    fn json_token(&self, extra: &str) -> serde_json::Value {
        let line = format!(
            "{{\"version\":{},\"request\":{{\"get_token\":{{\"profile\":null{extra}}}}}}}",
            wrs_proto::PROTOCOL_VERSION
        );
        let v = call_json(&self.sb.socket, &line);
        assert!(v.get("token").is_some(), "{v}");
        v["token"].clone()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One call through entry point `which`; the token is used at once.
/// Returns the WRS status it got.
fn call(world: &World, which: usize) -> u16 {
    let ok = |out: &Output, what: &str| {
        assert!(out.status.success(), "{what}: {}", describe(out));
        assert!(
            !stderr(out).contains("warning"),
            "{what} at defaults warned: {}",
            describe(out)
        );
    };
    match which {
        0 => {
            let out = world.shell("wrs-token print", "");
            ok(&out, "print");
            world.get_parts(stdout(&out).trim())
        }
        1 => {
            let out = world.shell(
                r#"curl -sS -o /dev/null -w '%{http_code}' -H @<(wrs-token header) "$URL""#,
                "",
            );
            ok(&out, "curl -H @<(wrs-token header)");
            stdout(&out).trim().parse().unwrap()
        }
        2 => {
            let out = world.shell(
                r#"wrs-token curl -sS -o /dev/null -w '%{http_code}' "$URL""#,
                "",
            );
            ok(&out, "wrs-token curl");
            stdout(&out).trim().parse().unwrap()
        }
        3 => {
            let out = world.shell(
                r#"wrs-token exec -- sh -c 'curl -sS -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $WRS_ACCESS_TOKEN" "$URL"'"#,
                "",
            );
            ok(&out, "exec");
            stdout(&out).trim().parse().unwrap()
        }
        4 => {
            let url = world.parts_url();
            let host = url.split('/').nth(2).unwrap();
            let request = format!(
                "capability[]=authtype\nprotocol=http\nhost={host}\npath=Windchill/oauth/servlet/odata/\n\n"
            );
            let out = world.shell("wrs-token git-credential get", &request);
            ok(&out, "git-credential get");
            let text = stdout(&out);
            let token = text
                .lines()
                .find_map(|l| l.strip_prefix("credential="))
                .unwrap_or_else(|| panic!("no credential: {text}"));
            world.get_parts(token)
        }
        _ => {
            // An IDE plugin: without a minimum, or asking for a second
            // (less than a 7-s token has at its renewal point: always met).
            let extra = if which == 5 {
                ""
            } else {
                ",\"min_ttl_secs\":1"
            };
            let token = world.json_token(extra);
            assert!(token["expires_at"].as_u64().unwrap() > now_secs());
            assert_eq!(token["min_ttl_met"], true, "{token}");
            world.get_parts(token["access_token"].as_str().unwrap())
        }
    }
}

#[test]
fn eight_busy_clients_through_every_entry_point_cost_one_refresh_per_renewal_period() {
    let world = Arc::new(World::new());
    let refreshes_before = world.mock.counters().token_refresh;
    let calls = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (world, calls) = (world.clone(), calls.clone());
            std::thread::spawn(move || {
                let mut which = i;
                while start.elapsed() < RUN {
                    let status = call(&world, which % 7);
                    assert_eq!(status, 200, "entry point {}", which % 7);
                    calls.fetch_add(1, Ordering::SeqCst);
                    which += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = start.elapsed();
    let refreshes = world.mock.counters().token_refresh - refreshes_before;
    let calls = calls.load(Ordering::SeqCst);
    eprintln!(
        "{calls} calls over {elapsed:?}: {refreshes} refreshes (budget {})",
        budget()
    );
    assert!(calls >= 100, "only {calls} calls");
    assert!(
        refreshes <= budget() + 1,
        "{refreshes} refreshes in {elapsed:?} for {calls} calls, budget {}",
        budget()
    );
    assert!(refreshes >= 3, "the daemon renewed only {refreshes} times");
    assert_eq!(
        world.mock.counters().wrs_unauthorized,
        0,
        "a token was refused"
    );
    assert!(world.mock.counters().wrs_ok >= calls);
}

#[test]
fn asking_for_a_minute_of_7_second_tokens_costs_no_more_and_says_so() {
    let world = Arc::new(World::new());
    let refreshes_before = world.mock.counters().token_refresh;
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let world = world.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed() < RUN {
                    if i % 2 == 0 {
                        let out = world.shell("wrs-token print --min-ttl 60", "");
                        assert!(out.status.success(), "{}", describe(&out));
                        let err = stderr(&out);
                        assert!(
                            err.starts_with("wrs-token: warning: profile plm's tokens live 7"),
                            "{err}"
                        );
                        assert!(err.contains("less than the 60s asked for"), "{err}");
                        assert_eq!(err.lines().count(), 1, "{err}");
                        assert_eq!(world.get_parts(stdout(&out).trim()), 200);
                    } else {
                        let out = world.shell("wrs-token print --json --min-ttl 60", "");
                        assert!(out.status.success(), "{}", describe(&out));
                        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
                        assert_eq!(v["min_ttl"], 60, "{v}");
                        assert_eq!(v["min_ttl_met"], false, "{v}");
                        let left = v["expires_in"].as_u64().unwrap();
                        assert!((1..=LIFETIME_SECS).contains(&left), "{v}");
                        let token = v["access_token"].as_str().unwrap();
                        assert_eq!(world.get_parts(token), 200);
                    }
                    n += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                n
            })
        })
        .collect();
    let calls: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let refreshes = world.mock.counters().token_refresh - refreshes_before;
    assert!(calls >= 100, "only {calls} calls");
    assert!(
        refreshes <= budget() + 1,
        "{refreshes} refreshes for {calls} calls, budget {}",
        budget()
    );
    assert_eq!(world.mock.counters().wrs_unauthorized, 0);
    // The daemon warned once, not per call.
    let log = std::fs::read_to_string(world.sb.root.path().join("daemon.log")).unwrap();
    assert_eq!(
        log.matches("clients ask for more validity").count(),
        1,
        "{log}"
    );
}
