//! Who we talk to and who we are: the authorization server's endpoints and
//! the client's identity and authentication method.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::RequestBuilder;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use url::Url;
use url::form_urlencoded::byte_serialize;
use wrs_proto::Secret;

use crate::error::OAuthError;
use crate::http::check_endpoint;

/// The authorization server's endpoints, set explicitly or from discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The issuer identifier, when known; checked against `iss` in redirects.
    pub issuer: Option<String>,
    /// The authorization endpoint (code flow only).
    pub authorization: Option<Url>,
    /// The token endpoint.
    pub token: Url,
    /// The RFC 7009 revocation endpoint.
    pub revocation: Option<Url>,
    /// The RFC 8628 device authorization endpoint.
    pub device_authorization: Option<Url>,
    /// The RFC 7662 introspection endpoint.
    pub introspection: Option<Url>,
    /// Whether the server promised `iss` in authorization responses
    /// (RFC 9207 `authorization_response_iss_parameter_supported`); if so a
    /// redirect without it is rejected.
    pub requires_iss: bool,
}

impl Endpoints {
    /// Explicit endpoints: the token endpoint and, for the code flow, the
    /// authorization endpoint. Add the optional ones by setting the fields.
    pub fn new(authorization: Option<Url>, token: Url) -> Self {
        Endpoints {
            issuer: None,
            authorization,
            token,
            revocation: None,
            device_authorization: None,
            introspection: None,
            requires_iss: false,
        }
    }

    /// Parses explicit endpoint URLs (as given on the command line).
    pub fn parse(authorization: Option<&str>, token: &str) -> Result<Self, OAuthError> {
        let authorization = authorization
            .map(|a| parse_url("authorization endpoint", a))
            .transpose()?;
        Ok(Endpoints::new(
            authorization,
            parse_url("token endpoint", token)?,
        ))
    }

    /// Checks every URL (`https`, or `http` on loopback).
    pub fn validate(&self) -> Result<(), OAuthError> {
        check_endpoint("token endpoint", &self.token)?;
        for (what, url) in [
            ("authorization endpoint", &self.authorization),
            ("revocation endpoint", &self.revocation),
            ("device authorization endpoint", &self.device_authorization),
            ("introspection endpoint", &self.introspection),
        ] {
            if let Some(url) = url {
                check_endpoint(what, url)?;
            }
        }
        Ok(())
    }
}

pub(crate) fn parse_url(what: &str, value: &str) -> Result<Url, OAuthError> {
    Url::parse(value.trim())
        .map_err(|e| OAuthError::Config(format!("{what} {value:?} is not a URL: {e}")))
}

/// How the client authenticates at the token, device, revocation and
/// introspection endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 2.3.1);
    /// PingFederate's default.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: `client_id` in the body, no secret.
    None,
}

impl ClientAuth {
    /// The RFC 8414 name (`client_secret_basic`, `client_secret_post`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::None => "none",
        }
    }

    /// Parses the RFC 8414 name or the short forms `basic`, `post`, `none`.
    pub fn parse(value: &str) -> Option<ClientAuth> {
        match value {
            "client_secret_basic" | "basic" => Some(ClientAuth::ClientSecretBasic),
            "client_secret_post" | "post" => Some(ClientAuth::ClientSecretPost),
            "none" => Some(ClientAuth::None),
            _ => None,
        }
    }
}

/// The client: its id, its secret (confidential clients) and how it sends them.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// The `client_id`.
    pub client_id: String,
    /// The client secret; required unless `auth` is [`ClientAuth::None`].
    pub client_secret: Option<Secret>,
    /// The authentication method.
    pub auth: ClientAuth,
}

impl ClientIdentity {
    /// A public client (no secret, auth method `none`).
    pub fn public(client_id: impl Into<String>) -> Self {
        ClientIdentity {
            client_id: client_id.into(),
            client_secret: None,
            auth: ClientAuth::None,
        }
    }

    /// A confidential client with the given method.
    pub fn confidential(client_id: impl Into<String>, secret: Secret, auth: ClientAuth) -> Self {
        ClientIdentity {
            client_id: client_id.into(),
            client_secret: Some(secret),
            auth,
        }
    }

    /// Checks that a secret is present exactly when the method needs one.
    pub fn validate(&self) -> Result<(), OAuthError> {
        if self.client_id.is_empty() {
            return Err(OAuthError::Config("the client id is empty".to_owned()));
        }
        match (self.auth, &self.client_secret) {
            (ClientAuth::None, _) => Ok(()),
            (method, None) => Err(OAuthError::Config(format!(
                "client authentication {} needs a client secret",
                method.as_str()
            ))),
            (_, Some(_)) => Ok(()),
        }
    }

    /// Adds the client authentication to a form request: a Basic header, or
    /// form fields appended to `form`. Never the query string.
    pub(crate) fn apply(
        &self,
        request: RequestBuilder,
        form: &mut Vec<(&'static str, String)>,
    ) -> RequestBuilder {
        match (self.auth, &self.client_secret) {
            (ClientAuth::ClientSecretBasic, Some(secret)) => {
                // Base64 output is always a valid header value.
                let basic = basic_authorization(&self.client_id, secret);
                let mut value = HeaderValue::from_str(basic.expose())
                    .unwrap_or_else(|_| HeaderValue::from_static(""));
                value.set_sensitive(true);
                request.header(AUTHORIZATION, value)
            }
            (ClientAuth::ClientSecretPost, Some(secret)) => {
                form.push(("client_id", self.client_id.clone()));
                form.push(("client_secret", secret.expose().to_owned()));
                request
            }
            _ => {
                form.push(("client_id", self.client_id.clone()));
                request
            }
        }
    }
}

/// The `Authorization` header value for `client_secret_basic`: id and secret
/// each application/x-www-form-urlencoded, joined by `:`, then base64
/// (RFC 6749 2.3.1; a raw `:` in the id would otherwise split it).
pub fn basic_authorization(client_id: &str, secret: &Secret) -> Secret {
    let id: String = byte_serialize(client_id.as_bytes()).collect();
    let pass: String = byte_serialize(secret.expose().as_bytes()).collect();
    let pair = Secret::new(format!("{id}:{pass}"));
    Secret::new(format!("Basic {}", STANDARD.encode(pair.expose())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_urlencodes_before_base64() {
        let header = basic_authorization("my client:1", &Secret::new("p@ss w%rd+/:é"));
        let encoded = header.expose().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+client%3A1:p%40ss+w%25rd%2B%2F%3A%C3%A9");
    }

    #[test]
    fn basic_auth_of_plain_values_is_plain() {
        let header = basic_authorization("client", &Secret::new("secret"));
        assert_eq!(
            header.expose(),
            format!("Basic {}", STANDARD.encode("client:secret"))
        );
    }

    #[test]
    fn confidential_methods_need_a_secret() {
        let c = ClientIdentity {
            client_id: "c".into(),
            client_secret: None,
            auth: ClientAuth::ClientSecretBasic,
        };
        assert!(matches!(c.validate(), Err(OAuthError::Config(_))));
        assert!(ClientIdentity::public("c").validate().is_ok());
    }

    #[test]
    fn auth_method_names_parse() {
        assert_eq!(
            ClientAuth::parse("basic"),
            Some(ClientAuth::ClientSecretBasic)
        );
        assert_eq!(
            ClientAuth::parse("client_secret_post"),
            Some(ClientAuth::ClientSecretPost)
        );
        assert_eq!(ClientAuth::parse("none"), Some(ClientAuth::None));
        assert_eq!(ClientAuth::parse("jwt"), None);
    }
}
