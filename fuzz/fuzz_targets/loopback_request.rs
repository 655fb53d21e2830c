//! See `wrs_fuzz_checks::loopback_request` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wrs_fuzz_checks::loopback_request::loopback_request(data));
