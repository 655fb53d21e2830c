//! The private directory: who may own it, what its mode may be, and the
//! one deliberately looser question the client asks of a socket's
//! directory.
//!
//! Two rules, for two questions:
//!
//! - **[`ensure`] / [`verify`]: "may I keep my socket or my secrets here?"**
//!   A real directory (not a symbolic link), owned by [`our_uid`], mode
//!   exactly 0700. [`ensure`] creates it 0700 when it is missing; an
//!   existing directory that fails is refused, never "fixed": if someone
//!   else could enter or write it, they may already have planted a socket
//!   or a file there, or be watching it, and a chmod would hide that.
//!   Asked by the daemon for the socket's directory, by the file store for
//!   its secrets directory, and by `wrs-token doctor`, which reports
//!   exactly the verdict the daemon would act on.
//! - **[`check_socket_dir`]: "could someone else have planted the socket I
//!   am about to talk to?"** A real directory owned by us that group and
//!   others cannot write; a missing directory passes (nobody listens
//!   there). Asked by the client before it connects. Looser on purpose: a
//!   0755 directory of ours (where ssh forwards a socket named by
//!   `WRS_TOKEN_SOCKET`, say) answers "no" just as well, and the client
//!   creates nothing in it. The daemon's own directory always passes both.
//!
//! Windows: directories are created, and every check passes; the named
//! pipe's ACL admits only its user.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use crate::our_uid;

/// Why an existing directory fails a rule. Its `Display` reads as a
/// predicate of the directory: "… /run/x {why}".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfit {
    /// A symbolic link: where it points decides who could write there, and
    /// that can change under us.
    Symlink,
    /// Something other than a directory.
    NotADirectory,
    /// Another user's directory.
    Owner {
        /// Its owner.
        owner: u32,
        /// Our effective uid.
        ours: u32,
    },
    /// The private rule ([`verify`]): the mode is not exactly 0700.
    NotPrivate {
        /// Its mode bits (with setuid, setgid, sticky).
        mode: u32,
    },
    /// The socket rule ([`check_socket_dir`]): group or others may create
    /// files in it.
    Writable {
        /// Its mode bits (with setuid, setgid, sticky).
        mode: u32,
    },
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unfit::Symlink => f.write_str("is a symbolic link, not a real directory"),
            Unfit::NotADirectory => f.write_str("is not a directory"),
            Unfit::Owner { owner, ours } => {
                write!(f, "belongs to uid {owner}, not to you (uid {ours})")
            }
            Unfit::NotPrivate { mode } => write!(f, "has mode {mode:04o}; it must be 0700"),
            Unfit::Writable { mode } => {
                write!(f, "has mode {mode:04o}: other users may create files in it")
            }
        }
    }
}

/// A directory failed a rule, or could not be inspected or created.
#[derive(Debug)]
pub enum DirError {
    /// The directory exists and fails the rule.
    Unfit {
        /// The directory.
        dir: PathBuf,
        /// How it fails.
        why: Unfit,
    },
    /// A file system call failed; a missing directory is
    /// [`io::ErrorKind::NotFound`] here (from [`verify`]).
    Io {
        /// What we tried.
        what: &'static str,
        /// On which directory.
        dir: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

impl DirError {
    /// The directory in question.
    pub fn dir(&self) -> &Path {
        match self {
            DirError::Unfit { dir, .. } | DirError::Io { dir, .. } => dir,
        }
    }

    /// How the directory fails, when it exists and does.
    pub fn unfit(&self) -> Option<Unfit> {
        match self {
            DirError::Unfit { why, .. } => Some(*why),
            DirError::Io { .. } => None,
        }
    }

    /// Whether the directory does not exist.
    pub fn is_missing(&self) -> bool {
        matches!(self, DirError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for DirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirError::Unfit { dir, why } => {
                write!(f, "refusing to use {}: it {why}", dir.display())
            }
            DirError::Io { what, dir, source } => {
                write!(f, "cannot {what} {}: {source}", dir.display())
            }
        }
    }
}

impl std::error::Error for DirError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DirError::Io { source, .. } => Some(source),
            DirError::Unfit { .. } => None,
        }
    }
}

fn io_error(what: &'static str, dir: &Path) -> impl FnOnce(io::Error) -> DirError {
    let dir = dir.to_owned();
    move |source| DirError::Io { what, dir, source }
}

/// Creates `dir` with mode 0700 when it is missing (its parent must
/// exist), then [`verify`]s it: an existing directory is checked, never
/// changed.
pub fn ensure(dir: &Path) -> Result<(), DirError> {
    platform::create(dir)?;
    verify(dir)
}

/// Checks that `dir` is a real directory owned by us with mode exactly
/// 0700. A missing directory is a [`DirError::Io`] with
/// [`io::ErrorKind::NotFound`] ([`DirError::is_missing`]).
pub fn verify(dir: &Path) -> Result<(), DirError> {
    platform::verify(dir)
}

/// The client's question before connecting to `socket`: could another
/// user have put it there? `Ok` when its directory is a real directory of
/// ours that group and others cannot write, or does not exist (then nobody
/// listens). A bare file name is checked against the working directory.
pub fn check_socket_dir(socket: &Path) -> Result<(), DirError> {
    let dir = match socket.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match platform::check_socket_dir(dir) {
        Err(e) if e.is_missing() => Ok(()),
        other => other,
    }
}

#[cfg(unix)]
mod platform {
    use std::fs::{self, DirBuilder};
    use std::io;
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    use std::path::Path;

    use super::{DirError, Unfit, io_error, our_uid};

    pub(super) fn create(dir: &Path) -> Result<(), DirError> {
        match DirBuilder::new().mode(0o700).create(dir) {
            // We just made it: force the mode in case the umask took bits
            // away that 0700 needs (an odd umask like 0o177).
            Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(io_error("set permissions of", dir)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io_error("create directory", dir)(e)),
        }
    }

    /// The mode of `dir`, once it is known to be a real directory of ours.
    fn inspect(dir: &Path) -> Result<u32, DirError> {
        let unfit = |why| DirError::Unfit {
            dir: dir.to_owned(),
            why,
        };
        // lstat: a symbolic link is judged as one, never followed.
        let meta = fs::symlink_metadata(dir).map_err(io_error("inspect", dir))?;
        if meta.file_type().is_symlink() {
            return Err(unfit(Unfit::Symlink));
        }
        if !meta.is_dir() {
            return Err(unfit(Unfit::NotADirectory));
        }
        let ours = our_uid();
        if meta.uid() != ours {
            return Err(unfit(Unfit::Owner {
                owner: meta.uid(),
                ours,
            }));
        }
        Ok(meta.mode() & 0o7777)
    }

    pub(super) fn verify(dir: &Path) -> Result<(), DirError> {
        let mode = inspect(dir)?;
        if mode != 0o700 {
            return Err(DirError::Unfit {
                dir: dir.to_owned(),
                why: Unfit::NotPrivate { mode },
            });
        }
        Ok(())
    }

    pub(super) fn check_socket_dir(dir: &Path) -> Result<(), DirError> {
        let mode = inspect(dir)?;
        // Write access for group or others is what lets someone else create
        // or replace the socket. The sticky bit does not help: it protects
        // files from removal, not the directory from a squatter's new socket.
        if mode & 0o022 != 0 {
            return Err(DirError::Unfit {
                dir: dir.to_owned(),
                why: Unfit::Writable { mode },
            });
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod platform {
    use std::path::Path;

    use super::{DirError, io_error};

    pub(super) fn create(dir: &Path) -> Result<(), DirError> {
        match std::fs::create_dir(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                Err(io_error("create directory", dir)(e))
            }
            _ => Ok(()),
        }
    }

    pub(super) fn verify(dir: &Path) -> Result<(), DirError> {
        // Only existence is checked; see the module doc.
        std::fs::metadata(dir)
            .map(|_| ())
            .map_err(io_error("inspect", dir))
    }

    pub(super) fn check_socket_dir(_dir: &Path) -> Result<(), DirError> {
        // A named pipe has no directory; see the module doc.
        Ok(())
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn dir_with_mode(mode: u32) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wrs-token");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        (tmp, dir)
    }

    fn mode_of(dir: &Path) -> u32 {
        fs::symlink_metadata(dir).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_directory_is_created_0700() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("new");
        ensure(&dir).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
        // And again: an existing private directory is fine.
        ensure(&dir).unwrap();
    }

    #[test]
    fn a_missing_parent_is_an_error_not_created() {
        let tmp = tempfile::tempdir().unwrap();
        let err = ensure(&tmp.path().join("a/b")).unwrap_err();
        assert!(err.is_missing(), "{err:?}");
        assert!(!tmp.path().join("a").exists());
    }

    /// Every mode but 0700 is refused, and left as it was: group access,
    /// a sticky or setgid bit, even a mode that takes our own access away.
    #[test]
    fn only_exactly_0700_is_private_and_nothing_is_fixed() {
        for mode in [0o750, 0o755, 0o777, 0o1700, 0o2700, 0o500, 0o600] {
            let (_tmp, dir) = dir_with_mode(mode);
            let err = ensure(&dir).unwrap_err();
            assert_eq!(err.unfit(), Some(Unfit::NotPrivate { mode }), "{mode:04o}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("{mode:04o}")) && text.contains("0700"),
                "{text}"
            );
            assert_eq!(mode_of(&dir), mode, "{mode:04o} was changed");
        }
    }

    #[test]
    fn a_symlinked_directory_is_refused_even_when_it_points_somewhere_private() {
        let (tmp, dir) = dir_with_mode(0o700);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert_eq!(ensure(&link).unwrap_err().unfit(), Some(Unfit::Symlink));
        assert_eq!(
            check_socket_dir(&link.join("agent.sock"))
                .unwrap_err()
                .unfit(),
            Some(Unfit::Symlink)
        );
    }

    #[test]
    fn a_file_where_the_directory_should_be_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        fs::write(&file, b"").unwrap();
        assert_eq!(
            verify(&file).unwrap_err().unfit(),
            Some(Unfit::NotADirectory)
        );
        assert_eq!(
            check_socket_dir(&file.join("agent.sock"))
                .unwrap_err()
                .unfit(),
            Some(Unfit::NotADirectory)
        );
    }

    #[test]
    fn a_directory_of_another_user_is_refused_naming_both_uids() {
        let ours = our_uid();
        // Root can give a directory away; anyone else finds one: `/` is
        // root's.
        let (_tmp, dir) = dir_with_mode(0o700);
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
        let expected = Some(Unfit::Owner { owner, ours });
        assert_eq!(verify(&dir).unwrap_err().unfit(), expected);
        let err = check_socket_dir(&dir.join("agent.sock")).unwrap_err();
        assert_eq!(err.unfit(), expected);
        assert!(
            err.to_string()
                .ends_with(&format!("belongs to uid {owner}, not to you (uid {ours})")),
            "{err}"
        );
    }

    #[test]
    fn a_missing_directory_is_missing_to_verify_and_fine_for_a_socket() {
        let tmp = tempfile::tempdir().unwrap();
        let absent = tmp.path().join("absent");
        assert!(verify(&absent).unwrap_err().is_missing());
        check_socket_dir(&absent.join("agent.sock")).unwrap();
    }

    /// The client's rule is looser than the private rule on purpose: a
    /// 0755 directory of ours cannot hold another user's socket.
    #[test]
    fn a_socket_may_sit_in_any_directory_of_ours_that_others_cannot_write() {
        for mode in [0o700, 0o755, 0o750, 0o711, 0o500] {
            let (_tmp, dir) = dir_with_mode(mode);
            check_socket_dir(&dir.join("agent.sock")).unwrap();
        }
        // Group write alone is enough to plant a socket, and the sticky bit
        // of a shared temp dir does not make it ours.
        for mode in [0o770, 0o777, 0o1777, 0o730, 0o702] {
            let (_tmp, dir) = dir_with_mode(mode);
            let err = check_socket_dir(&dir.join("agent.sock")).unwrap_err();
            assert_eq!(err.unfit(), Some(Unfit::Writable { mode }), "{mode:04o}");
            assert!(err.to_string().contains(&format!("{mode:04o}")), "{err}");
        }
    }

    /// What the daemon creates, the client trusts.
    #[test]
    fn an_ensured_directory_passes_the_socket_rule() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("rt");
        ensure(&dir).unwrap();
        check_socket_dir(&dir.join("agent.sock")).unwrap();
    }
}
