//! `wrs-testkit` is test-only: the helpers the workspace's tests share, so
//! each lives in one place. Nothing shipped depends on it; crates take it
//! as a `[dev-dependency]` and the end-to-end tests (package `wrs-e2e`,
//! `tests/`) as their harness.
//!
//! - [`mock`]: the real `wrs-mock` binary on a free port, read through its
//!   typed ready line ([`wrs_mock::ReadyMessage`]), with its admin API,
//!   counters and introspection;
//! - [`http`]: a blocking HTTP client for that plumbing (and for resource
//!   servers a test plays, such as a git server asking the mock);
//! - [`mock_http`]: the mock's OAuth protocol spoken by hand from async
//!   tests (an in-process `wrs_mock::MockServer`): PKCE, Basic, the login
//!   page, a client that does not follow redirects;
//! - [`oauth_clients`]: `wrs_oauth` clients of an in-process mock;
//! - [`sandbox`]: the real `wrs-token` and `wrs-tokend` in a world of their
//!   own (socket, runtime, config and data dirs), never the user's;
//! - [`daemon`]: sync calls to a daemon's socket, binary or JSON, and a
//!   guard that stops the daemon when a test ends;
//! - [`fake_daemon`]: a scripted daemon on a socket, for client tests;
//! - [`impostor`]: another local user's listener where a client looks for
//!   its daemon;
//! - [`process`]: finding the workspace binaries, running commands isolated
//!   from the developer's own `WRS_TOKEN*` settings, and describing output;
//! - [`wait`]: polling for another process's change of state;
//! - [`require!`]: a test's precondition, a skip on a developer's machine
//!   and a failure under CI ([`precondition()`]).
//!
//! Unix only, as the tests that use it. A failed expectation here is a
//! test failure, so panicking (`unwrap`, `expect`) is how it reports.
#![deny(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod daemon;
pub mod fake_daemon;
pub mod http;
pub mod impostor;
pub mod mock;
pub mod mock_http;
pub mod oauth_clients;
pub mod precondition;
pub mod process;
pub mod sandbox;
pub mod wait;

pub use mock::Mock;
pub use precondition::{in_ci, precondition};
pub use process::{bin, describe, path_with_binaries, stderr, stdout};
pub use sandbox::Sandbox;
pub use wait::wait_until;
