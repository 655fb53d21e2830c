//! `wrs-token whoami [NAME] [--json]`: who a profile's login belongs to,
//! the scopes, when the login and the current refresh token happened, the
//! access token's lifetime. The daemon answers from what it stored with the
//! refresh token; the reply type holds no token, so none can be printed.

use wrs_proto::{IdentityReport, SessionEnd};

use crate::cli::WhoamiArgs;
use crate::client::Client;
use crate::exit::{Exit, Failure};
use crate::output::{human_duration, now_unix, rfc3339, state_name, write_stdout};

/// `wrs-token whoami`. Exit 3 (login required) when the profile has no
/// session, after printing why.
pub fn run(client: &Client, args: &WhoamiArgs) -> Result<(), Failure> {
    let profile = args.choice.profile();
    let report = client
        .whoami(profile.clone())
        .map_err(|e| Failure::from_client(e, profile.as_deref()))?;
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::new(Exit::Failure, e.to_string()))?;
        json.push('\n');
        json
    } else {
        render(&report, now_unix())
    };
    write_stdout(text.as_bytes())?;
    match report.ended {
        Some(_) => Err(Failure::new(
            Exit::LoginRequired,
            format!("profile {} is not logged in", report.profile),
        )
        .with_hint(format!("run `wrs-token login {}`", report.profile))),
        None => Ok(()),
    }
}

/// Why a session ended, in words.
pub fn end_reason(end: SessionEnd) -> &'static str {
    match end {
        SessionEnd::NeverLoggedIn => "not logged in",
        SessionEnd::LoggedOut => "logged out",
        SessionEnd::Revoked => "the refresh token expired or was revoked (invalid_grant)",
        SessionEnd::Rejected => "the stored login belongs to another server or client",
    }
}

/// The human-readable identity at time `now` (Unix seconds).
pub fn render(r: &IdentityReport, now: u64) -> String {
    let mut rows: Vec<(&str, String)> = vec![("profile", r.profile.clone())];
    if !r.server.is_empty() {
        rows.push(("server", r.server.clone()));
    }
    let user = r
        .email
        .clone()
        .or_else(|| r.username.clone())
        .or_else(|| r.name.clone())
        .or_else(|| r.subject.clone());
    match &user {
        Some(user) => rows.push(("user", user.clone())),
        None if r.ended.is_none() => rows.push((
            "user",
            "unknown (the server issued no ID token: ask for the `openid` scope)".into(),
        )),
        None => {}
    }
    for (label, value) in [
        ("name", &r.name),
        ("username", &r.username),
        ("subject", &r.subject),
    ] {
        if let Some(value) = value.as_ref().filter(|v| Some(*v) != user.as_ref()) {
            rows.push((label, value.clone()));
        }
    }
    let state = match r.ended {
        Some(end) => format!("{} ({})", state_name(r.state), end_reason(end)),
        None => state_name(r.state).to_owned(),
    };
    rows.push(("session", state));
    if let Some(scope) = &r.scope {
        let how = if r.scope_granted {
            "granted"
        } else {
            "requested; the server did not say what it granted"
        };
        rows.push(("scopes", format!("{scope} ({how})")));
    }
    let ago = |at: u64| {
        format!(
            "{} ({} ago)",
            rfc3339(at),
            human_duration(now.saturating_sub(at))
        )
    };
    if let Some(at) = r.logged_in_at {
        rows.push(("logged in", ago(at)));
    }
    if let Some(at) = r.refresh_token_issued_at {
        rows.push(("refresh token", format!("issued {}", ago(at))));
    }
    if let Some(lifetime) = r.access_token_lifetime_secs {
        let left = match r.access_token_expires_at {
            Some(at) if at > now => format!(", {} left", human_duration(at - now)),
            Some(_) => ", expired (renewed on next use)".to_owned(),
            None => String::new(),
        };
        rows.push((
            "access token",
            format!("lives {}{left}", human_duration(lifetime)),
        ));
    }
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(label, value)| format!("{label:<width$}  {value}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use wrs_proto::SessionState;

    use super::*;

    fn report() -> IdentityReport {
        IdentityReport {
            profile: "plm".into(),
            server: "https://sso.example.com".into(),
            state: SessionState::Active,
            subject: Some("u-42".into()),
            username: Some("alice".into()),
            name: Some("Alice Example".into()),
            email: Some("alice@example.com".into()),
            issuer: None,
            scope: Some("openid offline_access".into()),
            scope_granted: true,
            logged_in_at: Some(1_000_000 - 3 * 86_400),
            refresh_token_issued_at: Some(1_000_000 - 3600),
            access_token_lifetime_secs: Some(300),
            access_token_expires_at: Some(1_000_000 + 100),
            ended: None,
        }
    }

    #[test]
    fn shows_the_user_scopes_and_ages() {
        let text = render(&report(), 1_000_000);
        let expected = "\
profile        plm
server         https://sso.example.com
user           alice@example.com
name           Alice Example
username       alice
subject        u-42
session        active
scopes         openid offline_access (granted)
logged in      1970-01-09T13:46:40Z (3d 0h ago)
refresh token  issued 1970-01-12T12:46:40Z (1h 0m ago)
access token   lives 5m 0s, 1m 40s left
";
        assert_eq!(text, expected);
    }

    #[test]
    fn requested_scopes_are_marked_and_a_missing_user_says_why() {
        let r = IdentityReport {
            subject: None,
            username: None,
            name: None,
            email: None,
            scope_granted: false,
            ..report()
        };
        let text = render(&r, 1_000_000);
        assert!(
            text.contains("(requested; the server did not say"),
            "{text}"
        );
        assert!(text.contains("ask for the `openid` scope"), "{text}");
    }

    #[test]
    fn an_ended_session_says_why() {
        let r = IdentityReport {
            state: SessionState::NeedsLogin,
            ended: Some(SessionEnd::Revoked),
            ..report()
        };
        let text = render(&r, 1_000_000);
        assert!(
            text.contains("needs login (the refresh token expired or was revoked (invalid_grant))"),
            "{text}"
        );
    }
}
