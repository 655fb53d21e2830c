//! The device authorization grant (RFC 8628): ask for a user code, then poll
//! the token endpoint at the server's pace until the user approves or denies.

use std::future::Future;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use wrs_proto::Secret;

use crate::client::OAuthClient;
use crate::error::{ErrorCode, OAuthError, sanitize};
use crate::http::HttpResponse;
use crate::token::{TokenResponse, push_scope_and_resource, seconds_field};

/// The default polling interval when the server names none (RFC 8628 3.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// What `slow_down` adds to the interval (RFC 8628 3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The longest wait between polls after network trouble.
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// A started device login: show `user_code` and `verification_uri` to the user.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    /// The `device_code`, used only for polling.
    pub device_code: Secret,
    /// The code the user types in.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// A URL that carries the code already, if the server offers one.
    pub verification_uri_complete: Option<String>,
    /// How long the codes live.
    pub expires_in: Duration,
    /// The minimum time between polls.
    pub interval: Duration,
}

impl OAuthClient {
    /// Starts a device login at the device authorization endpoint.
    pub async fn begin_device(
        &self,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<DeviceAuthorization, OAuthError> {
        let endpoint =
            self.endpoint(&self.endpoints.device_authorization, "device authorization")?;
        let mut form = Vec::new();
        push_scope_and_resource(&mut form, scopes, resource);
        let response = self.post_form(endpoint, form).await?;
        parse_device_authorization(&response)
    }

    /// Polls until the user approves ([`TokenResponse`]), denies
    /// (`Server { code: AccessDenied }`), or the code expires
    /// (`Server { code: ExpiredToken }` from the server, or
    /// [`OAuthError::DeviceCodeExpired`] when `expires_in` has passed).
    /// Sleeps with `tokio::time`, so tests may pause time.
    pub async fn poll_device(
        &self,
        device: &DeviceAuthorization,
    ) -> Result<TokenResponse, OAuthError> {
        self.poll_device_with_sleep(device, tokio::time::sleep)
            .await
    }

    /// [`OAuthClient::poll_device`] with the waiting done by `sleep`, called
    /// before every poll with the current interval. The expiry counts the
    /// time slept, so a test's instant `sleep` sees the same sequence.
    ///
    /// `authorization_pending` keeps the interval, `slow_down` adds 5 s, and
    /// any transient failure (network, timeout, 5xx, 429,
    /// `temporarily_unavailable`, a proxy page) doubles it, up to 60 s
    /// (RFC 8628 3.5); other errors end the polling.
    pub async fn poll_device_with_sleep<S, F>(
        &self,
        device: &DeviceAuthorization,
        mut sleep: S,
    ) -> Result<TokenResponse, OAuthError>
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        let mut interval = device.interval;
        let mut waited = Duration::ZERO;
        loop {
            if waited >= device.expires_in {
                return Err(OAuthError::DeviceCodeExpired { after: waited });
            }
            // Never past the code's expiry, whatever slow_down added.
            let wait = interval.min(device.expires_in.saturating_sub(waited));
            sleep(wait).await;
            waited += wait;
            let form = vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:device_code".to_owned(),
                ),
                ("device_code", device.device_code.expose().to_owned()),
            ];
            let sent_at = SystemTime::now();
            let outcome = match self.post_form(&self.endpoints.token, form).await {
                Ok(response) => crate::token::parse_token_response(&response, sent_at),
                Err(err) => Err(err),
            };
            match outcome {
                Ok(token) => return Ok(token),
                Err(OAuthError::Server {
                    code: ErrorCode::AuthorizationPending,
                    ..
                }) => {}
                Err(OAuthError::Server {
                    code: ErrorCode::SlowDown,
                    ..
                }) => {
                    interval += SLOW_DOWN_STEP;
                    tracing::debug!(interval_s = interval.as_secs(), "device flow: slow_down");
                }
                Err(err) if err.is_transient() => {
                    interval = (interval * 2).min(MAX_INTERVAL).max(device.interval);
                    tracing::debug!(error = %err, "device flow: transient error, polling slower");
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// Parses a device authorization endpoint's answer (RFC 8628 3.2): an
/// error body is [`OAuthError::Server`], another non-2xx
/// [`OAuthError::Http`]; a 2xx must be a JSON object with `device_code`,
/// `user_code`, `verification_uri` (or Google's `verification_url`) and
/// a non-zero `expires_in`. The texts shown to the user are sanitized and cut short;
/// the polling interval is never zero nor longer than the code lives.
pub fn parse_device_authorization(
    response: &HttpResponse,
) -> Result<DeviceAuthorization, OAuthError> {
    let body = response.success_object("device authorization response")?;
    let text = |field: &str| -> Option<String> {
        body.get(field).and_then(Value::as_str).map(str::to_owned)
    };
    let device_code = text("device_code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| response.invalid("the required field `device_code` is missing"))?;
    let user_code = text("user_code")
        .ok_or_else(|| response.invalid("the required field `user_code` is missing"))?;
    // Some servers (Google) still say `verification_url`.
    let verification_uri = text("verification_uri")
        .or_else(|| text("verification_url"))
        .ok_or_else(|| response.invalid("the required field `verification_uri` is missing"))?;
    let expires_in = seconds_field(response, &body, "expires_in")?
        .ok_or_else(|| response.invalid("the required field `expires_in` is missing"))?;
    if expires_in.is_zero() {
        return Err(response.invalid("`expires_in` is 0: the device code would be expired already"));
    }
    let interval = seconds_field(response, &body, "interval")?
        .filter(|i| !i.is_zero())
        .unwrap_or(DEFAULT_INTERVAL)
        // A wait longer than the code lives polls nothing: a server's
        // absurd interval must not hold the login past its expiry.
        .min(expires_in);
    Ok(DeviceAuthorization {
        device_code: Secret::new(device_code),
        user_code: sanitize(&user_code, 64),
        verification_uri: sanitize(&verification_uri, 2000),
        verification_uri_complete: text("verification_uri_complete").map(|u| sanitize(&u, 2000)),
        expires_in,
        interval,
    })
}
