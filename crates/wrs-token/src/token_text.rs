//! The shapes a token is written in: the bare token, an `Authorization`
//! header line, or JSON. `print`, `header` and `curl` share them. The text
//! holds the token, so it is a [`Secret`] that is zeroed when dropped.

use serde::Serialize;
use wrs_proto::{Secret, TokenReply};

use crate::output::{rfc3339, secs_until};

/// The shapes a token can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The bare token.
    Bare,
    /// `Authorization: Bearer <token>`.
    Header,
    /// `{"access_token", "token_type", "expires_in", "expires_at",
    /// "min_ttl", "min_ttl_met", "scope"}`.
    Json,
}

#[derive(Serialize)]
struct JsonToken<'a> {
    access_token: &'a str,
    token_type: &'a str,
    expires_in: u64,
    expires_at: String,
    /// The minimum validity that applied, in seconds.
    min_ttl: u64,
    /// Whether the token has it left.
    min_ttl_met: bool,
    /// The scopes granted (space-separated), `null` when unknown.
    scope: Option<&'a str>,
}

/// The output for `reply` at time `now` (Unix seconds). The result holds
/// the token, so it is a [`Secret`] that is zeroed when dropped.
pub fn render(reply: &TokenReply, format: Format, newline: bool, now: u64) -> Secret {
    let token = reply.access_token.expose();
    let token_type = token_type(&reply.token_type);
    let mut out = match format {
        Format::Bare => token.to_owned(),
        Format::Header => format!("Authorization: {token_type} {token}"),
        Format::Json => serde_json::to_string(&JsonToken {
            access_token: token,
            token_type,
            expires_in: secs_until(reply.expires_at, now),
            expires_at: rfc3339(reply.expires_at),
            min_ttl: reply.min_ttl_secs,
            min_ttl_met: reply.min_ttl_met,
            scope: reply.scope.as_deref(),
        })
        // Serializing strings and integers cannot fail.
        .unwrap_or_default(),
    };
    if newline {
        out.push('\n');
    }
    Secret::new(out)
}

/// `Bearer` in its canonical spelling (servers send `bearer`, `BEARER`, or
/// nothing); any other type is passed through.
fn token_type(raw: &str) -> &str {
    if raw.is_empty() || raw.eq_ignore_ascii_case("bearer") {
        "Bearer"
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(token_type: &str, expires_at: u64) -> TokenReply {
        TokenReply {
            profile: "plm".into(),
            access_token: Secret::new("eyJ.tok"),
            token_type: token_type.into(),
            expires_at,
            lifetime_secs: 3600,
            min_ttl_secs: 10,
            min_ttl_met: true,
            warning: None,
            scope: None,
        }
    }

    #[test]
    fn bare_token_ends_with_a_newline_unless_told_not_to() {
        let r = reply("Bearer", 2000);
        assert_eq!(render(&r, Format::Bare, true, 1000).expose(), "eyJ.tok\n");
        assert_eq!(render(&r, Format::Bare, false, 1000).expose(), "eyJ.tok");
    }

    #[test]
    fn header_line_uses_canonical_bearer() {
        for raw in ["Bearer", "bearer", ""] {
            assert_eq!(
                render(&reply(raw, 2000), Format::Header, true, 1000).expose(),
                "Authorization: Bearer eyJ.tok\n"
            );
        }
        assert_eq!(
            render(&reply("DPoP", 2000), Format::Header, false, 1000).expose(),
            "Authorization: DPoP eyJ.tok"
        );
    }

    #[test]
    fn json_has_the_documented_fields() {
        let out = render(
            &reply("bearer", 1_700_000_060),
            Format::Json,
            true,
            1_700_000_000,
        );
        assert!(out.expose().ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(out.expose()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "access_token": "eyJ.tok",
                "token_type": "Bearer",
                "expires_in": 60,
                "expires_at": "2023-11-14T22:14:20Z",
                "min_ttl": 10,
                "min_ttl_met": true,
                "scope": null,
            })
        );
        let mut with_scope = reply("Bearer", 1_700_000_060);
        with_scope.scope = Some("openid wrs".into());
        let out = render(&with_scope, Format::Json, false, 1_700_000_000);
        let v: serde_json::Value = serde_json::from_str(out.expose()).unwrap();
        assert_eq!(v["scope"], "openid wrs");
    }

    #[test]
    fn json_expires_in_is_never_negative() {
        let out = render(&reply("Bearer", 100), Format::Json, false, 500);
        let v: serde_json::Value = serde_json::from_str(out.expose()).unwrap();
        assert_eq!(v["expires_in"], 0);
    }
}
