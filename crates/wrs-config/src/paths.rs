//! Where configuration and data live, honouring `WRS_TOKEN_CONFIG` and the
//! XDG variables so a test or a second identity runs fully isolated.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use wrs_sys::env;

/// The files and directories of one wrs-token installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The TOML configuration file.
    pub config_file: PathBuf,
    /// Per-user data: the opt-in file secret store lives under it.
    pub data_dir: PathBuf,
    /// Keeps this installation's keyring entries apart from another's:
    /// `None` for the config file at its usual place (derived from `HOME`
    /// alone), else a short stable hash of the config file's path. The OS
    /// keyring is one per user, while a second identity or a test points
    /// `WRS_TOKEN_CONFIG` or `XDG_CONFIG_HOME` elsewhere; without this, two
    /// configs with a profile of the same name would share, and overwrite,
    /// one refresh token.
    pub keyring_namespace: Option<String>,
}

impl Paths {
    /// The paths for this process's user and environment.
    pub fn resolve() -> Option<Paths> {
        Self::resolve_with(|k| std::env::var_os(k))
    }

    /// As [`Paths::resolve`], reading variables through `env`.
    pub fn resolve_with(env: impl Fn(&str) -> Option<OsString>) -> Option<Paths> {
        let var = |k: &str| {
            env(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        // XDG variables are read here rather than left to `directories`, so
        // they also apply when the variables are injected (tests) and on
        // every Unix, as users of tools like this expect.
        let home = var("HOME");
        // `usual_config_dir`: where the config lives when nothing but HOME
        // says so; the keyring namespace is derived against it.
        let (usual_config_dir, config_dir, data_dir) = if cfg!(unix) {
            let usual = platform_default_config(home.as_ref()).map(|d| d.join("wrs-token"));
            let config = var("XDG_CONFIG_HOME")
                .map(|d| d.join("wrs-token"))
                .or_else(|| usual.clone());
            let data = var("XDG_DATA_HOME").or_else(|| platform_default_data(home.as_ref()));
            (usual, config, data.map(|d| d.join("wrs-token")))
        } else {
            let dirs = directories::ProjectDirs::from("", "", "wrs-token");
            let config = dirs.as_ref().map(|d| d.config_dir().to_path_buf());
            (
                config.clone(),
                config,
                dirs.as_ref().map(|d| d.data_local_dir().to_path_buf()),
            )
        };
        let config_file = var(env::CONFIG).or_else(|| config_dir.map(|d| d.join("config.toml")))?;
        // Without a home (a bare service account) but with an explicit
        // config file, data lives beside that file.
        let data_dir = data_dir.or_else(|| config_file.parent().map(|p| p.join("data")))?;
        let usual_file = usual_config_dir.map(|d| d.join("config.toml"));
        let keyring_namespace =
            (usual_file.as_ref() != Some(&config_file)).then(|| path_hash(&config_file));
        Some(Paths {
            config_file,
            data_dir,
            keyring_namespace,
        })
    }
}

/// FNV-1a (64 bit) of the path's bytes, as 8 hex digits. Stored secrets are
/// found by it, so it must never change.
fn path_hash(path: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", hash >> 32)
}

fn platform_default_config(home: Option<&PathBuf>) -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        directories::BaseDirs::new().map(|b| b.config_dir().to_path_buf())
    } else {
        home.map(|h| h.join(".config"))
    }
}

fn platform_default_data(home: Option<&PathBuf>) -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        directories::BaseDirs::new().map(|b| b.data_local_dir().to_path_buf())
    } else {
        home.map(|h| h.join(".local/share"))
    }
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn xdg_variables_are_honoured() {
        let p = Paths::resolve_with(env_of(&[
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", "/cfg"),
            ("XDG_DATA_HOME", "/data"),
        ]))
        .unwrap();
        assert_eq!(p.config_file, PathBuf::from("/cfg/wrs-token/config.toml"));
        assert_eq!(p.data_dir, PathBuf::from("/data/wrs-token"));
    }

    #[test]
    fn home_defaults_apply_without_xdg_and_explicit_config_wins() {
        let p = Paths::resolve_with(env_of(&[
            ("HOME", "/home/u"),
            (env::CONFIG, "/etc/wrs.toml"),
        ]))
        .unwrap();
        assert_eq!(p.config_file, PathBuf::from("/etc/wrs.toml"));
        assert_eq!(p.data_dir, PathBuf::from("/home/u/.local/share/wrs-token"));
    }

    #[test]
    fn only_a_config_away_from_its_usual_place_gets_a_keyring_namespace() {
        let usual = Paths::resolve_with(env_of(&[("HOME", "/home/u")])).unwrap();
        assert_eq!(usual.keyring_namespace, None);
        // XDG_CONFIG_HOME at its default value is the usual place too.
        let same = Paths::resolve_with(env_of(&[
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", "/home/u/.config"),
        ]))
        .unwrap();
        assert_eq!(same.keyring_namespace, None);
        let a =
            Paths::resolve_with(env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/a")])).unwrap();
        let b = Paths::resolve_with(env_of(&[("HOME", "/home/u"), (env::CONFIG, "/b/c.toml")]))
            .unwrap();
        let no_home = Paths::resolve_with(env_of(&[(env::CONFIG, "/b/c.toml")])).unwrap();
        // Fixed values: entries already in keyrings are found by them.
        assert_eq!(
            a.keyring_namespace.as_deref(),
            Some(path_hash(Path::new("/a/wrs-token/config.toml")).as_str())
        );
        assert_eq!(path_hash(Path::new("/b/c.toml")), "56a8df19");
        assert_ne!(a.keyring_namespace, b.keyring_namespace);
        assert_eq!(b.keyring_namespace, no_home.keyring_namespace);
    }

    #[test]
    fn an_explicit_config_file_is_enough_without_home() {
        let p = Paths::resolve_with(env_of(&[(env::CONFIG, "/srv/wrs/config.toml")])).unwrap();
        assert_eq!(p.config_file, PathBuf::from("/srv/wrs/config.toml"));
        assert_eq!(p.data_dir, PathBuf::from("/srv/wrs/data"));
        assert_eq!(Paths::resolve_with(env_of(&[])), None);
    }

    #[test]
    fn relative_xdg_values_are_ignored_as_the_spec_says() {
        let p = Paths::resolve_with(env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "rel")]))
            .unwrap();
        assert_eq!(
            p.config_file,
            PathBuf::from("/home/u/.config/wrs-token/config.toml")
        );
    }
}
