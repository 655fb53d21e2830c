//! TEST AIDS, never for real use: the stand-ins that let tests drive the
//! daemon without an authorization server or a real clock.
//!
//! - [`FakeClock`]: time that moves only when a test says so.
//! - [`TestSource`]: a [`TokenSource`](crate::source::TokenSource) issuing
//!   fake `wrs-test-<profile>-<n>` tokens, shaped by a [`TestSourceSpec`]
//!   and told to fail with a [`TestFailure`].
//!
//! They are compiled into the library because the integration tests and
//! the end-to-end tests (which run the real binary) need them. The binary
//! exposes them only through hidden flags: `wrs-tokend --test-source SPEC`
//! serves a [`TestSource`]; nothing exposes [`FakeClock`]. The real
//! counterparts are [`crate::clock::SystemClock`] and
//! [`crate::oauth_source::OAuthSource`].

mod fake_clock;
mod test_source;

pub use fake_clock::FakeClock;
pub use test_source::{TestFailure, TestSource, TestSourceSpec};
