//! The daemon: does it answer, in our protocol version, and how is each
//! profile's session.

use wrs_config::{Grant, Profile};
use wrs_proto::{PROTOCOL_VERSION, ProfileStatus, SessionState, StatusReport};
use wrs_sys::endpoint::Endpoint;

use super::Check;
use crate::client::{self, ClientError, autostart};
use crate::exit::{Failure, RESTART_HINT};
use crate::output::{human_duration, now_unix};
use crate::programs::locate;

/// Asks the daemon for its status without starting it. The report, when
/// it answered.
pub(super) fn check(
    endpoint: &Endpoint,
    autostart_allowed: bool,
    out: &mut Vec<Check>,
) -> Option<StatusReport> {
    let conn = match client::try_connect(endpoint) {
        Ok(Some(conn)) => conn,
        Ok(None) => {
            out.push(not_running(endpoint, autostart_allowed));
            return None;
        }
        Err(e) => {
            let f = Failure::from(e);
            out.push(Check::fail("daemon", f.message, f.hint.unwrap_or_default()));
            return None;
        }
    };
    match client::status_of(conn) {
        Ok(report) if report.protocol_version != PROTOCOL_VERSION => {
            out.push(version_mismatch(report.protocol_version));
            None
        }
        Ok(report) => {
            out.push(running(&report));
            if let Some(check) = daemon_config(&report) {
                out.push(check);
            }
            Some(report)
        }
        Err(ClientError::Daemon(e)) if e.kind == wrs_proto::ErrorKind::VersionMismatch => {
            out.push(version_mismatch(e.protocol_version));
            None
        }
        Err(e) if e.is_version_problem() => {
            out.push(Check::fail(
                "daemon",
                format!(
                    "the daemon's answer cannot be read: it speaks another protocol than this wrs-token (version {PROTOCOL_VERSION})"
                ),
                RESTART_HINT,
            ));
            None
        }
        Err(e) => {
            let f = Failure::from(e);
            out.push(Check::fail("daemon", f.message, f.hint.unwrap_or_default()));
            None
        }
    }
}

fn running(report: &StatusReport) -> Check {
    let ours = env!("CARGO_PKG_VERSION");
    let detail = format!(
        "running, pid {}, version {}, protocol {} (ours: {PROTOCOL_VERSION}), up {}",
        report.pid,
        report.daemon_version,
        report.protocol_version,
        human_duration(report.uptime_secs)
    );
    if report.daemon_version == ours {
        Check::ok("daemon", detail)
    } else {
        Check::warn(
            "daemon",
            format!("{detail}; this wrs-token is version {ours}"),
            "restart it to run the installed version: `wrs-token daemon stop` (the next command starts the new one)",
        )
    }
}

fn version_mismatch(theirs: u32) -> Check {
    Check::fail(
        "daemon",
        format!(
            "the daemon speaks protocol version {theirs}, this wrs-token speaks version {PROTOCOL_VERSION}"
        ),
        RESTART_HINT,
    )
}

fn not_running(endpoint: &Endpoint, autostart_allowed: bool) -> Check {
    let socket = endpoint.socket.display();
    if !autostart_allowed {
        return Check::fail(
            "daemon",
            format!(
                "not running (socket {socket}) and autostart is off (--no-autostart or {})",
                wrs_sys::env::NO_AUTOSTART
            ),
            "start it: `wrs-token daemon start`, or `wrs-token service install` to have systemd start it on demand",
        );
    }
    let current_exe = std::env::current_exe().ok();
    let program = autostart::daemon_program(
        std::env::var_os(wrs_sys::env::TOKEND),
        current_exe.as_deref(),
    );
    match locate(&program) {
        Some(found) => Check::warn(
            "daemon",
            format!(
                "not running (socket {socket}); the next command that needs it starts {}",
                found.display()
            ),
            "nothing is needed; to start it now: `wrs-token daemon start`",
        ),
        None => Check::fail(
            "daemon",
            format!(
                "not running (socket {socket}), and {} cannot be found to start it",
                program.display()
            ),
            format!(
                "install wrs-tokend beside wrs-token or on PATH (`cargo install --path crates/wrs-tokend`), or set {}",
                wrs_sys::env::TOKEND
            ),
        ),
    }
}

/// The config file as the running daemon read it: a file that does not
/// load keeps the daemon on its previous configuration, which a user who
/// just edited the file must hear about.
pub(super) fn daemon_config(report: &StatusReport) -> Option<Check> {
    let error = report.config_error.as_deref()?;
    Some(Check::fail(
        "daemon: config",
        format!(
            "the running daemon cannot use the config file, it keeps the previous one: {error}"
        ),
        "fix the file at the line named; the daemon applies it by itself on the next command",
    ))
}

/// The profile's session as the daemon sees it.
pub(super) fn session(name: &str, profile: &Profile, report: &StatusReport, out: &mut Vec<Check>) {
    let check = format!("{name}: session");
    let Some(p) = report.profiles.iter().find(|p| p.name == name) else {
        out.push(Check::warn(
            check,
            "the running daemon has not loaded this profile (its config file does not load, \
             or changed again since)",
            "fix the config file (see the config checks); the daemon applies it by itself",
        ));
        return;
    };
    let error = p
        .last_error
        .as_deref()
        .map(|e| format!(" (last error: {e})"))
        .unwrap_or_default();
    let login = format!("`wrs-token login {name}`");
    match p.state {
        SessionState::Active | SessionState::Refreshing => {
            let left = p
                .expires_at
                .map(|at| {
                    let now = now_unix();
                    if at > now {
                        format!(", access token valid for {}", human_duration(at - now))
                    } else {
                        ", access token expired (renewed on next use)".to_owned()
                    }
                })
                .unwrap_or_default();
            out.push(Check::ok(check, format!("active{left}")));
        }
        SessionState::Idle => out.push(Check::ok(
            check,
            format!(
                "idle: no token request for {} or more, so renewal is paused{}; \
                 the next request fetches a token in one round trip",
                human_duration(p.keep_warm_secs),
                match p.keepalive_secs {
                    0 => String::new(),
                    secs => format!(" (keepalive every {})", human_duration(secs)),
                }
            ),
        )),
        SessionState::LoggedOut if profile.grant == Grant::ClientCredentials => {
            out.push(Check::ok(
                check,
                "no token yet (client credentials: fetched on first use)",
            ))
        }
        SessionState::LoggedOut => out.push(Check::warn(check, "not logged in", login)),
        SessionState::NeedsLogin => out.push(Check::fail(
            check,
            format!("needs login: the refresh token was rejected{error}"),
            login,
        )),
        SessionState::BackingOff => out.push(Check::warn(
            check,
            format!("renewal keeps failing, retrying with backoff{error}"),
            "see the network checks below; the cached token is served while it lasts",
        )),
    }
    budget(name, profile, p, out);
}

/// The authorization server's load: a profile's `min_ttl` that its tokens
/// cannot meet, and more token-endpoint requests in the last hour than one
/// per renewal period.
fn budget(name: &str, profile: &Profile, p: &ProfileStatus, out: &mut Vec<Check>) {
    let Some(lifetime) = p.token_lifetime_secs else {
        return;
    };
    // A token has 20-25 % of its lifetime left at its renewal point: the
    // most the daemon promises (see wrs-tokend's policy).
    if let Some(min_ttl) = profile.min_ttl
        && min_ttl.saturating_mul(5) > lifetime
    {
        out.push(Check::warn(
            format!("{name}: min_ttl"),
            format!(
                "min_ttl = {min_ttl} s, but this server's tokens live {lifetime} s and have \
                 about a fifth of that left when renewed: requests get the cached token \
                 and a warning when it has less than {min_ttl} s"
            ),
            format!(
                "lower it to {} s or less (`min_ttl` in the profile), or remove it",
                lifetime / 5
            ),
        ));
    }
    let check = format!("{name}: token requests");
    let sent = p.token_requests_last_hour;
    match p.token_request_budget_per_hour {
        Some(budget) if sent > budget => out.push(Check::warn(
            check,
            format!(
                "{sent} requests to the token endpoint in the last hour, more than the \
                 {budget} that {lifetime}-second tokens need (one per renewal period){}",
                p.last_error
                    .as_deref()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ),
            "see the daemon's log (`journalctl -t wrs-tokend`); failures, \
             `wrs-token logout`/`login` cycles and 401 retries count too",
        )),
        Some(budget) => out.push(Check::ok(
            check,
            format!(
                "{sent} in the last hour for {} tokens served (budget {budget} for \
                 {lifetime}-second tokens)",
                p.served_last_hour
            ),
        )),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::doctor::Status;

    #[test]
    fn a_config_file_the_daemon_cannot_use_fails_with_its_line() {
        let mut report = StatusReport {
            daemon_version: "0.1.0".into(),
            protocol_version: PROTOCOL_VERSION,
            pid: 1,
            uptime_secs: 1,
            socket: "/s".into(),
            profiles: vec![],
            config_file: "/c/config.toml".into(),
            config_error: None,
        };
        assert_eq!(daemon_config(&report), None);
        report.config_error = Some("/c/config.toml:7:1: unknown field `colour`".into());
        let check = daemon_config(&report).unwrap();
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("config.toml:7:1"), "{check:?}");
        assert!(check.detail.contains("keeps the previous one"), "{check:?}");
    }

    fn status(lifetime: u64, sent: u64, budget: u64) -> ProfileStatus {
        ProfileStatus {
            name: "plm".into(),
            state: SessionState::Active,
            expires_at: None,
            next_refresh_at: None,
            last_error: None,
            next_refresh: None,
            token_lifetime_secs: Some(lifetime),
            last_used_at: None,
            served_last_hour: 9000,
            token_requests_last_hour: sent,
            token_request_budget_per_hour: Some(budget),
            keep_warm_secs: 600,
            keepalive_secs: 21_600,
            user: None,
            ended: None,
        }
    }

    fn checks(profile: &Profile, p: &ProfileStatus) -> Vec<Check> {
        let mut out = Vec::new();
        budget("plm", profile, p, &mut out);
        out
    }

    #[test]
    fn a_min_ttl_the_tokens_cannot_meet_is_a_warning_with_the_fix() {
        let profile = Profile {
            min_ttl: Some(10),
            ..Profile::default()
        };
        let out = checks(&profile, &status(7, 600, 687));
        assert_eq!(out[0].check, "plm: min_ttl");
        assert_eq!(out[0].status, Status::Warn);
        assert!(out[0].detail.contains("live 7 s"), "{}", out[0].detail);
        assert!(out[0].fix.as_deref().unwrap().contains("1 s or less"));
        // Within the budget: fine.
        assert_eq!(out[1].status, Status::Ok);
        assert!(
            out[1].detail.contains("600 in the last hour"),
            "{}",
            out[1].detail
        );
        // One more than the renewal point leaves: a warning too.
        let profile = Profile {
            min_ttl: Some(2),
            ..Profile::default()
        };
        assert_eq!(checks(&profile, &status(7, 600, 687)).len(), 2);
        // A min_ttl the tokens can meet says nothing.
        let profile = Profile {
            min_ttl: Some(1),
            ..Profile::default()
        };
        let out = checks(&profile, &status(7, 600, 687));
        assert_eq!(out.len(), 1);
        let profile = Profile {
            min_ttl: Some(600),
            ..Profile::default()
        };
        assert_eq!(checks(&profile, &status(3600, 2, 3)).len(), 1);
    }

    #[test]
    fn more_requests_than_the_budget_is_a_warning() {
        let mut p = status(7, 2192, 687);
        p.last_error = Some("HTTP 503".into());
        let out = checks(&Profile::default(), &p);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, Status::Warn);
        assert!(out[0].detail.contains("2192 requests"), "{}", out[0].detail);
        assert!(
            out[0].detail.contains("last error: HTTP 503"),
            "{}",
            out[0].detail
        );
        // No token yet: nothing to judge.
        let mut p = status(7, 0, 687);
        p.token_lifetime_secs = None;
        assert!(checks(&Profile::default(), &p).is_empty());
    }
}
