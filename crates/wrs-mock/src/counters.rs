//! Request counters, so a test can assert "exactly one refresh".
//!
//! Every request is counted when it arrives, before any fault is applied:
//! a request answered with an injected 503 still counts.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// A snapshot of the mock's request counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Counters {
            $($(#[$doc])* pub $name: u64,)*
        }

        #[derive(Debug, Default)]
        pub(crate) struct CounterCells {
            $($name: AtomicU64,)*
        }

        impl CounterCells {
            pub(crate) fn snapshot(&self) -> Counters {
                Counters { $($name: self.$name.load(Ordering::Relaxed),)* }
            }

            pub(crate) fn reset(&self) {
                $(self.$name.store(0, Ordering::Relaxed);)*
            }
        }
    };
}

counters! {
    /// Requests to the discovery documents.
    discovery,
    /// Requests (GET and POST) to `/as/authorization.oauth2`.
    authorization,
    /// Requests to `/as/token.oauth2`, any grant type.
    token,
    /// Token requests with `grant_type=refresh_token`.
    token_refresh,
    /// Token requests with `grant_type=authorization_code`.
    token_code,
    /// Token requests with the device-code grant type.
    token_device,
    /// Token requests with `grant_type=client_credentials`.
    token_client_credentials,
    /// Token requests with a missing or unknown grant type.
    token_other,
    /// Access tokens issued (by any grant, including `issue_tokens_for_test`).
    access_tokens_issued,
    /// Requests to `/as/revoke_token.oauth2`.
    revocation,
    /// Requests to `/as/introspect.oauth2`.
    introspection,
    /// Requests to `/as/device_authz.oauth2`.
    device_authorization,
    /// Requests (GET and POST) to the device user page `/as/user_authz.oauth2`.
    device_user_page,
    /// Requests under the Windchill OData root.
    wrs,
    /// Windchill requests answered 2xx.
    wrs_ok,
    /// Windchill requests answered 401 (missing, unknown, expired or revoked token).
    wrs_unauthorized,
    /// Windchill writes rejected for a missing or wrong `CSRF_NONCE`.
    wrs_csrf_rejected,
    /// Requests answered by an injected fault.
    faults_injected,
}

/// Which counter a request increments.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Discovery,
    Authorization,
    Token,
    TokenRefresh,
    TokenCode,
    TokenDevice,
    TokenClientCredentials,
    TokenOther,
    AccessTokensIssued,
    Revocation,
    Introspection,
    DeviceAuthorization,
    DeviceUserPage,
    Wrs,
    WrsOk,
    WrsUnauthorized,
    WrsCsrfRejected,
    FaultsInjected,
}

impl CounterCells {
    pub(crate) fn bump(&self, counter: Counter) {
        let cell = match counter {
            Counter::Discovery => &self.discovery,
            Counter::Authorization => &self.authorization,
            Counter::Token => &self.token,
            Counter::TokenRefresh => &self.token_refresh,
            Counter::TokenCode => &self.token_code,
            Counter::TokenDevice => &self.token_device,
            Counter::TokenClientCredentials => &self.token_client_credentials,
            Counter::TokenOther => &self.token_other,
            Counter::AccessTokensIssued => &self.access_tokens_issued,
            Counter::Revocation => &self.revocation,
            Counter::Introspection => &self.introspection,
            Counter::DeviceAuthorization => &self.device_authorization,
            Counter::DeviceUserPage => &self.device_user_page,
            Counter::Wrs => &self.wrs,
            Counter::WrsOk => &self.wrs_ok,
            Counter::WrsUnauthorized => &self.wrs_unauthorized,
            Counter::WrsCsrfRejected => &self.wrs_csrf_rejected,
            Counter::FaultsInjected => &self.faults_injected,
        };
        cell.fetch_add(1, Ordering::Relaxed);
    }
}
