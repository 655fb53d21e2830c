//! What every wrs-token parser of untrusted input must guarantee, written
//! once and run three ways:
//!
//! - by the cargo-fuzz targets in `fuzz/fuzz_targets/` (nightly, libFuzzer,
//!   `scripts/fuzz`), one per [`TARGETS`] entry, each a one-line call of
//!   its check;
//! - by `tests/replay.rs` on stable, in the normal test suite, which feeds
//!   every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`
//!   to the same check, so what the fuzzer once found stays found;
//! - by `tests/properties/`, proptest properties of the same parsers
//!   (round trips of generated values, arbitrary input through the checks,
//!   the frame cap).
//!
//! A check takes the fuzzer's raw bytes, hands them to the parser the way
//! production code does, and panics when a promise is broken. "No panic"
//! is the least of it: a decoded frame re-encodes and decodes to the same
//! value, a config that parses is written and read back equal, a parsed
//! git-credential value never holds a newline, a token never reaches an
//! error message, and so on (each module says what it checks).
//!
//! The parsers stay in the crates that own them (`wrs-proto`,
//! `wrs-config`, `wrs-oauth`, `wrs-token`); this crate only depends on them
//! and nothing depends on it but the fuzz crate and its own tests.
#![deny(missing_docs)]

pub mod config;
pub mod curl_args;
pub mod discovery;
pub mod frame;
pub mod git_credential;
pub mod loopback_request;
pub mod oauth_answers;
pub mod redirect;
pub mod token_response;

/// One fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs` and
/// the folders `fuzz/corpus/<name>/`, `fuzz/regressions/<name>/`) and the
/// check it runs on every input.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The check; panics when the parser breaks a promise.
    pub check: fn(&[u8]),
}

/// Every fuzz target, in the order `scripts/fuzz` reports them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "frame_request",
        check: frame::request,
    },
    Target {
        name: "frame_response",
        check: frame::response,
    },
    Target {
        name: "config",
        check: config::config,
    },
    Target {
        name: "token_response",
        check: token_response::token_response,
    },
    Target {
        name: "discovery",
        check: discovery::discovery,
    },
    Target {
        name: "git_credential",
        check: git_credential::git_credential,
    },
    Target {
        name: "redirect",
        check: redirect::redirect,
    },
    Target {
        name: "curl_args",
        check: curl_args::curl_args,
    },
    Target {
        name: "device_authorization",
        check: oauth_answers::device_authorization,
    },
    Target {
        name: "introspection",
        check: oauth_answers::introspection,
    },
    Target {
        name: "loopback_request",
        check: loopback_request::loopback_request,
    },
];
