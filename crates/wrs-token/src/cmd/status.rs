//! `wrs-token status`: the daemon and every profile's session. It only
//! looks: it never starts a daemon just to report that one is running.

use wrs_proto::{PlannedFetch, ProfileStatus, StatusReport};

use crate::cli::StatusArgs;
use crate::client::{self, Client, ClientError};
use crate::exit::Failure;
use crate::output::{human_duration, now_unix, state_name, write_stdout};

/// `wrs-token status`.
pub fn run(client: &Client, args: &StatusArgs) -> Result<(), Failure> {
    let mut report = fetch(client)?;
    if let Some(name) = args.profile()? {
        report.profiles.retain(|p| p.name == name);
        if report.profiles.is_empty() {
            return Err(Failure::new(
                crate::exit::Exit::Failure,
                format!("the daemon knows no profile named {name}"),
            )
            .with_hint(
                "see `wrs-token profile list`; after editing the config, `wrs-token daemon reload`",
            ));
        }
    }
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::new(crate::exit::Exit::Failure, e.to_string()))?;
        json.push('\n');
        json
    } else {
        render(&report, now_unix())
    };
    write_stdout(text.as_bytes())
}

/// The daemon's report, or "daemon not running" (exit 4) without autostart.
pub fn fetch(client: &Client) -> Result<StatusReport, Failure> {
    let conn = client::try_connect(client.endpoint())?.ok_or_else(|| {
        Failure::from(ClientError::NotRunning {
            socket: client.endpoint().socket.clone(),
        })
        .with_hint("start it with `wrs-token daemon start` (commands such as `print` start it automatically)")
    })?;
    Ok(client::status_of(conn)?)
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
    if report.profiles.is_empty() {
        out.push_str("no profiles configured: add one with `wrs-token profile add NAME`\n");
        return out;
    }
    let header = [
        "PROFILE",
        "STATE",
        "LIFETIME",
        "EXPIRES IN",
        "NEXT",
        "SERVED/1H",
        "SERVER REQ/1H",
        "LAST ERROR",
    ]
    .map(String::from);
    let rows: Vec<[String; 8]> = report.profiles.iter().map(|p| row(p, now)).collect();
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

fn row(p: &ProfileStatus, now: u64) -> [String; 8] {
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
    [
        p.name.clone(),
        state_name(p.state).to_owned(),
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
                    ..profile("plm", SessionState::Active)
                },
                ProfileStatus {
                    expires_at: Some(now - 5),
                    last_error: Some("invalid_grant:\nrefresh token expired".into()),
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

PROFILE     STATE        LIFETIME  EXPIRES IN  NEXT                SERVED/1H  SERVER REQ/1H     LAST ERROR
plm         active       15m 0s    4m 10s      renewal in 3m 10s   5210       5 (budget 7)      -
ci-service  needs login  -         expired     -                   0          0                 invalid_grant: refresh token expired
idle        idle         7s        expired     keepalive in 4h 0m  0          110 (budget 687)  -
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
            ["p", "backing off", "-", "-", "retry due now", "0", "0", "-"].map(String::from)
        );
    }
}
