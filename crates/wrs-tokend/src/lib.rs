//! The wrs-token daemon, `wrs-tokend`: it owns the per-user local socket,
//! the trust checks around it, the per-profile token sessions and the
//! daemon's process life (background start, systemd, shutdown).
//!
//! Clients never see this crate: they speak the `wrs_proto` wire. Modules:
//!
//! - [`launch`]: the process (flags → fork → runtime → daemon → exit code).
//! - [`cli`]: command-line flags, including hidden test aids.
//! - [`background`]: detaching and the ready pipe to the launcher.
//! - [`activation`]: systemd socket activation and `sd_notify`.
//! - [`daemon`]: one instance from start (dir, lock, bind) to clean exit.
//! - [`trust`]: private directory, 0600 socket, peer uid, lock, stale socket.
//! - [`server`]: the accept loop, connection limit, timeouts, drain.
//! - [`connection`]: async framing over the `wrs_proto::frame` codec.
//! - [`handler`]: one request → one response.
//! - [`session`]: per-profile token cache with single-flight fetches.
//! - [`source`]: the [`source::TokenSource`] trait and its simple sources.
//! - [`clock`]: injected wall-clock time.
//!
//! Exit codes of the binary: 0 (stopped cleanly, or: background daemon is
//! ready), 1 (error), 2 (bad flags), 75 ([`daemon::EXIT_ALREADY_RUNNING`]).
//!
//! Unix only for now: the Windows named-pipe listener is still to come.

#[cfg(unix)]
pub mod activation;
#[cfg(unix)]
pub mod background;
pub mod cli;
pub mod clock;
pub mod connection;
#[cfg(unix)]
pub mod daemon;
pub mod handler;
#[cfg(unix)]
pub mod launch;
#[cfg(unix)]
pub mod server;
pub mod session;
pub mod source;
#[cfg(unix)]
pub mod trust;
