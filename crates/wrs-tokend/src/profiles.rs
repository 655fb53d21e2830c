//! The configuration as the daemon holds it: loaded at start, replaced on
//! reload only by a configuration that loads cleanly, and noticed when the
//! file changes on disk ([`Profiles::changed_on_disk`]), so an edit by hand
//! applies without `wrs-token daemon reload`.
//!
//! A broken file at start does not stop the daemon: it serves, and every
//! profile request answers the error (file, line, key) so that `status`
//! and `doctor` can show it. A broken file on reload keeps the previous
//! configuration, and [`Profiles::file_error`] says why until the file is
//! fixed.
//!
//! Change detection is a `stat` per request that needs the configuration
//! rather than inotify (`notify`): a stat costs about a microsecond against
//! a millisecond round trip, needs no thread, no watch on a directory that
//! an editor's rename-over may replace, and works the same on every
//! platform and on network home directories where inotify stays silent.
//! There is no rate limit for the same reason, and so the very next request
//! after an edit sees it. A stamp (size, mtime, inode, ctime) cannot tell
//! two writes of the same size within one timestamp tick apart, so while
//! the file's mtime is recent (git's "racily clean" case) the content is
//! compared too.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use wrs_config::{Config, Profile};

use crate::source::{ProfileInfo, SourceError};

/// While the file's mtime is this recent, its stamp is not trusted alone:
/// a second write within the same timestamp tick keeps mtime and maybe size.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The daemon's view of the configuration file.
pub struct Profiles {
    path: PathBuf,
    current: RwLock<Loaded>,
    /// The file as last read, to notice changes on disk.
    seen: Mutex<Seen>,
    /// Whether changes on disk apply by themselves: not for a fixed
    /// configuration ([`Profiles::with_config`]).
    watched: bool,
}

/// What the last (good or broken) read of the file saw.
#[derive(Default)]
struct Seen {
    /// `None`: never read (a fixed configuration), or the file is absent.
    stamp: Option<Stamp>,
    /// The bytes read, compared while the stamp is racy.
    content: Option<Vec<u8>>,
    /// Why the file on disk is not the configuration in use.
    error: Option<String>,
}

/// Cheap identity of the file's current version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of `path`; `None` when it does not exist or cannot be read.
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Some(Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
            #[cfg(unix)]
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }

    /// Whether a later write could still hide behind this stamp.
    fn is_racy(&self, now: SystemTime) -> bool {
        match self.modified {
            // A future mtime (clock change) is as untrustworthy as a fresh one.
            Some(modified) => now
                .duration_since(modified)
                .map_or(true, |age| age < RACY_WINDOW),
            None => true,
        }
    }
}

impl Seen {
    /// Records what a load read: the stamp taken *before* reading, so a
    /// write during the read shows up as a change next time.
    fn record(path: &Path, stamp: Option<Stamp>, error: Option<String>) -> Seen {
        let content = stamp
            .as_ref()
            .and_then(|_| wrs_config::read_regular_file(path, wrs_config::MAX_FILE_BYTES).ok());
        Seen {
            stamp,
            content,
            error,
        }
    }
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
        let stamp = Stamp::of(path);
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
        let error = match &current {
            Loaded::Broken(message) => Some(message.clone()),
            Loaded::Good(_) => None,
        };
        Profiles {
            path: path.to_owned(),
            current: RwLock::new(current),
            seen: Mutex::new(Seen::record(path, stamp, error)),
            watched: true,
        }
    }

    /// A fixed configuration (for tests and embedders); `path` is where a
    /// reload reads from.
    pub fn with_config(path: &Path, config: Config) -> Self {
        Profiles {
            path: path.to_owned(),
            current: RwLock::new(Loaded::Good(Arc::new(config))),
            seen: Mutex::new(Seen::default()),
            watched: false,
        }
    }

    /// The configuration file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file on disk differs from what was last read (good or
    /// broken): then [`Profiles::reload`] is due. A configuration given
    /// with [`Profiles::with_config`] is never replaced from disk by this.
    pub fn changed_on_disk(&self) -> bool {
        if !self.watched {
            return false;
        }
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let now_stamp = Stamp::of(&self.path);
        if now_stamp != seen.stamp {
            return true;
        }
        match &now_stamp {
            Some(stamp) if stamp.is_racy(SystemTime::now()) => {
                let on_disk =
                    wrs_config::read_regular_file(&self.path, wrs_config::MAX_FILE_BYTES).ok();
                on_disk != seen.content
            }
            _ => false,
        }
    }

    /// Why the file on disk is not the configuration in use (it does not
    /// load), if that is so.
    pub fn file_error(&self) -> Option<String> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .error
            .clone()
    }

    /// Re-reads the file. On error the previous configuration stays.
    pub fn reload(&self) -> Result<ReloadChanges, SourceError> {
        let stamp = Stamp::of(&self.path);
        let loaded = Config::load(&self.path);
        let error = loaded.as_ref().err().map(ToString::to_string);
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) =
            Seen::record(&self.path, stamp, error);
        let new = match loaded {
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    const ONE: &str = "[profiles.plm]\nissuer = \"https://sso.example.com\"\nclient_id = \"a\"\n";
    const TWO: &str = "[profiles.plm]\nissuer = \"https://sso.example.com\"\nclient_id = \"b\"\n";

    fn set_mtime(path: &Path, at: SystemTime) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }

    #[test]
    fn an_unchanged_file_is_not_reloaded_and_a_changed_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, ONE).unwrap();
        set_mtime(&path, SystemTime::now() - Duration::from_secs(3600));
        let profiles = Profiles::load(&path);
        assert!(!profiles.changed_on_disk());
        std::fs::write(&path, TWO).unwrap();
        assert!(profiles.changed_on_disk());
        profiles.reload().unwrap();
        assert_eq!(profiles.profile("plm").unwrap().client_id, "b");
    }

    /// Two writes of the same size in one timestamp tick leave the stamp
    /// alone: while the mtime is recent the content decides.
    #[test]
    fn a_recent_file_with_the_same_stamp_is_compared_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, ONE).unwrap();
        let profiles = Profiles::load(&path);
        assert!(!profiles.changed_on_disk(), "same content, same stamp");
        // As if the read had happened just before a same-tick rewrite.
        profiles.seen.lock().unwrap().content = Some(TWO.as_bytes().to_vec());
        assert!(profiles.changed_on_disk());
        // An old mtime is trusted: no read, no reload.
        set_mtime(&path, SystemTime::now() - Duration::from_secs(3600));
        profiles.reload().unwrap();
        profiles.seen.lock().unwrap().content = Some(TWO.as_bytes().to_vec());
        assert!(!profiles.changed_on_disk());
    }

    #[test]
    fn a_broken_file_keeps_the_old_configuration_and_says_why_until_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, ONE).unwrap();
        let profiles = Profiles::load(&path);
        std::fs::write(&path, format!("{ONE}colour = 1\n")).unwrap();
        assert!(profiles.changed_on_disk());
        assert!(profiles.reload().is_err());
        let error = profiles.file_error().unwrap();
        assert!(error.contains("config.toml:4:"), "{error}");
        assert_eq!(profiles.profile("plm").unwrap().client_id, "a");
        assert!(!profiles.changed_on_disk(), "a broken file is read once");
        std::fs::write(&path, TWO).unwrap();
        profiles.reload().unwrap();
        assert_eq!(profiles.file_error(), None);
    }

    #[test]
    fn a_fixed_configuration_is_not_replaced_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, TWO).unwrap();
        let profiles = Profiles::with_config(&path, Config::default());
        assert!(!profiles.changed_on_disk());
    }
}
