//! Discovery: the server's metadata from
//! `<issuer>/.well-known/openid-configuration`, falling back to the RFC 8414
//! `/.well-known/oauth-authorization-server`, with the issuer check.

use serde::Deserialize;
use url::Url;

use crate::error::{OAuthError, sanitize};
use crate::http::{HttpClient, check_endpoint};
use crate::provider::{Endpoints, parse_url};

/// The parts of the server metadata (RFC 8414 / OpenID Discovery) we use.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer identifier; equal to the configured issuer.
    pub issuer: String,
    /// The authorization endpoint.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint (required for every grant we use).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The RFC 7009 revocation endpoint.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// The RFC 8628 device authorization endpoint.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// The RFC 7662 introspection endpoint.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// PKCE methods; we need `S256` when the list is present.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Grant types the server supports.
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
    /// Scopes the server supports.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// RFC 9207: the authorization response carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl ProviderMetadata {
    /// The endpoints described by this document, each checked.
    pub fn endpoints(&self) -> Result<Endpoints, OAuthError> {
        let url = |what: &str, value: &Option<String>| -> Result<Option<Url>, OAuthError> {
            value
                .as_deref()
                .map(|v| {
                    let url =
                        parse_url(what, v).map_err(|e| OAuthError::Discovery(e.to_string()))?;
                    check_endpoint(what, &url).map_err(|e| OAuthError::Discovery(e.to_string()))?;
                    Ok(url)
                })
                .transpose()
        };
        let token = url("token_endpoint", &self.token_endpoint)?.ok_or_else(|| {
            OAuthError::Discovery("the discovery document has no token_endpoint".to_owned())
        })?;
        Ok(Endpoints {
            issuer: Some(self.issuer.clone()),
            authorization: url("authorization_endpoint", &self.authorization_endpoint)?,
            token,
            revocation: url("revocation_endpoint", &self.revocation_endpoint)?,
            device_authorization: url(
                "device_authorization_endpoint",
                &self.device_authorization_endpoint,
            )?,
            introspection: url("introspection_endpoint", &self.introspection_endpoint)?,
            requires_iss: self.authorization_response_iss_parameter_supported == Some(true),
        })
    }
}

/// Whether two issuer identifiers are the same, modulo one trailing slash.
pub(crate) fn same_issuer(a: &str, b: &str) -> bool {
    a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b)
}

/// The two places a discovery document may live: OpenID Connect appends the
/// well-known path to the issuer; RFC 8414 inserts it before the issuer's path.
pub(crate) fn discovery_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    let mut rfc8414 = issuer.clone();
    rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    for url in [&mut oidc, &mut rfc8414] {
        url.set_query(None);
        url.set_fragment(None);
    }
    vec![oidc, rfc8414]
}

/// Fetches and checks the metadata of `issuer`.
///
/// Tries the OpenID Connect location first and the RFC 8414 one when the
/// first answers 404 (or another 4xx). The document's `issuer` must equal
/// the configured one (modulo a trailing slash), or the result is
/// [`OAuthError::IssuerMismatch`] naming both.
pub async fn discover(http: &HttpClient, issuer: &str) -> Result<ProviderMetadata, OAuthError> {
    let issuer_url = parse_url("issuer", issuer)?;
    check_endpoint("issuer", &issuer_url)?;
    let mut misses = Vec::new();
    for url in discovery_urls(&issuer_url) {
        let response = http
            .send(http.get(&url).header("accept", "application/json"))
            .await?;
        if (400..500).contains(&response.status) {
            misses.push(format!("{url} answered HTTP {}", response.status));
            continue;
        }
        if !response.is_success() {
            return Err(response.error());
        }
        let metadata: ProviderMetadata = serde_json::from_slice(&response.body).map_err(|e| {
            if response.json().is_some() {
                OAuthError::Discovery(format!(
                    "{url}: the document is not valid server metadata ({e})"
                ))
            } else {
                OAuthError::Discovery(format!(
                    "{url}: {}",
                    response.invalid("not a JSON document")
                ))
            }
        })?;
        if !same_issuer(&metadata.issuer, issuer) {
            // The document's issuer can be up to a whole body long and hold
            // control characters: cut and clean it like any server text.
            return Err(OAuthError::IssuerMismatch {
                expected: issuer.to_owned(),
                got: sanitize(&metadata.issuer, 200),
            });
        }
        if let Some(methods) = &metadata.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            tracing::warn!(%issuer, "the server does not list PKCE S256 support; the code flow may fail");
        }
        return Ok(metadata);
    }
    Err(OAuthError::Discovery(format!(
        "no discovery document: {}",
        misses.join("; ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_urls_follow_oidc_then_rfc8414() {
        let urls = discovery_urls(&Url::parse("https://idp.example.com").unwrap());
        assert_eq!(
            urls[0].as_str(),
            "https://idp.example.com/.well-known/openid-configuration"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://idp.example.com/.well-known/oauth-authorization-server"
        );
        let urls = discovery_urls(&Url::parse("https://idp.example.com/tenant/a/").unwrap());
        assert_eq!(
            urls[0].as_str(),
            "https://idp.example.com/tenant/a/.well-known/openid-configuration"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://idp.example.com/.well-known/oauth-authorization-server/tenant/a"
        );
    }

    #[test]
    fn issuer_comparison_ignores_one_trailing_slash_only() {
        assert!(same_issuer(
            "https://idp.example.com",
            "https://idp.example.com/"
        ));
        assert!(same_issuer(
            "https://idp.example.com/x/",
            "https://idp.example.com/x"
        ));
        assert!(!same_issuer(
            "https://idp.example.com",
            "https://evil.example.com"
        ));
        assert!(!same_issuer(
            "https://idp.example.com",
            "http://idp.example.com"
        ));
    }

    #[test]
    fn metadata_without_token_endpoint_is_a_discovery_error() {
        let m: ProviderMetadata =
            serde_json::from_str(r#"{"issuer":"https://idp.example.com"}"#).unwrap();
        assert!(matches!(m.endpoints(), Err(OAuthError::Discovery(_))));
    }
}
