//! Where configuration and data live, honouring `WRS_TOKEN_CONFIG` and the
//! XDG variables so a test or a second identity runs fully isolated.

use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variable naming the config file explicitly.
pub const CONFIG_ENV: &str = "WRS_TOKEN_CONFIG";

/// The files and directories of one wrs-token installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The TOML configuration file.
    pub config_file: PathBuf,
    /// Per-user data: the opt-in file secret store lives under it.
    pub data_dir: PathBuf,
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
        let (config_dir, data_dir) = if cfg!(unix) {
            let config = var("XDG_CONFIG_HOME").or_else(|| platform_default_config(home.as_ref()));
            let data = var("XDG_DATA_HOME").or_else(|| platform_default_data(home.as_ref()));
            (
                config.map(|d| d.join("wrs-token")),
                data.map(|d| d.join("wrs-token")),
            )
        } else {
            let dirs = directories::ProjectDirs::from("", "", "wrs-token");
            (
                dirs.as_ref().map(|d| d.config_dir().to_path_buf()),
                dirs.as_ref().map(|d| d.data_local_dir().to_path_buf()),
            )
        };
        let config_file = var(CONFIG_ENV).or_else(|| config_dir.map(|d| d.join("config.toml")))?;
        // Without a home (a bare service account) but with an explicit
        // config file, data lives beside that file.
        let data_dir = data_dir.or_else(|| config_file.parent().map(|p| p.join("data")))?;
        Some(Paths {
            config_file,
            data_dir,
        })
    }
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
            (CONFIG_ENV, "/etc/wrs.toml"),
        ]))
        .unwrap();
        assert_eq!(p.config_file, PathBuf::from("/etc/wrs.toml"));
        assert_eq!(p.data_dir, PathBuf::from("/home/u/.local/share/wrs-token"));
    }

    #[test]
    fn an_explicit_config_file_is_enough_without_home() {
        let p = Paths::resolve_with(env_of(&[(CONFIG_ENV, "/srv/wrs/config.toml")])).unwrap();
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
