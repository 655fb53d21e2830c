//! Secret stores for wrs-token: where refresh tokens and client secrets live.
//!
//! - [`KeyringStore`]: the OS keyring (Secret Service on Linux, Keychain on
//!   macOS, Credential Manager on Windows), through `keyring-core` and one
//!   store crate per platform. The default.
//! - [`FileStore`]: an explicit, opt-in file per profile for headless
//!   hosts: 0600, written atomically, in a private directory (0700, ours,
//!   refused rather than chmod-ed when it is not), by the local-machine
//!   rules of `wrs_sys` that the daemon follows too.
//! - [`MemoryStore`]: process memory only, for CI and tests.
//!
//! There is no silent fallback: when the keyring is missing or locked the
//! error says so and names the alternatives. All calls are blocking (the
//! Secret Service client talks D-Bus synchronously); async callers run them
//! on a blocking thread.
#![deny(missing_docs)]

mod file;
mod keyring;
mod memory;

use wrs_proto::Secret;

pub use file::FileStore;
pub use keyring::{KeyringStore, service_name as keyring_service_name};
pub use memory::MemoryStore;

/// Which secret of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// The OAuth refresh token.
    RefreshToken,
    /// The OAuth client secret.
    ClientSecret,
}

impl SecretKind {
    /// A stable name, used in keyring entries and files.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::ClientSecret => "client_secret",
        }
    }
}

/// What a store failed at. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be used on this host at all.
    #[error("{backend} is not available: {detail}")]
    Unavailable {
        /// Which backend.
        backend: &'static str,
        /// Why, in words.
        detail: String,
    },
    /// The store exists but refused access (a locked keyring).
    #[error("{backend} is locked or refused access: {detail}")]
    Locked {
        /// Which backend.
        backend: &'static str,
        /// Why, in words.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Stored data is unreadable.
    #[error("{what} is corrupt: {detail}")]
    Corrupt {
        /// What was read.
        what: String,
        /// Why it cannot be used.
        detail: String,
    },
    /// Any other backend failure.
    #[error("{backend} failed: {detail}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// Why, in words.
        detail: String,
    },
}

impl StoreError {
    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            StoreError::Unavailable { .. } | StoreError::Locked { .. } => {
                "unlock or start the keyring (on Linux a Secret Service such as gnome-keyring), \
                 or choose another store for the profile: `--store file` (plaintext, 0600) or `--store memory` (lost when the daemon stops)"
            }
            StoreError::Io { .. } => "check free space and permissions of the secrets directory",
            StoreError::Corrupt { .. } => "log in again: `wrs-token login <profile>`",
            StoreError::Backend { .. } => "see `wrs-token doctor` for the secret store's state",
        }
    }
}

/// A place that keeps secrets by profile and kind.
pub trait SecretStore: Send + Sync {
    /// The secret, or `None` when none is stored.
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, StoreError>;
    /// Stores (or replaces) the secret; durable when this returns.
    fn set(&self, profile: &str, kind: SecretKind, value: &Secret) -> Result<(), StoreError>;
    /// Removes the secret; removing a missing one is not an error.
    fn delete(&self, profile: &str, kind: SecretKind) -> Result<(), StoreError>;
    /// A short description for `status` and `doctor`.
    fn describe(&self) -> String;
}

#[cfg(test)]
pub(crate) mod contract {
    //! The behaviour every store must have, run against each one.
    use super::*;

    pub fn check(store: &dyn SecretStore) {
        let rt = SecretKind::RefreshToken;
        let cs = SecretKind::ClientSecret;
        assert!(store.get("p1", rt).unwrap().is_none());
        store.set("p1", rt, &Secret::new("rt-1")).unwrap();
        store.set("p1", cs, &Secret::new("cs-1")).unwrap();
        store.set("p2", rt, &Secret::new("rt-2")).unwrap();
        assert_eq!(store.get("p1", rt).unwrap().unwrap().expose(), "rt-1");
        assert_eq!(store.get("p1", cs).unwrap().unwrap().expose(), "cs-1");
        assert_eq!(store.get("p2", rt).unwrap().unwrap().expose(), "rt-2");
        store.set("p1", rt, &Secret::new("rt-1b")).unwrap();
        assert_eq!(
            store.get("p1", rt).unwrap().unwrap().expose(),
            "rt-1b",
            "replace"
        );
        store.delete("p1", rt).unwrap();
        assert!(store.get("p1", rt).unwrap().is_none());
        assert_eq!(
            store.get("p1", cs).unwrap().unwrap().expose(),
            "cs-1",
            "other kind kept"
        );
        store.delete("p1", rt).unwrap();
        store.delete("p1", cs).unwrap();
        store.delete("p2", rt).unwrap();
        assert!(!store.describe().is_empty());
    }
}
