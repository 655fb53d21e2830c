//! The authorization response (`wrs_oauth::RedirectParams` and
//! `PendingAuthorization::parse_pasted`/`check`): a redirected URL or a
//! pasted query string becomes a code, or a typed refusal.
//!
//! The input is the pasted text, with every `STATE` replaced by the
//! pending login's real (random) `state` so that the fuzzer can reach the
//! paths past the state check. Checked:
//!
//! - what parses carries a `code` or an `error`; its parameters written
//!   back as a query read back equal, as a bare query, with a leading `?`
//!   or inside the full redirect URL;
//! - a code is accepted only with this login's `state`, no `error`, an
//!   `iss` that is absent or this issuer's, and is the code that was sent;
//! - each refusal has its cause in the input (state mismatch only when the
//!   state differs, and so on); server text in it is cut short and free of
//!   control characters;
//! - the code never reaches an error or `Debug` output: another code of the
//!   same length changes neither.

use std::sync::OnceLock;

use url::Url;
use url::form_urlencoded::Serializer;
use wrs_oauth::{
    AuthorizationRequest, ClientIdentity, Endpoints, ErrorCode, HttpClient, HttpConfig,
    OAuthClient, OAuthError, PendingAuthorization, RedirectParams, Secret,
};

use crate::token_response::{clean, other_string};

/// The issuer of the pending login.
pub const ISSUER: &str = "https://idp.example.com";

/// The redirect URI of the pending login.
pub const REDIRECT_URI: &str = "http://127.0.0.1:8400/callback";

/// Replaced by the pending login's `state` in every input.
pub const STATE_PLACEHOLDER: &str = "STATE";

/// The login the redirect is checked against, made once per process the
/// way the daemon makes one: through `OAuthClient::authorize`.
pub fn pending() -> &'static PendingAuthorization {
    static PENDING: OnceLock<PendingAuthorization> = OnceLock::new();
    PENDING.get_or_init(|| {
        let url = |s: &str| Url::parse(s).expect("a constant URL");
        let mut endpoints = Endpoints::new(
            Some(url("https://idp.example.com/as/authorization.oauth2")),
            url("https://idp.example.com/as/token.oauth2"),
        );
        endpoints.issuer = Some(ISSUER.to_owned());
        let http = HttpClient::new(&HttpConfig::default()).expect("an HTTP client");
        let client = OAuthClient::new(http, endpoints, ClientIdentity::public("wrs-cli"))
            .expect("a valid client");
        client
            .authorize(&AuthorizationRequest::new(REDIRECT_URI))
            .expect("a pending login")
    })
}

/// Parses `data` (when UTF-8, as a paste is) as an authorization response.
pub fn redirect(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_text(text);
}

/// [`redirect`] for text.
pub fn check_text(text: &str) {
    let pending = pending();
    let input = text.replace(STATE_PLACEHOLDER, pending.state());
    let checked = pending.parse_pasted(&input);
    match RedirectParams::parse(&input) {
        Ok(params) => {
            assert!(params.is_response());
            check_round_trip(&params);
            check_outcome(pending, &params, &checked);
            check_code_hidden(pending, &params);
        }
        Err(err) => {
            assert!(matches!(err, OAuthError::InvalidRedirect(_)), "{err:?}");
            let same = checked.as_ref().err().map(ToString::to_string);
            assert_eq!(
                same,
                Some(err.to_string()),
                "parse_pasted = parse, then check"
            );
        }
    }
}

/// The parameters as an authorization server would put them in a query.
pub fn to_query(params: &RedirectParams) -> String {
    let mut query = Serializer::new(String::new());
    let fields = [
        ("code", params.code.as_ref().map(Secret::expose)),
        ("state", params.state.as_deref()),
        ("error", params.error.as_deref()),
        ("error_description", params.error_description.as_deref()),
        ("iss", params.iss.as_deref()),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            query.append_pair(key, value);
        }
    }
    query.finish()
}

fn check_round_trip(params: &RedirectParams) {
    let query = to_query(params);
    assert_eq!(&RedirectParams::from_query(&query), params, "{query}");
    for pasted in [
        query.clone(),
        format!("?{query}"),
        format!("{REDIRECT_URI}?{query}"),
        format!("  {REDIRECT_URI}?{query}\n"),
    ] {
        match RedirectParams::parse(&pasted) {
            Ok(back) => assert_eq!(&back, params, "{pasted}"),
            Err(e) => panic!("{pasted:?} does not parse: {e}"),
        }
    }
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b)
}

fn check_outcome(
    pending: &PendingAuthorization,
    params: &RedirectParams,
    checked: &Result<wrs_oauth::AuthorizationCode, OAuthError>,
) {
    let state_ok = params.state.as_deref() == Some(pending.state());
    let iss_ok = params.iss.as_deref().is_none_or(|i| same_issuer(i, ISSUER));
    match checked {
        Ok(code) => {
            assert!(iss_ok && state_ok && params.error.is_none());
            assert!(!code.0.is_empty());
            assert_eq!(Some(&code.0), params.code.as_ref());
        }
        Err(OAuthError::IssuerMismatch { expected, got }) => {
            assert!(!iss_ok);
            assert_eq!(expected, ISSUER);
            assert!(clean(got, 201), "{got:?}");
        }
        Err(OAuthError::StateMismatch) => assert!(iss_ok && !state_ok),
        Err(OAuthError::Authorization { code, description }) => {
            assert!(iss_ok && state_ok);
            assert_eq!(
                Some(code),
                params.error.as_deref().map(ErrorCode::parse).as_ref()
            );
            assert!(clean(code.as_str(), 65), "{:?}", code.as_str());
            if let Some(d) = description {
                assert!(clean(d, 301), "{d:?}");
            }
        }
        Err(OAuthError::InvalidRedirect(_)) => {
            assert!(iss_ok && state_ok && params.error.is_none());
            assert!(params.code.as_ref().is_none_or(Secret::is_empty));
        }
        Err(other) => panic!("checking a redirect gave {other:?}"),
    }
}

fn check_code_hidden(pending: &PendingAuthorization, params: &RedirectParams) {
    let Some(code) = &params.code else { return };
    let masked = RedirectParams {
        code: Some(Secret::new(other_string(code.expose()))),
        ..params.clone()
    };
    let shown = |params: &RedirectParams| match pending.check(params) {
        Ok(code) => format!("{code:?}"),
        Err(err) => format!("{err} / {err:?}"),
    };
    assert_eq!(
        shown(params),
        shown(&masked),
        "the code changes what is shown"
    );
    assert_eq!(
        format!("{params:?}"),
        format!("{masked:?}"),
        "Debug shows the code"
    );
}
