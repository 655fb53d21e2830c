//! The ready line: what the `wrs-mock` binary prints on stdout once its
//! socket is bound, so a harness that spawned it knows where it listens.
//!
//! The line is [`READY_PREFIX`] followed by a [`ReadyMessage`] as one line
//! of JSON. The binary prints it through [`ReadyMessage::to_line`]; Rust
//! harnesses read it back with [`ReadyMessage::from_line`]; shell scripts
//! (`scripts/soak`, `scripts/measure-load`, `scripts/measure-idle`,
//! `scripts/bench`) take the JSON after the prefix and read fields by name
//! with `jq`, so a field is renamed or removed only together with them.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{ClientConfig, MockServer, UserConfig};

/// What starts the ready line, space included.
pub const READY_PREFIX: &str = "WRS_MOCK_READY ";

/// Where a running mock listens and whom it knows. Every URL is absolute
/// and as the mock itself computes it ([`MockServer`]'s methods of the same
/// names).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadyMessage {
    /// `http(s)://127.0.0.1:PORT/`.
    pub base_url: String,
    /// The issuer, without a trailing slash ([`MockServer::issuer`]).
    pub issuer: String,
    /// `{issuer}/.well-known/openid-configuration`.
    pub discovery_url: String,
    /// `/as/authorization.oauth2`.
    pub authorization_endpoint: String,
    /// `/as/token.oauth2`.
    pub token_endpoint: String,
    /// `/as/device_authz.oauth2`.
    pub device_authorization_endpoint: String,
    /// `/as/user_authz.oauth2`, where a device's user code is approved.
    pub device_verification_uri: String,
    /// `/as/revoke_token.oauth2`.
    pub revocation_endpoint: String,
    /// `/as/introspect.oauth2`.
    pub introspection_endpoint: String,
    /// The Windchill OData root, `/Windchill/oauth/servlet/odata/`.
    pub wrs_root: String,
    /// The admin API root, `/mock/admin/` (see [`crate::admin`]).
    pub admin_url: String,
    /// The generated CA certificate (PEM) when serving TLS, else `None`
    /// (JSON `null`).
    pub ca_file: Option<String>,
    /// The serving process.
    pub pid: u32,
    /// The registered clients, secrets included (they are the mock's own).
    pub clients: Vec<ClientConfig>,
    /// The users who can log in on the mock's pages.
    pub users: Vec<UserConfig>,
}

impl ReadyMessage {
    /// The message for `mock`, served by this process, with its CA
    /// certificate written to `ca_file` (when serving TLS).
    pub fn new(mock: &MockServer, ca_file: Option<&Path>) -> ReadyMessage {
        let config = mock.config();
        ReadyMessage {
            base_url: mock.base_url().into(),
            issuer: mock.issuer(),
            discovery_url: mock.discovery_url().into(),
            authorization_endpoint: mock.authorization_endpoint().into(),
            token_endpoint: mock.token_endpoint().into(),
            device_authorization_endpoint: mock.device_authorization_endpoint().into(),
            device_verification_uri: mock.device_verification_uri().into(),
            revocation_endpoint: mock.revocation_endpoint().into(),
            introspection_endpoint: mock.introspection_endpoint().into(),
            wrs_root: mock.wrs_root().into(),
            admin_url: mock.admin_url().into(),
            ca_file: ca_file.map(|p| p.display().to_string()),
            pid: std::process::id(),
            clients: config.clients.clone(),
            users: config.users.clone(),
        }
    }

    /// The whole line, prefix included, without a newline.
    pub fn to_line(&self) -> String {
        // Strings, numbers and sequences of them: serializing cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{READY_PREFIX}{json}")
    }

    /// The message in `line` (a trailing newline is fine); `None` when the
    /// line is not a ready line at all.
    pub fn from_line(line: &str) -> Option<Result<ReadyMessage, serde_json::Error>> {
        let json = line.strip_prefix(READY_PREFIX)?;
        Some(serde_json::from_str(json.trim_end()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_line_reads_back_as_written() {
        let mock = MockServer::start_background(crate::MockConfig::default()).unwrap();
        let sent = ReadyMessage::new(&mock, Some(Path::new("/tmp/ca.pem")));
        let line = format!("{}\n", sent.to_line());
        let got = ReadyMessage::from_line(&line).unwrap().unwrap();
        assert_eq!(got.token_endpoint, sent.token_endpoint);
        assert_eq!(got.ca_file.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(got.clients.len(), sent.clients.len());
        assert!(ReadyMessage::from_line("wrs-mock serving on …").is_none());
        mock.shutdown();
    }
}
