//! The few HTML pages a person (or a test with plain HTTP) sees.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete page; `body` must already be escaped.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head>\n\
         <body><h1>{t}</h1>\n{body}\n</body></html>\n",
        t = escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// An error page (used where RFC 6749 forbids redirecting the error).
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Authorization error",
        &format!("<p class=\"error\">{}</p>", escape(message)),
    )
}

/// A hidden form field.
pub(crate) fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// Username and password fields and approve/deny buttons (`decision`).
pub(crate) fn login_fields(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "{error}<label>Username <input name=\"username\" autocomplete=\"username\"></label>\n\
         <label>Password <input name=\"password\" type=\"password\"></label>\n\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>"
    )
}
