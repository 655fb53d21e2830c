//! Discovery documents: endpoints are taken exactly when every one given
//! is `https` or loopback `http`, and there is a token endpoint.

use proptest::option;
use proptest::prelude::*;
use serde_json::json;
use wrs_fuzz_checks::discovery::discovery;
use wrs_oauth::ProviderMetadata;

use crate::cases;

/// An endpoint URL and whether a client may use it.
fn endpoint() -> impl Strategy<Value = (String, bool)> {
    let host = prop_oneof![
        Just(("localhost", true)),
        Just(("LOCALHOST", true)),
        Just(("127.0.0.1", true)),
        Just(("127.3.2.1", true)),
        Just(("[::1]", true)),
        Just(("idp.example.com", false)),
        Just(("10.0.0.1", false)),
        Just(("localhost.example.com", false)),
    ];
    let scheme = prop_oneof![Just("https"), Just("http"), Just("ftp"), Just("HTTPS")];
    (scheme, host, "(:[0-9]{1,4})?", "(/[a-z.]{0,10}){0,3}").prop_map(
        |(scheme, (host, loopback), port, path)| {
            let ok = scheme.eq_ignore_ascii_case("https") || (scheme == "http" && loopback);
            (format!("{scheme}://{host}{port}{path}"), ok)
        },
    )
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn endpoints_are_taken_only_when_every_one_is_allowed(
        issuer in "https://[a-z.]{1,10}/?",
        token in option::of(endpoint()),
        authorization in option::of(endpoint()),
        revocation in option::of(endpoint()),
        device in option::of(endpoint()),
        introspection in option::of(endpoint()),
        iss_supported in option::of(any::<bool>()),
    ) {
        let url = |e: &Option<(String, bool)>| e.as_ref().map(|(u, _)| u.clone());
        let document = json!({
            "issuer": issuer,
            "token_endpoint": url(&token),
            "authorization_endpoint": url(&authorization),
            "revocation_endpoint": url(&revocation),
            "device_authorization_endpoint": url(&device),
            "introspection_endpoint": url(&introspection),
            "authorization_response_iss_parameter_supported": iss_supported,
        });
        let bytes = serde_json::to_vec(&document).unwrap();
        let metadata: ProviderMetadata = serde_json::from_slice(&bytes).unwrap();
        let all_ok = token.is_some()
            && [&token, &authorization, &revocation, &device, &introspection]
                .iter()
                .all(|e| e.as_ref().is_none_or(|(_, ok)| *ok));
        let endpoints = metadata.endpoints();
        prop_assert_eq!(endpoints.is_ok(), all_ok, "{:?}", endpoints);
        discovery(&bytes);
    }

    #[test]
    fn any_bytes_go_through_the_discovery_check(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        discovery(&bytes);
    }
}
