//! See `wrs_fuzz_checks::oauth_answers` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wrs_fuzz_checks::oauth_answers::introspection(data));
