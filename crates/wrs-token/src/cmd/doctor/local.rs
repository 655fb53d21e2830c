//! The checks that need neither the daemon nor the network: the config file,
//! each profile, its secret store, the runtime directory and socket, the
//! scopes.
//!
//! The directories are judged by the rule the daemon and the file store
//! act on, [`wrs_sys::private_dir::verify`]: doctor fails exactly what they
//! would refuse.

use std::path::{Path, PathBuf};

use wrs_config::{Config, ConfigError, Grant, MAX_FILE_BYTES, Paths, Profile, StoreKind};
use wrs_proto::StatusReport;
use wrs_sys::endpoint::Endpoint;
use wrs_sys::env;
use wrs_sys::private_dir::{self, DirError, Unfit};

use super::Check;

/// A config file that could be read, validated or not.
pub(super) struct Loaded {
    /// Where it is.
    pub path: PathBuf,
    /// Its profiles as written (a profile that does not validate is kept,
    /// so it can be reported by name with the others).
    pub config: Config,
}

/// Reads the config file. `None` when it cannot be read or parsed at all:
/// then no profile can be checked.
pub(super) fn config(paths: Option<&Paths>, out: &mut Vec<Check>) -> Option<Loaded> {
    let Some(paths) = paths else {
        out.push(Check::fail(
            "config",
            format!(
                "cannot locate the config file: neither {}, XDG_CONFIG_HOME nor HOME is set",
                env::CONFIG
            ),
            format!("set HOME, XDG_CONFIG_HOME or {}", env::CONFIG),
        ));
        return None;
    };
    let path = paths.config_file.clone();
    if !path.exists() {
        out.push(Check::warn(
            "config",
            format!("no config file at {}: no profiles", path.display()),
            "add a profile: `wrs-token profile add NAME --issuer URL --client-id ID`",
        ));
        return Some(Loaded {
            path,
            config: Config::default(),
        });
    }
    match Config::load(&path) {
        Ok(config) => {
            let names: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
            out.push(Check::ok(
                "config",
                format!(
                    "{}: {} ({})",
                    path.display(),
                    plural(names.len(), "profile"),
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
            Some(Loaded { path, config })
        }
        Err(e @ ConfigError::Io { .. }) => {
            out.push(Check::fail(
                "config",
                e.to_string(),
                format!(
                    "check the file's owner and permissions, or point {} at another file",
                    env::CONFIG
                ),
            ));
            None
        }
        Err(ConfigError::Parse {
            path: file,
            line,
            column,
            near,
            message,
        }) => {
            let near = near.map(|n| format!(" (in `{n}`)")).unwrap_or_default();
            out.push(Check::fail(
                "config",
                format!(
                    "{}:{line}:{column}: {message}{near}",
                    file.display()
                ),
                format!(
                    "edit {} at line {line}: `wrs-token profile add --help` lists the keys a profile takes",
                    file.display()
                ),
            ));
            None
        }
        // It parses; what is wrong is reported per profile (or for the
        // default) below, with the other profiles still checked.
        Err(e @ (ConfigError::Invalid { .. } | ConfigError::UnknownDefault { .. })) => {
            // Read as `Config::load` just did: a regular file, 1 MiB at most.
            let text = wrs_config::read_regular_file(&path, MAX_FILE_BYTES)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_default();
            let Ok(config) = toml::from_str::<Config>(&text) else {
                out.push(Check::fail(
                    "config",
                    e.to_string(),
                    format!("edit {}", path.display()),
                ));
                return None;
            };
            if let ConfigError::UnknownDefault { name, .. } = &e {
                out.push(Check::fail(
                    "config",
                    format!(
                        "{}: `default` names {name:?}, which is not a profile",
                        path.display()
                    ),
                    "choose one: `wrs-token profile set-default NAME` (see `wrs-token profile list`)",
                ));
            } else {
                out.push(Check::ok(
                    "config",
                    format!(
                        "{}: parses ({})",
                        path.display(),
                        plural(config.profiles.len(), "profile")
                    ),
                ));
            }
            Some(Loaded { path, config })
        }
    }
}

/// Validates the profiles to check (`only`, or all); returns the valid ones.
pub(super) fn profiles(
    loaded: &Loaded,
    only: Option<&str>,
    out: &mut Vec<Check>,
) -> Vec<(String, Profile)> {
    let path = loaded.path.display();
    let selected: Vec<(&String, &Profile)> = match only {
        Some(name) => match loaded.config.profiles.get_key_value(name) {
            Some(pair) => vec![pair],
            None => {
                out.push(Check::fail(
                    format!("profile {name}"),
                    format!("no profile named {name:?} in {path}"),
                    "see `wrs-token profile list`, or add it with `wrs-token profile add`",
                ));
                return Vec::new();
            }
        },
        None => loaded.config.profiles.iter().collect(),
    };
    let mut valid = Vec::new();
    for (name, profile) in selected {
        match profile.validate(name) {
            Ok(()) => {
                out.push(Check::ok(
                    format!("profile {name}"),
                    format!("{} grant, {}", grant_name(profile.grant), profile.server()),
                ));
                valid.push((name.clone(), profile.clone()));
            }
            Err(e) => out.push(Check::fail(
                format!("profile {name}"),
                e.to_string(),
                format!(
                    "edit [profiles.{name}] in {path}, or replace it with `wrs-token profile add {name} --force …`"
                ),
            )),
        }
    }
    valid
}

fn grant_name(grant: Grant) -> &'static str {
    match grant {
        Grant::Code => "code",
        Grant::Device => "device",
        Grant::ClientCredentials => "client-credentials",
    }
}

/// The fix for a profile whose store cannot work here.
fn other_store_fix(name: &str, config_path: &Path) -> String {
    format!(
        "make a Secret Service reachable (a desktop session with gnome-keyring or KWallet), \
         or keep this profile's secrets elsewhere: set store = \"file\" (plaintext, 0600) or \
         store = \"memory\" (lost when the daemon stops) under [profiles.{name}] in {}, \
         or re-add it with `wrs-token profile add {name} … --store file|memory --force`",
        config_path.display()
    )
}

/// The profile's secret store: whether it can work on this machine, and
/// what the daemon says about it when it runs.
pub(super) fn store(
    name: &str,
    profile: &Profile,
    paths: Option<&Paths>,
    report: Option<&StatusReport>,
    config_path: &Path,
    out: &mut Vec<Check>,
) {
    let check = format!("{name}: secret store");
    // The daemon has actually used the store: its word wins.
    let daemon_error = report
        .and_then(|r| r.profiles.iter().find(|p| p.name == name))
        .and_then(|p| p.last_error.as_deref())
        .filter(|e| {
            let e = e.to_ascii_lowercase();
            e.contains("keyring") || e.contains("secret service") || e.contains("store")
        });
    if let Some(error) = daemon_error {
        // A locked keyring holds the secrets still: unlocking is the fix,
        // moving them elsewhere is not.
        let fix = if error.contains("locked") {
            format!(
                "unlock the keyring (log in to the desktop session, or open the keyring manager); \
                 the stored token is kept and `wrs-token print -p {name}` works again once it is unlocked"
            )
        } else {
            other_store_fix(name, config_path)
        };
        out.push(Check::fail(
            check,
            format!("the daemon reports: {error}"),
            fix,
        ));
        return;
    }
    match profile.store {
        StoreKind::Keyring => out.push(keyring(&check, name, config_path)),
        StoreKind::Memory => {
            let detail = match profile.grant {
                Grant::ClientCredentials => {
                    "memory: the client secret lives in the daemon only; set it again after a daemon restart"
                }
                _ => "memory: tokens live in the daemon only; log in again after a daemon restart",
            };
            out.push(Check::ok(check, detail));
        }
        StoreKind::File => {
            let Some(paths) = paths else {
                out.push(Check::fail(
                    check,
                    "file: cannot locate the data directory",
                    "set HOME or XDG_DATA_HOME",
                ));
                return;
            };
            let dir = paths.data_dir.join("secrets");
            match private_dir::verify(&dir) {
                Err(DirError::Unfit { why, .. }) => out.push(Check::fail(
                    check,
                    format!(
                        "file: {} {why}: the file store refuses to keep secrets there",
                        dir.display()
                    ),
                    directory_fix(why, &dir),
                )),
                Err(e @ DirError::Io { .. }) if !e.is_missing() => out.push(Check::fail(
                    check,
                    format!("file: {e}"),
                    "check the permissions of its parent directory",
                )),
                // Missing: the store creates it, owner-only.
                _ => out.push(Check::ok(
                    check,
                    format!(
                        "file: {} (plaintext, owner-only)",
                        dir.join(format!("{name}.json")).display()
                    ),
                )),
            }
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn keyring(check: &str, name: &str, config_path: &Path) -> Check {
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty());
    // Without the variable, D-Bus libraries (zbus too) fall back to the
    // per-user bus socket systemd provides.
    let fallback = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("bus"))
        .filter(|p| p.exists());
    match (address, fallback) {
        (Some(a), _) => Check::ok(
            check,
            format!("keyring: Secret Service over the D-Bus session bus ({a})"),
        ),
        (None, Some(bus)) => Check::ok(
            check,
            format!(
                "keyring: Secret Service over the D-Bus session bus ({})",
                bus.display()
            ),
        ),
        (None, None) => Check::fail(
            check,
            "keyring: no D-Bus session bus here (DBUS_SESSION_BUS_ADDRESS is not set and there \
             is no $XDG_RUNTIME_DIR/bus), so no Secret Service can keep the refresh token",
            other_store_fix(name, config_path),
        ),
    }
}

#[cfg(target_os = "macos")]
fn keyring(check: &str, _name: &str, _config_path: &Path) -> Check {
    Check::ok(check, "keyring: the login Keychain")
}

#[cfg(not(unix))]
fn keyring(check: &str, _name: &str, _config_path: &Path) -> Check {
    Check::ok(check, "keyring: Windows Credential Manager")
}

/// Code and device profiles without `offline_access`.
pub(super) fn scopes(name: &str, profile: &Profile, out: &mut Vec<Check>) {
    if profile.grant == Grant::ClientCredentials {
        return;
    }
    let check = format!("{name}: scopes");
    if profile.scopes.iter().any(|s| s == "offline_access") {
        out.push(Check::ok(
            check,
            format!("{} (asks for a refresh token)", profile.scopes.join(" ")),
        ));
    } else {
        let asked = if profile.scopes.is_empty() {
            "no scopes".to_owned()
        } else {
            profile.scopes.join(" ")
        };
        out.push(Check::warn(
            check,
            format!(
                "{asked}: no `offline_access`. Many servers (oidc-provider among them) issue no \
                 refresh token without it, so you would log in again whenever the access token \
                 expires; PingFederate issues refresh tokens by client policy, so it may be fine there"
            ),
            format!(
                "if `wrs-token status` shows {name} needing login after each expiry, add the scope: \
                 `wrs-token profile add {name} … --scope offline_access --force` (or add \"offline_access\" to scopes in the config file)"
            ),
        ));
    }
}

/// The runtime directory, judged by the daemon's own rule (exactly 0700,
/// ours, not a symbolic link), and the socket in it (0600, ours).
pub(super) fn runtime_dir(endpoint: &Endpoint, out: &mut Vec<Check>) {
    let dir = &endpoint.dir;
    match private_dir::verify(dir) {
        Ok(()) => out.push(Check::ok(
            "runtime dir",
            format!("{}: mode 0700, owned by you", dir.display()),
        )),
        Err(e) if e.is_missing() => {
            out.push(Check::ok(
                "runtime dir",
                format!(
                    "{} does not exist yet (the daemon creates it, owner-only)",
                    dir.display()
                ),
            ));
            return;
        }
        Err(DirError::Unfit { why, .. }) => out.push(Check::fail(
            "runtime dir",
            format!("{} {why}: the daemon refuses it", dir.display()),
            directory_fix(why, dir),
        )),
        Err(e @ DirError::Io { .. }) => {
            out.push(Check::fail(
                "runtime dir",
                e.to_string(),
                format!(
                    "check the permissions of its parent directory, or set {}",
                    env::SOCKET
                ),
            ));
            return;
        }
    }
    socket(&endpoint.socket, out);
}

/// What to do about a directory the daemon or the file store refuses.
fn directory_fix(why: Unfit, dir: &Path) -> String {
    match why {
        Unfit::NotPrivate { .. } | Unfit::Writable { .. } => format!(
            "chmod 700 {0} (or, if it is not yours, remove it and let it be recreated: rm -r {0})",
            dir.display()
        ),
        Unfit::Owner { .. } => format!(
            "{} is not yours: have its owner or root remove it, or set {} (for the socket) \
             or XDG_DATA_HOME (for the file store) to a place of your own",
            dir.display(),
            env::SOCKET
        ),
        Unfit::Symlink | Unfit::NotADirectory => format!(
            "remove {} (if it is yours) and let it be created as a real directory",
            dir.display()
        ),
    }
}

#[cfg(unix)]
fn socket(path: &Path, out: &mut Vec<Check>) {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.push(Check::ok(
                "socket",
                format!("{}: none (no daemon is listening)", path.display()),
            ));
            return;
        }
        Err(e) => {
            out.push(Check::fail(
                "socket",
                format!("{}: {e}", path.display()),
                format!("set {} to a path in a directory of your own", env::SOCKET),
            ));
            return;
        }
        Ok(m) => m,
    };
    if !meta.file_type().is_socket() {
        out.push(Check::fail(
            "socket",
            format!("{} exists but is not a socket", path.display()),
            format!(
                "remove it (rm {}) and let the daemon create its socket",
                path.display()
            ),
        ));
        return;
    }
    let me = wrs_sys::our_uid();
    let mode = meta.mode() & 0o777;
    if meta.uid() != me {
        out.push(Check::fail(
            "socket",
            format!(
                "{} belongs to uid {}, not to you (uid {me})",
                path.display(),
                meta.uid()
            ),
            format!("set {} to a path in a directory of your own", env::SOCKET),
        ));
    } else if mode & 0o077 != 0 {
        out.push(Check::fail(
            "socket",
            format!(
                "{}: mode {mode:04o}, other users may connect",
                path.display()
            ),
            format!(
                "chmod 600 {} (the daemon normally creates it so; restart it: `wrs-token daemon stop`)",
                path.display()
            ),
        ));
    } else {
        out.push(Check::ok(
            "socket",
            format!("{}: mode {mode:04o}, owned by you", path.display()),
        ));
    }
}

#[cfg(not(unix))]
fn socket(path: &Path, out: &mut Vec<Check>) {
    // A named pipe: its ACL admits only our user, set by the daemon.
    out.push(Check::ok(
        "socket",
        format!("{} (a named pipe for your user only)", path.display()),
    ));
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_profile(scopes: &[&str]) -> Profile {
        Profile {
            issuer: Some("https://sso.example.com".into()),
            client_id: "c".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn missing_offline_access_is_a_hint_for_code_and_device_only() {
        let mut out = Vec::new();
        scopes("plm", &code_profile(&["openid"]), &mut out);
        assert_eq!(out[0].status, super::super::Status::Warn);
        assert!(out[0].detail.contains("PingFederate"), "{}", out[0].detail);
        let mut out = Vec::new();
        scopes(
            "plm",
            &code_profile(&["openid", "offline_access"]),
            &mut out,
        );
        assert_eq!(out[0].status, super::super::Status::Ok);
        let mut out = Vec::new();
        let cc = Profile {
            grant: Grant::ClientCredentials,
            ..code_profile(&[])
        };
        scopes("ci", &cc, &mut out);
        assert!(out.is_empty(), "no refresh tokens with client credentials");
    }

    #[cfg(unix)]
    #[test]
    fn a_runtime_dir_open_to_others_fails_and_says_chmod() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wrs-token");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let endpoint = Endpoint::at(dir.join("agent.sock")).unwrap();
        let mut out = Vec::new();
        runtime_dir(&endpoint, &mut out);
        assert_eq!(out[0].status, super::super::Status::Fail, "{out:?}");
        assert!(out[0].detail.contains("0755"), "{out:?}");
        assert!(out[0].fix.as_deref().unwrap().contains("chmod 700"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut out = Vec::new();
        runtime_dir(&endpoint, &mut out);
        assert!(
            out.iter().all(|c| c.status == super::super::Status::Ok),
            "{out:?}"
        );
    }

    /// Regression: doctor passed a runtime directory whenever group and
    /// others had no bits (`mode & 0o077 == 0`), while the daemon refuses
    /// anything but exactly 0700: a sticky, setgid or read-only directory
    /// was "ok" here and refused at start. Now both ask one rule, and
    /// doctor fails exactly what the daemon refuses.
    #[cfg(unix)]
    #[test]
    fn the_runtime_dir_fails_exactly_when_the_daemon_would_refuse_it() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wrs-token");
        std::fs::create_dir(&dir).unwrap();
        let endpoint = Endpoint::at(dir.join("agent.sock")).unwrap();
        for mode in [0o700, 0o1700, 0o2700, 0o500, 0o711, 0o750, 0o755] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let mut out = Vec::new();
            runtime_dir(&endpoint, &mut out);
            let daemon_refuses = private_dir::ensure(&dir).is_err();
            assert_eq!(
                out[0].status == super::super::Status::Fail,
                daemon_refuses,
                "{mode:04o}: {out:?}"
            );
            assert_eq!(daemon_refuses, mode != 0o700, "{mode:04o}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_store_directory_the_store_would_refuse_fails() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths {
            config_file: tmp.path().join("config.toml"),
            data_dir: tmp.path().join("data"),
            keyring_namespace: None,
        };
        let profile = Profile {
            store: StoreKind::File,
            ..code_profile(&["openid"])
        };
        let check = |out: &mut Vec<Check>| {
            store("plm", &profile, Some(&paths), None, Path::new("c"), out);
        };
        let mut out = Vec::new();
        check(&mut out);
        assert_eq!(out[0].status, super::super::Status::Ok, "missing: {out:?}");
        let secrets = paths.data_dir.join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o1700)).unwrap();
        let mut out = Vec::new();
        check(&mut out);
        assert_eq!(out[0].status, super::super::Status::Fail, "{out:?}");
        assert!(out[0].detail.contains("1700"), "{out:?}");
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut out = Vec::new();
        check(&mut out);
        assert_eq!(out[0].status, super::super::Status::Ok, "{out:?}");
    }
}
