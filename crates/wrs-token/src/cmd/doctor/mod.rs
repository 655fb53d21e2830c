//! `wrs-token doctor [NAME] [--json]`: a checklist of everything that has to
//! be right for a token to reach a caller, each item `ok`, `warn` or `FAIL`
//! with the fix for anything that is not ok.
//!
//! - `local`: the config file, each profile, its secret store, the
//!   runtime directory and socket permissions, the scopes.
//! - `daemon`: whether the daemon answers, its protocol version, each
//!   profile's session.
//! - `net`: each profile's proxy, TLS chain, discovery and the issuer it
//!   names, token endpoint, client authentication and clock, as
//!   `wrs-tokend probe NAME --json` reports them: made with the daemon's own
//!   HTTP client, because this client has no HTTP stack of its own.
//!
//! doctor only looks. It never starts the daemon (that would hide the very
//! problem a user runs it for, and change what `status` then shows): a
//! stopped daemon is a warning when other commands may start it, a failure
//! when autostart is off. The probes are one-shot runs of the daemon's
//! binary that leave a running daemon alone. It exits 1 when any check
//! fails.

mod daemon;
mod local;
mod net;

use serde::Serialize;

use crate::cli::{DoctorArgs, GlobalArgs};
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Ok,
    /// Works, but likely to bite (or worth knowing).
    Warn,
    /// Broken: something will not work until it is fixed.
    Fail,
}

impl Status {
    /// The word the checklist shows.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One line of the checklist (one object of `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `config` or `plm: discovery`.
    pub check: String,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it; `None` when nothing needs doing.
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn ok(check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A warning with its fix.
    pub fn warn(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::ok(check, detail).needs(Status::Warn, fix)
    }

    /// A failure with its fix.
    pub fn fail(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::ok(check, detail).needs(Status::Fail, fix)
    }

    fn needs(self, status: Status, fix: impl Into<String>) -> Check {
        Check {
            status,
            fix: Some(fix.into()),
            ..self
        }
    }
}

/// `wrs-token doctor`.
pub fn run(global: &GlobalArgs, args: &DoctorArgs) -> Result<(), Failure> {
    let checks = collect(global, args);
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&checks)
            .map_err(|e| Failure::new(Exit::Failure, e.to_string()))?;
        json.push('\n');
        json
    } else {
        render(&checks)
    };
    write_stdout(text.as_bytes())?;
    match checks.iter().filter(|c| c.status == Status::Fail).count() {
        0 => Ok(()),
        1 => Err(Failure::new(Exit::Failure, "1 check failed")
            .with_hint("the line after each FAIL says how to fix it")),
        n => Err(Failure::new(Exit::Failure, format!("{n} checks failed"))
            .with_hint("the line after each FAIL says how to fix it")),
    }
}

/// Runs every check, in the order a user would fix things.
fn collect(global: &GlobalArgs, args: &DoctorArgs) -> Vec<Check> {
    let mut out = Vec::new();
    let paths = wrs_config::Paths::resolve();
    let loaded = local::config(paths.as_ref(), &mut out);
    let profiles = match &loaded {
        Some(loaded) => local::profiles(loaded, args.name.as_deref(), &mut out),
        None => Vec::new(),
    };
    let endpoint = match crate::endpoint(global.socket.as_deref()) {
        Ok(endpoint) => {
            local::runtime_dir(&endpoint, &mut out);
            Some(endpoint)
        }
        Err(f) => {
            out.push(Check::fail(
                "socket",
                f.message,
                f.hint
                    .unwrap_or_else(|| format!("set {}", wrs_sys::env::SOCKET)),
            ));
            None
        }
    };
    let report = endpoint
        .as_ref()
        .and_then(|e| daemon::check(e, !global.no_autostart, &mut out));
    let mut probes = net::Probes::start(profiles.iter().map(|(name, _)| name.as_str()), &mut out);
    let config_path = loaded.as_ref().map(|l| l.path.clone()).unwrap_or_default();
    for (name, profile) in &profiles {
        local::store(
            name,
            profile,
            paths.as_ref(),
            report.as_ref(),
            &config_path,
            &mut out,
        );
        if let Some(report) = &report {
            daemon::session(name, profile, report, &mut out);
        }
        local::scopes(name, profile, &mut out);
        probes.finish(name, &mut out);
    }
    out
}

/// The checklist for people: `STATUS  check: detail`, then `fix: …` under
/// anything that is not ok.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!(
            "{:<4}  {}: {}\n",
            c.status.label(),
            c.check,
            one_line(&c.detail)
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("      fix: {}\n", one_line(fix)));
        }
    }
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "\n{} ok, {} warnings, {} failed\n",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail)
    ));
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_status_check_detail_and_fix_under_problems_only() {
        let checks = vec![
            Check::ok("config", "/c.toml: 1 profile"),
            Check::fail("plm: tls", "untrusted\nCA", "add --ca-file"),
            Check::warn("plm: scopes", "no offline_access", "add it"),
        ];
        assert_eq!(
            render(&checks),
            "ok    config: /c.toml: 1 profile\n\
             FAIL  plm: tls: untrusted CA\n      fix: add --ca-file\n\
             warn  plm: scopes: no offline_access\n      fix: add it\n\
             \n1 ok, 1 warnings, 1 failed\n"
        );
    }

    #[test]
    fn json_has_the_four_documented_keys_and_lowercase_statuses() {
        let checks = vec![
            Check::ok("config", "fine"),
            Check::fail("daemon", "down", "start it"),
        ];
        let v = serde_json::to_value(&checks).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"check": "config", "status": "ok", "detail": "fine", "fix": null},
                {"check": "daemon", "status": "fail", "detail": "down", "fix": "start it"},
            ])
        );
    }
}
