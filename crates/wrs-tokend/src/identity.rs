//! Who a session belongs to: the [`SessionRecord`] kept with the refresh
//! token (the user from the ID token's claims, the scopes, when the login
//! and the current refresh token happened), and the end reason a session
//! that stopped gives.
//!
//! The record is stored sealed with the refresh token (see
//! [`crate::binding`]), in the same store write, so it survives a daemon
//! restart and can never describe another login than the token beside it.
//! It never holds a token: the ID token itself is not kept, only its
//! display claims (read without verifying the signature, see
//! [`wrs_oauth::IdClaims`]).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use wrs_oauth::{IdClaims, TokenResponse};

use crate::clock::unix_secs;

/// What is known about a login, stored beside its refresh token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The ID token's `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The ID token's `preferred_username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The ID token's `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The ID token's `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The ID token's `iss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `scope` is what the server said it granted, not what was asked for.
    #[serde(default)]
    pub scope_granted: bool,
    /// When the login happened (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_in_at: Option<u64>,
    /// When the current refresh token was issued (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_issued_at: Option<u64>,
}

impl SessionRecord {
    /// The record of a login whose token response is `response`, sent at
    /// `at`, for a profile that asked for `requested` scopes.
    pub fn of_login(response: &TokenResponse, requested: &[String], at: SystemTime) -> Self {
        let mut record = SessionRecord {
            logged_in_at: Some(unix_secs(at)),
            refresh_token_issued_at: response.refresh_token.as_ref().map(|_| unix_secs(at)),
            ..SessionRecord::default()
        };
        record.requested(requested);
        record.update(response, at);
        record
    }

    /// Takes what a later token response (a refresh) tells: new claims,
    /// the granted scope, a rotated refresh token's time. Returns whether
    /// anything changed.
    pub fn update(&mut self, response: &TokenResponse, at: SystemTime) -> bool {
        let before = self.clone();
        if let Some(claims) = response.id_claims() {
            self.claims(claims);
        }
        if let Some(scope) = response.scope.as_ref().filter(|s| !s.trim().is_empty()) {
            self.scope = Some(scope.trim().to_owned());
            self.scope_granted = true;
        }
        if response.refresh_token.is_some() {
            self.refresh_token_issued_at = Some(unix_secs(at));
        }
        *self != before
    }

    /// The scopes asked for, when the server never said what it granted.
    fn requested(&mut self, requested: &[String]) {
        if !self.scope_granted && !requested.is_empty() {
            self.scope = Some(requested.join(" "));
        }
    }

    fn claims(&mut self, claims: IdClaims) {
        self.subject = claims.subject;
        self.username = claims.username;
        self.name = claims.name;
        self.email = claims.email;
        self.issuer = claims.issuer;
    }

    /// One short name for the user: e-mail, else user name, else name,
    /// else subject.
    pub fn user(&self) -> Option<String> {
        self.email
            .clone()
            .or_else(|| self.username.clone())
            .or_else(|| self.name.clone())
            .or_else(|| self.subject.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use wrs_proto::Secret;

    use super::*;

    fn response(id_claims: Option<&str>, scope: Option<&str>, rotated: bool) -> TokenResponse {
        TokenResponse {
            access_token: Secret::new("AT-SECRET"),
            token_type: "Bearer".into(),
            expires_in: Some(Duration::from_secs(60)),
            sent_at: UNIX_EPOCH,
            expires_at: None,
            refresh_token: rotated.then(|| Secret::new("RT-SECRET")),
            scope: scope.map(str::to_owned),
            id_token: id_claims.map(|claims| {
                Secret::new(format!(
                    "{}.{}.sig",
                    URL_SAFE_NO_PAD.encode("{}"),
                    URL_SAFE_NO_PAD.encode(claims)
                ))
            }),
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_login_records_the_user_the_granted_scope_and_the_times_never_a_token() {
        let r = SessionRecord::of_login(
            &response(
                Some(r#"{"sub":"u1","email":"alice@example.com"}"#),
                Some("openid wrs"),
                true,
            ),
            &["openid".into()],
            at(100),
        );
        assert_eq!(r.user().as_deref(), Some("alice@example.com"));
        assert_eq!(
            (r.scope.as_deref(), r.scope_granted),
            (Some("openid wrs"), true)
        );
        assert_eq!(
            (r.logged_in_at, r.refresh_token_issued_at),
            (Some(100), Some(100))
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("SECRET"), "{json}");
    }

    #[test]
    fn without_a_granted_scope_the_requested_one_is_marked_as_such() {
        let r = SessionRecord::of_login(
            &response(None, None, true),
            &["a".into(), "b".into()],
            at(1),
        );
        assert_eq!((r.scope.as_deref(), r.scope_granted), (Some("a b"), false));
        assert_eq!(r.user(), None);
    }

    #[test]
    fn a_refresh_updates_only_what_it_tells() {
        let mut r = SessionRecord::of_login(
            &response(Some(r#"{"preferred_username":"alice"}"#), Some("s"), true),
            &[],
            at(100),
        );
        assert!(!r.update(&response(None, None, false), at(200)));
        assert_eq!(r.refresh_token_issued_at, Some(100));
        assert!(r.update(&response(None, None, true), at(300)));
        assert_eq!(
            (r.logged_in_at, r.refresh_token_issued_at),
            (Some(100), Some(300))
        );
        assert_eq!(r.user().as_deref(), Some("alice"));
    }
}
