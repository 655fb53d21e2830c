//! How long an access token lives: `expires_in` when the server says, else
//! the JWT's `exp` when the token is a JWT, else a short default. The daemon
//! asks [`TokenResponse::lifetime`] and nothing else, so the rule for a
//! missing `expires_in` lives here only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::Value;

use crate::token::TokenResponse;

/// The lifetime assumed for an access token when the response has no
/// `expires_in` and the token is not a JWT with a usable `exp`: 60 s.
///
/// RFC 6749 makes `expires_in` optional and leaves the default to the
/// server's documentation, which we cannot read. Guessing long hands out
/// dead tokens: 300 s assumed against tokens that lived 6 s made half of
/// the `print`s return expired tokens. Guessing short costs only refreshes:
/// at 60 s the daemon renews about every 45 s while a profile is in use,
/// nothing for a server, and a token that still dies sooner is caught by
/// the caller's 401 and `invalidate`. Servers with shorter tokens than this
/// (PingFederate included) send `expires_in`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// The longest lifetime taken from a JWT's `exp` without `expires_in`: 24 h.
/// An `exp` further out is garbage or a token that is never meant to be
/// renewed; renewing it after a day costs one request.
pub const MAX_JWT_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl TokenResponse {
    /// How long the access token lives, counted from `sent`: when the token
    /// request left, on the caller's clock (the same instant the caller adds
    /// the result to).
    ///
    /// - `expires_in` when the server sent it.
    /// - Else, when the access token is a JWT with a numeric `exp` claim:
    ///   the time from `sent` to `exp`, and no more than `exp - iat` when
    ///   the token has an `iat` (see below); never negative (an `exp` in the
    ///   past gives zero, which the caller reports as an expired token), and
    ///   at most [`MAX_JWT_LIFETIME`].
    /// - Else (an opaque token, or a JWT whose claims cannot be read)
    ///   [`DEFAULT_LIFETIME`].
    ///
    /// `exp - sent` compares the server's clock with ours. Of the two ways
    /// they can disagree, one is harmful: our clock running *behind* makes
    /// the token look longer-lived than it is, and dead tokens get served.
    /// `exp - iat` is the server's own measure of the token's life and needs
    /// no clock of ours; counted from `sent`, which is before the server
    /// minted the token, it ends no later than the token does. The smaller
    /// of the two is used, so a lagging clock cannot stretch a token, nor can
    /// a server that re-issues an already half-used token with its old
    /// `iat`. Our clock running *ahead* shortens the lifetime instead
    /// (earlier renewals, or zero and a report naming the clock): wasteful,
    /// but never a dead token handed out as valid.
    ///
    /// The JWT's signature is not checked: the token came straight from the
    /// token endpoint over TLS, so only the server itself could have set its
    /// `exp`, and `exp` only decides when we renew; the resource server
    /// checks the signature when the token is used (we do not even have its
    /// key). Nothing but `exp` and `iat` is read.
    pub fn lifetime(&self, sent: SystemTime) -> Duration {
        if let Some(expires_in) = self.expires_in {
            return expires_in;
        }
        match JwtTimes::read(self.access_token.expose()) {
            Some(times) => times.lifetime(sent),
            None => DEFAULT_LIFETIME,
        }
    }
}

/// Base64url as in JWTs. RFC 7515 forbids padding; accept it anyway, it
/// costs nothing.
pub(crate) const JWT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The `exp` and `iat` claims of a JWT, in (possibly fractional) seconds
/// since the Unix epoch, as RFC 7519's NumericDate allows.
#[derive(Debug, Clone, Copy, PartialEq)]
struct JwtTimes {
    exp: f64,
    iat: Option<f64>,
}

impl JwtTimes {
    /// The times of `token` if it is a JWS compact serialisation (three
    /// base64url parts; a five-part JWE is encrypted for someone else) whose
    /// payload is a JSON object with a numeric `exp`; `None` for anything
    /// else, which then counts as an opaque token.
    fn read(token: &str) -> Option<JwtTimes> {
        let mut parts = token.split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let bytes = JWT_BASE64.decode(payload).ok()?;
        let Value::Object(claims) = serde_json::from_slice(&bytes).ok()? else {
            return None;
        };
        // `as_f64` is `None` for strings and other non-numbers; JSON has no
        // infinities or NaN, but a huge literal parses as infinity.
        let number = |claim: &str| {
            claims
                .get(claim)
                .and_then(Value::as_f64)
                .filter(|n| n.is_finite())
        };
        let exp = number("exp")?;
        Some(JwtTimes {
            exp,
            // An `iat` after `exp` is nonsense; ignore it rather than the token.
            iat: number("iat").filter(|iat| *iat <= exp),
        })
    }

    /// See [`TokenResponse::lifetime`].
    fn lifetime(self, sent: SystemTime) -> Duration {
        let sent = match sent.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_secs_f64(),
            Err(before) => -before.duration().as_secs_f64(),
        };
        let mut seconds = self.exp - sent;
        if let Some(iat) = self.iat {
            seconds = seconds.min(self.exp - iat);
        }
        // Both operands are finite, so `seconds` is finite or -inf/+inf;
        // `clamp` maps those into range.
        let seconds = seconds.clamp(0.0, MAX_JWT_LIFETIME.as_secs_f64());
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use wrs_proto::Secret;

    use super::*;

    /// 2027-01-15T08:00:00Z, a `sent` well away from the epoch.
    const T: u64 = 1_800_000_000;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn response(access_token: &str, expires_in: Option<u64>) -> TokenResponse {
        TokenResponse {
            access_token: Secret::new(access_token),
            token_type: "Bearer".to_owned(),
            expires_in: expires_in.map(Duration::from_secs),
            sent_at: at(T),
            expires_at: None,
            refresh_token: None,
            scope: None,
            id_token: None,
        }
    }

    /// A JWS whose payload is `claims` verbatim (so tests can send any
    /// JSON, valid or not); the signature is never looked at.
    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    fn jwt_lifetime(claims: &str, sent: SystemTime) -> Duration {
        response(&jwt(claims), None).lifetime(sent)
    }

    #[test]
    fn expires_in_wins_over_everything() {
        let token = jwt(&format!(r#"{{"exp":{}}}"#, T + 3600));
        assert_eq!(
            response(&token, Some(7)).lifetime(at(T)),
            Duration::from_secs(7)
        );
        assert_eq!(
            response("opaque", Some(0)).lifetime(at(T)),
            Duration::ZERO,
            "an explicit 0 is the server's word, not a missing value"
        );
    }

    /// Regression: tokens that really lived 6 s, without `expires_in`, were
    /// taken to live 300 s and served dead.
    #[test]
    fn a_jwt_without_expires_in_lives_until_its_exp() {
        let claims = format!(r#"{{"sub":"u","exp":{}}}"#, T + 6);
        assert_eq!(jwt_lifetime(&claims, at(T)), Duration::from_secs(6));
        // A NumericDate may be fractional.
        let claims = format!(r#"{{"exp":{}.5}}"#, T + 6);
        assert_eq!(jwt_lifetime(&claims, at(T)), Duration::from_millis(6500));
    }

    #[test]
    fn a_lagging_local_clock_cannot_stretch_a_jwt_past_exp_minus_iat() {
        // Our clock is 100 s behind the server's: `exp - sent` says 106 s.
        let claims = format!(r#"{{"iat":{T},"exp":{}}}"#, T + 6);
        assert_eq!(jwt_lifetime(&claims, at(T - 100)), Duration::from_secs(6));
    }

    #[test]
    fn a_reissued_jwt_counts_to_its_exp_not_its_original_length() {
        // Minted 50 minutes ago for an hour: 10 minutes left, not 60.
        let claims = format!(r#"{{"iat":{},"exp":{}}}"#, T - 3000, T + 600);
        assert_eq!(jwt_lifetime(&claims, at(T)), Duration::from_secs(600));
    }

    #[test]
    fn an_iat_after_exp_is_ignored() {
        let claims = format!(r#"{{"iat":{},"exp":{}}}"#, T + 100, T + 6);
        assert_eq!(jwt_lifetime(&claims, at(T)), Duration::from_secs(6));
    }

    #[test]
    fn an_exp_in_the_past_gives_zero_not_a_negative_or_a_default() {
        for exp in [T - 1, T - 86_400, 0] {
            let claims = format!(r#"{{"exp":{exp}}}"#);
            assert_eq!(jwt_lifetime(&claims, at(T)), Duration::ZERO, "{exp}");
        }
        assert_eq!(jwt_lifetime(r#"{"exp":-5e300}"#, at(T)), Duration::ZERO);
        assert_eq!(
            jwt_lifetime(&format!(r#"{{"exp":{T}}}"#), at(T)),
            Duration::ZERO
        );
    }

    #[test]
    fn an_exp_absurdly_far_is_capped() {
        for exp in [
            format!("{}", T + 10 * 365 * 86_400),
            u64::MAX.to_string(),
            i64::MAX.to_string(),
            "1e300".to_owned(),
            // Parses as infinity or not at all: never more than the cap.
            "1e400".to_owned(),
        ] {
            let lifetime = jwt_lifetime(&format!(r#"{{"exp":{exp}}}"#), at(T));
            assert!(lifetime <= MAX_JWT_LIFETIME, "{exp}: {lifetime:?}");
            assert!(lifetime >= DEFAULT_LIFETIME, "{exp}: {lifetime:?}");
        }
        assert_eq!(
            jwt_lifetime(&format!(r#"{{"exp":{}}}"#, T + 10 * 365 * 86_400), at(T)),
            MAX_JWT_LIFETIME
        );
    }

    #[test]
    fn a_send_time_before_the_epoch_still_counts() {
        let sent = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(jwt_lifetime(r#"{"exp":5}"#, sent), Duration::from_secs(15));
    }

    #[test]
    fn opaque_tokens_get_the_default() {
        for token in ["wrsat_2YotnFZFEjr1zCsicMWpAA", "a.b", "a.b.c.d", "..", "x"] {
            assert_eq!(
                response(token, None).lifetime(at(T)),
                DEFAULT_LIFETIME,
                "{token}"
            );
        }
    }

    #[test]
    fn jwts_with_garbage_claims_get_the_default() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let garbage = [
            jwt("not json"),
            jwt("[1,2,3]"),
            jwt("{}"),
            jwt(r#"{"exp":null}"#),
            jwt(r#"{"exp":"1800000006"}"#),
            jwt(r#"{"exp":true}"#),
            jwt(r#"{"exp":{"at":1800000006}}"#),
            jwt(&format!(r#"{{"exp":{}"#, T + 6)),
            format!("{header}.!!!not-base64!!!.sig"),
            format!(
                "{header}.{}.sig",
                URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00])
            ),
            // A JWE: five parts, encrypted for the resource server.
            format!(
                "{header}.{}.iv.ct.tag",
                URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{}}}"#, T + 6))
            ),
        ];
        for token in garbage {
            assert_eq!(
                response(&token, None).lifetime(at(T)),
                DEFAULT_LIFETIME,
                "{token}"
            );
        }
    }

    #[test]
    fn padded_payloads_and_unsigned_jwts_are_read() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        // 19 bytes of payload: padded base64 ends in `==`.
        let payload =
            base64::engine::general_purpose::URL_SAFE.encode(format!(r#"{{"exp": {}}}"#, T + 9));
        assert!(payload.ends_with('='), "{payload}");
        let token = format!("{header}.{payload}.");
        assert_eq!(
            response(&token, None).lifetime(at(T)),
            Duration::from_secs(9)
        );
    }
}
