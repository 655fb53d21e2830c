//! [`OAuthClient`]: one profile's client, tying the HTTP client, the
//! server's endpoints and the client identity together. The grants live in
//! their own modules ([`crate::token`], [`crate::device`], [`crate::revoke`]).

use url::Url;

use crate::authorize::{AuthorizationRequest, PendingAuthorization};
use crate::discovery::{ProviderMetadata, discover};
use crate::error::OAuthError;
use crate::http::{HttpClient, HttpResponse};
use crate::provider::{ClientIdentity, Endpoints};

/// An OAuth 2 client for one profile. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub(crate) http: HttpClient,
    pub(crate) endpoints: Endpoints,
    pub(crate) identity: ClientIdentity,
}

impl OAuthClient {
    /// A client with explicit endpoints. Checks the URLs and that a secret is
    /// present when the authentication method needs one.
    pub fn new(
        http: HttpClient,
        endpoints: Endpoints,
        identity: ClientIdentity,
    ) -> Result<Self, OAuthError> {
        endpoints.validate()?;
        identity.validate()?;
        Ok(OAuthClient {
            http,
            endpoints,
            identity,
        })
    }

    /// A client whose endpoints come from discovery at `issuer` (see
    /// [`discover`]); also returns the metadata for further checks.
    pub async fn discover(
        http: HttpClient,
        issuer: &str,
        identity: ClientIdentity,
    ) -> Result<(Self, ProviderMetadata), OAuthError> {
        let metadata = discover(&http, issuer).await?;
        let mut endpoints = metadata.endpoints()?;
        // Keep the issuer as configured: `iss` is compared against it.
        endpoints.issuer = Some(issuer.to_owned());
        Ok((OAuthClient::new(http, endpoints, identity)?, metadata))
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The client identity in use.
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// Starts a code-flow login: a fresh PKCE verifier and `state`, and the
    /// URL to open. Fails if no authorization endpoint is configured.
    pub fn authorize(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<PendingAuthorization, OAuthError> {
        let endpoint = self.endpoints.authorization.as_ref().ok_or_else(|| {
            OAuthError::Config(
                "no authorization endpoint is configured (needed for the browser login)".to_owned(),
            )
        })?;
        if request.redirect_uri.is_empty() {
            return Err(OAuthError::Config("the redirect URI is empty".to_owned()));
        }
        Ok(PendingAuthorization::new(
            endpoint,
            &self.identity.client_id,
            request,
            self.endpoints.issuer.as_deref(),
            self.endpoints.requires_iss,
        ))
    }

    /// POSTs a form with client authentication and reads the answer.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        mut form: Vec<(&'static str, String)>,
    ) -> Result<HttpResponse, OAuthError> {
        let request = self.http.post(url).header("accept", "application/json");
        let request = self.identity.apply(request, &mut form);
        self.http.send(request.form(&form)).await
    }

    pub(crate) fn endpoint<'a>(
        &self,
        url: &'a Option<Url>,
        what: &str,
    ) -> Result<&'a Url, OAuthError> {
        url.as_ref()
            .ok_or_else(|| OAuthError::Config(format!("no {what} endpoint is configured")))
    }
}
