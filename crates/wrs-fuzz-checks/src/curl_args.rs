//! curl's command line as `wrs-token curl` reads it
//! (`wrs_token::cmd::curl::args::CurlLine`).
//!
//! Input: the arguments, separated by NUL bytes (an argument can hold any
//! other byte, as on Unix). Checked:
//!
//! - every URL found is one of the arguments as given (a positional or the
//!   value of `--url`), in their order; a `--url` missing its value at the
//!   end (curl refuses that line) reads as an empty URL;
//! - the connection options handed to the side request (the CSRF nonce
//!   fetch) read back as themselves: parsed again they give the same
//!   options, a subsequence of the user's, with no URL and nothing that
//!   reads stdin (stdin carries the token);
//! - a refusal quotes an option and a value the user gave;
//! - an explicit `-X`/`--request` decides the method (the last one wins).

use std::ffi::OsString;

use wrs_token::cmd::curl::args::{CurlLine, Refusal};

/// More arguments than any command line of interest.
const MAX_ARGS: usize = 256;

/// Splits `data` into arguments and parses them.
pub fn curl_args(data: &[u8]) {
    check_args(&split(data));
}

/// The arguments in `data`, NUL-separated.
pub fn split(data: &[u8]) -> Vec<OsString> {
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&b| b == 0)
        .take(MAX_ARGS)
        .map(os_string)
        .collect()
}

#[cfg(unix)]
fn os_string(bytes: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes.to_vec())
}

#[cfg(not(unix))]
fn os_string(bytes: &[u8]) -> OsString {
    String::from_utf8_lossy(bytes).into_owned().into()
}

/// Parses `args` and checks what was read.
pub fn check_args(args: &[OsString]) {
    let line = CurlLine::parse(args);
    let given: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();

    let mut rest = given.iter();
    for (i, url) in line.urls.iter().enumerate() {
        let dangling = url.is_empty()
            && i + 1 == line.urls.len()
            && given
                .last()
                .is_some_and(|a| a == "--url" || a == "--expand-url");
        assert!(
            dangling || rest.any(|a| a == url),
            "URL {url:?} is not an argument (in order) of {given:?}"
        );
    }

    let side = line.connection_args();
    let side_os: Vec<OsString> = side.iter().map(OsString::from).collect();
    let reread = CurlLine::parse(&side_os);
    assert!(
        reread.urls.is_empty(),
        "side request args {side:?} hold a URL"
    );
    assert!(reread.stdin_reader().is_none(), "{side:?} reads stdin");
    assert_eq!(reread.connection_args(), side, "connection args are stable");
    let mut users = line.opts.iter();
    for opt in &reread.opts {
        assert!(
            users.any(|o| o == opt),
            "{opt:?} is not one of the user's options, in order"
        );
    }

    if let Some(Refusal::ReadsStdin(quoted)) = line.stdin_reader() {
        let (name, value) = quoted
            .strip_prefix("--")
            .and_then(|q| q.split_once(' '))
            .unwrap_or_else(|| panic!("refusal {quoted:?} is not `--NAME VALUE`"));
        assert!(line.opts.iter().any(|o| o.name == name));
        assert!(
            given.iter().any(|a| a.ends_with(value)),
            "refused value {value:?} is not from {given:?}"
        );
    }

    let explicit = line
        .opts
        .iter()
        .filter(|o| o.name == "request")
        .filter_map(|o| o.value.as_deref())
        .next_back();
    if let Some(method) = explicit {
        assert_eq!(line.method(), method.to_ascii_uppercase());
    }
}
