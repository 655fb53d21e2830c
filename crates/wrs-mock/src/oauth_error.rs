//! RFC 6749 5.2 error responses of the token-style endpoints.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An OAuth error answer: status, `error` code and description.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: String,
    pub(crate) description: Option<String>,
}

impl OAuthError {
    pub(crate) fn new(
        status: StatusCode,
        error: impl Into<String>,
        description: Option<String>,
    ) -> Self {
        OAuthError {
            status,
            error: error.into(),
            description,
        }
    }

    fn bad(error: &str, description: &str) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, error, Some(description.into()))
    }

    pub(crate) fn invalid_request(description: &str) -> Self {
        OAuthError::bad("invalid_request", description)
    }

    pub(crate) fn invalid_grant(description: &str) -> Self {
        OAuthError::bad("invalid_grant", description)
    }

    pub(crate) fn invalid_scope(description: &str) -> Self {
        OAuthError::bad("invalid_scope", description)
    }

    pub(crate) fn unauthorized_client(description: &str) -> Self {
        OAuthError::bad("unauthorized_client", description)
    }

    pub(crate) fn unsupported_grant_type(description: &str) -> Self {
        OAuthError::bad("unsupported_grant_type", description)
    }

    /// Failed client authentication: 401 with `WWW-Authenticate: Basic`.
    pub(crate) fn invalid_client(description: &str) -> Self {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            Some(description.into()),
        )
    }

    /// A device-grant polling answer (`authorization_pending`, `slow_down`, …).
    pub(crate) fn device(error: &str, description: &str) -> Self {
        OAuthError::bad(error, description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = match &self.description {
            Some(d) => json!({ "error": self.error, "error_description": d }),
            None => json!({ "error": self.error }),
        };
        let mut resp = (self.status, no_store(), Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"PingFederate\""),
            );
        }
        resp
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, for every token-bearing answer.
pub(crate) fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}
