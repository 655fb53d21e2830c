//! systemd user units: `$XDG_CONFIG_HOME/systemd/user/wrs-tokend.{service,socket}`
//! and `systemctl --user`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wrs_proto::{Request, Response};
use wrs_sys::endpoint::Endpoint;
use wrs_sys::env;

use super::units::{self, SYSTEMD_SERVICE_NAME, SYSTEMD_SOCKET_NAME};
use super::{Tool, Written, daemon_path, describe, dry_run_listing, remove_if_present};
use crate::cli::ServiceCommand;
use crate::client::{self, QUICK_TIMEOUT};
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;

/// The commands that finish an install where we could not run them.
const ENABLE_COMMANDS: &str =
    "  systemctl --user daemon-reload\n  systemctl --user enable --now wrs-tokend.socket\n";

pub(super) fn run(command: &ServiceCommand) -> Result<(), Failure> {
    match command {
        ServiceCommand::Install(args) => install(args.dry_run),
        ServiceCommand::Uninstall => uninstall(),
        ServiceCommand::Status => status(),
    }
}

/// `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`.
fn unit_dir() -> Result<PathBuf, Failure> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    var("XDG_CONFIG_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".config")))
        .map(|d| d.join("systemd").join("user"))
        .ok_or_else(|| {
            Failure::new(
                Exit::Failure,
                "cannot locate the systemd user unit directory",
            )
            .with_hint("set HOME or XDG_CONFIG_HOME")
        })
}

/// The two unit files: path and content.
fn rendered(dir: &Path, daemon: &Path) -> Result<[(PathBuf, String); 2], Failure> {
    let service =
        units::systemd_service(daemon).map_err(|e| Failure::new(Exit::Failure, e.to_string()))?;
    Ok([
        (dir.join(SYSTEMD_SERVICE_NAME), service),
        (dir.join(SYSTEMD_SOCKET_NAME), units::systemd_socket()),
    ])
}

fn systemctl() -> Tool {
    Tool::new(env::SYSTEMCTL, "systemctl")
}

/// Whether the user's systemd answers; why not, when it does not.
fn manager(tool: &Tool) -> Result<(), String> {
    let out = tool.run(&["--user", "show-environment"]);
    if out.success {
        Ok(())
    } else if out.stderr.is_empty() {
        Err("`systemctl --user` failed".into())
    } else {
        Err(out.stderr)
    }
}

/// Runs `systemctl --user ARGS`; a failure fails the command.
fn must(tool: &Tool, args: &[&str], report: &mut String) -> Result<(), Failure> {
    let mut full = vec!["--user"];
    full.extend_from_slice(args);
    let out = tool.run(&full);
    let shown = format!("systemctl {}", full.join(" "));
    if !out.success {
        write_stdout(report.as_bytes())?;
        return Err(
            Failure::new(Exit::Failure, format!("`{shown}` failed: {}", out.stderr))
                .with_hint(format!("run `{shown}` yourself to see more")),
        );
    }
    report.push_str(&format!("ran: {shown}\n"));
    Ok(())
}

fn query(tool: &Tool, verb: &str, unit: &str) -> String {
    let out = tool.run(&["--user", verb, unit]);
    if out.stdout.is_empty() {
        "unknown".into()
    } else {
        out.stdout
    }
}

fn install(dry_run: bool) -> Result<(), Failure> {
    let daemon = daemon_path()?;
    let dir = unit_dir()?;
    let files = rendered(&dir, &daemon)?;
    if dry_run {
        let mut out = String::new();
        for (path, content) in &files {
            out.push_str(&dry_run_listing(path, content));
        }
        out.push_str(&format!(
            "--- then, where systemd's user manager answers, would run:\n{ENABLE_COMMANDS}\
             (dry run: nothing was written)\n"
        ));
        return write_stdout(out.as_bytes());
    }
    let mut report = String::new();
    let mut written = Vec::new();
    for (path, content) in &files {
        let w = super::write_if_changed(path, content)?;
        report.push_str(&describe(path, w));
        written.push(w);
    }
    let changed = written.iter().any(|w| *w != Written::Unchanged);
    let tool = systemctl();
    if let Err(reason) = manager(&tool) {
        report.push_str(&format!(
            "\nsystemd's user manager cannot be reached here ({reason}), so nothing was enabled.\n\
             next: in a login session of this user, run:\n{ENABLE_COMMANDS}\
             Until then wrs-token starts the daemon on demand, as before.\n"
        ));
        return write_stdout(report.as_bytes());
    }
    if changed {
        must(&tool, &["daemon-reload"], &mut report)?;
    }
    let service_active = query(&tool, "is-active", SYSTEMD_SERVICE_NAME) == "active";
    if !service_active {
        take_over_from_on_demand_daemon(&mut report);
    }
    must(
        &tool,
        &["enable", "--now", SYSTEMD_SOCKET_NAME],
        &mut report,
    )?;
    if service_active && written[0] == Written::Updated {
        must(&tool, &["try-restart", SYSTEMD_SERVICE_NAME], &mut report)?;
    }
    if std::env::var_os(env::SOCKET).is_some_and(|v| !v.is_empty()) {
        report.push_str(&format!(
            "note: {} is set, so wrs-token uses that socket rather than the service's \
             ($XDG_RUNTIME_DIR/wrs-token/agent.sock): unset it to use the service\n",
            env::SOCKET
        ));
    }
    report.push_str(
        "\nnext: nothing: systemd now starts the daemon when a wrs-token command first needs it.\n\
         Check with `wrs-token service status`.\n",
    );
    write_stdout(report.as_bytes())
}

/// A daemon started on demand holds the socket path the socket unit is about
/// to bind: systemd would replace the file, leaving that daemon running but
/// unreachable and holding the lock the service's daemon needs. Ask it to
/// stop first.
fn take_over_from_on_demand_daemon(report: &mut String) {
    let Ok(endpoint) = Endpoint::resolve_with(|k| {
        if k == env::SOCKET {
            None
        } else {
            std::env::var_os(k)
        }
    }) else {
        return;
    };
    let Ok(Some(conn)) = client::try_connect(&endpoint) else {
        return;
    };
    let pid = conn
        .peer_pid()
        .map(|p| format!(" (pid {p})"))
        .unwrap_or_default();
    match conn.call(Request::Shutdown {}, QUICK_TIMEOUT) {
        Ok(Response::ShuttingDown {}) => {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(client::try_connect(&endpoint), Ok(Some(_)))
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            report.push_str(&format!(
                "stopped the daemon started on demand{pid}, so the service's socket takes over\n"
            ));
        }
        _ => report.push_str(&format!(
            "warning: a daemon started on demand{pid} did not stop; stop it with \
             `wrs-token daemon stop`, then run `systemctl --user restart wrs-tokend.socket`\n"
        )),
    }
}

fn uninstall() -> Result<(), Failure> {
    let dir = unit_dir()?;
    let paths = [
        dir.join(SYSTEMD_SERVICE_NAME),
        dir.join(SYSTEMD_SOCKET_NAME),
    ];
    if !paths.iter().any(|p| p.exists()) {
        return write_stdout(
            format!(
                "not installed: no {SYSTEMD_SERVICE_NAME} or {SYSTEMD_SOCKET_NAME} in {}\n",
                dir.display()
            )
            .as_bytes(),
        );
    }
    let mut report = String::new();
    let tool = systemctl();
    let reachable = manager(&tool);
    match &reachable {
        Ok(()) => {
            let out = tool.run(&[
                "--user",
                "disable",
                "--now",
                SYSTEMD_SOCKET_NAME,
                SYSTEMD_SERVICE_NAME,
            ]);
            if out.success {
                report.push_str(&format!(
                    "ran: systemctl --user disable --now {SYSTEMD_SOCKET_NAME} {SYSTEMD_SERVICE_NAME}\n"
                ));
            } else {
                report.push_str(&format!(
                    "note: `systemctl --user disable --now` said: {}\n",
                    out.stderr
                ));
            }
        }
        Err(_) => {
            // What `systemctl enable` would have left behind.
            for link in [
                dir.join("sockets.target.wants").join(SYSTEMD_SOCKET_NAME),
                dir.join("default.target.wants").join(SYSTEMD_SERVICE_NAME),
            ] {
                if link.is_symlink() && remove_if_present(&link)? {
                    report.push_str(&format!("removed {}\n", link.display()));
                }
            }
        }
    }
    for path in &paths {
        if remove_if_present(path)? {
            report.push_str(&format!("removed {}\n", path.display()));
        }
    }
    match reachable {
        Ok(()) => {
            must(&tool, &["daemon-reload"], &mut report)?;
            report.push_str("\nThe service is gone; wrs-token starts the daemon on demand again.\n");
        }
        Err(reason) => report.push_str(&format!(
            "\nsystemd's user manager cannot be reached here ({reason}). If the units were \
             running in a login session, run there:\n  systemctl --user stop {SYSTEMD_SOCKET_NAME} {SYSTEMD_SERVICE_NAME}\n  systemctl --user daemon-reload\n"
        )),
    }
    write_stdout(report.as_bytes())
}

fn status() -> Result<(), Failure> {
    let dir = unit_dir()?;
    let expected = daemon_path().and_then(|d| rendered(&dir, &d)).ok();
    let mut out = String::new();
    let mut installed = false;
    for name in [SYSTEMD_SERVICE_NAME, SYSTEMD_SOCKET_NAME] {
        let path = dir.join(name);
        let want = expected
            .as_ref()
            .and_then(|files| files.iter().find(|(p, _)| *p == path))
            .map(|(_, c)| c.as_str());
        let state = match (path.exists(), want.map(|c| super::up_to_date(&path, c))) {
            (false, _) => "not installed".to_owned(),
            (true, Some(Some(true))) => "installed, up to date".to_owned(),
            (true, Some(_)) => {
                "installed, differs from what `wrs-token service install` writes now (run it again)"
                    .to_owned()
            }
            (true, None) => "installed (wrs-tokend not found to compare)".to_owned(),
        };
        installed |= path.exists();
        out.push_str(&format!("{name:<19} {}: {state}\n", path.display()));
    }
    let tool = systemctl();
    match manager(&tool) {
        Ok(()) => {
            out.push_str(&format!(
                "enabled             {}\n",
                query(&tool, "is-enabled", SYSTEMD_SOCKET_NAME)
            ));
            out.push_str(&format!(
                "active              socket {}, service {}\n",
                query(&tool, "is-active", SYSTEMD_SOCKET_NAME),
                query(&tool, "is-active", SYSTEMD_SERVICE_NAME)
            ));
        }
        Err(reason) => out.push_str(&format!(
            "enabled, active     unknown: systemd's user manager cannot be reached here ({reason})\n"
        )),
    }
    write_stdout(out.as_bytes())?;
    if installed {
        Ok(())
    } else {
        Err(Failure::new(Exit::Failure, "the service is not installed")
            .with_hint("install it with `wrs-token service install`"))
    }
}
