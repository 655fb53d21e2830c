//! The opt-in file store: one JSON file per profile, readable by the owner
//! only. Plaintext on disk, which is why it is never chosen silently.
//!
//! The local-machine rules are `wrs_sys`'s, the daemon's own: the
//! directory is a private directory ([`wrs_sys::private_dir::ensure`]:
//! created 0700, or refused unless it already is 0700 and ours, never
//! chmod-ed), each file is written with [`wrs_sys::private_file::write`]
//! and read with [`wrs_sys::small_file::read_regular_file`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use wrs_sys::private_dir::{self, DirError, Unfit};
use wrs_sys::small_file::{MAX_FILE_BYTES, read_regular_file};

use wrs_proto::Secret;

use crate::{SecretKind, SecretStore, StoreError};

/// Secrets in `<dir>/<profile>.json`, mode 0600, directory 0700.
pub struct FileStore {
    dir: PathBuf,
    // Serializes read-modify-write of a profile's file within the daemon,
    // the only process that writes it.
    write: Mutex<()>,
}

impl FileStore {
    /// A store in `dir`, created 0700 (with any missing parent) on first
    /// write; an existing `dir` must already be private to us.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore {
            dir: dir.into(),
            write: Mutex::new(()),
        }
    }

    fn path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{profile}.json"))
    }

    fn read(&self, profile: &str) -> Result<BTreeMap<String, Secret>, StoreError> {
        let path = self.path(profile);
        // A regular file of at most 1 MiB: a FIFO or a device at the path
        // fails at once instead of hanging or exhausting the daemon.
        let bytes = match read_regular_file(&path, MAX_FILE_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        // serde_json's errors name a position, never the content.
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            what: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    fn write(&self, profile: &str, map: &BTreeMap<String, Secret>) -> Result<(), StoreError> {
        let path = self.path(profile);
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        if map.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
                _ => Ok(()),
            };
        }
        self.prepare_dir()?;
        let json = serde_json::to_vec_pretty(map).map_err(|e| io(std::io::Error::other(e)))?;
        wrs_sys::private_file::write(&path, &json).map_err(io)
    }

    /// Creates the store's directory, or checks the existing one: the
    /// daemon's private-directory rule. A directory someone loosened is
    /// refused rather than tightened again: whoever could enter or write
    /// it may have read a secret or planted a file meanwhile, which a
    /// chmod would hide; the error says to look, then chmod.
    fn prepare_dir(&self) -> Result<(), StoreError> {
        // Missing parents (a fresh data directory) are ours to create,
        // owner-only like the store itself.
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(parent).map_err(|source| StoreError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        private_dir::ensure(&self.dir).map_err(|e| match e {
            DirError::Unfit { dir, why } => {
                let fix = match why {
                    Unfit::NotPrivate { .. } => format!(
                        " (check that nothing in it is someone else's, then `chmod 700 {}`)",
                        dir.display()
                    ),
                    _ => String::new(),
                };
                StoreError::Io {
                    source: std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!("refusing to keep secrets here: it {why}{fix}"),
                    ),
                    path: dir,
                }
            }
            DirError::Io { dir, source, .. } => StoreError::Io { path: dir, source },
        })
    }
}

impl SecretStore for FileStore {
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, StoreError> {
        Ok(self.read(profile)?.remove(kind.as_str()))
    }

    fn set(&self, profile: &str, kind: SecretKind, value: &Secret) -> Result<(), StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let mut map = self.read(profile)?;
        map.insert(kind.as_str().to_owned(), value.clone());
        self.write(profile, &map)
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<(), StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let mut map = self.read(profile)?;
        if map.remove(kind.as_str()).is_some() {
            self.write(profile, &map)?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("file {} (plaintext, owner-only)", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_meets_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        crate::contract::check(&FileStore::new(dir.path().join("secrets")));
    }

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        let store = FileStore::new(&secrets);
        store
            .set("plm", SecretKind::RefreshToken, &Secret::new("rt"))
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secrets), 0o700);
        assert_eq!(mode(&secrets.join("plm.json")), 0o600);
        // Missing parents are created owner-only too.
        let deep = dir.path().join("data/wrs-token/secrets");
        FileStore::new(&deep)
            .set("plm", SecretKind::RefreshToken, &Secret::new("rt"))
            .unwrap();
        assert_eq!(mode(&dir.path().join("data/wrs-token")), 0o700);
        assert_eq!(mode(&deep), 0o700);
    }

    /// Regression: the file store chmod-ed a loosened secrets directory back
    /// to 0700 and wrote on, where the daemon refuses such a directory for
    /// its socket and `doctor` reported it; whoever could enter it may
    /// have planted or read a file meanwhile. Now the write is refused, the
    /// directory left as it was, and the error says what to do.
    #[cfg(unix)]
    #[test]
    fn a_loosened_directory_is_refused_not_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        let store = FileStore::new(&secrets);
        store
            .set("plm", SecretKind::RefreshToken, &Secret::new("rt"))
            .unwrap();
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = store
            .set("plm", SecretKind::RefreshToken, &Secret::new("rt2"))
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
        assert!(
            text.contains("0755") && text.contains("chmod 700"),
            "{text}"
        );
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755, "the directory was changed");
        assert_eq!(
            store
                .get("plm", SecretKind::RefreshToken)
                .unwrap()
                .unwrap()
                .expose(),
            "rt",
            "the old secret is kept"
        );
    }

    /// Regression: the file store read its files with a plain `read`, so a
    /// FIFO at a profile's path hung the daemon's store thread. Reads are
    /// now those of every file a user can name: regular files only.
    #[cfg(all(unix, not(target_vendor = "apple")))]
    #[test]
    fn a_fifo_in_place_of_a_profile_file_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plm.json");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &path,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let store = FileStore::new(dir.path());
        std::thread::spawn(move || {
            let _ = tx.send(store.get("plm", SecretKind::RefreshToken).map(|_| ()));
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a FIFO blocked");
        let err = result.unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn a_survives_a_new_store_instance() {
        // A daemon killed and restarted reads what the last one wrote.
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        FileStore::new(&secrets)
            .set("plm", SecretKind::RefreshToken, &Secret::new("rt-1"))
            .unwrap();
        let again = FileStore::new(&secrets);
        assert_eq!(
            again
                .get("plm", SecretKind::RefreshToken)
                .unwrap()
                .unwrap()
                .expose(),
            "rt-1"
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_that_does_not_echo_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plm.json"),
            "{\"refresh_token\": \"sekrit-value",
        )
        .unwrap();
        let err = FileStore::new(dir.path())
            .get("plm", SecretKind::RefreshToken)
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }));
        assert!(!err.to_string().contains("sekrit"), "{err}");
    }

    #[test]
    fn a_failed_write_leaves_the_old_value() {
        // A profile name too long for the temporary file beside its file
        // makes the write fail before the rename (as a full disk would)
        // even for root, who ignores permission bits.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("secrets");
        private_dir::ensure(&dir).unwrap();
        let store = FileStore::new(&dir);
        let profile = "p".repeat(240);
        std::fs::write(
            dir.join(format!("{profile}.json")),
            r#"{"refresh_token": "old"}"#,
        )
        .unwrap();
        assert!(matches!(
            store.set(&profile, SecretKind::RefreshToken, &Secret::new("new")),
            Err(StoreError::Io { .. })
        ));
        assert_eq!(
            store
                .get(&profile, SecretKind::RefreshToken)
                .unwrap()
                .unwrap()
                .expose(),
            "old"
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
}
