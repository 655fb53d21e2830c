//! See `wrs_fuzz_checks::curl_args` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wrs_fuzz_checks::curl_args::curl_args(data));
