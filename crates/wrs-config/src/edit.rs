//! Editing the file in place: one setting of one profile (`profile set`,
//! `profile unset`) or one profile's name (`profile rename`), keeping the
//! user's comments, key order and layout byte for byte everywhere else.
//!
//! [`Config::save`] writes the whole file from the schema, which is right
//! for a file this program created but would drop a hand-written file's
//! comments. An [`Edit`] changes the TOML document itself (`toml_edit`) and
//! then checks the result exactly as a loaded file is checked
//! ([`Config::parse`], hence [`crate::Profile::validate`], the check
//! `profile add` makes): a value that does not fit is refused and the file
//! is not written. Writing is [`wrs_sys::private_file::write`]: atomic,
//! mode 0600.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

use crate::{Config, ConfigError, MAX_FILE_BYTES, read_regular_file};

/// The settings a profile has, as `profile set` names them: exactly the
/// keys of [`crate::Profile`] in the file.
pub const PROFILE_KEYS: &[&str] = &[
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "device_authorization_endpoint",
    "client_id",
    "auth",
    "scopes",
    "grant",
    "redirect_uri",
    "ca_file",
    "resource",
    "resource_ca_file",
    "store",
    "min_ttl",
    "keep_warm",
    "keepalive",
];

/// Keys whose change gives the profile another owner (server or client):
/// the stored refresh token and client secret are bound to the old one
/// (the daemon's binding rules) and no longer used.
pub const OWNER_KEYS: &[&str] = &["issuer", "token_endpoint", "client_id"];

/// Keys whose value is a number of seconds.
const SECONDS_KEYS: &[&str] = &["min_ttl", "keep_warm", "keepalive"];

/// Keys whose value is a file path (made absolute by the caller: the
/// daemon may run in another directory).
pub const PATH_KEYS: &[&str] = &["ca_file", "resource_ca_file"];

/// Why an edit was refused. The file is untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file cannot be read, is not valid, or cannot be written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No profile of that name.
    #[error("no profile named {name:?} in {}", path.display())]
    NoProfile {
        /// The name asked for.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// A profile of the new name exists already.
    #[error("a profile named {name:?} already exists in {}", path.display())]
    Exists {
        /// The name.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// Not a profile setting.
    #[error("unknown key {key:?}: a profile's keys are {}", PROFILE_KEYS.join(", "))]
    UnknownKey {
        /// The key given.
        key: String,
    },
    /// A value that does not fit its key, or makes the profile unusable.
    #[error("{key}: {problem}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong, from the same checks a loaded file gets.
        problem: String,
    },
}

/// The configuration file opened for editing.
#[derive(Debug, Clone)]
pub struct Edit {
    path: PathBuf,
    doc: DocumentMut,
}

impl Edit {
    /// Reads the file at `path`, which must be valid as it is (an edit
    /// never starts from a broken file: its error names line and key). A
    /// missing file is an empty one.
    pub fn open(path: &Path) -> Result<Edit, ConfigError> {
        let text = match read_regular_file(path, MAX_FILE_BYTES) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                line: 1,
                column: 1,
                near: None,
                message: format!("the file is not UTF-8 text ({e})"),
            })?,
            Err(ConfigError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                String::new()
            }
            Err(e) => return Err(e),
        };
        Config::parse(path, &text)?;
        let doc = text
            .parse::<DocumentMut>()
            .map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                line: 1,
                column: 1,
                near: None,
                message: e.to_string(),
            })?;
        Ok(Edit {
            path: path.to_owned(),
            doc,
        })
    }

    /// The file as it would be written.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// The configuration the edited text describes, checked as a loaded
    /// file is.
    pub fn config(&self) -> Result<Config, ConfigError> {
        Config::parse(&self.path, &self.text())
    }

    /// Sets `key` of profile `name` to `value`, as typed on a command line:
    /// a number for the seconds keys, a space- or comma-separated list for
    /// `scopes`, a string otherwise. A trailing comment on the old value's
    /// line is kept.
    pub fn set(&mut self, name: &str, key: &str, value: &str) -> Result<(), EditError> {
        let key = known(key)?;
        let new = typed(key, value)?;
        self.attempt(key, |edit| {
            let table = edit.profile_mut(name)?;
            match table.get_mut(key).and_then(Item::as_value_mut) {
                Some(old) => replace_value(old, new),
                None => {
                    table.insert(key, Item::Value(new));
                }
            }
            Ok(())
        })
    }

    /// Removes `key` from profile `name`, so its default applies. Removing
    /// a key that is not set does nothing.
    pub fn unset(&mut self, name: &str, key: &str) -> Result<(), EditError> {
        let key = known(key)?;
        self.attempt(key, |edit| {
            edit.profile_mut(name)?.remove(key);
            Ok(())
        })
    }

    /// Renames profile `old` to `new` where it stands in the file, and the
    /// `default` with it.
    pub fn rename(&mut self, old: &str, new: &str) -> Result<(), EditError> {
        crate::validate_profile_name(new).map_err(|e| EditError::BadValue {
            key: "name".into(),
            problem: e.to_string(),
        })?;
        self.attempt("name", |edit| {
            let path = edit.path.clone();
            let profiles = edit
                .doc
                .get_mut("profiles")
                .and_then(Item::as_table_like_mut)
                .ok_or_else(|| EditError::NoProfile {
                    name: old.to_owned(),
                    path: path.clone(),
                })?;
            if profiles.contains_key(new) {
                return Err(EditError::Exists {
                    name: new.to_owned(),
                    path,
                });
            }
            // The table keeps its place in the file: a `[profiles.x]` section
            // is positioned by its header, not by the map's order.
            let item = profiles.remove(old).ok_or_else(|| EditError::NoProfile {
                name: old.to_owned(),
                path,
            })?;
            profiles.insert(new, item);
            if let Some(default) = edit.doc.get_mut("default").and_then(Item::as_value_mut)
                && default.as_str() == Some(old)
            {
                replace_value(default, Value::from(new));
            }
            Ok(())
        })
    }

    /// Writes the edited file atomically, mode 0600.
    pub fn save(&self) -> Result<(), ConfigError> {
        self.config()?;
        wrs_sys::private_file::write(&self.path, self.text().as_bytes()).map_err(|source| {
            ConfigError::Io {
                path: self.path.clone(),
                source,
            }
        })
    }

    /// Applies `change`, then the checks of a loaded file; on any error
    /// the document is as it was, so a refused edit can never be saved.
    fn attempt(
        &mut self,
        key: &str,
        change: impl FnOnce(&mut Edit) -> Result<(), EditError>,
    ) -> Result<(), EditError> {
        let before = self.doc.clone();
        let result = change(self).and_then(|()| self.check(key));
        if result.is_err() {
            self.doc = before;
        }
        result
    }

    fn profile_mut(&mut self, name: &str) -> Result<&mut dyn toml_edit::TableLike, EditError> {
        let path = self.path.clone();
        self.doc
            .get_mut("profiles")
            .and_then(Item::as_table_like_mut)
            .and_then(|profiles| profiles.get_mut(name))
            .and_then(Item::as_table_like_mut)
            .ok_or(EditError::NoProfile {
                name: name.to_owned(),
                path,
            })
    }

    /// The edited text passes the checks of a loaded file; what fails is
    /// said about `key`, without the temporary line numbers.
    fn check(&self, key: &str) -> Result<(), EditError> {
        match self.config() {
            Ok(_) => Ok(()),
            Err(ConfigError::Parse { message, .. }) => Err(EditError::BadValue {
                key: key.to_owned(),
                problem: message,
            }),
            Err(ConfigError::Invalid { source, .. }) => Err(EditError::BadValue {
                key: key.to_owned(),
                problem: source.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// Puts `new` where `old` is, with `old`'s surrounding spaces and trailing
/// comment (the key and the comments above it are the key's, untouched).
fn replace_value(old: &mut Value, mut new: Value) {
    *new.decor_mut() = old.decor().clone();
    *old = new;
}

fn known(key: &str) -> Result<&'static str, EditError> {
    PROFILE_KEYS
        .iter()
        .copied()
        .find(|k| *k == key)
        .ok_or_else(|| EditError::UnknownKey {
            key: key.to_owned(),
        })
}

/// `value` as the TOML value `key` holds.
fn typed(key: &str, value: &str) -> Result<Value, EditError> {
    if SECONDS_KEYS.contains(&key) {
        let secs: u64 = value.trim().parse().map_err(|_| EditError::BadValue {
            key: key.to_owned(),
            problem: format!("must be a whole number of seconds, got {value:?}"),
        })?;
        // TOML integers are i64; seconds beyond that are no setting.
        let secs = i64::try_from(secs).map_err(|_| EditError::BadValue {
            key: key.to_owned(),
            problem: format!("{secs} seconds is too many"),
        })?;
        return Ok(Value::from(secs));
    }
    if key == "scopes" {
        let mut scopes: Vec<&str> = Vec::new();
        for scope in value.split([' ', ',']).filter(|s| !s.is_empty()) {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        return Ok(Value::Array(scopes.into_iter().collect()));
    }
    Ok(Value::from(value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# my wrs-token set-up
default = \"plm\" # the usual one

# production
[profiles.plm]
issuer = \"https://sso.example.com\"   # PingFederate
client_id = \"wrs-cli\"
scopes = [\"openid\", \"WINDCHILL_READ\"]

# the test server
[profiles.test]
client_id = \"wrs-test\"
issuer = \"https://sso-test.example.com\"
";

    fn edit(text: &str) -> (tempfile::TempDir, PathBuf, Edit) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let e = Edit::open(&path).unwrap();
        (dir, path, e)
    }

    #[test]
    fn set_changes_one_value_and_keeps_everything_else() {
        let (_dir, path, mut e) = edit(FILE);
        e.set("plm", "issuer", "https://sso2.example.com").unwrap();
        e.set("test", "keepalive", "3600").unwrap();
        e.set("plm", "scopes", "openid offline_access,openid")
            .unwrap();
        e.save().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "\
# my wrs-token set-up
default = \"plm\" # the usual one

# production
[profiles.plm]
issuer = \"https://sso2.example.com\"   # PingFederate
client_id = \"wrs-cli\"
scopes = [\"openid\", \"offline_access\"]

# the test server
[profiles.test]
client_id = \"wrs-test\"
issuer = \"https://sso-test.example.com\"
keepalive = 3600
"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let config = Config::load(&path).unwrap();
        assert_eq!(config.profiles["test"].keepalive, Some(3600));
    }

    #[test]
    fn unset_removes_the_line_only() {
        let (_dir, _path, mut e) = edit(FILE);
        e.unset("plm", "scopes").unwrap();
        e.unset("plm", "resource").unwrap();
        assert_eq!(
            e.text(),
            FILE.replace("scopes = [\"openid\", \"WINDCHILL_READ\"]\n", "")
        );
    }

    #[test]
    fn rename_keeps_the_section_in_place_with_its_comment_and_the_default() {
        let (_dir, _path, mut e) = edit(FILE);
        e.rename("plm", "prod").unwrap();
        assert_eq!(
            e.text(),
            FILE.replace("default = \"plm\"", "default = \"prod\"")
                .replace("[profiles.plm]", "[profiles.prod]")
        );
        assert!(matches!(
            e.rename("test", "prod"),
            Err(EditError::Exists { .. })
        ));
        assert!(matches!(
            e.rename("nope", "x"),
            Err(EditError::NoProfile { .. })
        ));
        assert!(matches!(
            e.rename("test", "a/b"),
            Err(EditError::BadValue { .. })
        ));
    }

    #[test]
    fn an_unknown_key_names_the_valid_ones() {
        let (_dir, _path, mut e) = edit(FILE);
        let msg = e.set("plm", "isuer", "x").unwrap_err().to_string();
        assert!(
            msg.starts_with("unknown key \"isuer\": a profile's keys are issuer, "),
            "{msg}"
        );
        assert!(msg.contains("keepalive"), "{msg}");
        assert_eq!(e.text(), FILE);
    }

    #[test]
    fn a_bad_value_is_refused_by_the_checks_a_loaded_file_gets() {
        let (_dir, path, mut e) = edit(FILE);
        for (key, value, says) in [
            ("issuer", "sso.example.com", "http(s) URL"),
            ("keepalive", "30", "at least 60"),
            ("keepalive", "soon", "whole number"),
            ("auth", "jwt", "unknown variant"),
            ("client_id", " ", "client_id is empty"),
        ] {
            let msg = e.set("plm", key, value).unwrap_err().to_string();
            assert_eq!(
                e.text(),
                FILE,
                "a refused edit leaves the document as it was"
            );
            assert!(msg.starts_with(&format!("{key}: ")), "{msg}");
            assert!(msg.contains(says), "{key}={value}: {msg}");
        }
        assert!(matches!(
            e.set("nope", "issuer", "https://x"),
            Err(EditError::NoProfile { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
    }

    /// Every key `profile set` accepts is a key of the schema, and every
    /// key of the schema can be set.
    #[test]
    fn the_key_list_is_the_schema() {
        let full = crate::Profile {
            issuer: Some("https://a".into()),
            authorization_endpoint: Some("https://a/auth".into()),
            token_endpoint: Some("https://a/token".into()),
            revocation_endpoint: Some("https://a/rev".into()),
            device_authorization_endpoint: Some("https://a/dev".into()),
            client_id: "c".into(),
            scopes: vec!["s".into()],
            redirect_uri: Some("http://127.0.0.1/cb".into()),
            ca_file: Some("/ca.pem".into()),
            resource: Some("https://plm/".into()),
            resource_ca_file: Some("/rca.pem".into()),
            min_ttl: Some(1),
            keep_warm: Some(1),
            keepalive: Some(60),
            ..Default::default()
        };
        let text = toml::to_string(&full).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let mut schema: Vec<&str> = table.keys().map(String::as_str).collect();
        schema.sort_unstable();
        let mut listed = PROFILE_KEYS.to_vec();
        listed.sort_unstable();
        assert_eq!(schema, listed);
    }
}
