//! The wrs-token wire: everything the daemon (`wrs-tokend`) and its clients
//! must agree on, and nothing else.
//!
//! - [`message`]: the request and response enums, the typed error kinds and
//!   the one [`PROTOCOL_VERSION`] constant.
//! - [`frame`]: the byte codec. Binary mode is a `u32` big-endian length
//!   followed by a bincode 2 body; JSON mode (selected by a first byte `{`)
//!   is newline-delimited JSON with the same message shapes. Both are capped
//!   at [`MAX_FRAME_LEN`] on read and write.
//! - [`secret`]: a string that redacts itself and is zeroed on drop.
//! - [`probe`]: the report of `wrs-tokend probe PROFILE --json`, which
//!   `wrs-token doctor` reads (a contract between the binaries, not over
//!   the socket).
//! - [`stored`]: the report of `wrs-tokend stored --json`, which profiles
//!   have a login in their secret store, for `wrs-token status` without a
//!   daemon (the same kind of contract).
//!
//! This crate has no async runtime, no network code and no platform crate,
//! so the thin client can depend on it without pulling in tokio. Where the
//! socket lives on each platform is local-machine policy, not wire:
//! `wrs_sys::endpoint`.
#![deny(missing_docs)]

pub mod frame;
pub mod message;
pub mod probe;
pub mod secret;
pub mod stored;

pub use frame::{MAX_FRAME_LEN, WireError};
pub use message::*;
pub use secret::Secret;
