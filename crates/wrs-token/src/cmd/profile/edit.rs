//! `wrs-token profile set`, `unset` and `rename`: one change to the config
//! file, made in place by [`wrs_config::Edit`] (comments and order kept,
//! the result checked as `profile add` checks a profile, written
//! atomically 0600), then a running daemon reloads.
//!
//! What the change means for the profile's stored secrets is said, not
//! left to be found out at the next `print`: a new issuer, token endpoint
//! or client id makes the stored refresh token and client secret another
//! owner's (the daemon's binding rules then ignore them), and a rename
//! cannot carry them at all, as the stores key them by name. For a rename
//! the daemon forgets the old name's first, as `profile remove` does, so
//! nothing is left behind under a name no profile has.

use wrs_config::{Edit, EditError, Grant, OWNER_KEYS, PATH_KEYS, Profile};
use wrs_proto::ErrorKind;

use super::add::absolute_path;
use super::reload_running;
use crate::cli::{ProfileRenameArgs, ProfileSetArgs, ProfileUnsetArgs};
use crate::client::{Client, ClientError};
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;
use crate::profiles::{config_failure, config_path};

/// `wrs-token profile set NAME KEY VALUE`.
pub fn set(client: &Client, args: &ProfileSetArgs) -> Result<(), Failure> {
    let name = args.name.as_str();
    let key = args.key.as_str();
    let value = if PATH_KEYS.contains(&key) {
        absolute_path(key, std::path::Path::new(&args.value))?
    } else {
        args.value.clone()
    };
    let (before, after) = change(|edit| edit.set(name, key, &value), name)?;
    reload_running(client);
    let path = config_path()?;
    let mut out = format!("Set {key} of profile {name} in {}.\n", path.display());
    out.push_str(&owner_note(name, key, &before, &after));
    write_stdout(out.as_bytes())
}

/// `wrs-token profile unset NAME KEY`.
pub fn unset(client: &Client, args: &ProfileUnsetArgs) -> Result<(), Failure> {
    let (name, key) = (args.name.as_str(), args.key.as_str());
    let (before, after) = change(|edit| edit.unset(name, key), name)?;
    reload_running(client);
    let path = config_path()?;
    let mut out = format!("Unset {key} of profile {name} in {}.\n", path.display());
    out.push_str(&owner_note(name, key, &before, &after));
    write_stdout(out.as_bytes())
}

/// Opens the file, applies `edit`, saves; the profile `name` before and
/// after. A refused edit writes nothing.
fn change(
    apply: impl FnOnce(&mut Edit) -> Result<(), EditError>,
    name: &str,
) -> Result<(Profile, Profile), Failure> {
    let path = config_path()?;
    let mut edit = Edit::open(&path).map_err(config_failure)?;
    let profile_of = |edit: &Edit| {
        edit.config()
            .ok()
            .and_then(|c| c.profiles.get(name).cloned())
    };
    let before = profile_of(&edit);
    apply(&mut edit).map_err(edit_failure)?;
    edit.save().map_err(config_failure)?;
    let after = profile_of(&edit);
    match (before, after) {
        (Some(before), Some(after)) => Ok((before, after)),
        _ => Err(Failure::new(
            Exit::Failure,
            format!("no profile named {name:?}"),
        )),
    }
}

/// What a change of owner means, when `key` changed one; else nothing.
pub fn owner_note(name: &str, key: &str, before: &Profile, after: &Profile) -> String {
    let owner = |p: &Profile| {
        (
            p.issuer.clone(),
            p.token_endpoint.clone(),
            p.client_id.clone(),
        )
    };
    if !OWNER_KEYS.contains(&key) || owner(before) == owner(after) {
        return String::new();
    }
    let mut next = Vec::new();
    if after.needs_client_secret() {
        next.push(format!("`wrs-token profile set-secret {name}`"));
    }
    next.push(match after.grant {
        Grant::ClientCredentials => format!("`wrs-token print {name}`"),
        Grant::Device => format!("`wrs-token login {name} --device`"),
        Grant::Code => format!("`wrs-token login {name}`"),
    });
    format!(
        "The new {key} makes profile {name} another server or client: its stored refresh token \
         and client secret belong to the old one and are no longer used.\nNext: run {}\n",
        next.join(", then ")
    )
}

/// `wrs-token profile rename OLD NEW`.
pub fn rename(client: &Client, args: &ProfileRenameArgs) -> Result<(), Failure> {
    let (old, new) = (args.old.as_str(), args.new.as_str());
    let path = config_path()?;
    let mut edit = Edit::open(&path).map_err(config_failure)?;
    // Checked before the daemon forgets anything: a refused rename changes
    // nothing anywhere.
    edit.rename(old, new).map_err(edit_failure)?;
    let profile = edit
        .config()
        .ok()
        .and_then(|c| c.profiles.get(new).cloned())
        .unwrap_or_default();
    let held = match client.forget_profile(old, !args.no_revoke) {
        Ok(_) => true,
        // The daemon never loaded the profile, so it holds nothing for it.
        Err(ClientError::Daemon(e)) if e.kind == ErrorKind::UnknownProfile => false,
        Err(e) => {
            return Err(Failure::from_client(e, Some(old)).with_hint(format!(
                "nothing was renamed; retry, or `wrs-token profile rename {old} {new} --no-revoke` \
                 if the server cannot revoke"
            )));
        }
    };
    edit.save().map_err(config_failure)?;
    reload_running(client);
    let mut out = format!("Renamed profile {old} to {new} in {}.\n", path.display());
    if held {
        out.push_str(&format!(
            "The daemon forgot {old}'s session and client secret (they are stored by name).\n"
        ));
    }
    let mut next = Vec::new();
    if profile.needs_client_secret() {
        next.push(format!("`wrs-token profile set-secret {new}`"));
    }
    if profile.grant != Grant::ClientCredentials {
        next.push(format!("`wrs-token login {new}`"));
    }
    if !next.is_empty() {
        out.push_str(&format!("Next: run {}\n", next.join(", then ")));
    }
    write_stdout(out.as_bytes())
}

/// A refused edit: the user's mistake (exit 2) or the file's.
fn edit_failure(e: EditError) -> Failure {
    match e {
        EditError::Config(e) => config_failure(e),
        e @ (EditError::UnknownKey { .. } | EditError::BadValue { .. }) => {
            Failure::new(Exit::Usage, e.to_string()).with_hint("the config file was not changed")
        }
        e @ EditError::NoProfile { .. } => {
            Failure::new(Exit::Failure, e.to_string()).with_hint("see `wrs-token profile list`")
        }
        e @ EditError::Exists { .. } => {
            Failure::new(Exit::Failure, e.to_string()).with_hint("remove or rename that one first")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(client_id: &str) -> Profile {
        Profile {
            issuer: Some("https://sso".into()),
            client_id: client_id.into(),
            auth: wrs_config::ClientAuth::None,
            ..Default::default()
        }
    }

    #[test]
    fn an_owner_change_says_what_to_do_and_other_changes_say_nothing() {
        let note = owner_note("plm", "client_id", &profile("a"), &profile("b"));
        assert_eq!(
            note,
            "The new client_id makes profile plm another server or client: its stored refresh \
             token and client secret belong to the old one and are no longer used.\n\
             Next: run `wrs-token login plm`\n"
        );
        assert_eq!(
            owner_note("plm", "client_id", &profile("a"), &profile("a")),
            ""
        );
        assert_eq!(
            owner_note("plm", "keepalive", &profile("a"), &profile("a")),
            ""
        );
        let mut confidential = profile("b");
        confidential.auth = wrs_config::ClientAuth::Basic;
        let note = owner_note("plm", "client_id", &profile("a"), &confidential);
        assert!(
            note.ends_with(
                "Next: run `wrs-token profile set-secret plm`, then `wrs-token login plm`\n"
            ),
            "{note}"
        );
    }
}
