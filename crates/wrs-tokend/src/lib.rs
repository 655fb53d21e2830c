//! The wrs-token daemon, `wrs-tokend`: it owns the per-user local socket,
//! the trust checks around it, the per-profile token sessions and the
//! daemon's process life (background start, systemd, shutdown).
//!
//! Clients never see this crate: they speak the `wrs_proto` wire. Modules:
//!
//! - [`launch`]: the process (flags → fork → runtime → daemon → exit code).
//! - [`cli`]: command-line flags, including hidden test aids.
//! - [`background`]: detaching and the ready pipe to the launcher.
//! - [`logging`]: where the log goes (stderr, journal, rotating file).
//! - [`log_file`]: the size-bounded rotating log file.
//! - [`activation`]: systemd socket activation and `sd_notify`.
//! - [`daemon`]: one instance from start (dir, lock, bind) to clean exit.
//! - [`trust`]: private directory, 0600 socket, peer uid, lock, stale socket.
//! - [`server`]: the accept loop, connection limit, timeouts, drain.
//! - [`connection`]: async framing over the `wrs_proto::frame` codec.
//! - [`handler`]: one request → one response.
//! - [`runtime`]: the OAuth runtime behind the handler: login, logout,
//!   import, client secret, forget, reload.
//! - [`login`]: pending interactive logins (loopback, paste, device).
//! - [`session`]: per-profile token cache with single-flight fetches, and
//!   its renewer (renewal while in use, keepalive while idle, backoff).
//! - [`policy`]: the budget's rules as pure functions of time: renewal
//!   point, which cached token answers a request, backoff, hourly budget.
//! - [`source`]: the [`source::TokenSource`] trait and its simple sources.
//! - [`oauth_source`]: the real source: OAuth clients, refresh tokens,
//!   rotation, typed failures.
//! - [`profiles`]: the loaded configuration, reload with diff.
//! - [`stores`]: the keyring / file / memory secret stores per profile.
//! - [`binding`]: a stored secret sealed with the server and client it
//!   belongs to, so it never travels to another.
//! - [`clock`]: injected wall-clock time and suspend-proof sleeping.
//!
//! Exit codes of the binary: 0 (stopped cleanly, or: background daemon is
//! ready), 1 (error), 2 (bad flags), 75 ([`daemon::EXIT_ALREADY_RUNNING`]).
//!
//! Unix only for now: the Windows named-pipe listener is still to come.

#[cfg(unix)]
pub mod activation;
#[cfg(unix)]
pub mod background;
pub mod binding;
pub mod cli;
pub mod clock;
pub mod connection;
#[cfg(unix)]
pub mod daemon;
pub mod handler;
#[cfg(unix)]
pub mod launch;
#[cfg(unix)]
pub mod log_file;
#[cfg(unix)]
pub mod logging;
pub mod login;
pub mod oauth_source;
pub mod policy;
pub mod profiles;
pub mod runtime;
#[cfg(unix)]
pub mod server;
pub mod session;
pub mod source;
pub mod stores;
#[cfg(unix)]
pub mod trust;
