//! The report of `wrs-tokend stored --json`: which profiles have a login
//! kept in their secret store, and whose, read without a daemon.
//!
//! `wrs-token status` with no daemon running reads it: the thin client
//! links no secret store (the keyring is a D-Bus client), the daemon's
//! binary does. Like [`crate::probe`], it is a contract between the two
//! binaries, one JSON document on stdout, never on the socket, with its
//! own [`STORED_VERSION`]. It never holds a secret: only whether one is
//! there and the display claims stored beside it.
//!
//! ```json
//! {"version": 1, "profiles": [
//!   {"profile": "plm", "state": "logged_in", "user": "ada@example.com", "logged_in_at": 1764892800, "detail": null},
//!   {"profile": "ci", "state": "error", "user": null, "logged_in_at": null, "detail": "the OS keyring is locked"}
//! ]}
//! ```

use serde::{Deserialize, Serialize};

use crate::probe::{ReportError, read_versioned};

/// The version of the report's shape; bumped on any change to it.
pub const STORED_VERSION: u32 = 1;

/// What `wrs-tokend stored --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReport {
    /// [`STORED_VERSION`] of the `wrs-tokend` that wrote it.
    pub version: u32,
    /// One entry per configured profile, in the config file's order.
    pub profiles: Vec<StoredLogin>,
}

/// What one profile's store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLogin {
    /// The profile.
    pub profile: String,
    /// What was found.
    pub state: StoredState,
    /// Who logged in (e-mail, user name, name or subject from the ID
    /// token), when the store knows it.
    pub user: Option<String>,
    /// When that login happened (Unix seconds), when known.
    pub logged_in_at: Option<u64>,
    /// More about the state, in plain words (the store's error, the server
    /// the stored login belongs to); never a secret.
    pub detail: Option<String>,
}

/// What a profile's store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredState {
    /// A refresh token for this profile's server and client: a daemon
    /// started now serves tokens without a login.
    LoggedIn,
    /// No refresh token: `wrs-token login` is needed.
    NotLoggedIn,
    /// A refresh token for another server or client (the profile was
    /// changed since): a new login is needed.
    OtherServer,
    /// The profile keeps its login in memory, which went with the daemon.
    Memory,
    /// A client-credentials profile: it needs no login.
    Machine,
    /// The store could not be read (a locked or missing keyring, …).
    Error,
}

impl StoredState {
    /// What `status` shows for it.
    pub fn label(self) -> &'static str {
        match self {
            StoredState::LoggedIn => "logged in",
            StoredState::NotLoggedIn => "not logged in",
            StoredState::OtherServer => "login for another server",
            StoredState::Memory => "not stored (memory store)",
            StoredState::Machine => "client credentials",
            StoredState::Error => "store error",
        }
    }
}

impl StoredReport {
    /// An empty report of this version.
    pub fn new() -> StoredReport {
        StoredReport {
            version: STORED_VERSION,
            profiles: Vec::new(),
        }
    }

    /// Reads a report; the version is checked before the rest, so another
    /// version's shape is reported as such.
    pub fn from_json(text: &str) -> Result<StoredReport, ReportError> {
        read_versioned(text, STORED_VERSION)
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        // Plain strings, numbers and enums: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The entry of `profile`, if the report has one.
    pub fn login(&self, profile: &str) -> Option<&StoredLogin> {
        self.profiles.iter().find(|p| p.profile == profile)
    }
}

impl Default for StoredReport {
    fn default() -> Self {
        StoredReport::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_report_reads_back_equal_and_names_its_states_in_snake_case() {
        let mut report = StoredReport::new();
        report.profiles.push(StoredLogin {
            profile: "plm".into(),
            state: StoredState::OtherServer,
            user: Some("ada@example.com".into()),
            logged_in_at: Some(1_764_892_800),
            detail: Some("client wrs-cli at https://old.example".into()),
        });
        let json = report.to_json();
        assert!(json.contains(r#""state":"other_server""#), "{json}");
        assert_eq!(StoredReport::from_json(&json).unwrap(), report);
        assert_eq!(report.login("plm").unwrap().state, StoredState::OtherServer);
        assert!(report.login("ci").is_none());
    }

    #[test]
    fn another_version_is_named_not_misread() {
        assert_eq!(
            StoredReport::from_json(r#"{"version": 7, "sessions": []}"#),
            Err(ReportError::Version { theirs: 7 })
        );
        assert!(matches!(
            StoredReport::from_json("Segmentation fault"),
            Err(ReportError::Malformed(_))
        ));
    }
}
