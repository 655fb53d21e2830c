//! curl arguments: every spelling curl accepts for the same options (long,
//! short, value attached, switches clustered) reads the same, in
//! particular whether curl would read stdin; any arguments go through the
//! fuzz check.

use std::ffi::OsString;

use proptest::collection::vec;
use proptest::prelude::*;
use wrs_fuzz_checks::curl_args::check_args;
use wrs_token::cmd::curl::args::{CurlLine, Opt};

use crate::cases;

/// Switches curl has, with their short letters.
const SWITCHES: &[(char, &str)] = &[
    ('s', "silent"),
    ('S', "show-error"),
    ('k', "insecure"),
    ('L', "location"),
    ('G', "get"),
    ('I', "head"),
    ('f', "fail"),
    ('v', "verbose"),
];

/// Options with a value, with their short letters.
const VALUED: &[(char, &str)] = &[
    ('d', "data"),
    ('H', "header"),
    ('T', "upload-file"),
    ('K', "config"),
    ('b', "cookie"),
    ('F', "form"),
    ('X', "request"),
    ('x', "proxy"),
    ('o', "output"),
    ('w', "write-out"),
    ('u', "user"),
    ('E', "cert"),
];

/// Values, including every way of saying "stdin" and ones that only look
/// like it.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("@-".to_owned()),
        Just("-".to_owned()),
        Just(".".to_owned()),
        Just("name@-".to_owned()),
        Just("file=@-;type=text/plain".to_owned()),
        Just("text=<-".to_owned()),
        Just("a=b@-".to_owned()),
        Just("@body.json".to_owned()),
        Just("-d".to_owned()),
        "[ -~]{0,12}",
    ]
}

/// One option and how to spell it.
#[derive(Debug, Clone)]
struct Spelled {
    short: char,
    long: &'static str,
    value: Option<String>,
    /// Long form (`--name value`) rather than short.
    long_form: bool,
    /// Short form: the value attached (`-dVALUE`).
    attached: bool,
}

fn spelled() -> impl Strategy<Value = Spelled> {
    let switch =
        (proptest::sample::select(SWITCHES), any::<bool>()).prop_map(|((s, l), lf)| Spelled {
            short: s,
            long: l,
            value: None,
            long_form: lf,
            attached: false,
        });
    let valued = (
        proptest::sample::select(VALUED),
        value(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|((s, l), v, lf, at)| Spelled {
            short: s,
            long: l,
            // An empty attached value would take the next argument.
            attached: at && !v.is_empty(),
            value: Some(v),
            long_form: lf,
        });
    prop_oneof![switch, valued]
}

/// The arguments for `opts` then `urls`; consecutive short switches are
/// clustered, and a short valued option joins the cluster before it.
fn spell(opts: &[Spelled], urls: &[String]) -> Vec<OsString> {
    let mut args: Vec<String> = Vec::new();
    let mut cluster = String::new();
    let flush = |cluster: &mut String, args: &mut Vec<String>| {
        if !cluster.is_empty() {
            args.push(format!("-{cluster}"));
            cluster.clear();
        }
    };
    for o in opts {
        match (&o.value, o.long_form) {
            (None, true) => {
                flush(&mut cluster, &mut args);
                args.push(format!("--{}", o.long));
            }
            (None, false) => cluster.push(o.short),
            (Some(v), true) => {
                flush(&mut cluster, &mut args);
                args.push(format!("--{}", o.long));
                args.push(v.clone());
            }
            (Some(v), false) => {
                cluster.push(o.short);
                if o.attached {
                    cluster.push_str(v);
                    flush(&mut cluster, &mut args);
                } else {
                    flush(&mut cluster, &mut args);
                    args.push(v.clone());
                }
            }
        }
    }
    flush(&mut cluster, &mut args);
    args.extend(urls.iter().cloned());
    args.into_iter().map(OsString::from).collect()
}

fn as_opts(opts: &[Spelled]) -> Vec<Opt> {
    opts.iter()
        .map(|o| Opt {
            name: o.long.to_owned(),
            value: o.value.clone(),
        })
        .collect()
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn every_spelling_of_the_same_options_reads_the_same(
        opts in vec(spelled(), 0..8),
        urls in vec("https://[a-z]{1,8}/[a-z]{0,8}", 0..3),
    ) {
        let args = spell(&opts, &urls);
        let line = CurlLine::parse(&args);
        prop_assert_eq!(&line.opts, &as_opts(&opts), "{:?}", args);
        prop_assert_eq!(&line.urls, &urls);
        // The reference spelling: every option long, every value apart.
        let long: Vec<Spelled> = opts.iter().map(|o| Spelled { long_form: true, ..o.clone() }).collect();
        let reference = CurlLine::parse(&spell(&long, &urls));
        prop_assert_eq!(line.stdin_reader(), reference.stdin_reader(), "{:?}", args);
        prop_assert_eq!(line.method(), reference.method());
        prop_assert_eq!(line.connection_args(), reference.connection_args());
        check_args(&args);
    }

    #[test]
    fn any_arguments_go_through_the_curl_check(
        args in vec(prop_oneof![
            "-{1,2}[a-zA-Z#:0-9.-]{0,6}",
            "--(data|url|cacert|json|form|request|config|expand-data|upload-file)",
            "[@=<;.a-z-]{0,8}",
            ".{0,10}",
        ], 0..10),
    ) {
        let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
        check_args(&args);
    }
}
