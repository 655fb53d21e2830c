//! The config file as commands read and write it: where it is, loading
//! and saving through `wrs_config`, and its errors as [`Failure`]s with a
//! hint. Below the commands, so none reaches into another for it.

use std::path::{Path, PathBuf};

use wrs_config::{Config, ConfigError, Paths};

use crate::exit::{Exit, Failure};

/// Where the config file is (`WRS_TOKEN_CONFIG`, else the platform's
/// config directory, honouring `XDG_CONFIG_HOME`).
pub fn config_path() -> Result<PathBuf, Failure> {
    Paths::resolve().map(|p| p.config_file).ok_or_else(|| {
        Failure::new(Exit::Failure, "cannot locate the config directory").with_hint(format!(
            "set HOME, XDG_CONFIG_HOME or {}",
            wrs_sys::env::CONFIG
        ))
    })
}

/// The configuration in `path` (empty when the file does not exist).
pub fn load(path: &Path) -> Result<Config, Failure> {
    Config::load(path).map_err(config_failure)
}

/// Writes `config` to `path` atomically, mode 0600.
pub fn save(config: &Config, path: &Path) -> Result<(), Failure> {
    config.save(path).map_err(config_failure)
}

/// A configuration error as a failure with a hint.
pub fn config_failure(e: ConfigError) -> Failure {
    let hint = match &e {
        ConfigError::Io { .. } => format!(
            "check the file's permissions, or set {}",
            wrs_sys::env::CONFIG
        ),
        _ => "fix the file by hand (the message names the line and key)".to_owned(),
    };
    Failure::new(Exit::Failure, e.to_string()).with_hint(hint)
}
