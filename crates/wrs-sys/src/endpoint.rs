//! Where the daemon listens, so that no `eval $(…)` step is ever needed.
//!
//! | platform | socket |
//! | --- | --- |
//! | Linux | `$XDG_RUNTIME_DIR/wrs-token/agent.sock`, else `<tmp>/wrs-token-<uid>/agent.sock` |
//! | macOS | `<per-user cache dir>/agent.sock` |
//! | Windows | the named pipe `\\.\pipe\wrs-token-<user>` |
//!
//! `WRS_TOKEN_SOCKET` ([`env::SOCKET`]) overrides the path everywhere. The
//! lock file that keeps a second daemon out sits beside the socket.
//!
//! Asked by the daemon (where to bind), the client (where to connect and
//! which daemon to start), `wrs-token doctor` and `service`, and the test
//! kit. Path policy of this machine, not wire: the wire crate knows
//! nothing of it.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::env;

/// Where one user's daemon lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The socket path (a pipe path on Windows).
    pub socket: PathBuf,
    /// The private directory holding the socket and lock (0700 on Unix).
    pub dir: PathBuf,
    /// The lock file held by the running daemon.
    pub lock: PathBuf,
}

/// The endpoint could not be determined.
#[derive(Debug)]
pub enum EndpointError {
    /// No usable directory for the socket.
    NoDirectory,
    /// The override is not a usable path.
    BadOverride(OsString),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::NoDirectory => write!(
                f,
                "cannot find a directory for the daemon socket; set {}",
                env::SOCKET
            ),
            EndpointError::BadOverride(value) => write!(
                f,
                "{} must be an absolute path with a parent directory, got {value:?}",
                env::SOCKET
            ),
        }
    }
}

impl std::error::Error for EndpointError {}

impl Endpoint {
    /// The endpoint for this process's user and environment.
    pub fn resolve() -> Result<Endpoint, EndpointError> {
        Self::resolve_with(|key| std::env::var_os(key))
    }

    /// As [`Endpoint::resolve`], reading variables through `env` (for tests).
    pub fn resolve_with(env: impl Fn(&str) -> Option<OsString>) -> Result<Endpoint, EndpointError> {
        if let Some(value) = env(env::SOCKET).filter(|v| !v.is_empty()) {
            return Self::from_override(value);
        }
        platform::default_endpoint(&env)
    }

    /// An endpoint at an explicit socket path (`--socket`, `WRS_TOKEN_SOCKET`).
    pub fn at(socket: impl Into<PathBuf>) -> Result<Endpoint, EndpointError> {
        Self::from_override(socket.into().into_os_string())
    }

    fn from_override(value: OsString) -> Result<Endpoint, EndpointError> {
        let socket = PathBuf::from(&value);
        let dir = match socket.parent() {
            Some(p) if !p.as_os_str().is_empty() && socket.is_absolute() => p.to_path_buf(),
            _ => return Err(EndpointError::BadOverride(value)),
        };
        let mut lock = socket.clone().into_os_string();
        lock.push(".lock");
        Ok(Endpoint {
            socket,
            dir,
            lock: PathBuf::from(lock),
        })
    }

    fn in_dir(dir: PathBuf) -> Endpoint {
        Endpoint {
            socket: dir.join("agent.sock"),
            lock: dir.join("agent.lock"),
            dir,
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
mod platform {
    use super::*;

    pub(super) fn default_endpoint(
        env: &impl Fn(&str) -> Option<OsString>,
    ) -> Result<Endpoint, EndpointError> {
        if let Some(runtime) = env("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
            let runtime = PathBuf::from(runtime);
            if runtime.is_absolute() {
                return Ok(Endpoint::in_dir(runtime.join("wrs-token")));
            }
        }
        // No runtime dir (a cron job, a container): a per-uid directory under
        // the temp dir, which the daemon creates 0700 and verifies it owns.
        let uid = rustix::process::getuid().as_raw();
        let tmp = env("TMPDIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        Ok(Endpoint::in_dir(tmp.join(format!("wrs-token-{uid}"))))
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    pub(super) fn default_endpoint(
        _env: &impl Fn(&str) -> Option<OsString>,
    ) -> Result<Endpoint, EndpointError> {
        // macOS has no XDG runtime dir; the per-user cache dir is private to
        // the user and short enough for the 104-byte socket path limit.
        let dirs = directories::ProjectDirs::from("", "", "wrs-token")
            .ok_or(EndpointError::NoDirectory)?;
        Ok(Endpoint::in_dir(dirs.cache_dir().to_path_buf()))
    }
}

#[cfg(windows)]
mod platform {
    use super::*;

    pub(super) fn default_endpoint(
        env: &impl Fn(&str) -> Option<OsString>,
    ) -> Result<Endpoint, EndpointError> {
        let user = env("USERNAME")
            .and_then(|u| u.into_string().ok())
            .unwrap_or_else(|| "user".into());
        let user: String = user
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dirs = directories::ProjectDirs::from("", "", "wrs-token")
            .ok_or(EndpointError::NoDirectory)?;
        let dir = dirs.data_local_dir().to_path_buf();
        Ok(Endpoint {
            socket: PathBuf::from(format!(r"\\.\pipe\wrs-token-{user}")),
            lock: dir.join("agent.lock"),
            dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn override_wins_and_puts_the_lock_beside_the_socket() {
        let ep = Endpoint::resolve_with(env_of(&[
            (env::SOCKET, "/run/x/my.sock"),
            ("XDG_RUNTIME_DIR", "/run/user/1"),
        ]))
        .unwrap();
        assert_eq!(ep.socket, PathBuf::from("/run/x/my.sock"));
        assert_eq!(ep.dir, PathBuf::from("/run/x"));
        assert_eq!(ep.lock, PathBuf::from("/run/x/my.sock.lock"));
    }

    #[test]
    fn relative_override_is_refused() {
        assert!(matches!(
            Endpoint::resolve_with(env_of(&[(env::SOCKET, "agent.sock")])),
            Err(EndpointError::BadOverride(_))
        ));
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn linux_uses_the_runtime_dir_then_a_per_uid_temp_dir() {
        let ep = Endpoint::resolve_with(env_of(&[("XDG_RUNTIME_DIR", "/run/user/1000")])).unwrap();
        assert_eq!(
            ep.socket,
            PathBuf::from("/run/user/1000/wrs-token/agent.sock")
        );
        assert_eq!(
            ep.lock,
            PathBuf::from("/run/user/1000/wrs-token/agent.lock")
        );
        let ep = Endpoint::resolve_with(env_of(&[("TMPDIR", "/var/tmp")])).unwrap();
        let uid = rustix::process::getuid().as_raw();
        assert_eq!(ep.dir, PathBuf::from(format!("/var/tmp/wrs-token-{uid}")));
    }
}
