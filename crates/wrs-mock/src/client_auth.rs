//! Client authentication at the token, revocation, introspection and device
//! endpoints: `client_secret_basic`, `client_secret_post`, or none (public).

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};

use crate::config::{AuthMethod, ClientConfig, MockConfig};
use crate::oauth_error::OAuthError;
use crate::params::{Params, percent_decode};

/// Rejects client credentials in the query string, as PingFederate does.
pub(crate) fn reject_query_credentials(query: Option<&str>) -> Result<(), OAuthError> {
    let query = Params::from_query(query).unwrap_or_default();
    if query.has("client_secret") || query.has("client_id") {
        return Err(OAuthError::invalid_request(
            "client credentials must not be sent in the query string",
        ));
    }
    Ok(())
}

/// Checks the request is a form post, then parses its body.
pub(crate) fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "content type must be application/x-www-form-urlencoded",
        ));
    }
    Params::parse(body)
        .map_err(|name| OAuthError::invalid_request(&format!("parameter {name} is repeated")))
}

/// Authenticates the client of a request; public clients authenticate with
/// `client_id` alone.
pub(crate) fn authenticate<'c>(
    config: &'c MockConfig,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'c ClientConfig, OAuthError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let (id, secret) = basic_credentials(value.as_bytes())?;
        if params.has("client_secret") {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method used",
            ));
        }
        if params.get("client_id").is_some_and(|body_id| body_id != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        let client = find(config, &id)?;
        // Some libraries send `id:` in Basic for public clients too.
        if client.is_public() && secret.is_empty() {
            return Ok(client);
        }
        check_secret(client, AuthMethod::ClientSecretBasic, &secret)?;
        return Ok(client);
    }
    let Some(id) = params.get("client_id") else {
        return Err(OAuthError::invalid_client("client authentication required"));
    };
    let client = find(config, id)?;
    match params.get("client_secret") {
        Some(secret) => {
            check_secret(client, AuthMethod::ClientSecretPost, secret)?;
            Ok(client)
        }
        None if client.is_public() => Ok(client),
        None => Err(OAuthError::invalid_client("client authentication required")),
    }
}

fn find<'c>(config: &'c MockConfig, id: &str) -> Result<&'c ClientConfig, OAuthError> {
    config
        .find_client(id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))
}

fn check_secret(client: &ClientConfig, method: AuthMethod, given: &str) -> Result<(), OAuthError> {
    let Some(secret) = &client.secret else {
        return Err(OAuthError::invalid_client(
            "public client must not send a secret",
        ));
    };
    if !client.auth_methods.contains(&method) {
        return Err(OAuthError::invalid_client(&format!(
            "{} is not allowed for this client",
            method.as_str()
        )));
    }
    // Compare digests so the time taken says nothing about the secret.
    if Sha256::digest(secret.as_bytes()) != Sha256::digest(given.as_bytes()) {
        return Err(OAuthError::invalid_client("client authentication failed"));
    }
    Ok(())
}

/// Decodes `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 2.3.1).
fn basic_credentials(value: &[u8]) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let value = std::str::from_utf8(value).map_err(|_| bad())?.trim();
    let (scheme, encoded) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "unsupported authorization scheme",
        ));
    }
    let encoded = encoded.trim();
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let id = percent_decode(id, true).ok_or_else(bad)?;
    let secret = percent_decode(secret, true).ok_or_else(bad)?;
    Ok((id, secret))
}
