//! A stored secret remembers whom it belongs to.
//!
//! A refresh token is only good at the server that issued it, for the
//! client it was issued to; a client secret only for its client at its
//! server. When a profile is re-added with another token endpoint, or its
//! client id is edited, the old secrets must not travel to the new server.
//! So every secret is stored sealed with its [`Owner`] (the profile's
//! issuer, explicit token endpoint and client id at the time it was
//! stored), and opened only for a profile with the same owner.
//!
//! The sealed form is one JSON object in the store's value, so secret and
//! owner are written in one atomic store operation:
//! `{"wrs_token_binding":1,"issuer":…,"token_endpoint":…,"client_id":…,"secret":…}`.
//! A value that is not such an object was stored before secrets were
//! bound: it is taken as belonging to the profile as it is now (there is no
//! way to know better), and sealed the next time it is written.

use serde::{Deserialize, Serialize};
use wrs_config::Profile;
use wrs_proto::Secret;

use crate::identity::SessionRecord;

/// The version marker of the sealed form.
const FORMAT: u32 = 1;

/// Whom a secret belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The issuer, when the profile has one.
    pub issuer: Option<String>,
    /// The explicit token endpoint, when the profile sets one.
    pub token_endpoint: Option<String>,
    /// The client id.
    pub client_id: String,
}

impl Owner {
    /// The owner of secrets stored for `profile` as configured now.
    pub fn of(profile: &Profile) -> Owner {
        Owner {
            issuer: profile.issuer.as_deref().map(normalize),
            token_endpoint: profile.token_endpoint.as_deref().map(normalize),
            client_id: profile.client_id.trim().to_owned(),
        }
    }

    /// `client wrs-cli at https://sso.example.com`, for messages.
    pub fn describe(&self) -> String {
        let server = self
            .issuer
            .as_deref()
            .or(self.token_endpoint.as_deref())
            .unwrap_or("?");
        format!("client {} at {server}", self.client_id)
    }
}

/// A trailing slash does not make another server.
fn normalize(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

/// The sealed form as stored. Zeroed on drop through [`Secret`].
#[derive(Serialize, Deserialize)]
struct Sealed {
    wrs_token_binding: u32,
    #[serde(flatten)]
    owner: Owner,
    secret: Secret,
    /// Who the login belongs to (refresh tokens only); absent in values
    /// stored before it was kept, and ignored by builds that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<SessionRecord>,
}

/// A stored value, opened.
#[derive(Debug)]
pub enum Opened {
    /// Sealed for this owner.
    Bound(Owner, Secret),
    /// Stored before secrets were bound: owner unknown.
    Legacy(Secret),
}

impl Opened {
    /// The secret when it may be used for `owner`: sealed for it, or
    /// legacy. `Err` carries the owner it belongs to.
    pub fn for_owner(self, owner: &Owner) -> Result<Secret, Owner> {
        match self {
            Opened::Bound(stored, secret) if stored == *owner => Ok(secret),
            Opened::Bound(stored, _) => Err(stored),
            Opened::Legacy(secret) => Ok(secret),
        }
    }

    /// Whether it still has to be sealed.
    pub fn is_legacy(&self) -> bool {
        matches!(self, Opened::Legacy(_))
    }
}

/// `secret` sealed with `owner`, ready for the store.
pub fn seal(owner: &Owner, secret: &Secret) -> Secret {
    seal_with(owner, secret, None)
}

/// `secret` sealed with `owner` and the record of the login it belongs to.
pub fn seal_with(owner: &Owner, secret: &Secret, session: Option<&SessionRecord>) -> Secret {
    let sealed = Sealed {
        wrs_token_binding: FORMAT,
        owner: owner.clone(),
        secret: secret.clone(),
        session: session.cloned(),
    };
    // Strings and numbers only: serialization cannot fail. The JSON holds
    // the secret, so it goes straight into a Secret (zeroed on drop).
    Secret::new(serde_json::to_string(&sealed).unwrap_or_default())
}

/// The login record sealed into a stored value, if it has one.
pub fn session_of(stored: &Secret) -> Option<SessionRecord> {
    serde_json::from_str::<Sealed>(stored.expose())
        .ok()
        .filter(|sealed| sealed.wrs_token_binding == FORMAT)
        .and_then(|sealed| sealed.session)
}

/// A value read from the store, opened.
pub fn open(stored: Secret) -> Opened {
    match serde_json::from_str::<Sealed>(stored.expose()) {
        Ok(sealed) if sealed.wrs_token_binding == FORMAT => {
            Opened::Bound(sealed.owner, sealed.secret)
        }
        _ => Opened::Legacy(stored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(issuer: &str, client_id: &str) -> Profile {
        Profile {
            issuer: Some(issuer.into()),
            client_id: client_id.into(),
            ..Profile::default()
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_owner() {
        let plm = Owner::of(&profile("https://sso.example.com", "wrs-cli"));
        let sealed = seal(&plm, &Secret::new("rt-1"));
        assert!(!sealed.expose().is_empty());
        let same = Owner::of(&profile("https://sso.example.com/", " wrs-cli"));
        assert_eq!(
            open(sealed.clone()).for_owner(&same).unwrap().expose(),
            "rt-1"
        );
        let other_server = Owner::of(&profile("https://evil.example.com", "wrs-cli"));
        assert_eq!(
            open(sealed.clone()).for_owner(&other_server).unwrap_err(),
            plm
        );
        let other_client = Owner::of(&profile("https://sso.example.com", "other"));
        assert!(open(sealed.clone()).for_owner(&other_client).is_err());
        let mut explicit = profile("https://sso.example.com", "wrs-cli");
        explicit.token_endpoint = Some("https://evil.example.com/token".into());
        assert!(open(sealed).for_owner(&Owner::of(&explicit)).is_err());
    }

    #[test]
    fn the_login_record_travels_with_the_secret_and_old_values_have_none() {
        let owner = Owner::of(&profile("https://sso.example.com", "wrs-cli"));
        let record = SessionRecord {
            email: Some("alice@example.com".into()),
            logged_in_at: Some(5),
            ..SessionRecord::default()
        };
        let sealed = seal_with(&owner, &Secret::new("rt-1"), Some(&record));
        assert_eq!(session_of(&sealed), Some(record));
        assert_eq!(open(sealed).for_owner(&owner).unwrap().expose(), "rt-1");
        assert_eq!(session_of(&seal(&owner, &Secret::new("rt"))), None);
        assert_eq!(session_of(&Secret::new("plain")), None);
    }

    #[test]
    fn a_value_from_before_binding_is_legacy_and_usable() {
        let opened = open(Secret::new("plain-refresh-token"));
        assert!(opened.is_legacy());
        let owner = Owner::of(&profile("https://sso.example.com", "wrs-cli"));
        assert_eq!(
            opened.for_owner(&owner).unwrap().expose(),
            "plain-refresh-token"
        );
        // JSON that is not our sealed form is a legacy value too.
        assert!(open(Secret::new(r#"{"secret":"x"}"#)).is_legacy());
    }

    #[test]
    fn the_owner_is_described_for_messages_and_debug_shows_no_secret() {
        let owner = Owner::of(&profile("https://sso.example.com", "wrs-cli"));
        assert_eq!(
            owner.describe(),
            "client wrs-cli at https://sso.example.com"
        );
        let opened = open(seal(&owner, &Secret::new("very-secret")));
        assert!(!format!("{opened:?}").contains("very-secret"));
    }
}
