//! The wrs-token daemon, `wrs-tokend`: it owns the per-user local socket,
//! the trust checks around it, the per-profile token sessions and the
//! daemon's process life (background start, systemd, shutdown).
//!
//! Clients never see this crate: they speak the `wrs_proto` wire. Modules,
//! from the process down to the leaves (each only uses those below it;
//! those in plain type are private to the crate):
//!
//! - [`launch`]: the process (flags → fork → runtime → daemon → exit code);
//!   turns the flags into limits, log options and the test source.
//! - [`cli`]: command-line flags as plain values, including hidden test
//!   aids, and the one-shot `probe` and `stored` subcommands.
//! - [`probe`]: `wrs-tokend probe PROFILE [--json]`, one profile's network
//!   checks made with the parts the daemon builds its client from; run by
//!   `wrs-token doctor`, never touching a running daemon.
//! - [`stored`]: `wrs-tokend stored [--json]`, which profiles have a login
//!   in their store and whose; run by `wrs-token status` when no daemon
//!   runs. It only reads.
//! - `one_shot`: the runtime and paths both one-shot jobs start from.
//! - `background`: detaching and the ready pipe to the launcher.
//! - `logging`: where the log goes (stderr, journal, rotating file), from
//!   its own options.
//! - `log_file`: the size-bounded rotating log file.
//! - [`daemon`]: one instance from start (dir, lock, bind) to clean exit.
//! - `activation`: systemd socket activation and `sd_notify`.
//! - [`server`]: the accept loop, connection limit, timeouts, drain.
//! - `connection`: async framing over the `wrs_proto::frame` codec.
//! - [`trust`]: private directory (by `wrs_sys::private_dir`), 0600
//!   socket, peer uid, lock, stale socket.
//! - [`handler`]: one request → one response; token requests go to the
//!   sessions, login and secret requests to an [`accounts::Accounts`].
//! - [`runtime`]: the OAuth runtime, the real [`accounts::Accounts`]:
//!   login, logout, import, client secret, forget, reload.
//! - [`accounts`]: the trait for the requests that change logins and
//!   secrets, and [`accounts::NoAccounts`] ("not supported") for a daemon
//!   without the runtime.
//! - [`login`]: pending interactive logins (loopback, paste, device).
//! - [`oauth_source`]: the real token source: OAuth clients, refresh
//!   tokens, rotation, typed failures; its [`oauth_source::client`] builds
//!   a profile's client from its parts (HTTP client with `ca_file`, stored
//!   client secret, discovered endpoints), for the source and the probe.
//! - [`testing`]: TEST AIDS, the fake clock and the fake token source;
//!   the binary exposes them only through the hidden `--test-source`.
//! - [`profiles`]: the loaded configuration, reload with diff.
//! - [`stores`]: the keyring / file / memory secret stores per profile.
//! - [`binding`]: a stored secret sealed with the server and client it
//!   belongs to, so it never travels to another.
//! - [`session`]: per-profile token cache with single-flight fetches, and
//!   its child, the renewer (renewal while in use, keepalive while idle,
//!   backoff), which carries out what the policy decides.
//! - `policy`: the budget's rules as pure functions of time: renewal
//!   point, which cached token answers a request, backoff, hourly budget.
//! - [`source`]: the [`source::TokenSource`] trait, its errors, and the
//!   source with no profiles.
//! - [`clock`]: injected wall-clock time and suspend-proof sleeping.
//! - [`future`]: the boxed future of the object-safe async traits (a leaf).
//!
//! Exit codes of the binary: 0 (stopped cleanly, or: background daemon is
//! ready), 1 (error), 2 (bad flags), 75 ([`wrs_sys::exit::ALREADY_RUNNING`]:
//! another daemon serves this user). `probe`: 0 (no check failed), 1 (a
//! check failed, or the profile could not be read: then stdout is empty),
//! 2 (bad flags). `stored`: 0 (report made), 1 (no configuration to
//! read), 2 (bad flags).
//!
//! The local-machine rules (where the socket lives, the private directory,
//! environment variable names, that exit status) are `wrs_sys`'s, shared
//! with the client and the stores.
//!
//! Unix only for now: the Windows named-pipe listener is still to come.

#![deny(missing_docs)]

pub mod accounts;
#[cfg(unix)]
pub(crate) mod activation;
#[cfg(unix)]
pub(crate) mod background;
pub mod binding;
pub mod cli;
pub mod clock;
pub(crate) mod connection;
#[cfg(unix)]
pub mod daemon;
pub mod future;
pub mod handler;
pub mod identity;
#[cfg(unix)]
pub mod launch;
#[cfg(unix)]
pub(crate) mod log_file;
#[cfg(unix)]
pub(crate) mod logging;
pub mod login;
pub mod oauth_source;
pub(crate) mod one_shot;
pub(crate) mod policy;
pub mod probe;
pub mod profiles;
pub mod runtime;
#[cfg(unix)]
pub mod server;
pub mod session;
pub mod source;
pub mod stored;
pub mod stores;
pub mod testing;
#[cfg(unix)]
pub mod trust;
