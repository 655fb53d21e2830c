//! The daemon's secret stores, one per kind, shared by all profiles.
//!
//! - keyring: one [`KeyringStore`], opened on first use (a D-Bus connection
//!   on Linux: after the fork, on a blocking thread). A failure to open it
//!   is reported and retried on the next use, never replaced by another
//!   store: a silent fallback would put a refresh token where the user did
//!   not choose to keep it;
//! - file: a [`FileStore`] under `<data dir>/secrets`;
//! - memory: one [`MemoryStore`], lost when the daemon stops.
//!
//! Store calls block, so every async caller goes through [`Stores::get`],
//! [`Stores::set`] and [`Stores::delete`], which run them on tokio's
//! blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use wrs_config::StoreKind;
use wrs_proto::Secret;
use wrs_store::{FileStore, KeyringStore, MemoryStore, SecretKind, SecretStore, StoreError};

use crate::source::SourceError;

/// The stores of one daemon. Cheap to clone.
#[derive(Clone)]
pub struct Stores {
    inner: Arc<Inner>,
}

struct Inner {
    keyring: Mutex<Option<Arc<KeyringStore>>>,
    keyring_namespace: Option<String>,
    file: Arc<dyn SecretStore>,
    memory: Arc<MemoryStore>,
}

impl Stores {
    /// Stores whose file store lives in `<data_dir>/secrets` and whose
    /// keyring entries carry `keyring_namespace` (see
    /// `wrs_config::Paths::keyring_namespace`).
    pub fn new(data_dir: &Path, keyring_namespace: Option<String>) -> Self {
        Stores::with_file_store(
            Arc::new(FileStore::new(data_dir.join("secrets"))),
            keyring_namespace,
        )
    }

    /// As [`Stores::new`], with `file` serving the profiles whose store is
    /// `file`. A TEST AID: the daemon's tests hold a write up or make it
    /// fail with it (what the file store itself does is wrs-store's to
    /// test).
    pub fn with_file_store(file: Arc<dyn SecretStore>, keyring_namespace: Option<String>) -> Self {
        Stores {
            inner: Arc::new(Inner {
                keyring: Mutex::new(None),
                keyring_namespace,
                file,
                memory: Arc::new(MemoryStore::new()),
            }),
        }
    }

    /// The stores of the installation at `paths`: what the daemon uses, and
    /// what `wrs-tokend probe` reads.
    pub fn for_paths(paths: &wrs_config::Paths) -> Self {
        Stores::new(&paths.data_dir, paths.keyring_namespace.clone())
    }

    /// The store of `kind`, opening the keyring if needed. Blocking.
    pub fn open(&self, kind: StoreKind) -> Result<Arc<dyn SecretStore>, StoreError> {
        match kind {
            StoreKind::File => Ok(self.inner.file.clone()),
            StoreKind::Memory => Ok(self.inner.memory.clone()),
            StoreKind::Keyring => {
                let mut slot = self
                    .inner
                    .keyring
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(store) = &*slot {
                    return Ok(store.clone());
                }
                let store = Arc::new(KeyringStore::open(self.inner.keyring_namespace.clone())?);
                *slot = Some(store.clone());
                Ok(store)
            }
        }
    }

    /// Reads `profile`'s secret of `secret` kind from the `kind` store.
    pub async fn get(
        &self,
        kind: StoreKind,
        profile: &str,
        secret: SecretKind,
    ) -> Result<Option<Secret>, SourceError> {
        let profile = profile.to_owned();
        self.blocking(kind, move |store| store.get(&profile, secret))
            .await
    }

    /// Stores `value` as `profile`'s secret of `secret` kind; durable when
    /// this returns.
    pub async fn set(
        &self,
        kind: StoreKind,
        profile: &str,
        secret: SecretKind,
        value: &Secret,
    ) -> Result<(), SourceError> {
        let profile = profile.to_owned();
        let value = value.clone();
        self.blocking(kind, move |store| store.set(&profile, secret, &value))
            .await
    }

    /// Deletes `profile`'s secret of `secret` kind (missing is fine).
    pub async fn delete(
        &self,
        kind: StoreKind,
        profile: &str,
        secret: SecretKind,
    ) -> Result<(), SourceError> {
        let profile = profile.to_owned();
        self.blocking(kind, move |store| store.delete(&profile, secret))
            .await
    }

    /// The `kind` store's description, for `SecretStored` and `status`.
    pub async fn describe(&self, kind: StoreKind) -> Result<String, SourceError> {
        self.blocking(kind, |store| Ok(store.describe())).await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        kind: StoreKind,
        op: impl Fn(&dyn SecretStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, SourceError> {
        let stores = self.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let result = op(&*stores.open(kind)?);
            match result {
                // The keyring connection can go stale under us: a Secret
                // Service that restarted (a re-login, `gnome-keyring-daemon
                // --replace`) no longer knows our session. Every operation
                // here is idempotent, so connect afresh and try once more.
                Err(StoreError::Backend { .. }) if kind == StoreKind::Keyring => {
                    stores.forget_keyring();
                    tracing::debug!("keyring call failed; retrying on a new connection");
                    op(&*stores.open(kind)?)
                }
                other => other,
            }
        })
        .await;
        match outcome {
            Ok(result) => result.map_err(|e| store_error(&e)),
            Err(e) => Err(SourceError::Internal(format!(
                "the secret store call failed: {e}"
            ))),
        }
    }

    /// Drops the keyring connection; the next call opens a new one.
    fn forget_keyring(&self) {
        *self
            .inner
            .keyring
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// A store failure as the wire reports it, with the store's own hint.
pub fn store_error(e: &StoreError) -> SourceError {
    SourceError::Store {
        message: e.to_string(),
        hint: Some(e.hint().to_owned()),
        after_request: false,
    }
}
