//! `login`, `logout` and `profile …` with the real binary, a fake daemon
//! and a config directory of their own.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wrs_config::{Config, Grant, StoreKind};
use wrs_proto::{ErrorKind, ErrorResponse, LoginMethod, LoginPrompt, Request, Response, Secret};
use wrs_testkit::fake_daemon::{FakeDaemon, Reply, now, wrs_token};
use wrs_testkit::process::{run, run_with_stdin};
use wrs_testkit::wait_until;

/// A home of its own: config under `XDG_CONFIG_HOME`, data under
/// `XDG_DATA_HOME`, nothing of the user's.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config_file(&self) -> PathBuf {
        self.dir.path().join("cfg/wrs-token/config.toml")
    }

    fn config(&self) -> Config {
        Config::load(&self.config_file()).unwrap()
    }

    /// `wrs-token` talking to `socket`, configured in this home.
    fn cmd(&self, socket: &Path) -> Command {
        let mut cmd = wrs_token(socket);
        cmd.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("cfg"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"));
        cmd
    }

    /// A socket nobody listens on (with autostart failing fast).
    fn no_daemon(&self) -> PathBuf {
        self.dir.path().join("none.sock")
    }

    fn write_script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

fn error(kind: ErrorKind, message: &str) -> Reply {
    Reply::Answer(Response::Error(ErrorResponse::new(kind, message)))
}

/// A daemon that accepts profile management requests.
fn profile_daemon() -> FakeDaemon {
    FakeDaemon::start(|r| match r {
        Request::Reload {} => Reply::Answer(Response::Reloaded { profiles: 1 }),
        Request::SetClientSecret { profile, .. } => Reply::Answer(Response::SecretStored {
            profile: profile.clone(),
            store: "memory (test)".into(),
        }),
        Request::ForgetProfile { profile, revoke } => Reply::Answer(Response::LoggedOut {
            profile: profile.clone(),
            revoked: *revoke,
        }),
        _ => error(ErrorKind::BadRequest, "unexpected"),
    })
}

/// `profile add plm`, unchecked: the fake daemon has no server behind it
/// (tests/profiles.rs checks the checks against the real mock).
const ADD_PUBLIC: [&str; 8] = [
    "profile",
    "add",
    "plm",
    "--issuer",
    "https://sso.example.com",
    "--client-id",
    "wrs-cli",
    "--no-check",
];

#[test]
fn profile_add_writes_the_file_without_the_secret_and_sends_it_to_the_daemon() {
    let home = Home::new();
    let daemon = profile_daemon();
    std::fs::write(
        home.dir.path().join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\n",
    )
    .unwrap();
    let (code, out, err) = run_with_stdin(
        home.cmd(&daemon.socket)
            .current_dir(home.dir.path())
            .args(ADD_PUBLIC)
            .args(["--client-secret-stdin", "--scope", "openid WINDCHILL_READ"])
            .args(["--ca-file", "ca.pem", "--min-ttl", "30"]),
        b"s3cr3t-value\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Added profile plm (the default profile) in "),
        "{out}"
    );
    assert!(
        out.contains("Client secret stored in memory (test).\n"),
        "{out}"
    );
    assert!(out.ends_with("Next: run `wrs-token login plm`\n"), "{out}");
    assert_eq!(
        daemon.requests(),
        [
            Request::Reload {},
            Request::SetClientSecret {
                profile: "plm".into(),
                client_secret: Secret::new("s3cr3t-value"),
            }
        ]
    );
    let text = std::fs::read_to_string(home.config_file()).unwrap();
    assert!(
        !text.contains("s3cr3t"),
        "secret in the config file:\n{text}"
    );
    let mode = std::fs::metadata(home.config_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let config = home.config();
    assert_eq!(config.default.as_deref(), Some("plm"), "the first profile");
    let p = &config.profiles["plm"];
    assert_eq!(p.scopes, ["openid", "WINDCHILL_READ"]);
    assert_eq!(p.min_ttl, Some(30));
    let ca = PathBuf::from(p.ca_file.as_deref().unwrap());
    assert!(ca.is_absolute() && ca.ends_with("ca.pem"), "{ca:?}");
}

#[test]
fn wrs_token_config_names_the_file() {
    let home = Home::new();
    let file = home.dir.path().join("elsewhere/my.toml");
    let (code, _, err) = run(home
        .cmd(&home.no_daemon())
        .env(wrs_sys::env::CONFIG, &file)
        .args(ADD_PUBLIC)
        .args(["--auth", "none"]));
    assert_eq!(code, 0, "{err}");
    assert!(Config::load(&file).unwrap().profiles.contains_key("plm"));
    assert!(!home.config_file().exists());
}

#[test]
fn adding_an_existing_profile_needs_force() {
    let home = Home::new();
    let socket = home.no_daemon();
    let (code, _, err) = run(home.cmd(&socket).args(ADD_PUBLIC).args(["--auth", "none"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(home
        .cmd(&socket)
        .args(ADD_PUBLIC)
        .args(["--auth", "none", "--scope", "x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("profile plm already exists"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(home.config().profiles["plm"].scopes.is_empty(), "unchanged");
    let (code, out, err) = run(home
        .cmd(&socket)
        .args(ADD_PUBLIC)
        .args(["--auth", "none", "--scope", "x", "--force"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Replaced profile plm"), "{out}");
    assert_eq!(home.config().profiles["plm"].scopes, ["x"]);
}

#[test]
fn missing_flags_without_a_terminal_are_usage_errors() {
    let home = Home::new();
    let socket = home.no_daemon();
    let (code, out, err) =
        run(home
            .cmd(&socket)
            .args(["profile", "add", "plm", "--issuer", "https://sso"]));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.starts_with("wrs-token: missing --client-id\n"), "{err}");
    let (code, _, err) = run(home
        .cmd(&socket)
        .args(["profile", "add", "plm", "--client-id", "c"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("missing --issuer (or --authorization-endpoint"),
        "{err}"
    );
    // A confidential client needs its secret.
    let (code, _, err) = run(home.cmd(&socket).args(ADD_PUBLIC).args(["--auth", "basic"]));
    assert_eq!(code, 2);
    assert!(err.contains("missing --client-secret-stdin"), "{err}");
    // An empty secret is refused.
    let (code, _, err) = run_with_stdin(
        home.cmd(&socket)
            .args(ADD_PUBLIC)
            .arg("--client-secret-stdin"),
        b"\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("client secret on stdin is empty"), "{err}");
    let (code, _, err) = run(home.cmd(&socket).args(ADD_PUBLIC).args([
        "--auth",
        "none",
        "--ca-file",
        "/nonexistent/ca.pem",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("--ca-file /nonexistent/ca.pem"), "{err}");
    assert!(!home.config_file().exists(), "nothing written");
}

#[test]
fn a_secret_the_daemon_cannot_store_leaves_the_config_as_it_was() {
    let home = Home::new();
    let daemon = FakeDaemon::start(|r| match r {
        Request::Reload {} => Reply::Answer(Response::Reloaded { profiles: 1 }),
        _ => Reply::Answer(Response::Error(
            ErrorResponse::new(ErrorKind::Store, "the keyring is locked")
                .with_hint("unlock it, or use --store file"),
        )),
    });
    let (code, _, err) = run_with_stdin(
        home.cmd(&daemon.socket)
            .args(ADD_PUBLIC)
            .arg("--client-secret-stdin"),
        b"s",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("profile plm was not added: its client secret could not be stored: the keyring is locked"),
        "{err}"
    );
    assert!(err.contains("hint: unlock it"), "{err}");
    assert!(
        !home.config_file().exists(),
        "the new file was removed again"
    );
    // With a file already there, it is put back as it was.
    let (code, _, _) = run(home
        .cmd(&home.no_daemon())
        .args(["profile", "add", "other", "--issuer", "https://sso"])
        .args(["--client-id", "c", "--auth", "none", "--no-check"]));
    assert_eq!(code, 0);
    let before = std::fs::read_to_string(home.config_file()).unwrap();
    let (code, _, _) = run_with_stdin(
        home.cmd(&daemon.socket)
            .args(ADD_PUBLIC)
            .arg("--client-secret-stdin"),
        b"s",
    );
    assert_eq!(code, 1);
    assert_eq!(std::fs::read_to_string(home.config_file()).unwrap(), before);
}

#[test]
fn list_show_and_remove() {
    let home = Home::new();
    let daemon = profile_daemon();
    for (name, extra) in [
        ("plm", &["--issuer", "https://sso.example.com"][..]),
        (
            "ci",
            &[
                "--token-endpoint",
                "https://sso.example.com/as/token.oauth2",
                "--grant",
                "client-credentials",
                "--store",
                "memory",
            ][..],
        ),
    ] {
        let (code, _, err) = run_with_stdin(
            home.cmd(&daemon.socket)
                .args([
                    "profile",
                    "add",
                    name,
                    "--client-id",
                    "c",
                    "--client-secret-stdin",
                    "--no-check",
                ])
                .args(extra),
            b"secret\n",
        );
        assert_eq!(code, 0, "{err}");
    }
    // list and show read the file: no daemon needed.
    let none = home.no_daemon();
    let (code, out, _) = run(home.cmd(&none).args(["profile", "list"]));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "   PROFILE  GRANT               STORE    SERVER\n   \
         ci       client-credentials  memory   https://sso.example.com/as/token.oauth2\n\
         *  plm      code                keyring  https://sso.example.com\n"
    );
    let (code, out, _) = run(home.cmd(&none).args(["profile", "list", "--json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[1]["name"], "plm");
    assert_eq!(v[1]["default"], true);
    assert_eq!(v[0]["grant"], "client-credentials");
    let (code, out, _) = run(home.cmd(&none).args(["profile", "show", "plm"]));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("[profiles.plm]  # the default profile\n"),
        "{out}"
    );
    assert!(
        out.contains(&home.config_file().display().to_string()),
        "{out}"
    );
    assert!(
        out.contains("OS keyring, service \"wrs-token:plm\""),
        "{out}"
    );
    assert!(out.contains("the daemon is not running"), "{out}");
    assert!(!out.contains("secret\n"), "{out}");
    let (code, _, err) = run(home.cmd(&none).args(["profile", "show", "nope"]));
    assert_eq!(code, 1);
    assert!(err.contains("no profile named \"nope\""), "{err}");

    // remove: the daemon forgets first, then the file changes.
    let before = daemon.requests().len();
    let (code, out, err) = run(home.cmd(&daemon.socket).args(["profile", "remove", "plm"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked at the server"), "{out}");
    let (code, out, _) =
        run(home
            .cmd(&daemon.socket)
            .args(["profile", "remove", "ci", "--no-revoke"]));
    assert_eq!(code, 0);
    assert!(out.contains("--no-revoke"), "{out}");
    assert_eq!(
        daemon.requests()[before..],
        [
            Request::ForgetProfile {
                profile: "plm".into(),
                revoke: true
            },
            Request::Reload {},
            Request::ForgetProfile {
                profile: "ci".into(),
                revoke: false
            },
            Request::Reload {},
        ]
    );
    let config = home.config();
    assert!(config.profiles.is_empty());
    assert_eq!(config.default, None, "the default went with its profile");
    let (code, _, err) = run(home.cmd(&none).args(["profile", "remove", "plm"]));
    assert_eq!(code, 1);
    assert!(err.contains("no profile named \"plm\""), "{err}");
}

#[test]
fn remove_keeps_the_profile_when_the_daemon_cannot_forget_it() {
    let home = Home::new();
    let (code, _, _) = run(home
        .cmd(&home.no_daemon())
        .args(ADD_PUBLIC)
        .args(["--auth", "none"]));
    assert_eq!(code, 0);
    let daemon =
        FakeDaemon::start(|_| error(ErrorKind::Network, "revocation endpoint unreachable"));
    let (code, _, err) = run(home.cmd(&daemon.socket).args(["profile", "remove", "plm"]));
    assert_eq!(code, 5);
    assert!(err.contains("--no-revoke"), "{err}");
    assert!(home.config().profiles.contains_key("plm"));
}

fn prompt(url: Option<&str>) -> LoginPrompt {
    LoginPrompt {
        login_id: "login-1".into(),
        profile: "plm".into(),
        url: url.map(str::to_owned),
        user_code: None,
        url_complete: None,
        expects_paste: false,
        expires_in: 300,
    }
}

fn finished() -> Response {
    Response::LoginFinished {
        profile: "plm".into(),
        expires_at: now() + 3600,
    }
}

/// A daemon that starts a login with `prompt`, answers `pending` to the
/// first `pending` waits, then finishes.
fn login_daemon(prompt: LoginPrompt, pending: usize) -> FakeDaemon {
    let waits = AtomicUsize::new(0);
    FakeDaemon::start(move |r| match r {
        Request::LoginBegin { .. } => Reply::Answer(Response::LoginStarted(prompt.clone())),
        Request::LoginWait { .. } if waits.fetch_add(1, Ordering::SeqCst) < pending => {
            Reply::Answer(Response::LoginPending {})
        }
        Request::LoginWait { .. } | Request::LoginPaste { .. } => Reply::Answer(finished()),
        _ => error(ErrorKind::BadRequest, "unexpected"),
    })
}

const AUTH_URL: &str =
    "https://sso.example.com/as/authorization.oauth2?client_id=wrs&state=s1&code_challenge=c";

#[test]
fn browser_login_opens_browser_then_reports_the_finished_login() {
    let home = Home::new();
    let opened = home.dir.path().join("opened-url");
    let script = home.write_script(
        "browser.sh",
        &format!(
            "printf '%s' \"$1\" > '{}.tmp' && mv '{0}.tmp' '{0}'",
            opened.display()
        ),
    );
    let daemon = login_daemon(prompt(Some(AUTH_URL)), 1);
    let (code, out, err) = run(home
        .cmd(&daemon.socket)
        .args(["login", "plm"])
        // The first command does not exist; the second gets the URL for %s.
        .env(
            "BROWSER",
            format!("/nonexistent/browser:{} %s", script.display()),
        ));
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.contains("If the browser did not open, visit:"), "{err}");
    assert!(err.contains(AUTH_URL), "{err}");
    assert!(
        err.contains("Logged in to profile plm; token valid until "),
        "{err}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || opened.exists()),
        "the browser script never ran"
    );
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), AUTH_URL);
    let requests = daemon.requests();
    assert_eq!(
        requests[0],
        Request::LoginBegin {
            profile: Some("plm".into()),
            method: LoginMethod::Browser
        }
    );
    assert_eq!(
        requests[1..],
        [
            Request::LoginWait {
                login_id: "login-1".into(),
                timeout_secs: 2
            },
            Request::LoginWait {
                login_id: "login-1".into(),
                timeout_secs: 2
            }
        ]
    );
}

#[test]
fn a_browser_that_cannot_start_is_reported_and_the_login_goes_on() {
    let home = Home::new();
    let daemon = login_daemon(prompt(Some(AUTH_URL)), 0);
    let (code, _, err) = run(home
        .cmd(&daemon.socket)
        .args(["login", "plm"])
        .env("BROWSER", "/nonexistent/browser")
        // No xdg-open either.
        .env("PATH", home.dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("could not start a browser"), "{err}");
    assert!(err.contains(AUTH_URL), "{err}");
    assert!(err.contains("Logged in to profile plm"), "{err}");
}

#[test]
fn no_browser_login_prints_the_url_and_uses_the_environment_profile() {
    let home = Home::new();
    let marker = home.dir.path().join("browser-ran");
    let script = home.write_script("browser.sh", &format!("touch '{}'", marker.display()));
    let daemon = login_daemon(prompt(Some(AUTH_URL)), 0);
    let (code, _, err) = run(home
        .cmd(&daemon.socket)
        .args(["login", "--no-browser"])
        .env(wrs_sys::env::PROFILE, "plm")
        .env("BROWSER", &script));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(AUTH_URL), "{err}");
    assert!(!err.contains("Opening the browser"), "{err}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(!marker.exists(), "--no-browser started a browser");
    assert_eq!(
        daemon.requests()[0],
        Request::LoginBegin {
            profile: Some("plm".into()),
            method: LoginMethod::NoBrowser
        }
    );
}

#[test]
fn device_login_prints_the_user_code() {
    let home = Home::new();
    let daemon = login_daemon(
        LoginPrompt {
            url: Some("https://sso.example.com/as/user_authz.oauth2".into()),
            user_code: Some("WDJB-MJHT".into()),
            url_complete: Some(
                "https://sso.example.com/as/user_authz.oauth2?user_code=WDJB-MJHT".into(),
            ),
            ..prompt(None)
        },
        1,
    );
    let (code, _, err) = run(home.cmd(&daemon.socket).args(["login", "plm", "--device"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("\n    WDJB-MJHT\n"), "{err}");
    assert!(
        err.contains("https://sso.example.com/as/user_authz.oauth2\n"),
        "{err}"
    );
    assert!(err.contains("?user_code=WDJB-MJHT"), "{err}");
    assert!(err.contains("Logged in to profile plm"), "{err}");
    assert_eq!(
        daemon.requests()[0],
        Request::LoginBegin {
            profile: Some("plm".into()),
            method: LoginMethod::Device
        }
    );
}

#[test]
fn paste_login_sends_the_pasted_url() {
    let home = Home::new();
    let daemon = login_daemon(
        LoginPrompt {
            expects_paste: true,
            ..prompt(Some(AUTH_URL))
        },
        0,
    );
    let pasted = "https://oauth.example.com/cb?code=abc123&state=s1";
    let (code, _, err) = run_with_stdin(
        home.cmd(&daemon.socket).args(["login", "plm", "--paste"]),
        format!("  {pasted}\n").as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Paste the full URL your browser was redirected to:"),
        "{err}"
    );
    assert!(err.contains(AUTH_URL), "{err}");
    assert_eq!(
        daemon.requests(),
        [
            Request::LoginBegin {
                profile: Some("plm".into()),
                method: LoginMethod::Paste
            },
            Request::LoginPaste {
                login_id: "login-1".into(),
                redirected_url: Secret::new(pasted),
            }
        ]
    );
}

#[test]
fn login_times_out_with_advice() {
    let home = Home::new();
    let daemon = login_daemon(prompt(Some(AUTH_URL)), usize::MAX);
    let started = Instant::now();
    let (code, _, err) =
        run(home
            .cmd(&daemon.socket)
            .args(["login", "plm", "--no-browser", "--timeout", "1"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("wrs-token: login timed out after 1 s; run `wrs-token login plm` again"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let waits = daemon
        .requests()
        .iter()
        .filter(|r| {
            matches!(
                r,
                Request::LoginWait {
                    timeout_secs: 1,
                    ..
                }
            )
        })
        .count();
    assert!((1..=8).contains(&waits), "{waits} waits: no busy loop");
}

#[test]
fn client_credentials_login_finishes_at_once() {
    let home = Home::new();
    let daemon = FakeDaemon::start(|_| Reply::Answer(finished()));
    let (code, _, err) = run(home.cmd(&daemon.socket).args(["login", "plm"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with("Logged in to profile plm; token valid until "),
        "{err}"
    );
    assert_eq!(daemon.requests().len(), 1);
}

#[test]
fn a_prompt_without_url_is_waited_for() {
    let home = Home::new();
    let daemon = login_daemon(prompt(None), 0);
    let (code, _, err) = run(home.cmd(&daemon.socket).args(["login"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Logging in to profile plm"), "{err}");
    assert_eq!(
        daemon.requests()[0],
        Request::LoginBegin {
            profile: None,
            method: LoginMethod::Browser
        }
    );
}

#[test]
fn login_errors_keep_their_exit_codes() {
    let home = Home::new();
    let daemon = FakeDaemon::start(|_| error(ErrorKind::Busy, "login pending"));
    let (code, _, err) = run(home.cmd(&daemon.socket).args(["login", "plm"]));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("wrs-token: another login for plm is in progress\n"),
        "{err}"
    );
    let daemon = FakeDaemon::start(|r| match r {
        Request::LoginBegin { .. } => Reply::Answer(Response::LoginStarted(prompt(Some(AUTH_URL)))),
        _ => Reply::Answer(Response::Error(
            ErrorResponse::new(ErrorKind::AuthorizationServer, "the user denied access")
                .with_oauth_error("access_denied"),
        )),
    });
    let (code, _, err) = run(home
        .cmd(&daemon.socket)
        .args(["login", "plm", "--no-browser"]));
    assert_eq!(code, 5);
    assert!(
        err.contains("the user denied access (access_denied)"),
        "{err}"
    );
}

#[test]
fn refresh_token_import_reads_stdin() {
    let home = Home::new();
    let daemon = FakeDaemon::start(|_| Reply::Answer(finished()));
    let (code, _, err) = run_with_stdin(
        home.cmd(&daemon.socket)
            .args(["login", "plm", "--refresh-token-stdin"]),
        b"rt-0123\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Imported the refresh token for profile plm"),
        "{err}"
    );
    assert_eq!(
        daemon.requests(),
        [Request::ImportRefreshToken {
            profile: Some("plm".into()),
            refresh_token: Secret::new("rt-0123"),
        }]
    );
}

#[test]
fn logout_says_whether_the_token_was_revoked() {
    let home = Home::new();
    let daemon = FakeDaemon::start(|r| match r {
        Request::Logout { profile, revoke } => Reply::Answer(Response::LoggedOut {
            profile: profile.clone().unwrap_or_else(|| "plm".into()),
            revoked: *revoke,
        }),
        _ => error(ErrorKind::BadRequest, "unexpected"),
    });
    let (code, out, _) = run(home.cmd(&daemon.socket).args(["logout", "plm"]));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Logged out of profile plm; the refresh token was revoked at the server.\n"
    );
    let (code, out, _) = run(home.cmd(&daemon.socket).args(["logout", "--no-revoke"]));
    assert_eq!(code, 0);
    assert!(out.contains("was not revoked (--no-revoke)"), "{out}");
    assert_eq!(
        daemon.requests(),
        [
            Request::Logout {
                profile: Some("plm".into()),
                revoke: true
            },
            Request::Logout {
                profile: None,
                revoke: false
            }
        ]
    );
}

#[test]
fn set_default_and_daemon_reload() {
    let home = Home::new();
    let none = home.no_daemon();
    for name in ["a", "b"] {
        let (code, _, _) = run(home.cmd(&none).args([
            "profile",
            "add",
            name,
            "--issuer",
            "https://sso",
            "--client-id",
            "c",
            "--auth",
            "none",
            "--no-check",
        ]));
        assert_eq!(code, 0);
    }
    assert_eq!(home.config().default.as_deref(), Some("a"));
    let daemon = profile_daemon();
    let (code, out, _) = run(home
        .cmd(&daemon.socket)
        .args(["profile", "set-default", "b"]));
    assert_eq!((code, out.as_str()), (0, "Default profile: b\n"));
    assert_eq!(home.config().default.as_deref(), Some("b"));
    assert_eq!(home.config().profiles["a"].grant, Grant::Code);
    assert_eq!(home.config().profiles["a"].store, StoreKind::Keyring);
    let (code, out, _) = run(home.cmd(&daemon.socket).args(["daemon", "reload"]));
    assert_eq!(
        (code, out.as_str()),
        (0, "daemon reloaded the configuration (1 profiles)\n")
    );
    assert_eq!(daemon.requests(), [Request::Reload {}, Request::Reload {}]);
}
