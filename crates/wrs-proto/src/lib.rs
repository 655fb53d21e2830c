//! The wrs-token wire: everything the daemon (`wrs-tokend`) and its clients
//! must agree on, and nothing else.
//!
//! - [`message`]: the request and response enums, the typed error kinds and
//!   the one [`PROTOCOL_VERSION`] constant.
//! - [`frame`]: the byte codec. Binary mode is a `u32` big-endian length
//!   followed by a bincode 2 body; JSON mode (selected by a first byte `{`)
//!   is newline-delimited JSON with the same message shapes. Both are capped
//!   at [`MAX_FRAME_LEN`] on read and write.
//! - [`endpoint`]: where the socket (or named pipe) lives on each platform.
//! - [`secret`]: a string that redacts itself and is zeroed on drop.
//!
//! This crate has no async runtime and no network code, so the thin client
//! can depend on it without pulling in tokio.
#![deny(missing_docs)]

pub mod endpoint;
pub mod frame;
pub mod message;
pub mod secret;

pub use frame::{MAX_FRAME_LEN, WireError};
pub use message::*;
pub use secret::Secret;
