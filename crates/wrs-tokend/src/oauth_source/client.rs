//! A profile's OAuth client, from its parts: the HTTP client (timeouts,
//! proxies, the extra CA from `ca_file`), the client identity (the stored
//! client secret, checked against the server and client it belongs to) and
//! the endpoints (discovery, overridden by explicit ones).
//!
//! [`OAuthSource`](super::OAuthSource) assembles them on first use;
//! [`crate::probe`] builds the same parts one by one to report on each, so
//! what it reports is what the daemon would meet. Nothing here writes to a
//! store: sealing a legacy secret and deleting a stale one are the
//! source's business.

use std::path::Path;

use url::Url;
use wrs_config::{ClientAuth, Profile};
use wrs_oauth::{ClientIdentity, Endpoints, HttpClient, HttpConfig, OAuthError, ProviderMetadata};
use wrs_proto::Secret;
use wrs_store::SecretKind;

use super::oauth_error;
use crate::binding::{self, Opened, Owner};
use crate::source::SourceError;
use crate::stores::Stores;

/// `base` with the profile's extra CA (`ca_file`), read under the
/// config file's rules.
pub fn http_config(profile: &Profile, base: &HttpConfig) -> Result<HttpConfig, OAuthError> {
    match &profile.ca_file {
        Some(ca) => base.clone().with_ca_file(Path::new(ca)),
        None => Ok(base.clone()),
    }
}

/// The profile's HTTP client, on `base`'s timeouts.
pub fn http_client(
    name: &str,
    profile: &Profile,
    base: &HttpConfig,
) -> Result<HttpClient, SourceError> {
    let config = http_config(profile, base).map_err(|e| oauth_error(name, e))?;
    HttpClient::new(&config).map_err(|e| oauth_error(name, e))
}

/// `name`'s stored secret of `kind`, opened (see [`crate::binding`]).
pub async fn read_bound(
    stores: &Stores,
    name: &str,
    profile: &Profile,
    kind: SecretKind,
) -> Result<Option<Opened>, SourceError> {
    Ok(stores
        .get(profile.store, name, kind)
        .await?
        .map(binding::open))
}

/// A client secret as stored for a confidential profile.
pub struct StoredSecret {
    /// The secret, which belongs to the profile's server and client.
    pub secret: Secret,
    /// Stored before secrets were sealed with their owner: the source
    /// seals it now.
    pub legacy: bool,
}

/// The client secret of a confidential profile (`auth = "basic"` or
/// `"post"`), read from its store. None stored, or one stored for another
/// server or client, is a configuration error naming the command that
/// stores it.
pub async fn client_secret(
    stores: &Stores,
    name: &str,
    profile: &Profile,
) -> Result<StoredSecret, SourceError> {
    let opened = read_bound(stores, name, profile, SecretKind::ClientSecret)
        .await?
        .ok_or_else(|| {
            SourceError::Config(format!(
                "no client secret is stored for profile {name} (auth = {:?} needs one): \
                 store it with `wrs-token profile set-secret {name}`",
                profile.auth
            ))
        })?;
    let legacy = opened.is_legacy();
    let owner = Owner::of(profile);
    let secret = opened.for_owner(&owner).map_err(|stored| {
        SourceError::Config(format!(
            "the client secret stored for profile {name} belongs to {}, but the \
             profile now uses {}: store its secret with `wrs-token profile \
             set-secret {name}`",
            stored.describe(),
            owner.describe()
        ))
    })?;
    Ok(StoredSecret { secret, legacy })
}

/// The identity of a confidential profile with its `secret`, sent the way
/// its `auth` says (a public profile's is `ClientIdentity::public`).
pub fn confidential(profile: &Profile, secret: Secret) -> ClientIdentity {
    let auth = if profile.auth == ClientAuth::Post {
        wrs_oauth::ClientAuth::ClientSecretPost
    } else {
        wrs_oauth::ClientAuth::ClientSecretBasic
    };
    ClientIdentity::confidential(&profile.client_id, secret, auth)
}

/// The profile's endpoints: from its issuer's discovery document when the
/// profile has an issuer, else the explicit ones.
pub async fn discover_endpoints(
    http: &HttpClient,
    name: &str,
    profile: &Profile,
) -> Result<Endpoints, SourceError> {
    let discovered = match &profile.issuer {
        Some(issuer) => Some(
            wrs_oauth::discover(http, issuer)
                .await
                .map_err(|e| oauth_error(name, e))?,
        ),
        None => None,
    };
    endpoints(name, profile, discovered.as_ref())
}

/// The endpoints of `discovered` (explicit endpoints in the profile
/// override it), or without it the explicit ones.
pub fn endpoints(
    name: &str,
    profile: &Profile,
    discovered: Option<&ProviderMetadata>,
) -> Result<Endpoints, SourceError> {
    let p = profile;
    let mut endpoints = match discovered {
        Some(metadata) => {
            let mut endpoints = metadata.endpoints().map_err(|e| oauth_error(name, e))?;
            // Kept as configured: the redirect's `iss` is compared to it.
            if let Some(issuer) = &p.issuer {
                endpoints.issuer = Some(issuer.clone());
            }
            if let Some(url) = &p.authorization_endpoint {
                endpoints.authorization = Some(parse_url(name, "authorization", url)?);
            }
            if let Some(url) = &p.token_endpoint {
                endpoints.token = parse_url(name, "token", url)?;
            }
            endpoints
        }
        None => {
            let token = p.token_endpoint.as_deref().ok_or_else(|| {
                SourceError::Config(format!(
                    "profile {name} has neither an issuer nor a token endpoint"
                ))
            })?;
            Endpoints::parse(p.authorization_endpoint.as_deref(), token)
                .map_err(|e| oauth_error(name, e))?
        }
    };
    if let Some(url) = &p.revocation_endpoint {
        endpoints.revocation = Some(parse_url(name, "revocation", url)?);
    }
    if let Some(url) = &p.device_authorization_endpoint {
        endpoints.device_authorization = Some(parse_url(name, "device authorization", url)?);
    }
    Ok(endpoints)
}

fn parse_url(profile: &str, what: &str, url: &str) -> Result<Url, SourceError> {
    Url::parse(url).map_err(|e| {
        SourceError::Config(format!(
            "profile {profile}: the {what} endpoint {url:?} is not a URL: {e}"
        ))
    })
}
