//! Reading and writing the TOML file.
//!
//! ```toml
//! default = "plm"
//!
//! [profiles.plm]
//! issuer = "https://sso.example.com"
//! client_id = "wrs-cli"
//! scopes = ["openid", "WINDCHILL_READ"]
//! resource = "https://plm.example.com/Windchill/oauth/servlet/odata/"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{MAX_FILE_BYTES, Profile, ProfileError, read_regular_file};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile used when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// Why the configuration could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read, or could not be written.
    /// Also: the path is not a regular file (a FIFO, a device, a
    /// directory), or the file is larger than [`MAX_FILE_BYTES`]; `source`
    /// says which.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema.
    #[error("{path}:{line}:{column}: {message}{}", near.as_ref().map(|n| format!(" (in `{n}`)")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// The offending line, trimmed, when it names a key.
        near: Option<String>,
        /// What is wrong (names the key for unknown or mistyped keys).
        message: String,
    },
    /// A profile parses but cannot work.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with which profile.
        source: ProfileError,
    },
    /// `default` names a profile that does not exist.
    #[error("{path}: default profile {name:?} is not defined")]
    UnknownDefault {
        /// The file.
        path: PathBuf,
        /// The name.
        name: String,
    },
}

impl Config {
    /// Reads and validates the file. A missing file is an empty
    /// configuration, not an error: a fresh install has none.
    ///
    /// Only a regular file of at most [`MAX_FILE_BYTES`] is read (see
    /// [`read_regular_file`]): a FIFO, a device or a directory at the path,
    /// or a larger file, is a [`ConfigError::Io`] naming the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let bytes = match read_regular_file(path, MAX_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(ConfigError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(Config::default());
            }
            Err(e) => return Err(e),
        };
        let text = String::from_utf8(bytes).map_err(|e| not_utf8(path, &e))?;
        Self::parse(path, &text)
    }

    /// Parses and validates `text`, naming `path` in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| parse_error(path, text, &e))?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        for (name, profile) in &self.profiles {
            profile
                .validate(name)
                .map_err(|source| ConfigError::Invalid {
                    path: path.to_owned(),
                    source,
                })?;
        }
        if let Some(name) = &self.default
            && !self.profiles.contains_key(name)
        {
            return Err(ConfigError::UnknownDefault {
                path: path.to_owned(),
                name: name.clone(),
            });
        }
        Ok(())
    }

    /// The profile to use when `name` is `None`: the `default`, or the only
    /// profile there is.
    pub fn resolve_name<'a>(&'a self, name: Option<&'a str>) -> Option<&'a str> {
        match name {
            Some(n) => Some(n),
            None => self.default.as_deref().or_else(|| {
                if self.profiles.len() == 1 {
                    self.profiles.keys().next().map(String::as_str)
                } else {
                    None
                }
            }),
        }
    }

    /// Writes the file atomically with mode 0600
    /// ([`wrs_sys::private_file::write`]), creating its directory (0700)
    /// when needed.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.validate(path)?;
        let io = |source| ConfigError::Io {
            path: path.to_owned(),
            source,
        };
        let text = toml::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_missing_dir(dir).map_err(io)?;
        let header = "# wrs-token configuration. Secrets are not kept here: see `wrs-token profile show`.\n\n";
        let contents = [header.as_bytes(), text.as_bytes()].concat();
        wrs_sys::private_file::write(path, &contents).map_err(io)
    }
}

fn parse_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let offset = err.span().map(|s| s.start).unwrap_or(0).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    let near = text
        .lines()
        .nth(line - 1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        column,
        near,
        message: err.message().trim().to_owned(),
    }
}

/// Where the first invalid byte is, as line and column, like a TOML error.
fn not_utf8(path: &Path, err: &std::string::FromUtf8Error) -> ConfigError {
    let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
    // Up to `valid_up_to` the bytes are UTF-8 by definition.
    let before = String::from_utf8_lossy(valid);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        column,
        near: None,
        message: "the file is not UTF-8 text".to_owned(),
    }
}

/// Creates the configuration's directory, owner-only, when it is missing.
/// An existing one is left as it is: unlike the daemon's socket directory
/// or the file store's (`wrs_sys::private_dir`), it holds no secrets and is
/// the user's to arrange (`WRS_TOKEN_CONFIG` may point into a dotfiles
/// repository or `/etc`); the file itself is 0600 all the same.
fn create_missing_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientAuth, Grant};

    const GOOD: &str = r#"
default = "plm"

[profiles.plm]
issuer = "https://sso.example.com"
client_id = "wrs-cli"
scopes = ["openid", "WINDCHILL_READ"]
resource = "https://plm.example.com/Windchill/oauth/servlet/odata/"

[profiles.ci]
token_endpoint = "https://sso.example.com/as/token.oauth2"
client_id = "wrs-ci"
grant = "client-credentials"
auth = "post"
store = "memory"
"#;

    #[test]
    fn a_full_file_parses() {
        let c = Config::parse(Path::new("c.toml"), GOOD).unwrap();
        assert_eq!(c.default.as_deref(), Some("plm"));
        assert_eq!(c.profiles["plm"].scopes, vec!["openid", "WINDCHILL_READ"]);
        assert_eq!(c.profiles["ci"].grant, Grant::ClientCredentials);
        assert_eq!(c.profiles["ci"].auth, ClientAuth::Post);
        assert_eq!(
            c.profiles["plm"].auth,
            ClientAuth::Basic,
            "basic is PingFederate's default"
        );
    }

    #[test]
    fn a_typo_names_file_line_and_key() {
        let text = GOOD.replace("client_id = \"wrs-ci\"", "clientid = \"wrs-ci\"");
        let err =
            Config::parse(Path::new("/home/u/.config/wrs-token/config.toml"), &text).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("/home/u/.config/wrs-token/config.toml:"),
            "{msg}"
        );
        assert!(msg.contains("clientid"), "{msg}");
        match err {
            ConfigError::Parse { line, .. } => assert_eq!(line, 12, "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_wrong_type_names_the_line() {
        let text = GOOD.replace("scopes = [\"openid\", \"WINDCHILL_READ\"]", "scopes = 5");
        let msg = Config::parse(Path::new("c.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("c.toml:7:"), "{msg}");
        assert!(msg.contains("scopes"), "{msg}");
    }

    #[test]
    fn broken_toml_is_a_parse_error_not_a_panic() {
        for text in [
            "[profiles.plm",
            "default = ",
            "\u{0}",
            "[profiles]\nplm = 3",
        ] {
            assert!(
                matches!(
                    Config::parse(Path::new("c"), text),
                    Err(ConfigError::Parse { .. })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn default_must_exist() {
        let text = GOOD.replace("default = \"plm\"", "default = \"nope\"");
        assert!(matches!(
            Config::parse(Path::new("c"), &text),
            Err(ConfigError::UnknownDefault { .. })
        ));
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Config::load(&dir.path().join("none.toml")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn save_then_load_round_trips_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let c = Config::parse(Path::new("c"), GOOD).unwrap();
        c.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), c);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                std::fs::metadata(path.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    fn load_io_error(path: &Path) -> String {
        match Config::load(path) {
            Err(e @ ConfigError::Io { .. }) => e.to_string(),
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }

    /// Regression: `/dev/zero` as the config file (via a symbolic link, or
    /// `WRS_TOKEN_CONFIG=/dev/zero`) drove the daemon and the client out of
    /// memory.
    #[cfg(unix)]
    #[test]
    fn load_refuses_dev_zero_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let msg = load_io_error(&link);
        assert!(msg.starts_with(&link.display().to_string()), "{msg}");
        assert!(msg.contains("not a regular file"), "{msg}");
        let msg = load_io_error(Path::new("/dev/zero"));
        assert!(msg.starts_with("/dev/zero: "), "{msg}");
    }

    /// Regression: a FIFO as the config file hung the client in `open`.
    #[cfg(all(unix, not(target_vendor = "apple")))]
    #[test]
    fn load_refuses_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &path,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reading = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(Config::load(&reading).map_err(|e| e.to_string()));
        });
        let msg = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("loading a FIFO blocked")
            .unwrap_err();
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        assert!(msg.contains("FIFO"), "{msg}");
    }

    #[test]
    fn load_refuses_a_2_mib_file_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        // Valid TOML all along: the size alone is refused.
        std::fs::write(&path, "#".repeat(2 * 1024 * 1024)).unwrap();
        let msg = load_io_error(&path);
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        assert!(msg.contains("larger than 1 MiB"), "{msg}");
    }

    #[test]
    fn load_refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let msg = load_io_error(dir.path());
        assert!(msg.contains("is a directory"), "{msg}");
    }

    #[test]
    fn load_reports_invalid_utf8_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, b"default = \"plm\"\n# caf\xe9\n").unwrap();
        match Config::load(&path) {
            Err(ConfigError::Parse {
                path: named,
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!(named, path);
                assert_eq!((line, column), (2, 6));
                assert!(message.contains("UTF-8"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// The file is capped at 1 MiB, but 1 MiB of `[` is deep enough to
    /// overflow a recursive parser's stack: it must be a parse error.
    #[test]
    fn deeply_nested_toml_is_a_parse_error_not_a_stack_overflow() {
        let text = format!("x = {}", "[".repeat(MAX_FILE_BYTES as usize - 8));
        assert!(matches!(
            Config::parse(Path::new("c"), &text),
            Err(ConfigError::Parse { .. })
        ));
        let text = format!("x = {}", "{ a = ".repeat(100_000));
        assert!(matches!(
            Config::parse(Path::new("c"), &text),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn resolve_name_prefers_explicit_then_default_then_only() {
        let c = Config::parse(Path::new("c"), GOOD).unwrap();
        assert_eq!(c.resolve_name(Some("ci")), Some("ci"));
        assert_eq!(c.resolve_name(None), Some("plm"));
        let mut one = c.clone();
        one.default = None;
        assert_eq!(one.resolve_name(None), None, "two profiles, no default");
        one.profiles.remove("ci");
        assert_eq!(one.resolve_name(None), Some("plm"));
    }
}
