//! Reading a small file whose path comes from a user (the configuration
//! file, the CA bundle a profile points at, the file store's secrets):
//! only a regular file, and only so much of it.
//!
//! Both the thin client and the daemon read these files, from paths that come
//! from the environment or the configuration itself. Without these checks a
//! FIFO at that path hung the client in `open`, and `/dev/zero` drove both
//! processes out of memory. This module is the one place that rule lives:
//! wrs-config (the configuration, through `wrs_config::read_regular_file`,
//! which names the file in its error), wrs-oauth (CA bundles), wrs-store
//! (the file store) and `wrs-token doctor` call [`read_regular_file`].

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// The most bytes wrs-token reads from a file a user names: 1 MiB. A
/// configuration file is a few KiB and the largest CA bundles (a copy of a
/// system's roots) a few hundred KiB; anything bigger is the wrong file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads the whole of `path`, which must be a regular file (a symbolic link
/// to one is fine) of at most `limit` bytes.
///
/// A FIFO, socket, device or directory is refused without reading from it
/// and without blocking in `open`; a larger file is refused without reading
/// more than `limit + 1` bytes, with [`io::ErrorKind::FileTooLarge`]. The
/// errors do not name the file (the caller does); a missing file keeps the
/// OS error's [`io::ErrorKind::NotFound`] so callers can treat it as "no
/// file".
pub fn read_regular_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_without_blocking(path)?;
    // The type is checked on the opened handle (fstat), not with a separate
    // `stat` of the path, so the file cannot be swapped between check and
    // read.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(not_regular(&metadata.file_type()));
    }
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    let file = clear_nonblocking(file)?;
    // `take` still bounds the read: the file may grow after the `fstat`.
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// Opens `path` for reading so that a FIFO cannot block the `open` itself.
///
/// Opening a FIFO for reading waits until some process opens it for writing,
/// possibly forever, and no check on the handle can run before `open`
/// returns. `O_NONBLOCK` makes that `open` return at once; the type check
/// then refuses the FIFO. A `stat` before opening would not do: the path can
/// be replaced by a FIFO between the `stat` and the `open`. `O_NOCTTY` keeps
/// a terminal named by mistake from becoming our controlling terminal.
#[cfg(unix)]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let flags = (OFlags::NONBLOCK | OFlags::NOCTTY).bits();
    let flags = i32::try_from(flags).map_err(io::Error::other)?;
    OpenOptions::new().read(true).custom_flags(flags).open(path)
}

/// On Windows, opening never waits for a peer: a named pipe without a free
/// instance fails at once, and the type check refuses pipes and devices.
#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

/// Makes reads of the (now known to be regular) file blocking again.
/// POSIX ignores `O_NONBLOCK` for regular files, but some file systems (FUSE,
/// old mandatory locking) may answer `EAGAIN` to a non-blocking read, which
/// `read_to_end` would report as an error.
#[cfg(unix)]
fn clear_nonblocking(file: File) -> io::Result<File> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(&file)?;
    fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(file)
}

#[cfg(not(unix))]
fn clear_nonblocking(file: File) -> io::Result<File> {
    Ok(file)
}

fn not_regular(file_type: &std::fs::FileType) -> io::Error {
    if file_type.is_dir() {
        return io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory, not a regular file",
        );
    }
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {}, not a regular file", describe(file_type)),
    )
}

#[cfg(unix)]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn describe(_file_type: &std::fs::FileType) -> &'static str {
    "a device or pipe"
}

fn too_large(limit: u64) -> io::Error {
    let size = if limit > 0 && limit.is_multiple_of(1024 * 1024) {
        format!("{} MiB", limit / (1024 * 1024))
    } else {
        format!("{limit} bytes")
    };
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("is larger than {size}, the limit for this file"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error(result: io::Result<Vec<u8>>) -> io::Error {
        match result {
            Err(e) => e,
            Ok(bytes) => panic!("expected an error, read {} bytes", bytes.len()),
        }
    }

    #[test]
    fn a_small_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "default = \"plm\"\n").unwrap();
        assert_eq!(
            read_regular_file(&path, MAX_FILE_BYTES).unwrap(),
            b"default = \"plm\"\n"
        );
    }

    #[test]
    fn a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'#'; 100]).unwrap();
        assert_eq!(read_regular_file(&path, 100).unwrap().len(), 100);
        let err = io_error(read_regular_file(&path, 99));
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert!(err.to_string().contains("99 bytes"), "{err}");
    }

    #[test]
    fn a_2_mib_file_is_refused_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.toml");
        std::fs::write(&path, vec![b'#'; 2 * 1024 * 1024]).unwrap();
        let err = io_error(read_regular_file(&path, MAX_FILE_BYTES));
        assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = io_error(read_regular_file(dir.path(), MAX_FILE_BYTES));
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
        assert!(err.to_string().contains("directory"), "{err}");
    }

    #[test]
    fn a_missing_file_keeps_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = io_error(read_regular_file(&dir.path().join("none"), 10));
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    /// Regression: a FIFO as the config file hung the client in `open`
    /// (nobody ever writes to it). The read runs on a thread so that a
    /// regression fails the test instead of hanging it. (rustix has no
    /// `mkfifoat` on Apple targets; the code under test is the same there.)
    #[cfg(all(unix, not(target_vendor = "apple")))]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &path,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reading = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read_regular_file(&reading, MAX_FILE_BYTES));
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a FIFO blocked");
        let err = io_error(result);
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    /// Regression: `/dev/zero` behind a symbolic link drove the daemon and
    /// the client out of memory.
    #[cfg(unix)]
    #[test]
    fn dev_zero_behind_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = io_error(read_regular_file(&link, MAX_FILE_BYTES));
        assert!(err.to_string().contains("character device"), "{err}");
        // And named directly.
        let err = io_error(read_regular_file(Path::new("/dev/zero"), MAX_FILE_BYTES));
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_a_regular_file_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.toml");
        std::fs::write(&target, "x = 1\n").unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_regular_file(&link, 10).unwrap(), b"x = 1\n");
    }
}
