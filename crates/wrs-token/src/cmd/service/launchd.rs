//! launchd: `~/Library/LaunchAgents/com.wrs-token.wrs-tokend.plist` and
//! `launchctl bootstrap|bootout gui/<uid>`.
//!
//! Written against launchctl(1) as documented; our build machines have no
//! macOS target, so this module has not been compiled or run there.

use std::path::PathBuf;

use super::units::{self, LAUNCHD_LABEL};
use super::{Tool, Written, daemon_path, describe, dry_run_listing, remove_if_present};
use crate::cli::ServiceCommand;
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;

/// Overrides the `launchctl` that is run.
pub const LAUNCHCTL_ENV: &str = "WRS_TOKEN_LAUNCHCTL";

pub(super) fn run(command: &ServiceCommand) -> Result<(), Failure> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
        .ok_or_else(|| Failure::new(Exit::Failure, "HOME is not set"))?;
    let plist = home
        .join("Library/LaunchAgents")
        .join(format!("{LAUNCHD_LABEL}.plist"));
    let domain = format!("gui/{}", rustix::process::getuid().as_raw());
    let target = format!("{domain}/{LAUNCHD_LABEL}");
    let tool = Tool::new(LAUNCHCTL_ENV, "launchctl");
    match command {
        ServiceCommand::Install(args) => {
            let content = units::launchd_plist(&daemon_path()?, &home)
                .map_err(|e| Failure::new(Exit::Failure, e.to_string()))?;
            let plist_arg = plist.to_string_lossy().into_owned();
            if args.dry_run {
                let text = format!(
                    "{}--- then would run:\n  launchctl bootstrap {domain} {plist_arg}\n(dry run: nothing was written)\n",
                    dry_run_listing(&plist, &content)
                );
                return write_stdout(text.as_bytes());
            }
            // launchd writes the agent's stderr there; the directory must exist.
            let _ = std::fs::create_dir_all(home.join("Library/Logs"));
            let written = super::write_if_changed(&plist, &content)?;
            let mut report = describe(&plist, written);
            let loaded = tool.run(&["print", &target]).success;
            if loaded && written != Written::Unchanged {
                // A loaded agent keeps its old definition until booted out.
                let _ = tool.run(&["bootout", &target]);
            }
            if !loaded || written != Written::Unchanged {
                let out = tool.run(&["bootstrap", &domain, &plist_arg]);
                if !out.success {
                    write_stdout(report.as_bytes())?;
                    return Err(Failure::new(
                        Exit::Failure,
                        format!(
                            "`launchctl bootstrap {domain} {plist_arg}` failed: {}",
                            out.stderr
                        ),
                    )
                    .with_hint("run it yourself in a GUI login session of this user"));
                }
                report.push_str(&format!("ran: launchctl bootstrap {domain} {plist_arg}\n"));
            } else {
                report.push_str("already loaded\n");
            }
            report.push_str("\nnext: nothing: launchd runs the daemon now and at every login.\n");
            write_stdout(report.as_bytes())
        }
        ServiceCommand::Uninstall => {
            if !plist.exists() {
                return write_stdout(format!("not installed: no {}\n", plist.display()).as_bytes());
            }
            let mut report = String::new();
            if tool.run(&["bootout", &target]).success {
                report.push_str(&format!("ran: launchctl bootout {target}\n"));
            }
            if remove_if_present(&plist)? {
                report.push_str(&format!("removed {}\n", plist.display()));
            }
            write_stdout(report.as_bytes())
        }
        ServiceCommand::Status => {
            let expected = daemon_path()
                .ok()
                .and_then(|d| units::launchd_plist(&d, &home).ok());
            let state = match (
                plist.exists(),
                expected.map(|c| super::up_to_date(&plist, &c)),
            ) {
                (false, _) => "not installed",
                (true, Some(Some(true))) => "installed, up to date",
                (true, _) => "installed, differs from what `wrs-token service install` writes now",
            };
            let print = tool.run(&["print", &target]);
            let loaded = if print.success {
                let running = print.stdout.lines().any(|l| l.trim() == "state = running");
                if running {
                    "loaded, running"
                } else {
                    "loaded, not running"
                }
            } else {
                "not loaded"
            };
            let text = format!("plist    {}: {state}\nlaunchd  {loaded}\n", plist.display());
            write_stdout(text.as_bytes())?;
            if plist.exists() {
                Ok(())
            } else {
                Err(Failure::new(Exit::Failure, "the service is not installed")
                    .with_hint("install it with `wrs-token service install`"))
            }
        }
    }
}
