//! The authorization code flow's front channel: building the authorization
//! URL (PKCE S256, `state`, optional `scope` and `resource`) and checking
//! what comes back, whether from the loopback listener or pasted by the user.

use url::Url;
use wrs_proto::Secret;

use crate::discovery::same_issuer;
use crate::error::{ErrorCode, OAuthError, sanitize, server_text};
use crate::pkce::{Pkce, random_state};

/// What to ask for in an authorization request.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationRequest {
    /// The redirect URI, exactly as it will be sent again in the code
    /// exchange (e.g. [`crate::LoopbackListener::redirect_uri`]).
    pub redirect_uri: String,
    /// Scopes, sent space-separated; none = the server's default.
    pub scopes: Vec<String>,
    /// RFC 8707 resource indicator (e.g. the Windchill OData root).
    pub resource: Option<String>,
    /// Further query parameters (e.g. `prompt=login`, `login_hint`).
    pub extra: Vec<(String, String)>,
}

impl AuthorizationRequest {
    /// A request with this redirect URI and nothing else.
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        AuthorizationRequest {
            redirect_uri: redirect_uri.into(),
            ..Default::default()
        }
    }
}

/// A started login: the URL to open and what is needed to check the redirect
/// and exchange the code. Keep it until the code exchange is done.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    url: Url,
    state: String,
    pkce: Pkce,
    redirect_uri: String,
    resource: Option<String>,
    issuer: Option<String>,
    requires_iss: bool,
}

impl PendingAuthorization {
    /// Builds the authorization URL for `request` at `endpoint`.
    pub(crate) fn new(
        endpoint: &Url,
        client_id: &str,
        request: &AuthorizationRequest,
        issuer: Option<&str>,
        requires_iss: bool,
    ) -> Self {
        let pkce = Pkce::generate();
        let state = random_state();
        let mut url = endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", &request.redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", pkce.method());
            if !request.scopes.is_empty() {
                query.append_pair("scope", &request.scopes.join(" "));
            }
            if let Some(resource) = &request.resource {
                query.append_pair("resource", resource);
            }
            for (k, v) in &request.extra {
                query.append_pair(k, v);
            }
        }
        PendingAuthorization {
            url,
            state,
            pkce,
            redirect_uri: request.redirect_uri.clone(),
            resource: request.resource.clone(),
            issuer: issuer.map(str::to_owned),
            requires_iss,
        }
    }

    /// The URL to open in the browser.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `state` sent.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The redirect URI sent; the code exchange sends it again, identical.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The resource indicator sent, if any.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The PKCE verifier and challenge.
    pub fn pkce(&self) -> &Pkce {
        &self.pkce
    }

    /// Parses and checks a pasted redirect: a full URL or a bare query string.
    pub fn parse_pasted(&self, input: &str) -> Result<AuthorizationCode, OAuthError> {
        self.check(&RedirectParams::parse(input)?)
    }

    /// Checks an authorization response, in the order that matters: `iss`
    /// first (RFC 9207 mix-up defence), then `state`, then `error`, then the code.
    pub fn check(&self, params: &RedirectParams) -> Result<AuthorizationCode, OAuthError> {
        if let Some(expected) = &self.issuer {
            match &params.iss {
                Some(got) if !same_issuer(got, expected) => {
                    return Err(OAuthError::IssuerMismatch {
                        expected: expected.clone(),
                        got: sanitize(got, 200),
                    });
                }
                None if self.requires_iss => {
                    return Err(OAuthError::IssuerMismatch {
                        expected: expected.clone(),
                        got: String::new(),
                    });
                }
                _ => {}
            }
        }
        if params.state.as_deref() != Some(self.state.as_str()) {
            return Err(OAuthError::StateMismatch);
        }
        if let Some(error) = &params.error {
            return Err(OAuthError::Authorization {
                code: ErrorCode::parse(error),
                description: params
                    .error_description
                    .as_deref()
                    .map(|d| server_text(d, 300)),
            });
        }
        match &params.code {
            Some(code) if !code.is_empty() => Ok(AuthorizationCode(code.clone())),
            _ => Err(OAuthError::InvalidRedirect(
                "it has neither `code` nor `error`".to_owned(),
            )),
        }
    }
}

/// An authorization code, ready for [`crate::OAuthClient::exchange_code`].
#[derive(Debug, Clone)]
pub struct AuthorizationCode(pub Secret);

/// The parameters of an authorization response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectParams {
    /// `code`.
    pub code: Option<Secret>,
    /// `state`.
    pub state: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
    /// `iss` (RFC 9207).
    pub iss: Option<String>,
}

impl RedirectParams {
    /// Parses a full redirect URL (`http://127.0.0.1:8400/callback?code=…`),
    /// a bare query string (`code=…&state=…`, with or without the leading
    /// `?`), as a user may paste either.
    pub fn parse(input: &str) -> Result<Self, OAuthError> {
        let input = input.trim();
        let query = match Url::parse(input) {
            Ok(url) if url.has_host() => url.query().unwrap_or("").to_owned(),
            _ if input.contains("://") => {
                return Err(OAuthError::InvalidRedirect(
                    "the pasted text is not a valid URL".to_owned(),
                ));
            }
            _ => input.trim_start_matches('?').to_owned(),
        };
        let params = Self::from_query(&query);
        if params.code.is_none() && params.error.is_none() {
            return Err(OAuthError::InvalidRedirect(
                "no `code` or `error` parameter: paste the whole address the browser was sent to"
                    .to_owned(),
            ));
        }
        Ok(params)
    }

    /// Parses a query string (no leading `?`). Repeated parameters keep the
    /// first value.
    pub fn from_query(query: &str) -> Self {
        let mut params = RedirectParams::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "code" if params.code.is_none() => params.code = Some(Secret::new(value)),
                "state" if params.state.is_none() => params.state = Some(value),
                "error" if params.error.is_none() => params.error = Some(value),
                "error_description" if params.error_description.is_none() => {
                    params.error_description = Some(value);
                }
                "iss" if params.iss.is_none() => params.iss = Some(value),
                _ => {}
            }
        }
        params
    }

    /// Whether this carries an authorization response at all.
    pub fn is_response(&self) -> bool {
        self.code.is_some() || self.error.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://idp.example.com";

    fn pending(requires_iss: bool) -> PendingAuthorization {
        let endpoint =
            Url::parse("https://idp.example.com/as/authorization.oauth2?tenant=a").unwrap();
        let request = AuthorizationRequest {
            redirect_uri: "http://127.0.0.1:8400/callback".into(),
            scopes: vec!["openid".into(), "offline_access".into()],
            resource: Some("https://plm.example.com/Windchill/oauth/servlet/odata/".into()),
            extra: vec![],
        };
        PendingAuthorization::new(&endpoint, "wrs cli", &request, Some(ISSUER), requires_iss)
    }

    fn query_of(url: &Url) -> Vec<(String, String)> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn authorization_url_carries_pkce_state_scope_and_resource() {
        let p = pending(false);
        let q = query_of(p.url());
        let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("tenant"), Some("a"), "the endpoint's own query is kept");
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("wrs cli"));
        assert_eq!(get("redirect_uri"), Some("http://127.0.0.1:8400/callback"));
        assert_eq!(get("state"), Some(p.state()));
        assert_eq!(get("code_challenge"), Some(p.pkce().challenge()));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("scope"), Some("openid offline_access"));
        assert_eq!(
            get("resource"),
            Some("https://plm.example.com/Windchill/oauth/servlet/odata/")
        );
        assert_eq!(get("code_verifier"), None);
        assert!(!p.url().as_str().contains(p.pkce().verifier().expose()));
        assert_eq!(p.state().len(), 22);
        assert_ne!(p.state(), pending(false).state());
    }

    #[test]
    fn pasted_full_url_and_bare_query_give_the_same_code() {
        let p = pending(false);
        let full = format!(
            "http://127.0.0.1:8400/callback?code=abc%2B1&state={}&iss={ISSUER}",
            p.state()
        );
        let bare = format!("code=abc%2B1&state={}", p.state());
        let question = format!("  ?code=abc%2B1&state={}\n", p.state());
        for input in [full, bare, question] {
            assert_eq!(
                p.parse_pasted(&input).unwrap().0.expose(),
                "abc+1",
                "{input}"
            );
        }
    }

    #[test]
    fn state_mismatch_is_rejected() {
        let p = pending(false);
        assert!(matches!(
            p.parse_pasted("code=abc&state=other"),
            Err(OAuthError::StateMismatch)
        ));
        assert!(matches!(
            p.parse_pasted("code=abc"),
            Err(OAuthError::StateMismatch)
        ));
    }

    #[test]
    fn iss_mismatch_is_rejected_before_anything_else() {
        let p = pending(false);
        let input = format!(
            "code=abc&state={}&iss=https%3A%2F%2Fevil.example.com",
            p.state()
        );
        match p.parse_pasted(&input) {
            Err(OAuthError::IssuerMismatch { expected, got }) => {
                assert_eq!(expected, ISSUER);
                assert_eq!(got, "https://evil.example.com");
            }
            other => panic!("unexpected {other:?}"),
        }
        let input = format!(
            "code=abc&state={}&iss=https%3A%2F%2Fidp.example.com%2F",
            p.state()
        );
        assert!(
            p.parse_pasted(&input).is_ok(),
            "a trailing slash is tolerated"
        );
    }

    #[test]
    fn missing_iss_is_rejected_when_the_server_promised_it() {
        let p = pending(true);
        let input = format!("code=abc&state={}", p.state());
        assert!(matches!(
            p.parse_pasted(&input),
            Err(OAuthError::IssuerMismatch { .. })
        ));
        let lenient = pending(false);
        assert!(
            lenient
                .parse_pasted(&format!("code=abc&state={}", lenient.state()))
                .is_ok()
        );
    }

    #[test]
    fn error_redirect_maps_to_a_typed_error_with_description() {
        let p = pending(false);
        let input = format!(
            "error=access_denied&error_description=User+said+no&state={}",
            p.state()
        );
        match p.parse_pasted(&input) {
            Err(OAuthError::Authorization { code, description }) => {
                assert_eq!(code, ErrorCode::AccessDenied);
                assert_eq!(description.as_deref(), Some("User said no"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let input = format!("error=invalid_scope&state={}", p.state());
        assert!(matches!(
            p.parse_pasted(&input),
            Err(OAuthError::Authorization {
                code: ErrorCode::InvalidScope,
                description: None
            })
        ));
    }

    #[test]
    fn an_error_redirect_description_holding_a_token_is_withheld() {
        let p = pending(false);
        let input = format!(
            "error=invalid_request&error_description=code+SplxlOBeZQQYbYS6WxSbIA+already+used&state={}",
            p.state()
        );
        let err = p.parse_pasted(&input).unwrap_err();
        assert!(!err.to_string().contains("SplxlOBe"), "{err}");
        match err {
            OAuthError::Authorization { code, description } => {
                assert_eq!(code, ErrorCode::InvalidRequest);
                assert_eq!(description.as_deref(), Some(crate::redact::WITHHELD));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn text_without_a_response_is_rejected() {
        let p = pending(false);
        assert!(matches!(
            p.parse_pasted("hello"),
            Err(OAuthError::InvalidRedirect(_))
        ));
        assert!(matches!(
            p.parse_pasted("http://127.0.0.1:8400/callback"),
            Err(OAuthError::InvalidRedirect(_))
        ));
        assert!(matches!(
            p.parse_pasted(""),
            Err(OAuthError::InvalidRedirect(_))
        ));
    }

    #[test]
    fn debug_output_hides_the_code_and_verifier() {
        let p = pending(false);
        let code = p
            .parse_pasted(&format!("code=supersecretcode&state={}", p.state()))
            .unwrap();
        assert!(!format!("{code:?}").contains("supersecretcode"));
        assert!(!format!("{p:?}").contains(p.pkce().verifier().expose()));
    }
}
