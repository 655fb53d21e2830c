//! Private temporary directories: 0700, removed with everything in them
//! on drop. `curl` keeps its header dump and cookie jar in one; `profile
//! add` the config copy its checks read.

use std::io;
use std::path::PathBuf;

/// A directory only we can read, removed with everything in it on drop.
pub struct PrivateDir {
    /// The directory.
    pub path: PathBuf,
}

impl PrivateDir {
    /// Creates `wrs-token-<purpose>-<pid>-…` (mode 0700) in the temporary
    /// directory.
    pub fn create(purpose: &str) -> io::Result<PrivateDir> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for attempt in 0..32u32 {
            let path = base.join(format!(
                "wrs-token-{purpose}-{}-{nanos:x}-{attempt}",
                std::process::id()
            ));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&path) {
                Ok(()) => return Ok(PrivateDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// An empty file `name` in the directory, mode 0600, for curl to fill.
    pub fn file(&self, name: &str) -> io::Result<PathBuf> {
        let path = self.path.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&path)?;
        Ok(path)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_private_directory_is_0700_and_goes_away() {
        let dir = PrivateDir::create("test").unwrap();
        let file = dir.file("headers").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path), 0o700);
            assert_eq!(mode(&file), 0o600);
        }
        let path = dir.path.clone();
        drop(dir);
        assert!(!path.exists());
    }
}
