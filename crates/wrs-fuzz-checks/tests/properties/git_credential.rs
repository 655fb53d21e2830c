//! git-credential input: what git writes is read as git means it (last
//! value wins, `[]` keys collect, an empty one clears), line limits hold,
//! and any bytes go through the fuzz check.

use proptest::collection::vec;
use proptest::prelude::*;
use wrs_fuzz_checks::git_credential::git_credential;
use wrs_token::cmd::git_credential::{CredentialRequest, MAX_LINE, ParseError, parse};

use crate::cases;

fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("protocol"),
        Just("host"),
        Just("path"),
        Just("url"),
        Just("username"),
        Just("password"),
        Just("authtype"),
        Just("credential"),
        Just("capability[]"),
        Just("wwwauth[]"),
        Just("ephemeral"),
        Just("password_expiry_utc"),
    ]
}

/// What parsing `lines` must give, by git's rules.
fn expected(lines: &[(&str, String)]) -> CredentialRequest {
    let mut r = CredentialRequest::default();
    for (key, value) in lines {
        let v = Some(value.clone());
        match *key {
            "protocol" => r.protocol = v,
            "host" => r.host = v,
            "path" => r.path = v,
            "url" => r.url = v,
            "username" => r.username = v,
            "password" => r.password = v.map(Into::into),
            "authtype" => r.authtype = v,
            "credential" => r.credential = v.map(Into::into),
            "capability[]" if value.is_empty() => r.capabilities.clear(),
            "capability[]" => r.capabilities.push(value.clone()),
            "wwwauth[]" if value.is_empty() => r.wwwauth.clear(),
            "wwwauth[]" => r.wwwauth.push(value.clone()),
            _ => {}
        }
    }
    r
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn what_git_writes_is_read_by_its_rules(
        lines in vec((key(), "[^\n\r\0]{0,30}"), 0..12),
        crlf in any::<bool>(),
        blank_line in any::<bool>(),
        after in "[a-z]{1,5}=[a-z]{0,5}",
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text: String = lines.iter().map(|(k, v)| format!("{k}={v}{eol}")).collect();
        if blank_line {
            // Anything after the blank line is not part of the request.
            text.push_str(eol);
            text.push_str(&after);
            text.push_str(eol);
        }
        prop_assert_eq!(parse(text.as_bytes()), Ok(expected(&lines)));
        git_credential(text.as_bytes());
    }

    #[test]
    fn any_bytes_go_through_the_git_credential_check(bytes in vec(any::<u8>(), 0..300)) {
        git_credential(&bytes);
    }

    #[test]
    fn key_value_lines_with_odd_bytes_go_through_the_check(
        lines in vec((key(), vec(prop_oneof![Just(b'\r'), Just(b'='), Just(0u8), Just(0xffu8), 32u8..127], 0..12)), 0..8),
    ) {
        let mut data = Vec::new();
        for (key, value) in lines {
            data.extend_from_slice(key.as_bytes());
            data.push(b'=');
            data.extend_from_slice(&value);
            data.push(b'\n');
        }
        git_credential(&data);
    }
}

proptest! {
    #![proptest_config(cases(16))]

    #[test]
    fn a_line_is_refused_only_past_the_limit(len in (MAX_LINE - 8)..(MAX_LINE + 8), crlf in any::<bool>()) {
        let mut text = format!("host={}", "x".repeat(len - 5));
        text.push_str(if crlf { "\r\n" } else { "\n" });
        let parsed = parse(text.as_bytes());
        if len > MAX_LINE {
            prop_assert_eq!(parsed, Err(ParseError::TooLong));
        } else {
            prop_assert_eq!(parsed.map(|r| r.host.map(|h| h.len())), Ok(Some(len - 5)));
        }
        git_credential(text.as_bytes());
    }
}
