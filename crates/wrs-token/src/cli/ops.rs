//! Arguments of the commands that look after the installation rather than a
//! token: `doctor` (what is wrong and how to fix it) and `service` (the
//! daemon as a systemd user service or a launchd agent).

use clap::{Args, Subcommand};

use super::ProfileNameParser;

pub(super) const DOCTOR_HELP: &str = "\
Examples:
  wrs-token doctor              # every profile
  wrs-token doctor plm          # one profile
  wrs-token doctor --json | jq '.[] | select(.status != \"ok\")'

Each line is `ok`, `warn` or `FAIL`, what was checked, and for anything
not ok the fix. Checked: the config file (names the line and key of a
typo), each profile, its secret store, the runtime directory and socket
permissions, the daemon and its protocol version, each profile's sessions,
discovery and the issuer it names, the token endpoint, the client's
authentication (a wrong client secret fails), the TLS certificate chain
(system roots plus the profile's ca_file), the clock against the server's,
the proxy each host goes through, and offline_access in the scopes.

The network checks are run by `wrs-tokend probe NAME`, with the daemon's
own HTTP client, so doctor reports what the daemon sees. doctor only
looks: it never starts the daemon (a daemon
that is not running is a warning, since other commands start it on demand;
a FAIL with --no-autostart). Exit status 1 when a check FAILs, else 0.
--json prints an array of {\"check\", \"status\" (\"ok\"|\"warn\"|\"fail\"),
\"detail\", \"fix\" (null when there is nothing to do)}.";

pub(super) const SERVICE_HELP: &str = "\
Examples:
  wrs-token service install --dry-run    # show the files, write nothing
  wrs-token service install
  wrs-token service status
  wrs-token service uninstall

Linux: writes wrs-tokend.service and wrs-tokend.socket to
$XDG_CONFIG_HOME/systemd/user (default ~/.config/systemd/user), with
ExecStart set to the absolute path of wrs-tokend (beside wrs-token, else on
PATH; $WRS_TOKEND overrides), then runs `systemctl --user daemon-reload`
and `systemctl --user enable --now wrs-tokend.socket`. Without a user
systemd (containers, CI, no session bus) it writes the files and prints the
commands to run later. Installing again rewrites only files that changed.

macOS: writes ~/Library/LaunchAgents/com.wrs-token.wrs-tokend.plist and
runs `launchctl bootstrap gui/<uid>` on it.";

pub(super) const SERVICE_INSTALL_HELP: &str = "\
Examples:
  wrs-token service install --dry-run
  wrs-token service install";

pub(super) const SERVICE_UNINSTALL_HELP: &str = "\
Examples:
  wrs-token service uninstall    # stop, disable, remove the unit files";

pub(super) const SERVICE_STATUS_HELP: &str = "\
Examples:
  wrs-token service status       # installed? up to date? enabled? active?";

/// `wrs-token doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DoctorArgs {
    /// Check only this profile (default: every profile in the config file).
    #[arg(value_name = "NAME", value_parser = ProfileNameParser::optional())]
    pub name: Option<String>,

    /// Print the checks as a JSON array of {check, status, detail, fix}.
    #[arg(long)]
    pub json: bool,
}

/// `wrs-token service …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ServiceCommand {
    /// Install the daemon as a per-user service (systemd socket
    /// activation on Linux, a LaunchAgent on macOS) and enable it.
    #[command(after_help = SERVICE_INSTALL_HELP)]
    Install(ServiceInstallArgs),
    /// Stop and disable the per-user service and remove its files.
    #[command(after_help = SERVICE_UNINSTALL_HELP)]
    Uninstall,
    /// Say whether the service is installed, up to date, enabled and
    /// active.
    #[command(after_help = SERVICE_STATUS_HELP)]
    Status,
}

/// `wrs-token service install`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ServiceInstallArgs {
    /// Print the files that would be written and the commands that would
    /// run; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}
