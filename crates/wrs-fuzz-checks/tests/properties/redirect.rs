//! Authorization responses: parameters survive any way of pasting them, a
//! code is accepted only with this login's state, and any text goes
//! through the fuzz check.

use proptest::option;
use proptest::prelude::*;
use wrs_fuzz_checks::redirect::{REDIRECT_URI, STATE_PLACEHOLDER, check_text, pending, to_query};
use wrs_oauth::{OAuthError, RedirectParams, Secret};

use crate::cases;

fn params() -> impl Strategy<Value = RedirectParams> {
    (
        option::of(".{0,30}"),
        option::of(".{0,30}"),
        option::of("[a-z_]{1,20}"),
        option::of(".{0,40}"),
        option::of("https?://[a-z.]{1,12}/?"),
    )
        .prop_filter("a response has a code or an error", |p| {
            p.0.is_some() || p.2.is_some()
        })
        .prop_map(
            |(code, state, error, error_description, iss)| RedirectParams {
                code: code.map(Secret::new),
                state,
                error,
                error_description,
                iss,
            },
        )
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn parameters_survive_every_way_of_pasting_them(params in params()) {
        let query = to_query(&params);
        for pasted in [
            query.clone(),
            format!("?{query}"),
            format!("{REDIRECT_URI}?{query}"),
            format!("https://oauth.example.com/cb?{query}#fragment"),
        ] {
            prop_assert_eq!(RedirectParams::parse(&pasted).ok(), Some(params.clone()), "{}", pasted);
        }
        check_text(&query);
    }

    #[test]
    fn a_code_is_accepted_only_with_this_logins_state(
        code in "[A-Za-z0-9._~-]{1,40}",
        state in option::of(prop_oneof![Just(STATE_PLACEHOLDER.to_owned()), "[A-Za-z0-9_-]{0,30}"]),
    ) {
        let pending = pending();
        let mut query = format!("code={code}");
        if let Some(state) = &state {
            query.push_str(&format!("&state={}", state.replace(STATE_PLACEHOLDER, pending.state())));
        }
        let outcome = pending.parse_pasted(&format!("{REDIRECT_URI}?{query}"));
        let ours = state.as_deref().map(|s| s.replace(STATE_PLACEHOLDER, pending.state()))
            == Some(pending.state().to_owned());
        match outcome {
            Ok(got) => {
                prop_assert!(ours);
                prop_assert_eq!(got.0.expose(), code.as_str());
            }
            Err(OAuthError::StateMismatch) => prop_assert!(!ours),
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn any_text_goes_through_the_redirect_check(text in ".{0,120}") {
        check_text(&text);
    }

    #[test]
    fn query_like_text_goes_through_the_redirect_check(
        text in "(https?://[a-z0-9.:\\[\\]]{0,20}/[a-z]{0,8}\\?)?((code|state|error|error_description|iss|STATE|x)(=[A-Za-z%0-9+:/.]{0,12})?&?){0,6}(#.{0,8})?",
    ) {
        check_text(&text);
    }
}
