//! wrs-token's local-machine rules: what this computer's paths, files,
//! users and processes must look like. Each rule is written here once, and
//! every crate that needs it asks here instead of keeping its own copy.
//!
//! | rule | where | who asks |
//! | --- | --- | --- |
//! | where the daemon listens: socket per platform, lock beside it, `WRS_TOKEN_SOCKET` | [`endpoint`] | wrs-tokend (binds), wrs-token (connects, starts the daemon, `doctor`, `service`), wrs-testkit |
//! | the private directory: created 0700 or verified exactly 0700, ours, not a symbolic link | [`private_dir::ensure`], [`private_dir::verify`] | wrs-tokend (the socket's directory), wrs-store (the file store's), `wrs-token doctor` (reports that very verdict) |
//! | may the client talk to a socket in this directory: ours, not a symbolic link, not writable by others | [`private_dir::check_socket_dir`] | wrs-token's client, before it connects |
//! | writing a private file atomically: temp file 0600 from creation, fsync, rename, fsync the directory | [`private_file::write`] | wrs-config (the config file), wrs-store (the file store) |
//! | reading a small regular file a user names: no FIFO, device or directory, at most N bytes | [`small_file::read_regular_file`] | wrs-config (the config file), wrs-oauth (a CA bundle), wrs-store (the file store), `wrs-token doctor` |
//! | is this host this machine: 127.0.0.0/8, `::1`, `localhost`; never a prefix match | [`host::is_loopback`] | wrs-config (redirect URI), wrs-oauth (plain-http endpoints, which `wrs-tokend probe` and so `wrs-token doctor` report on; the loopback listener's address), wrs-fuzz-checks |
//! | the environment variables' names | [`env`](mod@env) | both binaries, wrs-config, wrs-demo, the tests |
//! | exit statuses both binaries agree on | [`exit`] | wrs-tokend (exits with them), wrs-token (reads them when it starts the daemon) |
//! | whose files and peers are ours: the effective uid | `our_uid` (Unix) | the private directory rules, both ends' peer checks, `doctor` |
//!
//! This crate depends on std, rustix and directories only: no async
//! runtime, so the thin client links it; and the wire crate (`wrs-proto`)
//! depends on no platform crate because these rules live here instead.
#![deny(missing_docs)]

pub mod endpoint;
pub mod env;
pub mod exit;
pub mod host;
pub mod private_dir;
pub mod private_file;
pub mod small_file;

/// The uid whose directories, files and peers count as ours: the
/// effective uid, which the kernel checks file access against and which
/// `SO_PEERCRED` / `getpeereid` report for the other end of a socket.
#[cfg(unix)]
pub fn our_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}
