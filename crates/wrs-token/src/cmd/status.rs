//! `wrs-token status`: the daemon and every profile's session. It only
//! looks: it never starts a daemon just to report that one is running.
//!
//! Without a daemon it still answers (exit 0): the profiles from the config
//! file (which this client reads itself), "daemon not running", and a
//! config file that does not load, with its file and line, and each
//! profile's stored login (whose, since when). The secret stores (keyring
//! over D-Bus, …) belong to the daemon and this thin client links none of
//! them (DESIGN.md, "The client"), so it asks the daemon's binary:
//! `wrs-tokend stored --json` ([`crate::probe::Prober::stored`]), which
//! only reads and starts no daemon.
//!
//! `--json` has one shape whether the daemon runs or not: the daemon's
//! [`StatusReport`] fields (null when it does not run) plus
//! `daemon: {running, socket}`.

use serde_json::{Value, json};
use wrs_proto::stored::{StoredLogin, StoredReport, StoredState};
use wrs_proto::{PlannedFetch, ProfileStatus, SessionEnd, StatusReport};

use crate::cli::StatusArgs;
use crate::client::{self, Client};
use crate::exit::{Exit, Failure};
use crate::output::{human_duration, now_unix, state_name, write_stdout};

/// What `status` found without a daemon: the config file as this client
/// reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Offline {
    /// The socket nobody listens on.
    pub socket: String,
    /// The config file.
    pub config_file: String,
    /// The configured profiles, `(name, server, is_default)`.
    pub profiles: Vec<(String, String, bool)>,
    /// Why the config file does not load, if it does not.
    pub config_error: Option<String>,
    /// What the secret stores hold, or why that is unknown.
    pub stored: Result<StoredReport, String>,
}

/// `wrs-token status`.
pub fn run(client: &Client, args: &StatusArgs) -> Result<(), Failure> {
    let mut found = match client::try_connect(client.endpoint())? {
        Some(conn) => Ok(client::status_of(conn)?),
        None => Err(offline(client)),
    };
    if let Some(name) = args.profile()? {
        let known = match &mut found {
            Ok(report) => {
                report.profiles.retain(|p| p.name == name);
                !report.profiles.is_empty()
            }
            Err(off) => {
                off.profiles.retain(|(n, _, _)| *n == name);
                // A broken config is reported as such, not as "no profile".
                !off.profiles.is_empty() || off.config_error.is_some()
            }
        };
        if !known {
            return Err(
                Failure::new(Exit::Failure, format!("no profile named {name}"))
                    .with_hint("see `wrs-token profile list`"),
            );
        }
    }
    let text = if args.json {
        let value = match &found {
            Ok(report) => json_running(report),
            Err(off) => json_offline(off),
        };
        let mut json = serde_json::to_string_pretty(&value)
            .map_err(|e| Failure::new(Exit::Failure, e.to_string()))?;
        json.push('\n');
        json
    } else {
        match &found {
            Ok(report) => render(report, now_unix()),
            Err(off) => render_offline(off, now_unix()),
        }
    };
    write_stdout(text.as_bytes())
}

/// The config file as this client reads it, for a status without daemon.
fn offline(client: &Client) -> Offline {
    let socket = client.endpoint().socket.display().to_string();
    let Some(paths) = wrs_config::Paths::resolve() else {
        return Offline {
            socket,
            config_file: String::new(),
            profiles: Vec::new(),
            config_error: Some(format!(
                "cannot locate the config file: neither {}, XDG_CONFIG_HOME nor HOME is set",
                wrs_sys::env::CONFIG
            )),
            stored: Err("no configuration".into()),
        };
    };
    let config_file = paths.config_file.display().to_string();
    match wrs_config::Config::load(&paths.config_file) {
        Ok(config) => {
            let default = config.resolve_name(None).map(str::to_owned);
            let mut profiles: Vec<(String, String, bool)> = config
                .profiles
                .iter()
                .map(|(name, p)| {
                    let is_default = default.as_deref() == Some(name.as_str());
                    (name.clone(), p.server().to_owned(), is_default)
                })
                .collect();
            profiles.sort_by_key(|(_, _, is_default)| !is_default);
            let stored = if profiles.is_empty() {
                Ok(StoredReport::new())
            } else {
                crate::probe::Prober::locate()
                    .and_then(|prober| prober.stored())
                    .map_err(|e| e.to_string())
            };
            Offline {
                socket,
                config_file,
                profiles,
                config_error: None,
                stored,
            }
        }
        Err(e) => Offline {
            socket,
            config_file,
            profiles: Vec::new(),
            config_error: Some(e.to_string()),
            stored: Err("the config file does not load".into()),
        },
    }
}

/// `status --json` with a daemon: its report plus `daemon`.
pub fn json_running(report: &StatusReport) -> Value {
    let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "daemon".into(),
            json!({"running": true, "socket": report.socket}),
        );
    }
    value
}

/// `status --json` without a daemon: the same keys, what only the daemon
/// knows null or "unknown".
pub fn json_offline(off: &Offline) -> Value {
    let profiles: Vec<Value> = off
        .profiles
        .iter()
        .map(|(name, server, is_default)| {
            let stored = stored_login(off, name);
            let state = stored.map_or(Value::from("unknown"), |login| {
                serde_json::to_value(login.state).unwrap_or(Value::Null)
            });
            json!({
                "name": name,
                "server": server,
                "is_default": is_default,
                "state": "unknown",
                "stored_session": state,
                "user": stored.and_then(|l| l.user.clone()),
                "logged_in_at": stored.and_then(|l| l.logged_in_at),
                "stored_detail": match &off.stored {
                    Ok(_) => stored.and_then(|l| l.detail.clone()),
                    Err(why) => Some(why.clone()),
                },
            })
        })
        .collect();
    json!({
        "daemon": {"running": false, "socket": off.socket},
        "daemon_version": null,
        "protocol_version": null,
        "pid": null,
        "uptime_secs": null,
        "socket": off.socket,
        "config_file": off.config_file,
        "config_error": off.config_error,
        "profiles": profiles,
    })
}

/// What the stores hold for profile `name`, when that is known.
fn stored_login<'a>(off: &'a Offline, name: &str) -> Option<&'a StoredLogin> {
    off.stored
        .as_ref()
        .ok()
        .and_then(|report| report.login(name))
}

/// The stored-login cell of profile `name` at time `now` (Unix seconds).
fn stored_cell(off: &Offline, name: &str, now: u64) -> String {
    let login = match (&off.stored, stored_login(off, name)) {
        (Err(why), _) => return format!("unknown: {why}"),
        (Ok(_), None) => return "unknown".to_owned(),
        (Ok(_), Some(login)) => login,
    };
    let relogin = format!("run `wrs-token login {name}`");
    match login.state {
        StoredState::LoggedIn => {
            let mut cell = "logged in".to_owned();
            if let Some(user) = &login.user {
                cell.push_str(&format!(" as {user}"));
            }
            if let Some(at) = login.logged_in_at {
                cell.push_str(&format!(", {} ago", human_duration(now.saturating_sub(at))));
            }
            cell
        }
        StoredState::NotLoggedIn => format!("not logged in: {relogin}"),
        StoredState::OtherServer => format!(
            "stored login is for another server{}: {relogin}",
            login
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        StoredState::Memory => "none (memory store: gone with the daemon)".to_owned(),
        StoredState::Machine => "client credentials, no login needed".to_owned(),
        StoredState::Error => format!(
            "store error: {}",
            login.detail.as_deref().unwrap_or("unknown")
        ),
    }
}

/// The human-readable report without a daemon, at time `now` (Unix
/// seconds).
pub fn render_offline(off: &Offline, now: u64) -> String {
    let mut out = format!(
        "daemon   not running (socket {}); `print` and the other token commands start it\n",
        off.socket
    );
    match &off.config_error {
        Some(error) => {
            out.push_str(&format!("config   BROKEN: {error}\n"));
            out.push_str("         fix the file; `wrs-token doctor` checks it\n");
            return out;
        }
        None => out.push_str(&format!("config   {}\n\n", off.config_file)),
    }
    if off.profiles.is_empty() {
        out.push_str("no profiles configured: add one with `wrs-token profile add NAME`\n");
        return out;
    }
    let mut rows = vec![["PROFILE", "SERVER", "STORED SESSION"].map(String::from)];
    for (name, server, is_default) in &off.profiles {
        let cell = stored_cell(off, name, now);
        let name = if *is_default {
            format!("{name} (default)")
        } else {
            name.clone()
        };
        rows.push([name, server.clone(), cell]);
    }
    out.push_str(&crate::output::table(&rows));
    out
}

/// The human-readable report at time `now` (Unix seconds).
pub fn render(report: &StatusReport, now: u64) -> String {
    let mut out = format!(
        "daemon   running, pid {}, version {}, protocol {}, up {}\nsocket   {}\n\n",
        report.pid,
        report.daemon_version,
        report.protocol_version,
        human_duration(report.uptime_secs),
        report.socket,
    );
    if let Some(error) = &report.config_error {
        out.insert_str(
            out.len() - 1,
            &format!(
                "config   BROKEN, the daemon keeps the previous configuration: {error}\n         \
                 fix the file; the daemon applies it by itself on the next command\n"
            ),
        );
        if report.profiles.is_empty() {
            return out;
        }
    }
    if report.profiles.is_empty() {
        out.push_str("no profiles configured: add one with `wrs-token profile add NAME`\n");
        return out;
    }
    let header = [
        "PROFILE",
        "USER",
        "STATE",
        "LIFETIME",
        "EXPIRES IN",
        "NEXT",
        "SERVED/1H",
        "SERVER REQ/1H",
        "LAST ERROR",
    ]
    .map(String::from);
    let rows: Vec<[String; 9]> = report.profiles.iter().map(|p| row(p, now)).collect();
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Why a session ended, short enough for a table cell.
fn end_cell(end: SessionEnd) -> &'static str {
    match end {
        SessionEnd::NeverLoggedIn => "never logged in",
        SessionEnd::LoggedOut => "logged out",
        SessionEnd::Revoked => "refresh token revoked or expired",
        SessionEnd::Rejected => "stored login rejected",
    }
}

fn row(p: &ProfileStatus, now: u64) -> [String; 9] {
    let expires = match p.expires_at {
        None => "-".to_owned(),
        Some(at) if at <= now => "expired".to_owned(),
        Some(at) => human_duration(at - now),
    };
    let what = match p.next_refresh {
        Some(PlannedFetch::Renewal) | None => "renewal",
        Some(PlannedFetch::Retry) => "retry",
        Some(PlannedFetch::Keepalive) => "keepalive",
    };
    let next = match p.next_refresh_at {
        None => "-".to_owned(),
        Some(at) if at <= now => format!("{what} due now"),
        Some(at) => format!("{what} in {}", human_duration(at - now)),
    };
    let lifetime = p
        .token_lifetime_secs
        .map_or_else(|| "-".to_owned(), human_duration);
    let requests = match p.token_request_budget_per_hour {
        Some(budget) => format!("{} (budget {budget})", p.token_requests_last_hour),
        None => p.token_requests_last_hour.to_string(),
    };
    let error = p
        .last_error
        .as_deref()
        .map(|e| e.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "-".to_owned());
    let state = match p.ended {
        // "logged out (logged out)" says nothing twice.
        Some(end) if state_name(p.state) != end_cell(end) => {
            format!("{} ({})", state_name(p.state), end_cell(end))
        }
        _ => state_name(p.state).to_owned(),
    };
    [
        p.name.clone(),
        p.user.clone().unwrap_or_else(|| "-".to_owned()),
        state,
        lifetime,
        expires,
        next,
        p.served_last_hour.to_string(),
        requests,
        error,
    ]
}

#[cfg(test)]
mod tests {
    use wrs_proto::SessionState;

    use super::*;

    fn profile(name: &str, state: SessionState) -> ProfileStatus {
        ProfileStatus {
            name: name.into(),
            state,
            expires_at: None,
            next_refresh_at: None,
            last_error: None,
            next_refresh: None,
            token_lifetime_secs: None,
            last_used_at: None,
            served_last_hour: 0,
            token_requests_last_hour: 0,
            token_request_budget_per_hour: None,
            keep_warm_secs: 600,
            keepalive_secs: 21_600,
            user: None,
            ended: None,
        }
    }

    fn report(profiles: Vec<ProfileStatus>) -> StatusReport {
        StatusReport {
            daemon_version: "0.1.0".into(),
            protocol_version: 1,
            pid: 4242,
            uptime_secs: 3_720,
            socket: "/run/user/1000/wrs-token/agent.sock".into(),
            profiles,
            config_file: "/home/u/.config/wrs-token/config.toml".into(),
            config_error: None,
        }
    }

    #[test]
    fn table_shows_every_profile_aligned() {
        let now = 1_000_000;
        let text = render(
            &report(vec![
                ProfileStatus {
                    expires_at: Some(now + 250),
                    next_refresh_at: Some(now + 190),
                    next_refresh: Some(PlannedFetch::Renewal),
                    token_lifetime_secs: Some(900),
                    served_last_hour: 5210,
                    token_requests_last_hour: 5,
                    token_request_budget_per_hour: Some(7),
                    user: Some("alice@example.com".into()),
                    ..profile("plm", SessionState::Active)
                },
                ProfileStatus {
                    expires_at: Some(now - 5),
                    last_error: Some("invalid_grant:\nrefresh token expired".into()),
                    ended: Some(SessionEnd::Revoked),
                    ..profile("ci-service", SessionState::NeedsLogin)
                },
                ProfileStatus {
                    expires_at: Some(now - 50),
                    next_refresh_at: Some(now + 4 * 3600),
                    next_refresh: Some(PlannedFetch::Keepalive),
                    token_lifetime_secs: Some(7),
                    token_requests_last_hour: 110,
                    token_request_budget_per_hour: Some(687),
                    ..profile("idle", SessionState::Idle)
                },
            ]),
            now,
        );
        let expected = "\
daemon   running, pid 4242, version 0.1.0, protocol 1, up 1h 2m
socket   /run/user/1000/wrs-token/agent.sock

PROFILE     USER               STATE                                           LIFETIME  EXPIRES IN  NEXT                SERVED/1H  SERVER REQ/1H     LAST ERROR
plm         alice@example.com  active                                          15m 0s    4m 10s      renewal in 3m 10s   5210       5 (budget 7)      -
ci-service  -                  needs login (refresh token revoked or expired)  -         expired     -                   0          0                 invalid_grant: refresh token expired
idle        -                  idle                                            7s        expired     keepalive in 4h 0m  0          110 (budget 687)  -
";
        assert_eq!(text, expected);
    }

    #[test]
    fn no_profiles_says_how_to_add_one() {
        let text = render(&report(vec![]), 0);
        assert!(text.contains("pid 4242"));
        assert!(text.contains("wrs-token profile add"));
    }

    #[test]
    fn overdue_refresh_is_due_now() {
        let p = ProfileStatus {
            next_refresh_at: Some(10),
            next_refresh: Some(PlannedFetch::Retry),
            last_error: Some("  ".into()),
            ..profile("p", SessionState::BackingOff)
        };
        assert_eq!(
            row(&p, 20),
            [
                "p",
                "-",
                "backing off",
                "-",
                "-",
                "retry due now",
                "0",
                "0",
                "-"
            ]
            .map(String::from)
        );
    }

    #[test]
    fn a_broken_config_is_shown_with_its_line_never_as_no_profiles() {
        let mut r = report(vec![]);
        r.config_error = Some("/c/config.toml:3:1: unknown field `colour`".into());
        let text = render(&r, 0);
        assert!(text.contains("config   BROKEN"), "{text}");
        assert!(text.contains("config.toml:3:1"), "{text}");
        assert!(!text.contains("no profiles configured"), "{text}");
        let off = Offline {
            socket: "/s".into(),
            config_file: "/c/config.toml".into(),
            profiles: vec![],
            config_error: r.config_error.clone(),
            stored: Err("the config file does not load".into()),
        };
        let text = render_offline(&off, 0);
        assert!(
            text.contains("not running") && text.contains("config.toml:3:1"),
            "{text}"
        );
        assert!(!text.contains("no profiles configured"), "{text}");
    }

    #[test]
    fn without_a_daemon_the_profiles_come_from_the_config_and_json_keeps_its_shape() {
        let off = Offline {
            socket: "/s".into(),
            config_file: "/c/config.toml".into(),
            profiles: vec![
                ("plm".into(), "https://sso".into(), true),
                ("ci".into(), "https://sso/token".into(), false),
            ],
            config_error: None,
            stored: Ok(StoredReport {
                version: wrs_proto::stored::STORED_VERSION,
                profiles: vec![
                    StoredLogin {
                        profile: "plm".into(),
                        state: StoredState::LoggedIn,
                        user: Some("ada@example.com".into()),
                        logged_in_at: Some(1_000),
                        detail: None,
                    },
                    StoredLogin {
                        profile: "ci".into(),
                        state: StoredState::Error,
                        user: None,
                        logged_in_at: None,
                        detail: Some("the OS keyring is locked".into()),
                    },
                ],
            }),
        };
        let text = render_offline(&off, 1_000 + 3 * 86_400);
        assert!(
            text.starts_with("daemon   not running (socket /s)"),
            "{text}"
        );
        assert!(text.contains("plm (default)  https://sso"), "{text}");
        assert!(
            text.contains("logged in as ada@example.com, 3d 0h ago"),
            "{text}"
        );
        assert!(
            text.contains("store error: the OS keyring is locked"),
            "{text}"
        );
        let offline = json_offline(&off);
        let running = json_running(&report(vec![profile("plm", SessionState::Active)]));
        assert_eq!(offline["daemon"]["running"], false);
        assert_eq!(running["daemon"]["running"], true);
        let keys = |v: &Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&offline), keys(&running));
        assert_eq!(offline["profiles"][1]["name"], "ci");
        assert_eq!(offline["profiles"][0]["state"], "unknown");
        assert_eq!(offline["profiles"][0]["stored_session"], "logged_in");
        assert_eq!(offline["profiles"][0]["user"], "ada@example.com");
        assert_eq!(offline["profiles"][1]["stored_session"], "error");
        assert_eq!(
            offline["profiles"][1]["stored_detail"],
            "the OS keyring is locked"
        );
    }

    #[test]
    fn stored_logins_that_cannot_be_read_are_unknown_with_the_reason() {
        let off = Offline {
            socket: "/s".into(),
            config_file: "/c/config.toml".into(),
            profiles: vec![("plm".into(), "https://sso".into(), true)],
            config_error: None,
            stored: Err("/usr/bin/wrs-tokend not found".into()),
        };
        let text = render_offline(&off, 0);
        assert!(
            text.contains("unknown: /usr/bin/wrs-tokend not found"),
            "{text}"
        );
        let json = json_offline(&off);
        assert_eq!(json["profiles"][0]["stored_session"], "unknown");
        assert_eq!(
            json["profiles"][0]["stored_detail"],
            "/usr/bin/wrs-tokend not found"
        );
    }
}
