//! `wrs-tokend stored [--json]`: which profiles have a login kept in their
//! secret store, and whose, read the way a daemon starting now would read
//! it ([`Stores`], [`binding`]).
//!
//! `wrs-token status` runs it when no daemon is running: the thin client
//! links no secret store. Like `probe`, it needs no daemon and leaves a
//! running one alone: it only reads. Its report
//! ([`wrs_proto::stored::StoredReport`]) says whether a refresh token is
//! there and the display claims sealed beside it, never the token.

use std::io::Write as _;
use std::process::ExitCode;

use wrs_config::{Grant, Profile, StoreKind};
use wrs_proto::stored::{StoredLogin, StoredReport, StoredState};
use wrs_store::SecretKind;

use crate::binding::{self, Owner};
use crate::cli::StoredArgs;
use crate::profiles::Profiles;
use crate::stores::Stores;

/// `wrs-tokend stored`: prints the report; exit 0 when it could be made
/// (whatever the stores hold), 1 when the configuration cannot be read
/// (then stdout is empty).
pub fn main(args: &StoredArgs) -> ExitCode {
    let (runtime, paths) = match crate::one_shot::start() {
        Ok(started) => started,
        Err(code) => return code,
    };
    let profiles = Profiles::load(&paths.config_file);
    let config = match profiles.config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("wrs-tokend: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stores = Stores::for_paths(&paths);
    let mut report = StoredReport::new();
    for (name, profile) in &config.profiles {
        report
            .profiles
            .push(runtime.block_on(login_of(&stores, name, profile)));
    }
    let text = if args.json {
        format!("{}\n", report.to_json())
    } else {
        render(&report)
    };
    // A closed stdout (`| head`) is not worth a panic.
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// What `profile`'s store holds for it.
pub async fn login_of(stores: &Stores, name: &str, profile: &Profile) -> StoredLogin {
    let mut login = StoredLogin {
        profile: name.to_owned(),
        state: StoredState::NotLoggedIn,
        user: None,
        logged_in_at: None,
        detail: None,
    };
    if profile.grant == Grant::ClientCredentials {
        login.state = StoredState::Machine;
        return login;
    }
    if profile.store == StoreKind::Memory {
        // A memory store is the daemon's own: nothing outlives it.
        login.state = StoredState::Memory;
        return login;
    }
    let stored = match stores
        .get(profile.store, name, SecretKind::RefreshToken)
        .await
    {
        Ok(Some(stored)) => stored,
        Ok(None) => return login,
        Err(e) => {
            login.state = StoredState::Error;
            login.detail = Some(e.to_string());
            return login;
        }
    };
    if let Some(record) = binding::session_of(&stored) {
        login.user = record.user();
        login.logged_in_at = record.logged_in_at;
    }
    match binding::open(stored).for_owner(&Owner::of(profile)) {
        Ok(_) => login.state = StoredState::LoggedIn,
        Err(owner) => {
            login.state = StoredState::OtherServer;
            login.detail = Some(format!("it belongs to {}", owner.describe()));
        }
    }
    login
}

/// The report for a person: one line per profile.
fn render(report: &StoredReport) -> String {
    let mut out = String::new();
    for login in &report.profiles {
        out.push_str(&format!("{}: {}", login.profile, login.state.label()));
        if let Some(user) = &login.user {
            out.push_str(&format!(" as {user}"));
        }
        if let Some(detail) = &login.detail {
            out.push_str(&format!(" ({detail})"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use wrs_proto::Secret;
    use wrs_store::{FileStore, SecretStore};

    use super::*;
    use crate::identity::SessionRecord;

    const CONFIG: &str = r#"
[profiles.plm]
issuer = "https://sso.example.com"
client_id = "wrs-cli"
store = "file"

[profiles.mem]
issuer = "https://sso.example.com"
client_id = "wrs-cli"
store = "memory"

[profiles.ci]
grant = "client-credentials"
token_endpoint = "https://sso.example.com/as/token.oauth2"
client_id = "ci"
auth = "basic"
store = "file"
"#;

    fn profile(name: &str) -> Profile {
        let config =
            wrs_config::Config::parse(std::path::Path::new("/c/config.toml"), CONFIG).unwrap();
        config.profiles[name].clone()
    }

    #[tokio::test]
    async fn each_kind_of_stored_login_is_told_apart_and_no_token_is_in_the_report() {
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(FileStore::new(dir.path().join("secrets")));
        let stores = Stores::with_file_store(file.clone(), None);
        let plm = profile("plm");

        let login = login_of(&stores, "plm", &plm).await;
        assert_eq!(login.state, StoredState::NotLoggedIn);

        let record = SessionRecord {
            email: Some("ada@example.com".into()),
            logged_in_at: Some(1_764_892_800),
            ..SessionRecord::default()
        };
        let token = Secret::new("rt-secret-value".to_owned());
        let sealed = binding::seal_with(&Owner::of(&plm), &token, Some(&record));
        file.set("plm", SecretKind::RefreshToken, &sealed).unwrap();
        let login = login_of(&stores, "plm", &plm).await;
        assert_eq!(login.state, StoredState::LoggedIn);
        assert_eq!(login.user.as_deref(), Some("ada@example.com"));
        assert_eq!(login.logged_in_at, Some(1_764_892_800));

        // The profile moved to another server since that login.
        let mut moved = plm.clone();
        moved.issuer = Some("https://other.example.com".into());
        let login = login_of(&stores, "plm", &moved).await;
        assert_eq!(login.state, StoredState::OtherServer);
        assert!(
            login
                .detail
                .as_deref()
                .unwrap()
                .contains("https://sso.example.com"),
            "{login:?}"
        );

        // Memory and client-credentials profiles are not looked up at all.
        let login = login_of(&stores, "mem", &profile("mem")).await;
        assert_eq!(login.state, StoredState::Memory);
        let login = login_of(&stores, "ci", &profile("ci")).await;
        assert_eq!(login.state, StoredState::Machine);

        let mut report = StoredReport::new();
        report.profiles.push(login_of(&stores, "plm", &plm).await);
        assert!(!report.to_json().contains("rt-secret-value"));
        assert!(!render(&report).contains("rt-secret-value"));
        assert_eq!(render(&report), "plm: logged in as ada@example.com\n");
    }

    #[tokio::test]
    async fn an_unreadable_store_is_an_error_entry_not_a_missing_login() {
        let dir = tempfile::tempdir().unwrap();
        // The store's directory is a file: every read fails.
        let blocked = dir.path().join("secrets");
        std::fs::write(&blocked, "not a directory").unwrap();
        let stores = Stores::with_file_store(Arc::new(FileStore::new(blocked)), None);
        let login = login_of(&stores, "plm", &profile("plm")).await;
        assert_eq!(login.state, StoredState::Error, "{login:?}");
        assert!(login.detail.is_some());
    }
}
