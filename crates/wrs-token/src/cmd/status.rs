//! `wrs-token status`: the daemon and every profile's session. It only
//! looks: it never starts a daemon just to report that one is running.

use wrs_proto::{ProfileStatus, SessionState, StatusReport};

use crate::cli::StatusArgs;
use crate::client::{self, Client, ClientError};
use crate::exit::Failure;
use crate::output::{human_duration, now_unix, write_stdout};

/// `wrs-token status`.
pub fn run(client: &Client, args: &StatusArgs) -> Result<(), Failure> {
    let report = fetch(client)?;
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
        "EXPIRES IN",
        "NEXT REFRESH",
        "LAST ERROR",
    ]
    .map(String::from);
    let rows: Vec<[String; 5]> = report.profiles.iter().map(|p| row(p, now)).collect();
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

fn row(p: &ProfileStatus, now: u64) -> [String; 5] {
    let expires = match p.expires_at {
        None => "-".to_owned(),
        Some(at) if at <= now => "expired".to_owned(),
        Some(at) => human_duration(at - now),
    };
    let next = match p.next_refresh_at {
        None => "-".to_owned(),
        Some(at) if at <= now => "due now".to_owned(),
        Some(at) => format!("in {}", human_duration(at - now)),
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
        expires,
        next,
        error,
    ]
}

/// The state as the table shows it.
pub fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::LoggedOut => "logged out",
        SessionState::Active => "active",
        SessionState::Refreshing => "refreshing",
        SessionState::NeedsLogin => "needs login",
        SessionState::BackingOff => "backing off",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    name: "plm".into(),
                    state: SessionState::Active,
                    expires_at: Some(now + 250),
                    next_refresh_at: Some(now + 190),
                    last_error: None,
                },
                ProfileStatus {
                    name: "ci-service".into(),
                    state: SessionState::NeedsLogin,
                    expires_at: Some(now - 5),
                    next_refresh_at: None,
                    last_error: Some("invalid_grant:\nrefresh token expired".into()),
                },
            ]),
            now,
        );
        let expected = "\
daemon   running, pid 4242, version 0.1.0, protocol 1, up 1h 2m
socket   /run/user/1000/wrs-token/agent.sock

PROFILE     STATE        EXPIRES IN  NEXT REFRESH  LAST ERROR
plm         active       4m 10s      in 3m 10s     -
ci-service  needs login  expired     -             invalid_grant: refresh token expired
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
            name: "p".into(),
            state: SessionState::BackingOff,
            expires_at: None,
            next_refresh_at: Some(10),
            last_error: Some("  ".into()),
        };
        assert_eq!(
            row(&p, 20),
            ["p", "backing off", "-", "due now", "-"].map(String::from)
        );
    }
}
