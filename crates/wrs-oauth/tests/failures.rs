//! What real servers, proxies and networks do wrong, injected into the real
//! `wrs-mock`: every failure must come back typed, secret-free, and
//! correctly classed as transient or not.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::time::Duration;

use wrs_mock::config::DEMO_PUBLIC_CLIENT;
use wrs_mock::{Endpoint, Fault, MockConfig, MockServer};
use wrs_oauth::{
    ClientIdentity, Endpoints, ErrorCode, HttpClient, HttpConfig, OAuthClient, OAuthError, Secret,
    TokenResponse, discover,
};
use wrs_testkit::oauth_clients::*;

/// A refresh against a mock with `fault` set on the token endpoint once.
async fn refresh_with_fault(
    fault: Fault,
    http_config: HttpConfig,
) -> (MockServer, Result<TokenResponse, OAuthError>) {
    let mock = start(MockConfig::default()).await;
    let client = client_with(
        &mock,
        HttpClient::new(&http_config).unwrap(),
        ClientIdentity::public(DEMO_PUBLIC_CLIENT),
    );
    let set = mock
        .issue_tokens_for_test(DEMO_PUBLIC_CLIENT, "demo", "")
        .unwrap();
    mock.set_fault(Endpoint::Token, fault, Some(1));
    let result = client
        .refresh(&Secret::new(set.refresh_token.unwrap()), &[], None)
        .await;
    (mock, result)
}

#[tokio::test]
async fn status_503_with_retry_after_is_transient_with_the_delay() {
    let fault = Fault::Status {
        code: 503,
        retry_after: Some(7),
        body: None,
    };
    let (mock, result) = refresh_with_fault(fault, http_config()).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, OAuthError::Http { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(mock.counters().token_refresh, 1, "no hidden retry");
}

#[tokio::test]
async fn oauth_error_bodies_are_typed() {
    let cases = [
        ("invalid_grant", 400, false),
        ("invalid_client", 401, false),
        ("temporarily_unavailable", 503, true),
        ("server_error", 500, true),
        ("invalid_scope", 400, false),
    ];
    for (code, status, transient) in cases {
        let fault = Fault::OAuthError {
            error: code.into(),
            description: Some("because".into()),
            status,
        };
        let (_mock, result) = refresh_with_fault(fault, http_config()).await;
        match result.unwrap_err() {
            err @ OAuthError::Server { .. } => {
                assert_eq!(err.code().unwrap().as_str(), code);
                assert_eq!(err.is_transient(), transient, "{code}");
                assert!(err.to_string().contains("because"));
                let OAuthError::Server { status: got, .. } = err else {
                    unreachable!()
                };
                assert_eq!(got, status);
            }
            other => panic!("{code}: unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn html_login_page_with_200_is_an_invalid_response() {
    let (_mock, result) = refresh_with_fault(Fault::HtmlLoginPage200, http_config()).await;
    match result.unwrap_err() {
        OAuthError::InvalidResponse {
            reason,
            status,
            content_type,
            snippet,
        } => {
            assert!(reason.contains("not JSON"), "{reason}");
            assert_eq!(status, 200);
            assert!(content_type.starts_with("text/html"));
            assert!(
                !snippet.is_empty() && snippet.chars().count() <= 101,
                "{snippet}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn non_json_body_labelled_json_is_an_invalid_response() {
    let (_mock, result) = refresh_with_fault(Fault::NonJsonBody, http_config()).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, OAuthError::InvalidResponse { content_type, .. } if content_type == "application/json")
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn missing_access_token_is_named_and_the_refresh_token_not_echoed() {
    let (_mock, result) =
        refresh_with_fault(Fault::MissingField("access_token".into()), http_config()).await;
    let err = result.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("`access_token` is missing"), "{text}");
    assert!(!text.contains("wrsrt_"), "a refresh token leaked: {text}");
}

#[tokio::test]
async fn missing_expires_in_is_none() {
    let (_mock, result) =
        refresh_with_fault(Fault::MissingField("expires_in".into()), http_config()).await;
    let tokens = result.unwrap();
    assert_eq!(tokens.expires_in, None);
    assert_eq!(tokens.expires_at, None);
}

#[tokio::test]
async fn expires_in_as_a_string_is_accepted() {
    let (_mock, result) = refresh_with_fault(Fault::ExpiresInAsString, http_config()).await;
    let tokens = result.unwrap();
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(3600)));
    assert_eq!(
        tokens.expires_at,
        Some(tokens.sent_at + Duration::from_secs(3600))
    );
}

#[tokio::test]
async fn dropped_connection_is_a_transient_network_error() {
    let (_mock, result) = refresh_with_fault(Fault::DropConnection, http_config()).await;
    let err = result.unwrap_err();
    assert!(matches!(err, OAuthError::Network(_)), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn never_ending_body_ends_at_the_total_timeout() {
    let config = HttpConfig {
        timeout: Duration::from_millis(1500),
        ..http_config()
    };
    let started = std::time::Instant::now();
    let (_mock, result) = refresh_with_fault(Fault::NeverEndingBody, config).await;
    let err = result.unwrap_err();
    assert!(matches!(err, OAuthError::Timeout), "{err:?}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn slow_server_hits_the_timeout() {
    let config = HttpConfig {
        timeout: Duration::from_millis(300),
        ..http_config()
    };
    let (_mock, result) = refresh_with_fault(Fault::Delay(Duration::from_secs(3)), config).await;
    assert!(matches!(result.unwrap_err(), OAuthError::Timeout));
}

#[tokio::test]
async fn oversized_body_is_cut_off() {
    let config = HttpConfig {
        max_response_bytes: 4096,
        ..http_config()
    };
    let fault = Fault::Status {
        code: 200,
        retry_after: None,
        body: Some("x".repeat(100_000)),
    };
    let (_mock, result) = refresh_with_fault(fault, config).await;
    match result.unwrap_err() {
        OAuthError::InvalidResponse { reason, .. } => {
            assert!(reason.contains("larger than 4096"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let endpoints =
        Endpoints::parse(None, &format!("http://127.0.0.1:{port}/as/token.oauth2")).unwrap();
    let client = OAuthClient::new(http(), endpoints, ClientIdentity::public("c")).unwrap();
    let err = client.client_credentials(&[], None).await.unwrap_err();
    assert!(matches!(err, OAuthError::Network(_)), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn tls_works_with_the_extra_ca_and_fails_clearly_without() {
    let mock = start(MockConfig::default().tls(true)).await;
    assert!(mock.issuer().starts_with("https://"));
    let pem = mock.ca_pem().unwrap();

    let trusted = HttpClient::new(&HttpConfig {
        extra_ca_pem: Some(pem.clone().into_bytes()),
        ..http_config()
    })
    .unwrap();
    let metadata = discover(&trusted, &mock.issuer()).await.unwrap();
    assert_eq!(metadata.issuer, mock.issuer());

    // The same through --ca-file.
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pem.as_bytes()).unwrap();
    let from_file = HttpClient::new(&http_config().with_ca_file(file.path()).unwrap()).unwrap();
    let client = client_with(&mock, from_file, ClientIdentity::public(DEMO_PUBLIC_CLIENT));
    let set = mock
        .issue_tokens_for_test(DEMO_PUBLIC_CLIENT, "demo", "")
        .unwrap();
    client
        .refresh(&Secret::new(set.refresh_token.unwrap()), &[], None)
        .await
        .unwrap();

    match discover(&http(), &mock.issuer()).await {
        Err(OAuthError::Tls { problem, message }) => {
            assert_eq!(problem, wrs_oauth::NetworkProblem::UntrustedCertificate);
            assert!(message.contains("certificate not trusted"), "{message}");
            assert!(message.contains("--ca-file"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn unreadable_or_empty_ca_file_is_a_config_error() {
    let missing = http_config().with_ca_file(std::path::Path::new("/nonexistent/ca.pem"));
    assert!(matches!(missing, Err(OAuthError::Config(m)) if m.contains("/nonexistent/ca.pem")));
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(
        http_config().with_ca_file(file.path()),
        Err(OAuthError::Config(_))
    ));
}

#[tokio::test]
async fn discovery_document_that_is_html_is_a_discovery_error() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(Endpoint::Discovery, Fault::HtmlLoginPage200, Some(1));
    match discover(&http(), &mock.issuer()).await {
        Err(OAuthError::Discovery(message)) => assert!(message.contains("not a JSON"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    mock.set_fault(
        Endpoint::Discovery,
        Fault::Status {
            code: 503,
            retry_after: Some(2),
            body: None,
        },
        Some(1),
    );
    let err = discover(&http(), &mock.issuer()).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn device_authorization_errors_are_typed() {
    let mock = start(MockConfig::default()).await;
    mock.set_fault(
        Endpoint::DeviceAuthorization,
        Fault::OAuthError {
            error: "unauthorized_client".into(),
            description: None,
            status: 400,
        },
        Some(1),
    );
    let err = public(&mock).begin_device(&[], None).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::UnauthorizedClient));
}
