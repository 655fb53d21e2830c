//! Process memory only: for CI and tests, and hosts that accept logging in
//! again after every daemon restart.

use std::collections::HashMap;
use std::sync::Mutex;

use wrs_proto::Secret;

use crate::{SecretKind, SecretStore, StoreError};

/// Secrets kept in the daemon's memory.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<(String, SecretKind), Secret>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(String, SecretKind), Secret>> {
        // A poisoned lock only means another thread panicked mid-insert; the
        // map itself is still consistent.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, StoreError> {
        Ok(self.map().get(&(profile.to_owned(), kind)).cloned())
    }

    fn set(&self, profile: &str, kind: SecretKind, value: &Secret) -> Result<(), StoreError> {
        self.map().insert((profile.to_owned(), kind), value.clone());
        Ok(())
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<(), StoreError> {
        self.map().remove(&(profile.to_owned(), kind));
        Ok(())
    }

    fn describe(&self) -> String {
        "memory (lost when the daemon stops)".into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_meets_the_contract() {
        crate::contract::check(&super::MemoryStore::new());
    }
}
