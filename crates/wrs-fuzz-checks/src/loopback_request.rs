//! The loopback redirect listener's answer to one request
//! (`wrs_oauth::loopback::answer`): any request head a local process or
//! the browser sends becomes a status, an HTML page and, only for the
//! authorization response, an outcome for the pending login.
//!
//! Input: the request head as the listener reads it (invalid UTF-8 is
//! replaced, as there), with every `STATE` replaced by the pending login's
//! real `state` (see [`crate::redirect`], whose login it shares). Checked:
//!
//! - the status is one of the five the listener sends; `200 OK` only with
//!   a code for this login;
//! - an outcome comes only from `GET <redirect path>?…` on HTTP/1.x with a
//!   `code` or an `error`, and is exactly what checking those parameters
//!   gives; anything else leaves the login waiting;
//! - the page is the listener's template: whatever the request or the
//!   profile name carries, no tag of its own gets in (the profile name
//!   here holds every character HTML escapes);
//! - the code never shows in the page: another code of the same shape
//!   gives the same page.

use wrs_oauth::loopback::{Answer, DEFAULT_PATH, answer};
use wrs_oauth::{OAuthError, RedirectParams, Secret};

use crate::redirect::{STATE_PLACEHOLDER, pending, to_query};
use crate::token_response::other_string;

/// The profile the page names: every character HTML escapes.
pub const PROFILE: &str = "plm<b>&\"'";

/// The listener's own tags, the only ones a page may hold.
const TEMPLATE_TAGS: &[&str] = &[
    "<!DOCTYPE html>",
    "<html>",
    "</html>",
    "<head>",
    "</head>",
    "<meta charset=\"utf-8\">",
    "<title>",
    "</title>",
    "<body style=\"font-family:sans-serif;margin:3em\">",
    "</body>",
    "<h1>",
    "</h1>",
    "<p>",
    "</p>",
    "<br>",
];

/// The statuses the listener sends.
const STATUSES: &[&str] = &[
    "200 OK",
    "400 Bad Request",
    "404 Not Found",
    "405 Method Not Allowed",
];

/// Answers `data` as a request head and checks the answer.
pub fn loopback_request(data: &[u8]) {
    let head = String::from_utf8_lossy(data).replace(STATE_PLACEHOLDER, pending().state());
    let got = answer(&head, DEFAULT_PATH, PROFILE, pending());
    assert!(STATUSES.contains(&got.status), "{}", got.status);
    check_page(&got.page);
    match redirect_query(&head) {
        Some(query) => {
            let params = RedirectParams::from_query(query);
            if params.is_response() {
                let expected = pending().check(&params);
                assert_eq!(shown(got.outcome.as_ref()), shown(Some(&expected)));
                check_code_hidden(&params, &got);
            } else {
                assert!(got.outcome.is_none());
            }
        }
        None => assert!(got.outcome.is_none(), "an outcome from {head:?}"),
    }
    match &got.outcome {
        Some(Ok(_)) => assert_eq!(got.status, "200 OK"),
        _ => assert_ne!(got.status, "200 OK"),
    }
}

/// The query of a `GET` on the redirect path over HTTP/1.x, as the
/// listener reads the request line.
fn redirect_query(head: &str) -> Option<&str> {
    let line = head.lines().next()?;
    let mut parts = line.split_ascii_whitespace();
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if method != "GET" || !version.starts_with("HTTP/1.") {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    (path == DEFAULT_PATH).then_some(query)
}

fn shown(outcome: Option<&Result<wrs_oauth::AuthorizationCode, OAuthError>>) -> String {
    match outcome {
        None => "waiting".to_owned(),
        Some(Ok(code)) => format!("code {}", code.0.expose()),
        Some(Err(err)) => format!("error {err}"),
    }
}

/// Only the template's tags: nothing from the request became markup.
fn check_page(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    let mut rest = page.to_owned();
    for tag in TEMPLATE_TAGS {
        rest = rest.replace(tag, "");
    }
    assert!(
        !rest.contains('<') && !rest.contains('>'),
        "markup from the request in the page: {page}"
    );
}

/// The same request with another code of the same shape gets the same page.
fn check_code_hidden(params: &RedirectParams, got: &Answer) {
    let Some(code) = &params.code else { return };
    let masked = RedirectParams {
        code: Some(Secret::new(other_string(code.expose()))),
        ..params.clone()
    };
    let request = |params: &RedirectParams| {
        let head = format!("GET {DEFAULT_PATH}?{} HTTP/1.1\r\n\r\n", to_query(params));
        answer(&head, DEFAULT_PATH, PROFILE, pending()).page
    };
    let page = request(params);
    // The rebuilt request is answered as the original was.
    assert_eq!(page, got.page);
    assert_eq!(page, request(&masked), "the code changes the page");
}
