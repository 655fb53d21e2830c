//! The report of `wrs-tokend probe PROFILE --json`: one profile's network
//! checks (proxy, TLS, discovery, issuer, token endpoint, client
//! authentication, clock) as the daemon's own HTTP stack sees them.
//!
//! It is a contract between the two binaries, like the wire: `wrs-tokend`
//! writes it, `wrs-token doctor` (which links no HTTP stack) reads it. So
//! it lives here, where both already depend, in plain serde types. It
//! travels as one JSON document on the probe's stdout, never over the
//! socket; [`PROBE_VERSION`] changes whenever its shape does, and a reader
//! of another version gets [`ReportError::Version`], not a misreading.
//!
//! ```json
//! {"version": 1, "profile": "plm", "checks": [
//!   {"check": "tls", "status": "ok", "detail": "sso.example.com: certificate chain verified with the system's CAs", "fix": null},
//!   {"check": "client_auth", "status": "fail", "detail": "…", "fix": "`wrs-token profile set-secret plm` …"}
//! ]}
//! ```

use serde::{Deserialize, Serialize};

/// The version of the report's shape; bumped on any change to it.
pub const PROBE_VERSION: u32 = 1;

/// What `wrs-tokend probe PROFILE --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// [`PROBE_VERSION`] of the `wrs-tokend` that wrote it.
    pub version: u32,
    /// The profile probed.
    pub profile: String,
    /// The checks, in the order a user would fix things. A check that
    /// could not be reached because an earlier one failed is left out:
    /// one failure, one line.
    pub checks: Vec<ProbeCheck>,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeCheck {
    /// What was checked.
    pub check: ProbeTopic,
    /// How it came out.
    pub status: ProbeStatus,
    /// What was found, in plain words; never a secret.
    pub detail: String,
    /// What to do about it; `None` exactly when the status is ok.
    pub fix: Option<String>,
}

/// What a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeTopic {
    /// The profile's extra CA bundle can be read and holds certificates.
    CaFile,
    /// The proxy (or none) that requests to one host go through.
    Proxy,
    /// The TLS chain of one host (or plain http on loopback).
    Tls,
    /// The discovery document answered.
    Discovery,
    /// The issuer the discovery document names is the configured one.
    Issuer,
    /// The token endpoint answers like a token endpoint.
    TokenEndpoint,
    /// The server accepts the client: its stored secret, or its id for a
    /// public client.
    ClientAuth,
    /// This machine's clock against the server's `Date`.
    Clock,
}

impl ProbeTopic {
    /// The name a checklist shows, e.g. `token endpoint`.
    pub fn label(self) -> &'static str {
        match self {
            ProbeTopic::CaFile => "ca_file",
            ProbeTopic::Proxy => "proxy",
            ProbeTopic::Tls => "tls",
            ProbeTopic::Discovery => "discovery",
            ProbeTopic::Issuer => "issuer",
            ProbeTopic::TokenEndpoint => "token endpoint",
            ProbeTopic::ClientAuth => "client auth",
            ProbeTopic::Clock => "clock",
        }
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeStatus {
    /// As it should be.
    Ok,
    /// Works, but likely to bite.
    Warn,
    /// Broken: tokens will not come until it is fixed.
    Fail,
}

/// Why a one-shot job's output is not a report this reader can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// Written by a `wrs-tokend` of another version.
    #[error("the report is of another version ({theirs}) than this program reads")]
    Version {
        /// The version it carries.
        theirs: u32,
    },
    /// Not a report at all.
    #[error("not a report of wrs-tokend: {0}")]
    Malformed(String),
}

/// Reads a report of `version` from `text`: the version is read before
/// the rest, so another version's shape is reported as such, not
/// misread. Every one-shot report of `wrs-tokend` is read this way.
pub fn read_versioned<T: serde::de::DeserializeOwned>(
    text: &str,
    version: u32,
) -> Result<T, ReportError> {
    #[derive(Deserialize)]
    struct Versioned {
        version: u32,
    }
    let versioned: Versioned =
        serde_json::from_str(text).map_err(|e| ReportError::Malformed(e.to_string()))?;
    if versioned.version != version {
        return Err(ReportError::Version {
            theirs: versioned.version,
        });
    }
    serde_json::from_str(text).map_err(|e| ReportError::Malformed(e.to_string()))
}

impl ProbeReport {
    /// A report of `profile` with no checks yet.
    pub fn new(profile: impl Into<String>) -> ProbeReport {
        ProbeReport {
            version: PROBE_VERSION,
            profile: profile.into(),
            checks: Vec::new(),
        }
    }

    /// Reads a report; the version is checked before the rest, so another
    /// version's shape is reported as such.
    pub fn from_json(text: &str) -> Result<ProbeReport, ReportError> {
        read_versioned(text, PROBE_VERSION)
    }

    /// The report as one JSON document (no trailing newline).
    pub fn to_json(&self) -> String {
        // A struct of strings, enums and a Vec: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The first check about `topic`, if the probe got that far.
    pub fn check(&self, topic: ProbeTopic) -> Option<&ProbeCheck> {
        self.checks.iter().find(|c| c.check == topic)
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == ProbeStatus::Fail)
    }

    /// The report for people: `STATUS  check: detail`, then `fix: …` under
    /// anything that is not ok. `wrs-tokend probe` prints it; `wrs-token
    /// profile add` shows it before adding a profile (or refusing to).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let status = match c.status {
                ProbeStatus::Ok => "ok",
                ProbeStatus::Warn => "warn",
                ProbeStatus::Fail => "FAIL",
            };
            out.push_str(&format!("{status:<4}  {}: {}\n", c.check.label(), c.detail));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("      fix: {fix}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_round_trips_with_snake_case_topics_and_lowercase_statuses() {
        let mut report = ProbeReport::new("plm");
        report.checks.push(ProbeCheck {
            check: ProbeTopic::TokenEndpoint,
            status: ProbeStatus::Fail,
            detail: "gone".into(),
            fix: Some("fix it".into()),
        });
        let json = report.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(value["checks"][0]["check"], "token_endpoint");
        assert_eq!(value["checks"][0]["status"], "fail");
        assert_eq!(value["version"], PROBE_VERSION);
        assert_eq!(ProbeReport::from_json(&json), Ok(report.clone()));
        assert!(report.failed());
        assert_eq!(
            report
                .check(ProbeTopic::TokenEndpoint)
                .map(|c| c.detail.as_str()),
            Some("gone")
        );
        assert_eq!(report.check(ProbeTopic::Clock), None);
    }

    #[test]
    fn another_version_is_named_not_misread() {
        let other = r#"{"version": 99, "profile": "plm", "results": {}}"#;
        assert_eq!(
            ProbeReport::from_json(other),
            Err(ReportError::Version { theirs: 99 })
        );
        assert!(matches!(
            ProbeReport::from_json("curl: (7) refused"),
            Err(ReportError::Malformed(_))
        ));
    }
}
