//! The configuration as the daemon holds it: loaded at start, replaced on
//! reload only by a configuration that loads cleanly.
//!
//! A broken file at start does not stop the daemon: it serves, and every
//! profile request answers the error (file, line, key) so that `status`
//! and `doctor` can show it. A broken file on reload keeps the previous
//! configuration; only the reload request gets the error.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use wrs_config::{Config, Profile};

use crate::source::{ProfileInfo, SourceError};

/// The daemon's view of the configuration file.
pub struct Profiles {
    path: PathBuf,
    current: RwLock<Loaded>,
}

#[derive(Clone)]
enum Loaded {
    Good(Arc<Config>),
    /// No good configuration was ever loaded; the message names the problem.
    Broken(String),
}

/// What a successful reload changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReloadChanges {
    /// Profiles that were removed or whose settings changed: their sessions
    /// and clients are dropped. Unchanged profiles keep theirs.
    pub changed: Vec<String>,
    /// How many profiles the new configuration has.
    pub count: usize,
}

impl Profiles {
    /// Loads `path` (a missing file is an empty configuration). Never fails:
    /// a broken file is remembered and reported to each request.
    pub fn load(path: &Path) -> Self {
        let current = match Config::load(path) {
            Ok(config) => {
                tracing::info!(
                    file = %path.display(),
                    profiles = config.profiles.len(),
                    "configuration loaded"
                );
                Loaded::Good(Arc::new(config))
            }
            Err(e) => {
                tracing::error!("configuration not loaded: {e}");
                Loaded::Broken(e.to_string())
            }
        };
        Profiles {
            path: path.to_owned(),
            current: RwLock::new(current),
        }
    }

    /// A fixed configuration (for tests and embedders); `path` is where a
    /// reload reads from.
    pub fn with_config(path: &Path, config: Config) -> Self {
        Profiles {
            path: path.to_owned(),
            current: RwLock::new(Loaded::Good(Arc::new(config))),
        }
    }

    /// The configuration file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file. On error the previous configuration stays.
    pub fn reload(&self) -> Result<ReloadChanges, SourceError> {
        let new = match Config::load(&self.path) {
            Ok(config) => config,
            Err(e) => {
                tracing::warn!("reload refused, keeping the previous configuration: {e}");
                let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
                if let Loaded::Broken(message) = &mut *current {
                    *message = e.to_string();
                }
                return Err(SourceError::ConfigFile(e.to_string()));
            }
        };
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let changed = match &*current {
            Loaded::Good(old) => old
                .profiles
                .iter()
                .filter(|(name, profile)| new.profiles.get(*name) != Some(*profile))
                .map(|(name, _)| name.clone())
                .collect(),
            Loaded::Broken(_) => Vec::new(),
        };
        let count = new.profiles.len();
        tracing::info!(profiles = count, changed = ?changed, "configuration reloaded");
        *current = Loaded::Good(Arc::new(new));
        Ok(ReloadChanges { changed, count })
    }

    /// The current configuration, or why there is none.
    pub fn config(&self) -> Result<Arc<Config>, SourceError> {
        match &*self.current.read().unwrap_or_else(PoisonError::into_inner) {
            Loaded::Good(config) => Ok(config.clone()),
            Loaded::Broken(message) => Err(SourceError::ConfigFile(message.clone())),
        }
    }

    /// The profile called `name`.
    pub fn profile(&self, name: &str) -> Result<Profile, SourceError> {
        self.config()?
            .profiles
            .get(name)
            .cloned()
            .ok_or_else(|| SourceError::Config(format!("profile {name} is not configured")))
    }

    /// The profiles for the session layer, default first.
    pub fn infos(&self) -> Vec<ProfileInfo> {
        let Ok(config) = self.config() else {
            return Vec::new();
        };
        let default = config.resolve_name(None);
        let mut infos: Vec<ProfileInfo> = config
            .profiles
            .iter()
            .map(|(name, profile)| ProfileInfo {
                name: name.clone(),
                is_default: Some(name.as_str()) == default,
                server: profile.server().to_owned(),
                min_ttl: profile.min_ttl.map(Duration::from_secs),
                keep_warm: Duration::from_secs(profile.keep_warm_secs()),
                keepalive: profile.keepalive_secs().map(Duration::from_secs),
            })
            .collect();
        // Stable: the default first, the others in name order.
        infos.sort_by_key(|p| !p.is_default);
        infos
    }
}
