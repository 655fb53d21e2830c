//! wrs-token configuration: where the file lives, what a profile is, and
//! how the file is read (with errors that name file, line and key) and
//! written.
//!
//! The local-machine rules it follows live in `wrs_sys`, asked from here:
//! the file is read as a small regular file ([`read_regular_file`], which
//! names the file in a [`ConfigError`]; at most [`MAX_FILE_BYTES`]) and
//! written atomically, 0600 (`wrs_sys::private_file`); a redirect URI is
//! loopback by `wrs_sys::host::is_loopback`; `WRS_TOKEN_CONFIG` is
//! `wrs_sys::env::CONFIG`.
//!
//! Shared by the thin client (`wrs-token profile …`) and the daemon, so it
//! is synchronous and small. Secrets are never part of the configuration: a
//! profile only names the store that holds its refresh token and client
//! secret.
#![deny(missing_docs)]

mod edit;
mod file;
mod paths;
mod profile;
mod small_file;

pub use edit::{Edit, EditError, OWNER_KEYS, PATH_KEYS, PROFILE_KEYS};
pub use file::{Config, ConfigError};
pub use paths::Paths;
pub use profile::{
    ClientAuth, DEFAULT_KEEP_WARM_SECS, DEFAULT_KEEPALIVE_SECS, Grant, MIN_KEEPALIVE_SECS, Profile,
    ProfileError, RedirectMode, StoreKind, validate_profile_name,
};
pub use small_file::{MAX_FILE_BYTES, read_regular_file};
