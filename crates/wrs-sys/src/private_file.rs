//! Writing a file only we may read, so that a crash or a full disk leaves
//! the old file or the new one, never a torn one, and no one else ever
//! sees its content.
//!
//! [`write()`]: a new temporary file beside the target, created exclusively
//! with mode 0600 (no window in which it is readable by others, and never
//! a file someone else prepared at that name), the content, `fsync`, a
//! rename over the target, and an `fsync` of the directory so the rename
//! itself is durable. Asked by wrs-config for the configuration file and by
//! wrs-store for the file store's secrets.
//!
//! Where the file goes is the caller's choice: the file store keeps its
//! files in a [`crate::private_dir`], the configuration file may live
//! wherever `WRS_TOKEN_CONFIG` says.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// How many temporary names are tried before giving up.
const ATTEMPTS: u32 = 100;

/// Replaces `path` with `contents` atomically, the file readable and
/// writable by its owner only (0600 on Unix). The directory must exist. On
/// failure the old file is left as it was and no temporary file remains.
pub fn write(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let (tmp, mut file) = create_temp(dir, &name.to_string_lossy())?;
    let result = (|| {
        file.write_all(contents)?;
        // Durable before the rename: a crash leaves the old or the new
        // file. A full disk fails here and the old file stays as it was.
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // Makes the rename itself durable. Best effort: not every file system
    // (nor Windows) can open or sync a directory, and the new file is in
    // place either way.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new file `.<name>.<pid>.<n>.tmp` in `dir`, mode 0600 from its
/// creation. `create_new` never opens what is already there: not a file
/// someone else made readable, not a FIFO, not a symbolic link.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    for attempt in 0..ATTEMPTS {
        let path = dir.join(format!(".{name}.{}.{attempt}.tmp", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("cannot create a temporary file in {}", dir.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(entries(dir.path()), ["f.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_0600_whatever_the_umask_and_the_old_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    /// A name already taken (a stale temporary file, a FIFO someone put
    /// there) is never opened: the write goes to a fresh file.
    #[cfg(unix)]
    #[test]
    fn a_taken_temporary_name_is_skipped_not_opened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let taken = dir.path().join(format!(".f.{}.0.tmp", std::process::id()));
        std::fs::write(&taken, b"someone else's").unwrap();
        std::fs::set_permissions(&taken, std::fs::Permissions::from_mode(0o666)).unwrap();
        write(&path, b"ours").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"ours");
        assert_eq!(std::fs::read(&taken).unwrap(), b"someone else's");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        // A name too long for a temporary file beside it makes the write
        // fail before the rename, as a full disk would, even for root.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{}.json", "p".repeat(240)));
        std::fs::write(&path, b"old").unwrap();
        assert!(write(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(dir.path()).len(), 1);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(&dir.path().join("absent/f"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
