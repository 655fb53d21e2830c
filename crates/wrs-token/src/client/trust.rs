//! Whether whoever answers on the socket is our own daemon, checked before
//! the client sends a byte.
//!
//! Without `XDG_RUNTIME_DIR` (cron, ssh without pam_systemd, containers)
//! the socket sits under the shared temp dir, where any local user can
//! create `wrs-token-<uid>/` first and listen in it. The daemon refuses
//! such a directory, but a client that connected anyway would hand that
//! user a refresh token, a client secret or a pasted code URL, show its
//! login URL and print its token. So every connection ([`super::try_connect`])
//! passes two checks:
//!
//! 1. Before connecting: the socket's directory, when it exists, is a real
//!    directory (not a symbolic link) owned by our effective uid and not
//!    writable by group or others ([`wrs_sys::private_dir::check_socket_dir`]).
//!    Then nobody else can have put a socket there. A missing directory
//!    means nobody listens (autostart lets the daemon create it, 0700).
//! 2. After connecting, before writing: the listening process's effective
//!    uid (`SO_PEERCRED` / `getpeereid`) is ours. Root's daemon is not ours
//!    either, and a socket file moved into our directory by someone who may
//!    (root) still reports the credentials of whoever listens on it.
//!
//! The directory rule is looser than the daemon's own (exactly 0700 for the
//! directory it creates, `wrs_sys::private_dir::ensure`) on purpose: the
//! client's question is "could someone else have planted this socket", and
//! a 0755 directory of ours (where ssh forwards a socket named by
//! `WRS_TOKEN_SOCKET`, say) answers no just as well. Both rules live side by
//! side in `wrs_sys::private_dir`, which says why. An ssh-forwarded socket
//! passes both checks without an exception: its directory is the user's own
//! and sshd listens as the user.
//!
//! Windows: a no-op. The daemon's named pipe admits only its own user and
//! no remote clients, and another user cannot create a pipe of that name
//! first without the daemon failing to start.

use std::io;
use std::path::{Path, PathBuf};

use interprocess::local_socket::Stream;
use wrs_sys::env;
use wrs_sys::private_dir::{DirError, Unfit};

/// Why we will not talk to whoever answers on the socket. Nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum Distrust {
    /// The socket's directory fails the client's rule: a symbolic link
    /// (where it points decides who could have put the socket there, and
    /// that can change under us), not a directory, another user's (who may
    /// have put any socket there), or writable by group or others.
    #[error("its directory {} {why}", dir.display())]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// How it fails.
        why: Unfit,
    },
    /// The directory could not be inspected, so it cannot be vouched for.
    #[error("cannot inspect its directory {}: {source}", dir.display())]
    Inspect {
        /// The directory.
        dir: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The process listening on the socket runs as another user.
    #[error("the process listening on it runs as uid {peer}, not as you (uid {ours})")]
    ForeignPeer {
        /// The listener's effective uid.
        peer: u32,
        /// Our effective uid.
        ours: u32,
    },
    /// The OS would not say who listens (e.g. a listener in another pid
    /// namespace); an unknown peer is not ours.
    #[error("cannot tell which user listens on it: {reason}")]
    UnknownPeer {
        /// What went wrong.
        reason: String,
    },
}

impl Distrust {
    /// What the user can do about it; `socket` is the path we refused.
    pub fn hint(&self, socket: &Path) -> String {
        let private = format!(
            "or use a private place: set XDG_RUNTIME_DIR to a directory only you can \
             write, or {} (--socket) to a socket path in one",
            env::SOCKET
        );
        match self {
            Distrust::Directory { dir, why } => match why {
                Unfit::Symlink | Unfit::NotADirectory => {
                    format!("remove {} if it is yours, {private}", dir.display())
                }
                Unfit::Owner { .. } => format!(
                    "{} is not yours: have its owner or root remove it, {private}",
                    dir.display()
                ),
                Unfit::Writable { .. } | Unfit::NotPrivate { .. } => format!(
                    "if {0} is yours and meant for wrs-token, check that no one else's socket is in it \
                     and run `chmod 700 {0}`; {private}",
                    dir.display()
                ),
            },
            Distrust::Inspect { .. } => format!("check the permissions of its parent, {private}"),
            Distrust::ForeignPeer { .. } | Distrust::UnknownPeer { .. } => format!(
                "another user's process answers there: remove {} (as its owner or root), {private}",
                socket.display()
            ),
        }
    }
}

/// Check 1: the directory of `socket` is ours and only we can write to it,
/// or it does not exist (then nobody listens): the rule of
/// [`wrs_sys::private_dir::check_socket_dir`]. Call before connecting.
pub fn check_directory(socket: &Path) -> Result<(), Distrust> {
    wrs_sys::private_dir::check_socket_dir(socket).map_err(|e| match e {
        DirError::Unfit { dir, why } => Distrust::Directory { dir, why },
        DirError::Io { dir, source, .. } => Distrust::Inspect { dir, source },
    })
}

/// Check 2: the process listening at the other end of `stream` runs as our
/// effective uid. Call after connecting, before writing anything.
pub fn check_peer(stream: &Stream) -> Result<(), Distrust> {
    platform::check_peer(stream)
}

/// The verdict on the listener's effective uid (`None`: the OS did not say).
pub fn judge_peer(peer: Option<u32>, ours: u32) -> Result<(), Distrust> {
    match peer {
        Some(peer) if peer == ours => Ok(()),
        Some(peer) => Err(Distrust::ForeignPeer { peer, ours }),
        None => Err(Distrust::UnknownPeer {
            reason: "the OS reports no user id for it".into(),
        }),
    }
}

#[cfg(unix)]
mod platform {
    use interprocess::local_socket::Stream;
    use interprocess::local_socket::traits::StreamCommon as _;
    use wrs_sys::our_uid;

    use super::{Distrust, judge_peer};

    pub(super) fn check_peer(stream: &Stream) -> Result<(), Distrust> {
        // SO_PEERCRED (Linux) records the listener's credentials at its
        // listen(); getpeereid (BSD, macOS) the same. Neither can be faked by
        // the listener, nor changed by renaming the socket file.
        let creds = stream.peer_creds().map_err(|e| Distrust::UnknownPeer {
            reason: e.to_string(),
        })?;
        judge_peer(creds.euid(), our_uid())
    }
}

#[cfg(not(unix))]
mod platform {
    use interprocess::local_socket::Stream;

    use super::Distrust;

    pub(super) fn check_peer(_stream: &Stream) -> Result<(), Distrust> {
        // The daemon's pipe admits only its own user; see the module doc.
        Ok(())
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn private_dir() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wrs-token");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        (tmp, dir)
    }

    #[test]
    fn a_private_directory_of_ours_is_trusted() {
        let (_tmp, dir) = private_dir();
        check_directory(&dir.join("agent.sock")).unwrap();
        // Not writable by others is enough: an ssh-forwarded socket's
        // directory is often 0755.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        check_directory(&dir.join("agent.sock")).unwrap();
    }

    #[test]
    fn a_missing_directory_means_nobody_listens_not_distrust() {
        let tmp = tempfile::tempdir().unwrap();
        check_directory(&tmp.path().join("absent/agent.sock")).unwrap();
    }

    // The rule itself (which owners and modes pass) is tested in wrs-sys
    // (private_dir); these pin the client's wiring and wording.

    #[test]
    fn a_world_writable_directory_of_ours_is_refused_with_its_mode() {
        let (_tmp, dir) = private_dir();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_directory(&dir.join("agent.sock")).unwrap_err();
        assert!(
            matches!(
                err,
                Distrust::Directory {
                    why: Unfit::Writable { mode: 0o777 },
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "its directory {} has mode 0777: other users may create files in it",
                dir.display()
            )
        );
    }

    #[test]
    fn a_directory_of_another_user_is_refused_naming_both_uids() {
        let ours = wrs_sys::our_uid();
        // Root can give a directory away; anyone else finds one: `/` is
        // root's. Either way a real directory of another uid is checked.
        let (_tmp, dir) = private_dir();
        let (dir, owner) = if ours == 0 {
            rustix::fs::chown(
                &dir,
                Some(rustix::fs::Uid::from_raw(65534)),
                Some(rustix::fs::Gid::from_raw(65534)),
            )
            .unwrap();
            (dir, 65534)
        } else {
            (PathBuf::from("/"), 0)
        };
        let err = check_directory(&dir.join("agent.sock")).unwrap_err();
        assert!(
            matches!(err, Distrust::Directory { why: Unfit::Owner { owner: o, ours: u }, .. } if o == owner && u == ours),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "its directory {} belongs to uid {owner}, not to you (uid {ours})",
                dir.display()
            )
        );
    }

    #[test]
    fn a_symlinked_directory_is_refused_even_when_it_points_somewhere_private() {
        let (tmp, dir) = private_dir();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let err = check_directory(&link.join("agent.sock")).unwrap_err();
        assert!(
            matches!(
                err,
                Distrust::Directory {
                    why: Unfit::Symlink,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
    }

    #[test]
    fn only_a_peer_of_our_own_uid_is_trusted() {
        judge_peer(Some(1000), 1000).unwrap();
        // Root's daemon is not ours either.
        let err = judge_peer(Some(0), 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the process listening on it runs as uid 0, not as you (uid 1000)"
        );
        assert!(matches!(
            judge_peer(None, 1000),
            Err(Distrust::UnknownPeer { .. })
        ));
    }

    #[test]
    fn a_peer_of_our_uid_over_a_real_socket_is_trusted() {
        use interprocess::local_socket::prelude::*;
        use interprocess::local_socket::{GenericFilePath, ListenerOptions};
        let (_tmp, dir) = private_dir();
        let path = dir.join("agent.sock");
        let name = path.as_path().to_fs_name::<GenericFilePath>().unwrap();
        let _listener = ListenerOptions::new().name(name).create_sync().unwrap();
        let name = path.as_path().to_fs_name::<GenericFilePath>().unwrap();
        let stream = Stream::connect(name).unwrap();
        check_peer(&stream).unwrap();
    }

    #[test]
    fn every_refusal_hints_at_a_private_place() {
        let socket = Path::new("/tmp/wrs-token-1000/agent.sock");
        let dir = PathBuf::from("/tmp/wrs-token-1000");
        let directory = |why| Distrust::Directory {
            dir: dir.clone(),
            why,
        };
        let cases = [
            directory(Unfit::Owner {
                owner: 1001,
                ours: 1000,
            }),
            directory(Unfit::Writable { mode: 0o777 }),
            directory(Unfit::Symlink),
            directory(Unfit::NotADirectory),
            Distrust::ForeignPeer {
                peer: 1001,
                ours: 1000,
            },
        ];
        for d in cases {
            let hint = d.hint(socket);
            assert!(
                hint.contains("XDG_RUNTIME_DIR") && hint.contains(wrs_sys::env::SOCKET),
                "{hint}"
            );
            assert!(hint.contains("/tmp/wrs-token-1000"), "{hint}");
        }
    }
}
