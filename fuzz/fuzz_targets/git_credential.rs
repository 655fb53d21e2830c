//! See `wrs_fuzz_checks::git_credential` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wrs_fuzz_checks::git_credential::git_credential(data));
