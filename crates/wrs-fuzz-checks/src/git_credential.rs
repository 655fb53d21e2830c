//! git's credential-helper input (`wrs_token::cmd::git_credential::parse`):
//! `key=value` lines up to a blank line. Checked:
//!
//! - no value holds a newline or a NUL (a value could otherwise inject a
//!   line into what git reads back), and no list holds an empty entry;
//! - a parsed request written back as `key=value` lines parses equal:
//!   always with `\r\n` line ends, and with `\n` when no value ends in
//!   `\r` (one `\r` before the newline is taken as part of the line end);
//! - each error has its cause in the input: a line too long only past
//!   `MAX_LINE` bytes, a NUL only when there is one, and so on.

use wrs_token::cmd::git_credential::{CredentialRequest, MAX_LINE, ParseError, parse};

/// Parses `data` as git would send it on stdin.
pub fn git_credential(data: &[u8]) {
    match parse(data) {
        Ok(request) => {
            for (key, value) in fields(&request) {
                assert!(
                    !value.contains(['\n', '\0']),
                    "{key} holds a newline or NUL: {value:?}"
                );
                if key.ends_with("[]") {
                    assert!(!value.is_empty(), "an empty {key} entry");
                }
            }
            let again = parse(render(&request, "\r\n").as_bytes());
            assert_eq!(
                again.as_ref(),
                Ok(&request),
                "written with CRLF and read back"
            );
            if fields(&request).iter().all(|(_, v)| !v.ends_with('\r')) {
                let again = parse(render(&request, "\n").as_bytes());
                assert_eq!(
                    again.as_ref(),
                    Ok(&request),
                    "written with LF and read back"
                );
            }
        }
        Err(ParseError::TooLong) => assert!(data.len() > MAX_LINE),
        Err(ParseError::Nul) => assert!(data.contains(&0)),
        Err(ParseError::NotUtf8) => assert!(std::str::from_utf8(data).is_err()),
        Err(ParseError::NoEquals(line)) => {
            assert!(line.chars().count() <= 40, "{line:?}");
            assert!(!line.contains(['=', '\n']), "{line:?}");
        }
        Err(ParseError::Io(e)) => panic!("reading a byte slice failed: {e}"),
    }
}

/// Every field with a value, as `(key, value)` in the order [`render`]
/// writes them.
pub fn fields(request: &CredentialRequest) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    let single = [
        ("protocol", request.protocol.as_deref()),
        ("host", request.host.as_deref()),
        ("path", request.path.as_deref()),
        ("url", request.url.as_deref()),
        ("username", request.username.as_deref()),
        ("password", request.password.as_ref().map(|s| s.expose())),
        ("authtype", request.authtype.as_deref()),
        (
            "credential",
            request.credential.as_ref().map(|s| s.expose()),
        ),
    ];
    for (key, value) in single {
        if let Some(value) = value {
            out.push((key, value));
        }
    }
    for value in &request.capabilities {
        out.push(("capability[]", value.as_str()));
    }
    for value in &request.wwwauth {
        out.push(("wwwauth[]", value.as_str()));
    }
    out
}

/// The request as git would write it, with `eol` after each line and a
/// blank line at the end.
pub fn render(request: &CredentialRequest, eol: &str) -> String {
    let mut out = String::new();
    for (key, value) in fields(request) {
        out.push_str(key);
        out.push('=');
        out.push_str(value);
        out.push_str(eol);
    }
    out.push_str(eol);
    out
}
