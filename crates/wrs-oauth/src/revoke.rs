//! Token revocation (RFC 7009): logout tells the server to forget the
//! refresh token before we delete it locally.

use wrs_proto::Secret;

use crate::client::OAuthClient;
use crate::error::OAuthError;

/// The `token_type_hint` of a revocation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `refresh_token` (what logout revokes).
    RefreshToken,
    /// `access_token`.
    AccessToken,
}

impl TokenTypeHint {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::RefreshToken => "refresh_token",
            TokenTypeHint::AccessToken => "access_token",
        }
    }
}

impl OAuthClient {
    /// Whether a revocation endpoint is configured or was discovered.
    pub fn can_revoke(&self) -> bool {
        self.endpoints.revocation.is_some()
    }

    /// Revokes `token`. Success includes the server not knowing the token
    /// (RFC 7009 2.2 answers 200 for an invalid token too).
    pub async fn revoke(&self, token: &Secret, hint: TokenTypeHint) -> Result<(), OAuthError> {
        let endpoint = self.endpoint(&self.endpoints.revocation, "revocation")?;
        let form = vec![
            ("token", token.expose().to_owned()),
            ("token_type_hint", hint.as_str().to_owned()),
        ];
        let response = self.post_form(endpoint, form).await?;
        if response.is_success() {
            return Ok(());
        }
        Err(response.error())
    }
}
