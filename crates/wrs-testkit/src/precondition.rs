//! A test's precondition: what the machine must offer for the test to say
//! anything (root and a second user, a session bus, a host without a
//! journal…). On a developer's machine a missing one is a skip that says
//! why; under CI, where `scripts/setup-test-env`, `scripts/with-keyring`
//! and `scripts/test` make every precondition true, it is a failure, so a
//! test can never pass there by not running.

/// Whether this is a CI run: `CI` is set and not empty (CI services set
/// `CI=true`; `.ci/run` runs `scripts/test`; `scripts/setup-test-env` reads
/// it the same way).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Checks a precondition: `true` when `met`. Otherwise, under CI, panics
/// naming `why`; elsewhere prints `why` on stderr and returns `false`, and
/// the caller does without (see [`require!`](crate::require)).
#[track_caller]
pub fn precondition(met: bool, why: &str) -> bool {
    if met {
        return true;
    }
    assert!(
        !in_ci(),
        "precondition not met under CI: {why} (scripts/test prepares it)"
    );
    eprintln!("precondition not met, not checked here (a failure under CI): {why}");
    false
}

/// A test's precondition, for its first lines (`#[test]` or
/// `#[tokio::test]`, returning `()`): when it is not met the test returns
/// (a skip, with the reason on stderr), except under CI, where it fails
/// with the reason ([`precondition`]).
///
/// - `require!(cond, "why {}", …)`: `cond` must hold;
/// - `let x = require!(result)`: `result` must be `Ok(x)`; its error is the
///   reason.
#[macro_export]
macro_rules! require {
    ($cond:expr, $($why:tt)+) => {
        if !$crate::precondition::precondition($cond, &format!($($why)+)) {
            return;
        }
    };
    ($result:expr $(,)?) => {
        match $result {
            Ok(value) => value,
            Err(why) => {
                $crate::precondition::precondition(false, &why.to_string());
                return;
            }
        }
    };
}
