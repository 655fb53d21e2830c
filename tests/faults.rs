//! Faults, scripted, with real processes: what the user sees, and that no
//! login is lost that could have been kept (docs/RELIABILITY.md).
//!
//! - the authorization server refusing connections for a while, then back;
//! - a TLS chain the machine does not trust, then the profile's fix;
//! - a full disk under the file store while the server rolls refresh tokens;
//! - SIGKILL at random moments while refresh tokens roll;
//! - SIGSTOP past a token's expiry, then SIGCONT (a sleeping laptop).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use wrs_testkit::{Mock, Sandbox, describe, stderr, stdout, wait_until};

/// A refresh token minted by the mock for the public client, imported as
/// a login would store it: the tests measure what follows, not the login.
fn import_login(sb: &Sandbox, mock: &Mock, profile: &str) {
    let minted = mock.admin(
        "tokens",
        r#"{"client_id":"wrs-cli","scope":"openid offline_access WINDCHILL"}"#,
    );
    let refresh = minted["refresh_token"].as_str().unwrap();
    let out = sb.run_with_stdin(
        &["login", profile, "--refresh-token-stdin"],
        &format!("{refresh}\n"),
    );
    assert!(out.status.success(), "{}", describe(&out));
}

/// A TCP relay in front of the mock that can be switched down: it then
/// cuts the connections it relays and accepts each new one only to close
/// it at once, as a server behind a load balancer that lost its backend,
/// counting them.
struct Relay {
    port: u16,
    down: Arc<AtomicBool>,
    /// Connections closed while down (each one an attempted request).
    closed: Arc<AtomicU64>,
    /// The relayed connections, to cut when going down.
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(target: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = Relay {
            port,
            down: Arc::new(AtomicBool::new(false)),
            closed: Arc::new(AtomicU64::new(0)),
            open: Arc::new(Mutex::new(Vec::new())),
        };
        let (down, closed, open) = (relay.down.clone(), relay.closed.clone(), relay.open.clone());
        let target = target.to_owned();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { break };
                if down.load(Ordering::SeqCst) {
                    closed.fetch_add(1, Ordering::SeqCst);
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                if let Ok(server) = TcpStream::connect(&target) {
                    open.lock().unwrap().push(client.try_clone().unwrap());
                    pipe(client, server);
                }
            }
        });
        relay
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            // Kept-alive connections too: the server is gone for everyone.
            for conn in self.open.lock().unwrap().drain(..) {
                let _ = conn.shutdown(Shutdown::Both);
            }
        }
    }
}

fn pipe(a: TcpStream, b: TcpStream) {
    let (a2, b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    thread::spawn(move || copy_then_close(a, b));
    thread::spawn(move || copy_then_close(b2, a2));
}

fn copy_then_close(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// A profile `plm` whose token endpoint is reached through `relay`.
fn relayed_profile(sb: &Sandbox, mock: &Mock, relay: &Relay) {
    let token = mock.ready.token_endpoint.clone();
    let path = token.splitn(4, '/').nth(3).unwrap();
    let out = sb.run(&[
        "profile",
        "add",
        "plm",
        // The faults are the point: `profile add`'s checks would refuse them.
        "--no-check",
        "--authorization-endpoint",
        &mock.ready.authorization_endpoint,
        "--token-endpoint",
        &format!("http://127.0.0.1:{}/{path}", relay.port),
        "--client-id",
        "wrs-cli",
        "--auth",
        "none",
        "--scope",
        "openid",
        "--scope",
        "offline_access",
        "--store",
        "file",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn the_server_refusing_connections_for_a_while_then_back_keeps_the_login() {
    let mock = Mock::start_with(&["--access-token-lifetime", "4", "--roll-refresh-tokens"]);
    let target = mock.ready.token_endpoint.clone();
    let target = target.split('/').nth(2).unwrap();
    let relay = Relay::start(target);
    let sb = Sandbox::new();
    relayed_profile(&sb, &mock, &relay);
    import_login(&sb, &mock, "plm");
    assert!(sb.run(&["print"]).status.success());

    // Down for 20 s while a client keeps asking twice a second.
    relay.set_down(true);
    let down = Instant::now();
    let mut served = 0;
    let mut refused = Vec::new();
    while down.elapsed() < Duration::from_secs(20) {
        let asked = Instant::now();
        let out = sb.run(&["print"]);
        // Answered at once either way: from the cache or with the error.
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "{}",
            describe(&out)
        );
        if out.status.success() {
            served += 1;
        } else {
            assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
            refused.push(stderr(&out));
        }
        thread::sleep(Duration::from_millis(500));
    }
    assert!(served >= 1, "the cached token was served at first");
    let err = refused.last().expect("errors once the token ran out");
    assert!(err.contains("again in"), "{err}");
    assert!(!err.contains("login"), "{err}");
    // Backoff: attempts at about 0, 1, 3, 7 and 15 s, not one per call.
    let tried = relay.closed.load(Ordering::SeqCst);
    assert!(
        (3..=7).contains(&tried),
        "{tried} connection attempts in 20 s of outage for 40 calls"
    );

    // Back: within the next backoff step (at most 16 s more), tokens flow
    // again, with the same login.
    relay.set_down(false);
    assert!(
        wait_until(Duration::from_secs(40), || sb
            .run(&["print"])
            .status
            .success()),
        "no token within 40 s of the server coming back"
    );
    let out = sb.run(&["print"]);
    assert!(mock.token_is_active(stdout(&out).trim()));
    assert_eq!(mock.counters().authorization, 0, "no login was needed");
}

#[test]
fn a_tls_failure_says_what_to_fix_and_the_fix_applies_without_a_new_login() {
    let ca = tempfile::NamedTempFile::new().unwrap();
    let mock = Mock::start_with(&["--tls", "--ca-out", ca.path().to_str().unwrap()]);
    let sb = Sandbox::new();
    // Untrusted on purpose: `profile add`'s checks would refuse it.
    sb.add_public_profile("plm", &mock.ready.issuer, "file", &["--no-check"]);
    // The imported login is checked with a refresh, which the untrusted
    // chain fails; the login is kept for when the chain is trusted.
    let minted = mock.admin(
        "tokens",
        r#"{"client_id":"wrs-cli","scope":"openid offline_access WINDCHILL"}"#,
    );
    let refresh = minted["refresh_token"].as_str().unwrap();
    let out = sb.run_with_stdin(
        &["login", "plm", "--refresh-token-stdin"],
        &format!("{refresh}\n"),
    );
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let out = sb.run(&["print"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = stderr(&out).to_lowercase();
    assert!(err.contains("certificate") || err.contains("tls"), "{err}");

    // The fix, by hand: the profile trusts the CA. The next call applies
    // it, with no `daemon reload`, no backoff left over and no new login.
    let config = sb.root.path().join("config/wrs-token/config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("ca_file = {:?}\n", ca.path().to_str().unwrap()));
    std::fs::write(&config, text).unwrap();
    let out = sb.run(&["print"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(mock.token_is_active(stdout(&out).trim()));
    assert_eq!(mock.counters().authorization, 0);
}

#[test]
fn connection_refused_is_answered_at_once_saying_when_the_next_try_is() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sb = Sandbox::new();
    let out = sb.run_with_stdin(
        &[
            "profile",
            "add",
            "svc",
            // Nobody listens: `profile add`'s checks would refuse it.
            "--no-check",
            "--token-endpoint",
            &format!("http://127.0.0.1:{port}/as/token.oauth2"),
            "--grant",
            "client-credentials",
            "--client-id",
            "wrs-service",
            "--client-secret-stdin",
            "--store",
            "memory",
        ],
        "wrs-service-secret\n",
    );
    assert!(out.status.success(), "{}", describe(&out));
    let asked = Instant::now();
    let out = sb.run(&["print"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(stderr(&out).contains("refused"), "{}", describe(&out));
    let out = sb.run(&["print"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(stderr(&out).contains("again in"), "{}", describe(&out));
    assert!(asked.elapsed() < Duration::from_secs(5), "answered at once");
}

/// A small tmpfs, unmounted when dropped. Mounting needs root, which the
/// test command has; without it the test fails saying so.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(kib: u32) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "a full-disk test needs a tmpfs mount (root; scripts/test runs as root): {}",
            describe(&out)
        );
        SmallDisk { dir }
    }

    /// Fills the disk up to its last bytes.
    fn fill(&self) {
        let _ = std::fs::write(self.dir.path().join("filler"), vec![0u8; 4 << 20]);
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.path().join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_under_the_file_store_loses_no_login() {
    let mock = Mock::start_with(&["--roll-refresh-tokens"]);
    let disk = SmallDisk::mount(256);
    let sb = Sandbox::new();
    sb.add_public_profile("plm", &mock.ready.issuer, "file", &[]);
    // The daemon keeps its secrets on the small disk.
    let data = disk.dir.path().join("data");
    let run = |args: &[&str]| {
        sb.client()
            .args(args)
            .env("XDG_DATA_HOME", &data)
            .output()
            .unwrap()
    };
    assert!(run(&["daemon", "stop"]).status.success());
    let minted = mock.admin(
        "tokens",
        r#"{"client_id":"wrs-cli","scope":"openid offline_access WINDCHILL"}"#,
    );
    let mut login = sb
        .client()
        .args(["login", "plm", "--refresh-token-stdin"])
        .env("XDG_DATA_HOME", &data)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(
        login.stdin.take().unwrap(),
        "{}",
        minted["refresh_token"].as_str().unwrap()
    )
    .unwrap();
    assert!(login.wait().unwrap().success());

    disk.fill();
    sb.invalidate("plm");
    let out = run(&["print"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr(&out).contains("secret store"), "{}", describe(&out));
    assert!(
        !stdout(&out).contains("wrsat_"),
        "no token whose refresh token is unsaved"
    );

    disk.free();
    // After the failure's backoff the daemon renews with the token it kept
    // in memory and saves it: no login.
    assert!(wait_until(Duration::from_secs(10), || run(&["print"])
        .status
        .success()));
    assert_eq!(mock.counters().authorization, 0);
    assert!(run(&["daemon", "stop"]).status.success());
    let out = run(&["print"]);
    assert!(
        out.status.success(),
        "a new daemon reads what was saved: {}",
        describe(&out)
    );
}

#[test]
fn sigkill_at_random_moments_of_rotation_never_loses_the_login() {
    // Every refresh rolls the refresh token; a rolled one keeps working for
    // 60 s (PingFederate's grace period), which is what lets a token whose
    // successor died unsaved with the process be used once more.
    let mock = Mock::start_with(&[
        "--access-token-lifetime",
        "2",
        "--roll-refresh-tokens",
        "--roll-grace-period",
        "60",
    ]);
    let sb = Sandbox::new();
    sb.add_public_profile("plm", &mock.ready.issuer, "file", &[]);
    import_login(&sb, &mock, "plm");
    let secrets = sb.root.path().join("data/wrs-token/secrets/plm.json");
    for round in 0..10u64 {
        // Keep the daemon refreshing: invalidations and 2-s tokens.
        let busy = Instant::now();
        while busy.elapsed() < Duration::from_millis(300 + 97 * round) {
            sb.invalidate("plm");
            let _ = sb.run(&["print"]);
        }
        let pid = sb.daemon_pid().unwrap();
        assert!(
            Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
        assert!(wait_until(Duration::from_secs(5), || !sb.daemon_answers()));
        // The store is never torn: old or new, valid JSON.
        let text = std::fs::read_to_string(&secrets).unwrap();
        let stored: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("round {round}: torn store ({e}): {text}"));
        assert!(stored["refresh_token"].is_string(), "{stored}");
        let out = sb.run(&["print"]);
        assert!(out.status.success(), "round {round}: {}", describe(&out));
        assert!(mock.token_is_active(stdout(&out).trim()));
    }
    assert_eq!(mock.counters().authorization, 0, "never a new login");
}

#[test]
fn a_daemon_stopped_past_expiry_serves_a_fresh_token_when_it_wakes() {
    let mock = Mock::start_with(&["--access-token-lifetime", "3", "--roll-refresh-tokens"]);
    let sb = Sandbox::new();
    sb.add_public_profile("plm", &mock.ready.issuer, "file", &[]);
    import_login(&sb, &mock, "plm");
    let before = stdout(&sb.run(&["print"])).trim().to_owned();
    let pid = sb.daemon_pid().unwrap().to_string();
    // As a laptop lid closed: the process is frozen past the token's life.
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    thread::sleep(Duration::from_secs(5));
    assert!(
        !mock.token_is_active(&before),
        "the token expired meanwhile"
    );
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = sb.run(&["print"]);
    assert!(out.status.success(), "{}", describe(&out));
    let after = stdout(&out).trim().to_owned();
    assert_ne!(after, before);
    assert!(mock.token_is_active(&after), "never the expired token");
    assert_eq!(mock.counters().authorization, 0);
}
