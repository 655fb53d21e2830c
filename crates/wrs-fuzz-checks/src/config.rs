//! The configuration file (`wrs_config::Config::parse`): TOML text to
//! profiles, as `Config::load` does after reading the file. Checked:
//!
//! - a config that parses (and so validates) is written the way
//!   `Config::save` writes it (`toml::to_string_pretty`), and that text
//!   parses back equal; writing again gives the same text;
//! - a parse error names the file, a line that exists (1-based), a
//!   column, a non-empty message, and quotes only a line of the input;
//! - every other error names the file.

use std::path::Path;

use wrs_config::{Config, ConfigError};

/// The path errors are expected to name.
pub const PATH: &str = "fuzz/config.toml";

/// Parses `data` (when it is UTF-8, as `read_to_string` demands) as a
/// config file.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_text(text);
}

/// [`config`] for text.
pub fn check_text(text: &str) {
    let path = Path::new(PATH);
    match Config::parse(path, text) {
        Ok(config) => {
            let written = toml::to_string_pretty(&config)
                .unwrap_or_else(|e| panic!("a parsed config cannot be written: {e}"));
            let again = Config::parse(path, &written)
                .unwrap_or_else(|e| panic!("a written config does not parse: {e}\n{written}"));
            assert_eq!(again, config, "written and read back:\n{written}");
            let rewritten = toml::to_string_pretty(&again).ok();
            assert_eq!(rewritten.as_deref(), Some(written.as_str()), "stable text");
        }
        Err(err) => check_error(text, &err),
    }
}

fn check_error(text: &str, err: &ConfigError) {
    let shown = err.to_string();
    assert!(shown.starts_with(PATH), "{shown}");
    match err {
        ConfigError::Parse {
            path,
            line,
            column,
            near,
            message,
        } => {
            assert_eq!(path, Path::new(PATH));
            let lines = text.matches('\n').count() + 1;
            assert!((1..=lines).contains(line), "line {line} of {lines}");
            assert!(*column >= 1);
            assert!(
                shown.starts_with(&format!("{PATH}:{line}:{column}: ")),
                "{shown}"
            );
            assert!(!message.trim().is_empty(), "{shown}");
            if let Some(near) = near {
                assert!(!near.is_empty() && !near.contains('\n'), "{near:?}");
                assert!(
                    text.contains(near.as_str()),
                    "{near:?} is not from the input"
                );
            }
        }
        ConfigError::Invalid { path, .. } | ConfigError::UnknownDefault { path, .. } => {
            assert_eq!(path, Path::new(PATH));
        }
        ConfigError::Io { .. } => panic!("parsing text is no I/O: {shown}"),
    }
}
