//! Discovery documents (`wrs_oauth::ProviderMetadata` and its
//! `endpoints()`), as `wrs_oauth::discover` reads them. Checked:
//!
//! - endpoints taken from a document are ones the client may talk to:
//!   `https`, or `http` on a loopback host only; they pass the same
//!   validation as endpoints set by hand;
//! - the token endpoint is the document's; the issuer is carried over;
//!   `iss` is required exactly when the document promises it;
//! - a document without a usable token endpoint is a discovery error.

use url::Url;
use wrs_oauth::{OAuthError, ProviderMetadata};

/// Parses `data` as a discovery document and takes its endpoints.
pub fn discovery(data: &[u8]) {
    let Ok(metadata) = serde_json::from_slice::<ProviderMetadata>(data) else {
        return;
    };
    match metadata.endpoints() {
        Ok(endpoints) => {
            assert_eq!(endpoints.issuer.as_deref(), Some(metadata.issuer.as_str()));
            assert_eq!(
                endpoints.requires_iss,
                metadata.authorization_response_iss_parameter_supported == Some(true)
            );
            let token = metadata
                .token_endpoint
                .as_deref()
                .expect("endpoints without a token endpoint");
            assert_eq!(
                Url::parse(token.trim()).ok().as_ref(),
                Some(&endpoints.token)
            );
            for (url, sent) in [
                (Some(&endpoints.token), &metadata.token_endpoint),
                (
                    endpoints.authorization.as_ref(),
                    &metadata.authorization_endpoint,
                ),
                (endpoints.revocation.as_ref(), &metadata.revocation_endpoint),
                (
                    endpoints.device_authorization.as_ref(),
                    &metadata.device_authorization_endpoint,
                ),
                (
                    endpoints.introspection.as_ref(),
                    &metadata.introspection_endpoint,
                ),
            ] {
                assert_eq!(url.is_some(), sent.is_some());
                if let Some(url) = url {
                    assert!(allowed(url), "{url} may not be used");
                }
            }
            if let Err(e) = endpoints.validate() {
                panic!("discovered endpoints fail validation: {e}");
            }
        }
        Err(OAuthError::Discovery(message)) => assert!(!message.is_empty()),
        Err(other) => panic!("endpoints() gave {other:?}"),
    }
}

/// `https`, or `http` to this machine by the one loopback rule
/// (`wrs_sys::host::is_loopback`, whose own tests pin which hosts those
/// are; the property tests here pin it again from the outside).
fn allowed(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(wrs_sys::host::is_loopback),
        _ => false,
    }
}
