//! `wrs-token service install|uninstall|status` with the real binaries, in
//! an isolated HOME and XDG_CONFIG_HOME, and the unit files it writes
//! checked by systemd itself (`systemd-analyze verify`, installed by
//! scripts/setup-test-env).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use wrs_testkit::{bin, describe, stdout};

/// A home of its own, a runtime dir without a user bus, no systemd user
/// manager: what a container or CI job has.
struct Home {
    root: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let root = tempfile::Builder::new()
            .prefix("wrs-svc-")
            .tempdir_in("/tmp")
            .unwrap();
        for sub in ["home", "config", "run"] {
            std::fs::create_dir(root.path().join(sub)).unwrap();
        }
        std::fs::set_permissions(
            root.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        Home { root }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.root.path().join(sub)
    }

    fn unit_dir(&self) -> PathBuf {
        self.path("config/systemd/user")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(bin("wrs-token"));
        cmd.env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            // No session bus, so `systemctl --user` cannot reach a manager.
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove(wrs_sys::env::SYSTEMCTL)
            .env_remove(wrs_sys::env::SOCKET)
            // Found beside wrs-token, as for an installed pair.
            .env_remove(wrs_sys::env::TOKEND)
            .stdin(Stdio::null());
        cmd
    }

    fn service(&self, args: &[&str]) -> Output {
        self.command().arg("service").args(args).output().unwrap()
    }
}

fn real_daemon() -> PathBuf {
    std::fs::canonicalize(bin("wrs-tokend")).unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn installed_units_pass_systemd_analyze_verify_and_keep_their_hardening() {
    let home = Home::new();
    let out = home.service(&["install"]);
    assert!(out.status.success(), "{}", describe(&out));
    let service = home.unit_dir().join("wrs-tokend.service");
    let socket = home.unit_dir().join("wrs-tokend.socket");
    let service_text = read(&service);
    let socket_text = read(&socket);
    let exec = format!("ExecStart={} --foreground", real_daemon().display());
    assert!(
        service_text.lines().any(|l| l == exec),
        "{exec:?} not in\n{service_text}"
    );
    for key in [
        "Type=notify",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    ] {
        assert!(service_text.lines().any(|l| l == key), "{key} missing");
    }
    for key in ["SocketMode=0600", "DirectoryMode=0700"] {
        assert!(socket_text.lines().any(|l| l == key), "{key} missing");
    }

    // `--user` needs a runtime dir of its own ("Failed to initialize
    // manager" without one): the temp 0700 one.
    let analyze = Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(&service)
        .arg(&socket)
        .env("XDG_RUNTIME_DIR", home.path("run"))
        .env("HOME", home.path("home"))
        .env("XDG_CONFIG_HOME", home.path("config"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect(
            "systemd-analyze is missing: run scripts/setup-test-env (Debian package `systemd`)",
        );
    let complaints = String::from_utf8_lossy(&analyze.stderr);
    assert!(analyze.status.success(), "{}", describe(&analyze));
    assert!(
        !complaints.contains("Unknown") && !complaints.contains("ignoring"),
        "systemd ignores part of the units:\n{complaints}"
    );
}

#[test]
fn dry_run_prints_the_files_and_commands_and_writes_nothing() {
    let home = Home::new();
    let out = home.service(&["install", "--dry-run"]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    for needle in [
        format!(
            "--- {}",
            home.unit_dir().join("wrs-tokend.service").display()
        ),
        format!(
            "--- {}",
            home.unit_dir().join("wrs-tokend.socket").display()
        ),
        format!("ExecStart={} --foreground", real_daemon().display()),
        "ListenStream=%t/wrs-token/agent.sock".into(),
        "systemctl --user enable --now wrs-tokend.socket".into(),
        "nothing was written".into(),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in\n{text}");
    }
    assert!(
        !home.path("config/systemd").exists(),
        "a dry run wrote files"
    );
}

#[test]
fn without_xdg_config_home_units_go_to_dot_config_in_home() {
    let home = Home::new();
    let out = home
        .command()
        .env_remove("XDG_CONFIG_HOME")
        .args(["service", "install"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        home.path("home/.config/systemd/user/wrs-tokend.socket")
            .is_file()
    );
}

#[test]
fn install_without_a_user_manager_is_idempotent_and_uninstall_removes_everything() {
    let home = Home::new();
    let first = home.service(&["install"]);
    assert!(first.status.success(), "{}", describe(&first));
    let text = stdout(&first);
    assert!(text.contains("wrote "), "{text}");
    // No bus: says so and prints exactly what to run later.
    assert!(
        text.contains("nothing was enabled")
            && text.contains(
                "  systemctl --user daemon-reload\n  systemctl --user enable --now wrs-tokend.socket\n"
            ),
        "{text}"
    );

    let again = home.service(&["install"]);
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(
        stdout(&again)
            .matches("already installed, up to date")
            .count(),
        2,
        "{}",
        describe(&again)
    );

    // A hand-edited (or stale) unit is rewritten, the other left alone.
    let service = home.unit_dir().join("wrs-tokend.service");
    std::fs::write(&service, "[Service]\nExecStart=/old/wrs-tokend\n").unwrap();
    let repair = home.service(&["install"]);
    let text = stdout(&repair);
    assert!(
        text.contains(&format!("updated {}", service.display())),
        "{text}"
    );
    assert_eq!(
        text.matches("already installed, up to date").count(),
        1,
        "{text}"
    );
    assert!(read(&service).contains(&real_daemon().display().to_string()));

    let status = home.service(&["status"]);
    assert!(status.status.success(), "{}", describe(&status));
    let text = stdout(&status);
    assert_eq!(text.matches("installed, up to date").count(), 2, "{text}");
    assert!(text.contains("unknown"), "{text}");

    // What `systemctl --user enable` leaves behind goes too.
    let wants = home.unit_dir().join("sockets.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink(
        home.unit_dir().join("wrs-tokend.socket"),
        wants.join("wrs-tokend.socket"),
    )
    .unwrap();
    let gone = home.service(&["uninstall"]);
    assert!(gone.status.success(), "{}", describe(&gone));
    for name in ["wrs-tokend.service", "wrs-tokend.socket"] {
        assert!(!home.unit_dir().join(name).exists(), "{name} left behind");
    }
    assert!(!wants.join("wrs-tokend.socket").is_symlink());

    let status = home.service(&["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", describe(&status));
    assert!(stdout(&status).contains("not installed"));
    let twice = home.service(&["uninstall"]);
    assert!(twice.status.success(), "{}", describe(&twice));
    assert!(stdout(&twice).contains("not installed"));
}

#[test]
fn with_a_user_manager_install_reloads_and_enables_the_socket_and_uninstall_disables_it() {
    let home = Home::new();
    // A systemctl that answers like a reachable user manager and logs calls.
    let log = home.path("systemctl.log");
    let fake = home.path("systemctl");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$2\" in is-active) echo inactive; exit 3;; is-enabled) echo enabled;; esac\nexit 0\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| {
        let out = home
            .command()
            .env(wrs_sys::env::SYSTEMCTL, &fake)
            .arg("service")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        std::fs::write(&log, "").unwrap();
        (stdout(&out), calls)
    };

    let (text, calls) = run(&["install"]);
    assert!(calls.contains("--user daemon-reload\n"), "{calls}");
    assert!(
        calls.contains("--user enable --now wrs-tokend.socket\n"),
        "{calls}"
    );
    assert!(
        text.contains("ran: systemctl --user enable --now wrs-tokend.socket"),
        "{text}"
    );

    // Unchanged files: no reload needed, enabling again is harmless.
    let (text, calls) = run(&["install"]);
    assert!(!calls.contains("daemon-reload"), "{calls}");
    assert!(calls.contains("enable --now wrs-tokend.socket"), "{calls}");
    assert!(text.contains("already installed, up to date"), "{text}");

    let (text, _) = run(&["status"]);
    assert!(text.contains("enabled             enabled"), "{text}");
    assert!(text.contains("socket inactive, service inactive"), "{text}");

    let (_, calls) = run(&["uninstall"]);
    assert!(
        calls.contains("--user disable --now wrs-tokend.socket wrs-tokend.service\n"),
        "{calls}"
    );
    assert!(calls.contains("--user daemon-reload\n"), "{calls}");
    assert!(!home.unit_dir().join("wrs-tokend.service").exists());
}
