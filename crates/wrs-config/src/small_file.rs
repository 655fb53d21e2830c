//! The configuration's view of reading a small file a user names:
//! [`wrs_sys::small_file::read_regular_file`] (a regular file, at most
//! `limit` bytes, no blocking on a FIFO), with the error naming the file as
//! a [`ConfigError::Io`].

use std::path::Path;

use crate::ConfigError;

pub use wrs_sys::small_file::MAX_FILE_BYTES;

/// Reads the whole of `path`, which must be a regular file (a symbolic link
/// to one is fine) of at most `limit` bytes: the rule of
/// [`wrs_sys::small_file::read_regular_file`].
///
/// Errors are [`ConfigError::Io`] naming the file; a missing file keeps the
/// OS error's [`std::io::ErrorKind::NotFound`] so callers can treat it as
/// "no file", a larger one is [`std::io::ErrorKind::FileTooLarge`].
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, ConfigError> {
    wrs_sys::small_file::read_regular_file(path, limit).map_err(|source| ConfigError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule itself is tested in wrs-sys; here, that its refusals name
    /// the file and keep their kind.
    #[test]
    fn a_refusal_is_an_io_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.toml");
        std::fs::write(&path, vec![b'#'; 101]).unwrap();
        let err = read_regular_file(&path, 100).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{}: ", path.display())),
            "{message}"
        );
        assert!(message.contains("100 bytes"), "{message}");
        match err {
            ConfigError::Io {
                path: named,
                source,
            } => {
                assert_eq!(named, path);
                assert_eq!(source.kind(), std::io::ErrorKind::FileTooLarge);
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert_eq!(read_regular_file(&path, 101).unwrap().len(), 101);
    }
}
