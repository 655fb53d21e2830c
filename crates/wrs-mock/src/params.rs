//! Request parameters: form bodies and query strings, decoded strictly.

use std::collections::HashMap;

/// Form or query parameters. RFC 6749 3.1: a parameter may appear once, and
/// one sent without a value counts as omitted.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    values: HashMap<String, String>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes; `Err` names a repeated parameter.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Params, String> {
        let mut values = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(bytes) {
            if values.insert(k.to_string(), v.into_owned()).is_some() {
                return Err(k.into_owned());
            }
        }
        Ok(Params { values })
    }

    /// Parses an optional query string.
    pub(crate) fn from_query(query: Option<&str>) -> Result<Params, String> {
        Params::parse(query.unwrap_or("").as_bytes())
    }

    /// The parameter's value, `None` when absent or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether the parameter was sent at all (even empty).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

/// Percent-decodes `s`; with `plus_is_space`, `+` decodes to a space (form
/// encoding, as RFC 6749 2.3.1 uses inside Basic credentials). `None` on a
/// broken escape or non-UTF-8 result.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_handles_form_encoding_and_rejects_broken_escapes() {
        assert_eq!(
            percent_decode("a%2Bb+c%3A", true).as_deref(),
            Some("a+b c:")
        );
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%zz", true), None);
        assert_eq!(percent_decode("%4", true), None);
        assert_eq!(percent_decode("%ff", true), None);
    }

    #[test]
    fn params_reject_repeated_names_and_treat_empty_as_absent() {
        assert_eq!(Params::parse(b"a=1&a=2").err().as_deref(), Some("a"));
        let p = Params::parse(b"a=&b=2").unwrap();
        assert_eq!(p.get("a"), None);
        assert!(p.has("a"));
        assert_eq!(p.get("b"), Some("2"));
    }
}
