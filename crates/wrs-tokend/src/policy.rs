//! The rules that make the authorization server's load a budget, as pure
//! functions of time: when a token is renewed, which cached token may
//! answer a request, how long to back off, what an hour of use may cost.
//! No I/O and no locks: the session layer asks, and the tests here check
//! the arithmetic directly.
//!
//! The serving rule, in one place:
//!
//! - A token is renewed at 75–80 % of its lifetime (jittered, counted from
//!   when its request was sent). What it still has at that point, 20–25 %
//!   of its lifetime, is its *guarantee*: the most any request can be
//!   promised without a fetch per call.
//! - A request's minimum validity comes from the request, else the
//!   profile's `min_ttl`, else the caller's `WRS_TOKEN_MIN_TTL`, else
//!   [`DEFAULT_MIN_TTL`]. It is capped at the cached token's guarantee, so
//!   a cached token answers every request until its renewal point whatever
//!   minimum was asked; a minimum above the guarantee is *not met*, and the
//!   reply says so rather than the server being asked again.
//! - No token is handed out with less than the safety margin left: 2 s, or
//!   the guarantee when that is less (7-s tokens keep about 1.4 s).
//! - After any failure nothing reaches the server before the backoff ends;
//!   meanwhile a cached token with at least the safety margin left answers.

use std::time::{Duration, SystemTime};

use crate::source::IssuedToken;

/// No token is handed out with less than this left (or less than its
/// guarantee, for short-lived tokens): the caller still has to send it
/// over the network, and a token that dies in flight is a spurious 401.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(2);

/// The minimum validity when neither the request, the profile nor the
/// environment sets one. It is "soft": capped at what this server's tokens
/// give, without a warning, so it fits 7-s tokens as well as hour-long ones.
pub const DEFAULT_MIN_TTL: Duration = Duration::from_secs(10);

/// The minimum remaining validity that applies to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinTtl {
    /// How long the token should stay valid.
    pub value: Duration,
    /// Set by someone (request, profile, environment) rather than being
    /// the built-in default: when it cannot be met, the caller is told.
    pub explicit: bool,
}

impl MinTtl {
    /// The request's minimum, else the profile's, else the caller's
    /// environment's, else [`DEFAULT_MIN_TTL`].
    pub fn resolve(
        asked: Option<Duration>,
        profile: Option<Duration>,
        env: Option<Duration>,
    ) -> MinTtl {
        match asked.or(profile).or(env) {
            Some(value) => MinTtl {
                value,
                explicit: true,
            },
            None => MinTtl {
                value: DEFAULT_MIN_TTL,
                explicit: false,
            },
        }
    }
}

/// A token in a session's cache.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    /// The token as the source issued it.
    pub token: IssuedToken,
    /// When its request was sent (its lifetime counts from here).
    pub issued_at: SystemTime,
    /// Its planned renewal point (whether or not the renewer acts on it).
    pub renew_at: SystemTime,
}

impl Cached {
    /// Time left before expiry at `now` (zero once expired).
    pub fn left(&self, now: SystemTime) -> Duration {
        self.token
            .expires_at
            .duration_since(now)
            .unwrap_or_default()
    }

    /// The whole lifetime the server gave it.
    pub fn lifetime(&self) -> Duration {
        self.token
            .expires_at
            .duration_since(self.issued_at)
            .unwrap_or_default()
    }

    /// What it still has at its renewal point: the most a request can be
    /// promised.
    pub fn guarantee(&self) -> Duration {
        self.token
            .expires_at
            .duration_since(self.renew_at)
            .unwrap_or_default()
    }

    /// The least it may have left when handed out.
    pub fn margin(&self, safety: Duration) -> Duration {
        safety.min(self.guarantee())
    }

    /// What a request wanting `want` needs it to have left: the wish, at
    /// least the margin, at most the guarantee.
    pub fn need(&self, want: MinTtl, safety: Duration) -> Duration {
        want.value.max(self.margin(safety)).min(self.guarantee())
    }

    /// Whether it answers a request wanting `want` at `now`.
    pub fn serves(&self, now: SystemTime, want: MinTtl, safety: Duration) -> bool {
        let left = self.left(now);
        !left.is_zero() && left >= self.need(want, safety)
    }

    /// Whether it may still be handed out at all (while renewal is
    /// failing): unexpired, with at least the margin left.
    pub fn usable(&self, now: SystemTime, safety: Duration) -> bool {
        let left = self.left(now);
        !left.is_zero() && left >= self.margin(safety)
    }

    /// Whether it meets `want` at `now`, as the reply reports it: an
    /// explicit minimum is compared as asked, the default as capped.
    pub fn meets(&self, now: SystemTime, want: MinTtl, safety: Duration) -> bool {
        let required = if want.explicit {
            want.value
        } else {
            self.need(want, safety)
        };
        self.left(now) >= required
    }
}

/// When to renew and how to back off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenewalPolicy {
    /// Renewal happens at a random point in this range of the lifetime.
    pub renew_fraction: (f64, f64),
    /// The first retry delay after a failure; it doubles.
    pub backoff_base: Duration,
    /// The longest retry delay.
    pub backoff_cap: Duration,
    /// No renewal is planned sooner than this after the last fetch, so a
    /// server issuing very short tokens cannot make us spin.
    pub min_interval: Duration,
    /// See [`DEFAULT_SAFETY_MARGIN`].
    pub safety_margin: Duration,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        RenewalPolicy {
            renew_fraction: (0.75, 0.80),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(300),
            min_interval: Duration::from_millis(250),
            safety_margin: DEFAULT_SAFETY_MARGIN,
        }
    }
}

impl RenewalPolicy {
    /// When a token requested at `issued_at` and expiring at `expires_at`
    /// is renewed: at a random point of the renewal range of its lifetime.
    pub fn next_renewal(&self, issued_at: SystemTime, expires_at: SystemTime) -> SystemTime {
        let lifetime = expires_at.duration_since(issued_at).unwrap_or_default();
        let (low, high) = self.renew_fraction;
        let fraction = if high > low {
            rand::random_range(low..high)
        } else {
            low
        };
        let due = issued_at + lifetime.mul_f64(fraction.clamp(0.0, 1.0));
        due.max(issued_at + self.min_interval)
    }

    /// The token as cached: with its renewal point planned.
    pub fn cache(&self, token: IssuedToken, issued_at: SystemTime) -> Cached {
        let renew_at = self.next_renewal(issued_at, token.expires_at);
        Cached {
            token,
            issued_at,
            renew_at,
        }
    }

    /// The wait before retry number `failures` (1 = the first retry).
    pub fn backoff(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        let full = self
            .backoff_base
            .saturating_mul(1u32 << exponent)
            .min(self.backoff_cap);
        // Jitter within the upper fifth: clients that failed together do
        // not come back together, and the backoff still grows.
        let jittered = full.mul_f64(rand::random_range(0.8..=1.0));
        let floor = retry_after
            .unwrap_or_default()
            .min(self.backoff_cap.max(full));
        jittered.max(floor).max(self.min_interval)
    }

    /// The most token-endpoint requests an hour of steady use may cost for
    /// tokens living `lifetime`: one per shortest renewal period, plus one.
    pub fn hourly_budget(&self, lifetime: Duration) -> u64 {
        let period = lifetime
            .mul_f64(self.renew_fraction.0.clamp(0.0, 1.0))
            .max(self.min_interval);
        let per_hour = 3600.0 / period.as_secs_f64();
        // Saturating float-to-int conversion; the value is finite and > 0.
        per_hour.ceil() as u64 + 1
    }
}

#[cfg(test)]
mod tests {
    use wrs_proto::Secret;

    use super::*;

    const T0: Duration = Duration::from_secs(1_000_000);

    /// `secs` after a fixed instant, to the millisecond.
    fn at(secs: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + T0 + Duration::from_millis((secs * 1000.0).round() as u64)
    }

    fn cached(lifetime: f64, renew_at: f64) -> Cached {
        Cached {
            token: IssuedToken {
                access_token: Secret::new("t"),
                token_type: "Bearer".into(),
                expires_at: at(lifetime),
            },
            issued_at: at(0.0),
            renew_at: at(renew_at),
        }
    }

    fn explicit(secs: u64) -> MinTtl {
        MinTtl {
            value: Duration::from_secs(secs),
            explicit: true,
        }
    }

    #[test]
    fn min_ttl_comes_from_request_then_profile_then_environment_then_default() {
        let s = Duration::from_secs;
        assert_eq!(
            MinTtl::resolve(Some(s(1)), Some(s(2)), Some(s(3))),
            explicit(1)
        );
        assert_eq!(MinTtl::resolve(None, Some(s(2)), Some(s(3))), explicit(2));
        assert_eq!(MinTtl::resolve(None, None, Some(s(3))), explicit(3));
        // A profile can lower the default as well as raise it.
        assert_eq!(MinTtl::resolve(None, Some(s(0)), None), explicit(0));
        let default = MinTtl::resolve(None, None, None);
        assert_eq!(default.value, DEFAULT_MIN_TTL);
        assert!(!default.explicit);
    }

    #[test]
    fn a_seven_second_token_answers_every_request_until_its_renewal_point() {
        let safety = DEFAULT_SAFETY_MARGIN;
        // Renewed at 5.6 s: 1.4 s guaranteed.
        let c = cached(7.0, 5.6);
        assert_eq!(c.guarantee(), Duration::from_millis(1400));
        assert_eq!(c.margin(safety), Duration::from_millis(1400));
        let default = MinTtl::resolve(None, None, None);
        for want in [default, explicit(0), explicit(10), explicit(60)] {
            assert!(c.serves(at(0.0), want, safety), "{want:?}");
            assert!(c.serves(at(5.59), want, safety), "{want:?}");
            // Past the renewal point, the renewal answers.
            assert!(!c.serves(at(5.7), want, safety), "{want:?}");
        }
        // The default is met as capped; 60 s cannot be met by 7-s tokens.
        assert!(c.meets(at(1.0), default, safety));
        assert!(!c.meets(at(1.0), explicit(60), safety));
        assert!(c.meets(at(1.0), explicit(5), safety));
        assert!(!c.meets(at(2.5), explicit(5), safety));
    }

    #[test]
    fn long_tokens_serve_small_minimums_past_the_renewal_point() {
        let safety = DEFAULT_SAFETY_MARGIN;
        // An hour-long token renewed at 45 min: 15 min guaranteed.
        let c = cached(3600.0, 2700.0);
        // An idle profile whose renewal did not run: 10 min left still
        // answers the default 10 s without a fetch.
        assert!(c.serves(at(3000.0), MinTtl::resolve(None, None, None), safety));
        // 20 min cannot be promised: the token has it early on, and is
        // served (reported as short) until the renewal point.
        assert!(c.meets(at(2000.0), explicit(1200), safety));
        assert!(c.serves(at(2500.0), explicit(1200), safety));
        assert!(!c.meets(at(2500.0), explicit(1200), safety));
        // Never within the safety margin, never expired.
        assert!(!c.serves(at(3598.5), explicit(0), safety));
        assert!(!c.usable(at(3598.5), safety));
        assert!(c.usable(at(3597.0), safety));
        assert!(!c.serves(at(3601.0), explicit(0), safety));
    }

    #[test]
    fn renewal_falls_at_75_to_80_percent_of_the_lifetime() {
        let policy = RenewalPolicy::default();
        for _ in 0..100 {
            let due = policy.next_renewal(at(0.0), at(100.0));
            let after = due.duration_since(at(0.0)).unwrap();
            assert!(
                after >= Duration::from_secs(75) && after <= Duration::from_secs(80),
                "{after:?}"
            );
        }
        // Tiny lifetimes do not make the renewer spin.
        assert_eq!(
            policy.next_renewal(at(0.0), at(0.0)),
            at(0.0) + policy.min_interval
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() {
        let policy = RenewalPolicy::default();
        let within = |d: Duration, full: u64| {
            d <= Duration::from_secs(full) && d >= Duration::from_secs(full).mul_f64(0.8)
        };
        assert!(within(policy.backoff(1, None), 1));
        assert!(within(policy.backoff(2, None), 2));
        assert!(within(policy.backoff(3, None), 4));
        assert!(within(policy.backoff(30, None), 300));
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        // An absurd Retry-After is bounded by the cap.
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(86_400))),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn an_hour_of_seven_second_tokens_costs_at_most_687_requests() {
        let policy = RenewalPolicy::default();
        // 3600 / 5.25 = 685.7 → 686 periods, plus one.
        assert_eq!(policy.hourly_budget(Duration::from_secs(7)), 687);
        assert_eq!(policy.hourly_budget(Duration::from_secs(3600)), 3);
    }
}
