//! What text from the authorization server may appear in an error, a log
//! line or the login page: the one rule, asked by every place that shows
//! server text. A body snippet or an `error_description` (some servers echo
//! the rejected code or token there) that contains a token-like string is
//! withheld; other text is cut short and stripped of control characters.

/// Keeps at most `max` characters, replacing control characters, so that a
/// server's text cannot garble a terminal or a log line.
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// The shortest run of token characters that counts as token-like. The
/// shortest secrets in the wild (RFC 6749's example code and token) have
/// 22; error codes, words and host names rarely have 16 *and* a digit or
/// mixed case.
const TOKEN_LIKE_RUN: usize = 16;

/// What stands in for server text that was withheld.
pub(crate) const WITHHELD: &str = "<withheld: it contains a token-like string>";

/// Whether `text` contains a token-like string: at least
/// [`TOKEN_LIKE_RUN`] characters in a row from RFC 6750's token alphabet
/// (the `b64token` characters and `=`), with a digit or both upper and lower
/// case among them. Every access or refresh token, code, PKCE value or
/// client secret qualifies; `temporarily_unavailable`, `WINDCHILL_READ` and
/// `plm.example.com` do not. A UUID or a long hex id does, which only costs
/// a description: a false alarm hides text, a miss leaks a secret.
///
/// The one rule for "may this server text appear in an error or a log":
/// body snippets and `error_description`s both ask it.
pub(crate) fn contains_token_like(text: &str) -> bool {
    let mut run = 0usize;
    let (mut digit, mut upper, mut lower) = (false, false, false);
    for c in text.chars() {
        if crate::token::is_b64token_char(c) || c == '=' {
            run += 1;
            digit |= c.is_ascii_digit();
            upper |= c.is_ascii_uppercase();
            lower |= c.is_ascii_lowercase();
            if run >= TOKEN_LIKE_RUN && (digit || (upper && lower)) {
                return true;
            }
        } else {
            run = 0;
            (digit, upper, lower) = (false, false, false);
        }
    }
    false
}

/// Free text from the server (an `error_description`, an unknown `error`
/// code, a `token_type`) as it may appear in an error: [`WITHHELD`] when it
/// contains a token-like string, else at most `max` characters, cleaned.
/// The check runs on the whole text, before it is cut, so a token straddling
/// the cut is caught too.
pub(crate) fn server_text(text: &str, max: usize) -> String {
    if contains_token_like(text) {
        return WITHHELD.to_owned();
    }
    sanitize(text, max)
}

/// A short, secret-free start of a body for error messages: empty for
/// anything that looks like JSON (it may hold tokens), withheld when it
/// mentions a token or contains a token-like string.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return String::new();
    }
    // Bodies are whole pages, so they are held to a stricter rule than
    // descriptions: the mere mention of a token withholds them.
    let lower = text.to_ascii_lowercase();
    if ["token", "device_code", "secret", "code="]
        .iter()
        .any(|w| lower.contains(w))
        || contains_token_like(&text)
    {
        return "<withheld: the body mentions a token>".to_owned();
    }
    sanitize(trimmed, 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn snippet_never_echoes_json_or_tokens() {
        assert_eq!(snippet(br#"{"access_token":"abc"}"#), "");
        assert_eq!(snippet(b"  [1,2]"), "");
        assert!(!snippet(b"access_token=abc&token_type=bearer").contains("abc"));
        assert_eq!(
            snippet(b"<html>\n<title>Sign in</title>"),
            "<html> <title>Sign in</title>"
        );
        assert_eq!(snippet("x".repeat(300).as_bytes()).chars().count(), 101);
    }

    #[test]
    fn token_like_strings_are_recognised() {
        for secret in [
            // RFC 6749's example access token and code.
            "2YotnFZFEjr1zCsicMWpAA",
            "SplxlOBeZQQYbYS6WxSbIA",
            "wrsat_7dJx0kPq3Rz9vL2mN8bT4wY6",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln",
            "123e4567-e89b-12d3-a456-426614174000",
            "abcdefghijklmnop0",
            "AbCdEfGhIjKlMnOp",
            "dGhpcyBpcyBhIHRva2Vu+/==",
        ] {
            assert!(contains_token_like(secret), "{secret}");
            assert!(
                contains_token_like(&format!("refresh token '{secret}' is unknown")),
                "{secret}"
            );
        }
        for plain in [
            "refresh token expired",
            "temporarily_unavailable",
            "unsupported_grant_type",
            "WINDCHILL_READ ProdMgmt",
            "redirect_uri http://127.0.0.1:8400/callback is not registered",
            "Invalid client or client credentials",
            "abc123",
            "",
        ] {
            assert!(!contains_token_like(plain), "{plain}");
        }
    }

    #[test]
    fn server_text_withholds_tokens_and_cleans_the_rest() {
        assert_eq!(
            server_text("the code SplxlOBeZQQYbYS6WxSbIA was used", 300),
            WITHHELD
        );
        // The check covers the whole text, not only what is shown.
        let long = format!("{} 2YotnFZFEjr1zCsicMWpAA", "x ".repeat(200));
        assert_eq!(server_text(&long, 300), WITHHELD);
        assert_eq!(server_text("User\r\nsaid no", 300), "User  said no");
        assert_eq!(server_text("abcdef", 3), "abc…");
        assert_eq!(
            ErrorCode::parse("bad_2YotnFZFEjr1zCsicMWpAA").as_str(),
            WITHHELD
        );
    }

    #[test]
    fn snippet_withholds_token_like_strings_even_without_the_word() {
        let body = b"<html>Bearer 2YotnFZFEjr1zCsicMWpAA rejected</html>";
        assert_eq!(snippet(body), "<withheld: the body mentions a token>");
    }
}
