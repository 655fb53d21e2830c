//! The network checks of each profile, as the daemon's own HTTP stack sees
//! them: `wrs-tokend probe NAME --json` ([`crate::probe`]) makes them with
//! the client the daemon would build (its CA handling, proxies, timeouts,
//! discovery and stored client secret), and each of its checks becomes a
//! line here, named `NAME: CHECK`. This client has no HTTP stack.

use wrs_proto::probe::{ProbeReport, ProbeStatus};

use super::{Check, Status};
use crate::probe::{ProbeError, Prober, Running};

/// The probes of the profiles to check, started together so that slow
/// servers are waited for at once.
pub(super) struct Probes {
    running: Vec<(String, Result<Running, ProbeError>)>,
}

impl Probes {
    /// Starts one probe per profile; without a `wrs-tokend` to run them,
    /// says so once (and every profile's network checks are skipped).
    pub(super) fn start<'a>(
        names: impl IntoIterator<Item = &'a str>,
        out: &mut Vec<Check>,
    ) -> Probes {
        let prober = match Prober::locate() {
            Ok(prober) => prober,
            Err(e) => {
                out.push(Check::warn(
                    "network checks",
                    format!("{e}: the network checks were skipped (wrs-tokend makes them)"),
                    format!(
                        "install wrs-tokend beside wrs-token or on PATH \
                         (`cargo install --path crates/wrs-tokend`), or set {}",
                        wrs_sys::env::TOKEND
                    ),
                ));
                return Probes {
                    running: Vec::new(),
                };
            }
        };
        let running = names
            .into_iter()
            .map(|name| (name.to_owned(), prober.start(name)))
            .collect();
        Probes { running }
    }

    /// `name`'s network checks, once its probe has finished.
    pub(super) fn finish(&mut self, name: &str, out: &mut Vec<Check>) {
        let Some(at) = self.running.iter().position(|(n, _)| n == name) else {
            return;
        };
        let (_, started) = self.running.swap_remove(at);
        match started.and_then(Running::wait) {
            Ok(report) => checks(name, &report, out),
            Err(e) => out.push(failed(name, &e)),
        }
    }
}

/// The report's checks as checklist lines.
fn checks(name: &str, report: &ProbeReport, out: &mut Vec<Check>) {
    for c in &report.checks {
        let status = match c.status {
            ProbeStatus::Ok => Status::Ok,
            ProbeStatus::Warn => Status::Warn,
            ProbeStatus::Fail => Status::Fail,
        };
        // A problem always comes with its fix; an ok line never has one.
        let fix = match status {
            Status::Ok => None,
            _ => Some(
                c.fix
                    .clone()
                    .unwrap_or_else(|| format!("see `wrs-tokend probe {name}`")),
            ),
        };
        out.push(Check {
            check: format!("{name}: {}", c.check.label()),
            status,
            detail: c.detail.clone(),
            fix,
        });
    }
}

/// The line for a probe that gave no report.
fn failed(name: &str, e: &ProbeError) -> Check {
    let check = format!("{name}: network checks");
    let fix = match e {
        ProbeError::Version { .. } => {
            "install wrs-token and wrs-tokend from the same version (`wrs-token daemon stop` \
             afterwards, so the new daemon runs)"
                .to_owned()
        }
        ProbeError::TimedOut { .. } => format!(
            "run `wrs-tokend probe {name}` to see where it stops (the secret store, or a server \
             that never finishes answering)"
        ),
        _ => format!("run `wrs-tokend probe {name}` to see more"),
    };
    Check::fail(check, e.to_string(), fix)
}

#[cfg(test)]
mod tests {
    use wrs_proto::probe::{ProbeCheck, ProbeTopic};

    use super::*;

    #[test]
    fn each_probe_check_is_a_line_named_after_the_profile() {
        let mut report = ProbeReport::new("plm");
        report.checks = vec![
            ProbeCheck {
                check: ProbeTopic::TokenEndpoint,
                status: ProbeStatus::Ok,
                detail: "answered".into(),
                fix: None,
            },
            ProbeCheck {
                check: ProbeTopic::ClientAuth,
                status: ProbeStatus::Fail,
                detail: "rejected".into(),
                fix: Some("`wrs-token profile set-secret plm`".into()),
            },
            ProbeCheck {
                check: ProbeTopic::Clock,
                status: ProbeStatus::Warn,
                detail: "45 s ahead".into(),
                fix: None,
            },
        ];
        let mut out = Vec::new();
        checks("plm", &report, &mut out);
        assert_eq!(
            out,
            vec![
                Check::ok("plm: token endpoint", "answered"),
                Check::fail(
                    "plm: client auth",
                    "rejected",
                    "`wrs-token profile set-secret plm`"
                ),
                Check::warn("plm: clock", "45 s ahead", "see `wrs-tokend probe plm`"),
            ]
        );
    }
}
