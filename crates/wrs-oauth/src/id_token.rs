//! Who an ID token names, for display: `sub`, `preferred_username`,
//! `name`, `email`, `iss`.
//!
//! The signature is not verified, on purpose: the claims are only shown to
//! the user who logged in (`wrs-token whoami`, `status`) and decide nothing;
//! the token came straight from the token endpoint over TLS, and checking
//! it would mean fetching and trusting the server's JWKS for no gain.
//! Nothing here may ever be used to authorize anything.

use base64::Engine as _;
use serde_json::Value;

use crate::lifetime::JWT_BASE64;
use crate::token::TokenResponse;

/// The display claims of an ID token; each `None` when absent or not a
/// string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdClaims {
    /// `sub`.
    pub subject: Option<String>,
    /// `preferred_username`.
    pub username: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `iss`.
    pub issuer: Option<String>,
}

impl IdClaims {
    /// The claims of `token`, a JWS compact serialisation; `None` when it is
    /// not one or its payload is not a JSON object.
    pub fn read(token: &str) -> Option<IdClaims> {
        let mut parts = token.split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let bytes = JWT_BASE64.decode(payload).ok()?;
        let Value::Object(claims) = serde_json::from_slice(&bytes).ok()? else {
            return None;
        };
        // Claims are shown on one line: no control characters, bounded.
        let text = |claim: &str| {
            claims
                .get(claim)
                .and_then(Value::as_str)
                .map(|s| s.chars().filter(|c| !c.is_control()).take(256).collect())
                .filter(|s: &String| !s.is_empty())
        };
        Some(IdClaims {
            subject: text("sub"),
            username: text("preferred_username"),
            name: text("name"),
            email: text("email"),
            issuer: text("iss"),
        })
    }
}

impl TokenResponse {
    /// The display claims of the response's ID token, if it has a readable
    /// one (unverified: see the module doc).
    pub fn id_claims(&self) -> Option<IdClaims> {
        IdClaims::read(self.id_token.as_ref()?.expose())
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn display_claims_are_read_and_others_ignored() {
        let claims = IdClaims::read(&jwt(
            r#"{"sub":"u-1","preferred_username":"alice","name":"Alice\nExample","email":"alice@example.com","iss":"https://sso","exp":1,"groups":["x"]}"#,
        ))
        .unwrap();
        assert_eq!(claims.subject.as_deref(), Some("u-1"));
        assert_eq!(claims.username.as_deref(), Some("alice"));
        assert_eq!(claims.name.as_deref(), Some("AliceExample"));
        assert_eq!(claims.email.as_deref(), Some("alice@example.com"));
        assert_eq!(claims.issuer.as_deref(), Some("https://sso"));
    }

    #[test]
    fn anything_but_a_jws_with_an_object_payload_is_none() {
        assert_eq!(IdClaims::read("opaque"), None);
        assert_eq!(IdClaims::read("a.b.c.d.e"), None);
        assert_eq!(IdClaims::read(&jwt("[1,2]")), None);
        assert_eq!(IdClaims::read("x.!!!.y"), None);
        let numbers = IdClaims::read(&jwt(r#"{"sub":5,"email":""}"#)).unwrap();
        assert_eq!(numbers, IdClaims::default());
    }
}
