//! Property tests (proptest) of the parsers the fuzz targets cover: round
//! trips of generated values, arbitrary input through the same checks the
//! fuzzer runs, and the caps. One test binary, one module per parser; the
//! case counts keep the whole run to a few seconds.
//!
//! The frame cap's "without allocating" half is `tests/frame_cap.rs`, in a
//! binary of its own because it installs a counting allocator.
#![allow(clippy::unwrap_used)]

mod config;
mod curl_args;
mod discovery;
mod frame;
mod git_credential;
mod redirect;
mod token_response;

use proptest::test_runner::Config;

/// The configuration of every property here: `cases` cases, and no file of
/// failures written next to the sources (a failure prints its input; add
/// it to `fuzz/regressions/<target>/` to keep it).
pub fn cases(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}
