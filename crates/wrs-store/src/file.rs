//! The opt-in file store: one JSON file per profile, readable by the owner
//! only. Plaintext on disk, which is why it is never chosen silently.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    /// A store in `dir` (created 0700 on first write).
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
        let bytes = match std::fs::read(&path) {
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
        ensure_private_dir(&self.dir).map_err(|source| StoreError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let json = serde_json::to_vec_pretty(map).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = self
            .dir
            .join(format!(".{profile}.json.{}.tmp", std::process::id()));
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(&json)?;
            // Durable before the rename: a crash leaves the old or the new
            // file, never a torn one. A full disk fails here and the old file
            // stays as it was.
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            if let Ok(d) = std::fs::File::open(&self.dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }
}

fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::symlink_metadata(dir)?;
        if meta.uid() != rustix::process::geteuid().as_raw() || !meta.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a directory owned by this user; refusing to keep secrets there",
                dir.display()
            )));
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
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
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secrets), 0o700);
        assert_eq!(mode(&secrets.join("plm.json")), 0o600);
        // A directory someone loosened is tightened again on the next write.
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o755)).unwrap();
        store
            .set("plm", SecretKind::RefreshToken, &Secret::new("rt2"))
            .unwrap();
        assert_eq!(mode(&secrets), 0o700);
    }

    #[test]
    fn a_survives_a_new_store_instance() {
        // A daemon killed and restarted reads what the last one wrote.
        let dir = tempfile::tempdir().unwrap();
        FileStore::new(dir.path())
            .set("plm", SecretKind::RefreshToken, &Secret::new("rt-1"))
            .unwrap();
        let again = FileStore::new(dir.path());
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
        // A directory where the temp file must go makes the write fail (as a
        // full disk would) even for root, who ignores permission bits.
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        store
            .set("plm", SecretKind::RefreshToken, &Secret::new("old"))
            .unwrap();
        let blocker = dir
            .path()
            .join(format!(".plm.json.{}.tmp", std::process::id()));
        std::fs::create_dir(&blocker).unwrap();
        assert!(matches!(
            store.set("plm", SecretKind::RefreshToken, &Secret::new("new")),
            Err(StoreError::Io { .. })
        ));
        assert_eq!(
            store
                .get("plm", SecretKind::RefreshToken)
                .unwrap()
                .unwrap()
                .expose(),
            "old"
        );
    }
}
