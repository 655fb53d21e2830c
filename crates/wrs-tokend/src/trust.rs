//! Who may talk to the daemon, and making sure only they can.
//!
//! - The runtime directory is a private directory by the rule of
//!   [`wrs_sys::private_dir::ensure`] (the file store's and `doctor`'s
//!   too): created 0700, else owned by us, mode exactly 0700, not a
//!   symlink. An existing directory that fails the check is refused, never
//!   "fixed", because someone else may already be watching it.
//! - The socket is 0600 whatever the umask: `ListenerOptionsExt::mode` sets
//!   it before `bind` (no umask race), then we chmod and verify, because
//!   some Unixes ignore or refuse the mode option.
//! - Every connection's peer uid is checked; other users are dropped
//!   (the server logs that, rate-limited).
//! - A lock file beside the socket keeps a second daemon out; a stale
//!   socket is removed only after a connect to it was refused.
//!
//! Unix only; the Windows named pipe rejects remote clients and other users
//! through its security descriptor instead.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::traits::StreamCommon as _;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use wrs_sys::env;
use wrs_sys::our_uid;
use wrs_sys::private_dir::{self, DirError, Unfit};

/// Why the daemon refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Another daemon holds the lock or answers on the socket.
    #[error("wrs-tokend is already running (pid {}, socket {})", pid.map_or_else(|| "unknown".to_owned(), |p| p.to_string()), socket.display())]
    AlreadyRunning {
        /// The other daemon's pid, when its lock file says.
        pid: Option<u32>,
        /// The socket it serves.
        socket: PathBuf,
    },
    /// The runtime directory is not private to us, or cannot be created.
    #[error("{error}{fix}", error = .0, fix = directory_fix(.0))]
    Directory(#[from] DirError),
    /// The socket path is taken by something that is not our socket, or the
    /// socket did not end up private.
    #[error("refusing to use socket {}: {reason}", path.display())]
    UnsafeSocket {
        /// The socket path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file system or socket call failed.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What we tried.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> TrustError {
    let path = path.to_owned();
    move |source| TrustError::Io { what, path, source }
}

/// What to do about a runtime directory the daemon refuses, appended to
/// the refusal.
fn directory_fix(error: &DirError) -> String {
    match error.unfit() {
        Some(Unfit::Owner { .. } | Unfit::Symlink | Unfit::NotADirectory) => {
            format!("; set {} to a path in a directory of your own", env::SOCKET)
        }
        Some(Unfit::NotPrivate { .. } | Unfit::Writable { .. }) => format!(
            " (run `chmod 700 {}` if this directory is meant for wrs-token)",
            error.dir().display()
        ),
        None => String::new(),
    }
}

/// Creates the runtime directory 0700 if missing, then verifies it is
/// private to us: [`wrs_sys::private_dir::ensure`].
pub fn ensure_private_dir(dir: &Path) -> Result<(), TrustError> {
    Ok(private_dir::ensure(dir)?)
}

/// The held single-instance lock. Dropping it removes the lock file.
#[derive(Debug)]
pub struct LockFile {
    file: File,
    path: PathBuf,
}

impl LockFile {
    /// Takes the lock at `path` and writes our pid into it, or reports who
    /// holds it. `socket` only goes into the error message.
    pub fn acquire(path: &Path, socket: &Path) -> Result<LockFile, TrustError> {
        // A few rounds at most: we only go round again when the previous
        // holder removed the file between our open and our lock.
        for _ in 0..5 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(io_err("open lock file", path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let pid = file
                        .read_to_string(&mut text)
                        .ok()
                        .and_then(|_| text.trim().parse().ok());
                    return Err(TrustError::AlreadyRunning {
                        pid,
                        socket: socket.to_owned(),
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", path)(e)),
            }
            // We locked an inode; make sure it is still the one at `path`,
            // or a daemon that removed it while exiting and a newcomer that
            // created a new one could both believe they are alone.
            let ours = file.metadata().map_err(io_err("inspect", path))?;
            match fs::symlink_metadata(path) {
                Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {}
                _ => continue,
            }
            file.set_len(0).map_err(io_err("write lock file", path))?;
            writeln!(file, "{}", std::process::id()).map_err(io_err("write lock file", path))?;
            return Ok(LockFile {
                file,
                path: path.to_owned(),
            });
        }
        Err(TrustError::Io {
            what: "lock",
            path: path.to_owned(),
            source: io::Error::other("the lock file kept being replaced"),
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        // Remove while still locked, then unlock by closing: a waiter that
        // locks the old inode afterwards sees it is gone and retries.
        if same_file(&self.path, &self.file) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn same_file(path: &Path, file: &File) -> bool {
    match (fs::symlink_metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Which file we bound, so shutdown removes our socket and nobody else's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketIdentity {
    dev: u64,
    ino: u64,
}

/// Binds the socket at `path` (0600, verified), replacing a stale socket
/// file only after a connect to it was refused. Must run inside a tokio
/// runtime. The directory must already be verified.
pub fn bind_socket(path: &Path) -> Result<(Listener, SocketIdentity), TrustError> {
    let listener = match listen(path) {
        Ok(listener) => listener,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            remove_stale_socket(path)?;
            listen(path).map_err(io_err("listen on", path))?
        }
        Err(e) => return Err(io_err("listen on", path)(e)),
    };
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(io_err("set permissions of", path))?;
    let identity = verify_socket(path)?;
    Ok((listener, identity))
}

fn listen(path: &Path) -> io::Result<Listener> {
    let options = || -> io::Result<ListenerOptions<'_>> {
        Ok(ListenerOptions::new()
            .name(path.to_fs_name::<GenericFilePath>()?)
            // We remove the socket ourselves, after checking it is ours.
            .reclaim_name(false)
            .try_overwrite(false))
    };
    match options()?.mode(0o600).create_tokio() {
        // Some Unixes cannot set a socket's mode at bind; the chmod and
        // verify in `bind_socket` then do the job.
        Err(e) if e.kind() == io::ErrorKind::Unsupported => options()?.create_tokio(),
        other => other,
    }
}

/// The socket path is taken: find out whether a daemon answers there.
fn remove_stale_socket(path: &Path) -> Result<(), TrustError> {
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(TrustError::AlreadyRunning {
            pid: None,
            socket: path.to_owned(),
        }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            let meta = fs::symlink_metadata(path).map_err(io_err("inspect", path))?;
            if !meta.file_type().is_socket() {
                return Err(TrustError::UnsafeSocket {
                    path: path.to_owned(),
                    reason: "the path exists and is not a socket; move it away".into(),
                });
            }
            tracing::info!(socket = %path.display(), "removing a stale socket (connect was refused)");
            fs::remove_file(path).map_err(io_err("remove stale socket", path))
        }
        Err(e) => Err(io_err("probe existing socket", path)(e)),
    }
}

/// Checks the socket file at `path` is a socket owned by us, mode 0600.
pub fn verify_socket(path: &Path) -> Result<SocketIdentity, TrustError> {
    let refuse = |reason: String| TrustError::UnsafeSocket {
        path: path.to_owned(),
        reason,
    };
    let meta = fs::symlink_metadata(path).map_err(io_err("inspect", path))?;
    if !meta.file_type().is_socket() {
        return Err(refuse("it is not a socket".into()));
    }
    if meta.uid() != our_uid() {
        return Err(refuse(format!("it is owned by uid {}", meta.uid())));
    }
    let mode = meta.mode() & 0o7777;
    if mode != 0o600 {
        return Err(refuse(format!("its mode is {mode:04o}, not 0600")));
    }
    Ok(SocketIdentity {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

/// Removes the socket at `path` if it is still the one we bound.
pub fn remove_socket(path: &Path, identity: SocketIdentity) {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.dev() == identity.dev && meta.ino() == identity.ino => {
            if let Err(e) = fs::remove_file(path) {
                tracing::warn!(socket = %path.display(), "cannot remove the socket: {e}");
            }
        }
        Ok(_) => tracing::warn!(socket = %path.display(), "the socket was replaced; leaving it"),
        Err(_) => {}
    }
}

/// Why a connection's peer is not served.
#[derive(Debug)]
pub enum PeerRefused {
    /// The peer runs as another user (or its uid is unknown).
    OtherUser {
        /// Its effective uid, if the OS said.
        uid: Option<u32>,
        /// Its pid, if the OS said.
        pid: Option<i32>,
    },
    /// The peer's credentials could not be read.
    Unidentified(io::Error),
}

/// Checks that the peer of `stream` runs as our uid. Logs nothing: a
/// refusal is the caller's to report, rate-limited, since another user can
/// connect as often as they like.
pub fn check_peer(stream: &Stream) -> Result<(), PeerRefused> {
    let creds = stream.peer_creds().map_err(PeerRefused::Unidentified)?;
    match creds.euid() {
        Some(uid) if uid == our_uid() => Ok(()),
        uid => Err(PeerRefused::OtherUser {
            uid,
            pid: creds.pid(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The rule itself is tested in wrs-sys (private_dir); these pin what
    // the daemon says when it refuses.

    #[test]
    fn a_directory_with_group_access_is_refused_not_fixed_saying_chmod() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("rt");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "refusing to use {0}: it has mode 0750; it must be 0700 \
                 (run `chmod 700 {0}` if this directory is meant for wrs-token)",
                dir.display()
            )
        );
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o750
        );
    }

    #[test]
    fn a_symlinked_directory_is_refused_pointing_to_wrs_token_socket() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        ensure_private_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = ensure_private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(err.contains("set WRS_TOKEN_SOCKET"), "{err}");
    }

    #[test]
    fn a_held_lock_refuses_a_second_holder_and_names_the_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = tmp.path().join("agent.lock");
        let sock = tmp.path().join("agent.sock");
        let held = LockFile::acquire(&lock, &sock).unwrap();
        let err = LockFile::acquire(&lock, &sock).unwrap_err();
        let pid = std::process::id();
        assert!(
            matches!(err, TrustError::AlreadyRunning { pid: Some(p), .. } if p == pid),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "wrs-tokend is already running (pid {pid}, socket {})",
                sock.display()
            )
        );
        drop(held);
        assert!(!lock.exists(), "the lock file is removed on release");
        LockFile::acquire(&lock, &sock).unwrap();
    }
}
