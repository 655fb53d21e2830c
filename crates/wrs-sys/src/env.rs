//! The names of the environment variables wrs-token reads: one constant
//! each, so that no crate spells a name out. They are user-facing (README
//! "Environment", `wrs-token --help`): a test pins each value.
//!
//! Variables read by one crate only and never set by another stay with it
//! (`WRS_TOKEN_LAUNCHCTL` in wrs-token, `WRS_DEMO_BROWSE_*` in wrs-demo).

/// The default profile for `-p` / `--profile` (wrs-token; named in the
/// daemon's "which profile?" hint; cleared by the demo and the tests).
pub const PROFILE: &str = "WRS_TOKEN_PROFILE";

/// The daemon's socket path, overriding the platform default
/// ([`crate::endpoint`]); both binaries, the demo and the tests.
pub const SOCKET: &str = "WRS_TOKEN_SOCKET";

/// The configuration file's path (wrs-config; named in wrs-token's hints;
/// set by the demo and the tests).
pub const CONFIG: &str = "WRS_TOKEN_CONFIG";

/// Set to `1` (or `yes`, `true`) to never start the daemon (wrs-token's
/// `--no-autostart`; set by the demo and the tests).
pub const NO_AUTOSTART: &str = "WRS_TOKEN_NO_AUTOSTART";

/// The caller's default minimum validity in seconds, which wrs-token sends
/// with each token request and the daemon applies after the profile's
/// `min_ttl`.
pub const MIN_TTL: &str = "WRS_TOKEN_MIN_TTL";

/// The daemon binary wrs-token starts (and `wrs-token service` installs);
/// the demo and the tests point it at the build's `wrs-tokend`.
pub const TOKEND: &str = "WRS_TOKEND";

/// The daemon's log file (wrs-tokend's `--log-file`; set by the demo and
/// the tests).
pub const TOKEND_LOG_FILE: &str = "WRS_TOKEND_LOG_FILE";

/// The curl that `wrs-token curl` runs.
pub const CURL: &str = "WRS_TOKEN_CURL";

/// The `wrs-demo` binary that `wrs-token demo` runs (set by wrs-demo's
/// tests).
pub const DEMO: &str = "WRS_DEMO";

/// The `systemctl` that `wrs-token service` runs (a fake one in the tests).
pub const SYSTEMCTL: &str = "WRS_TOKEN_SYSTEMCTL";

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are documented (README, `--help`, docs/) and set in
    /// users' shells and unit files: a rename is a breaking change.
    #[test]
    fn the_names_users_set_never_change() {
        assert_eq!(PROFILE, "WRS_TOKEN_PROFILE");
        assert_eq!(SOCKET, "WRS_TOKEN_SOCKET");
        assert_eq!(CONFIG, "WRS_TOKEN_CONFIG");
        assert_eq!(NO_AUTOSTART, "WRS_TOKEN_NO_AUTOSTART");
        assert_eq!(MIN_TTL, "WRS_TOKEN_MIN_TTL");
        assert_eq!(TOKEND, "WRS_TOKEND");
        assert_eq!(TOKEND_LOG_FILE, "WRS_TOKEND_LOG_FILE");
        assert_eq!(CURL, "WRS_TOKEN_CURL");
        assert_eq!(DEMO, "WRS_DEMO");
        assert_eq!(SYSTEMCTL, "WRS_TOKEN_SYSTEMCTL");
    }

    /// The README's "Environment" table spells the names out (it cannot
    /// refer to a constant): each one users may set is there, as it is here.
    #[test]
    fn the_readme_documents_every_variable_users_set() {
        let readme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let readme = std::fs::read_to_string(readme).unwrap();
        let table = readme
            .split("### Environment")
            .nth(1)
            .and_then(|rest| rest.split("\n#").next())
            .unwrap();
        for name in [
            PROFILE,
            SOCKET,
            CONFIG,
            NO_AUTOSTART,
            MIN_TTL,
            TOKEND,
            TOKEND_LOG_FILE,
        ] {
            assert!(table.contains(&format!("| `{name}")), "{name}");
        }
    }
}
