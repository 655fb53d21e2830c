//! Profile names given on the command line (or in `WRS_TOKEN_PROFILE`),
//! checked while the arguments are parsed.
//!
//! A name the config file could never hold ([`validate_profile_name`]: at
//! most 64 letters, digits, '.', '_' or '-') is a usage error, exit 2,
//! before anything reads the config or connects to the daemon. Without
//! this a 100 000-character name went into a request frame past the wire's
//! 64 KiB cap and came back as "daemon unreachable" (exit 4).

use std::ffi::OsStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use wrs_config::{ProfileError, validate_profile_name};

use crate::exit::{Exit, Failure};

/// How much of a rejected name the error message repeats.
const SHOWN_CHARS: usize = 32;

/// The clap value parser for a profile name. `optional` parsers accept an
/// empty value (`-p ''`, `WRS_TOKEN_PROFILE=`), which means "the default
/// profile" to the commands that take one.
#[derive(Debug, Clone, Copy)]
pub struct ProfileNameParser {
    optional: bool,
}

impl ProfileNameParser {
    /// For an argument that must name a profile (`profile add NAME`).
    pub const fn required() -> Self {
        ProfileNameParser { optional: false }
    }

    /// For an argument where an empty value means the default profile.
    pub const fn optional() -> Self {
        ProfileNameParser { optional: true }
    }
}

impl TypedValueParser for ProfileNameParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        let Some(name) = value.to_str() else {
            return Err(clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd));
        };
        if self.optional && name.is_empty() {
            return Ok(String::new());
        }
        check(name).map_err(|problem| {
            // A raw error: clap's own wording would repeat the whole value,
            // all 100 000 characters of it.
            let mut what = arg.map_or_else(|| "NAME".to_owned(), ToString::to_string);
            // The value may have come from the environment, not the line.
            if let Some(var) = arg.and_then(clap::Arg::get_env) {
                what.push_str(&format!(" (or {})", var.to_string_lossy()));
            }
            clap::Error::raw(ErrorKind::ValueValidation, format!("{what}: {problem}\n"))
                .with_cmd(cmd)
        })?;
        Ok(name.to_owned())
    }
}

/// Why `name` is not a profile name, in one line that repeats at most
/// 32 characters of it.
pub fn check(name: &str) -> Result<(), String> {
    validate_profile_name(name).map_err(|e| match e {
        ProfileError::BadName(_) => {
            let length = name.chars().count();
            if length <= SHOWN_CHARS {
                e.to_string()
            } else {
                let shown: String = name.chars().take(SHOWN_CHARS).collect();
                format!(
                    "{}; this one has {length} characters",
                    ProfileError::BadName(format!("{shown}…"))
                )
            }
        }
        other => other.to_string(),
    })
}

/// [`check`] for a name that did not come through clap (the environment
/// variable read by `curl` and `git-credential`), as a usage error.
pub fn check_usage(name: &str, source: &str) -> Result<(), Failure> {
    check(name).map_err(|problem| Failure::new(Exit::Usage, format!("{source}: {problem}")))
}

/// The profile named positionally (`print NAME`) or with `-p NAME`; `None`
/// (or empty) means the default. Both given and different is a usage
/// error, not a silent pick, unless `-p`'s value is the environment's
/// (`env_value`, clap fills `-p` from `WRS_TOKEN_PROFILE`): a default set
/// for the shell yields to the name typed. (`-p X NAME` typed while the
/// environment also says X is taken for the environment's: NAME wins.)
pub fn either(
    name: Option<&str>,
    flag: Option<&str>,
    env_value: Option<&str>,
) -> Result<Option<String>, Failure> {
    let name = name.filter(|n| !n.is_empty());
    let flag = flag.filter(|p| !p.is_empty());
    match (name, flag) {
        (Some(n), Some(p)) if n != p && env_value != Some(p) => Err(Failure::new(
            Exit::Usage,
            format!("two profiles named: {n} and -p {p}"),
        )
        .with_hint("name the profile once, either as NAME or with -p")),
        (Some(n), _) => Ok(Some(n.to_owned())),
        (None, p) => Ok(p.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Probe {
        #[arg(short, long, value_parser = ProfileNameParser::optional())]
        profile: Option<String>,
        #[arg(value_parser = ProfileNameParser::required())]
        name: Option<String>,
    }

    fn parse(args: &[&str]) -> Result<Probe, clap::Error> {
        Probe::try_parse_from(std::iter::once("probe").chain(args.iter().copied()))
    }

    #[test]
    fn a_profile_named_twice_must_be_the_same_unless_one_is_the_environment() {
        assert_eq!(either(Some("a"), None, None).unwrap().as_deref(), Some("a"));
        assert_eq!(either(None, Some("b"), None).unwrap().as_deref(), Some("b"));
        assert_eq!(
            either(Some("a"), Some("a"), None).unwrap().as_deref(),
            Some("a")
        );
        assert_eq!(either(None, Some(""), None).unwrap(), None);
        let err = either(Some("a"), Some("b"), None).unwrap_err();
        assert_eq!(err.exit, Exit::Usage);
        assert_eq!(err.message, "two profiles named: a and -p b");
        // `-p` filled from WRS_TOKEN_PROFILE=b yields to the name typed.
        assert_eq!(
            either(Some("a"), Some("b"), Some("b")).unwrap().as_deref(),
            Some("a")
        );
    }

    #[test]
    fn good_names_pass_unchanged() {
        let p = parse(&["-p", "plm-2.test_x", "ci"]).unwrap();
        assert_eq!(p.profile.as_deref(), Some("plm-2.test_x"));
        assert_eq!(p.name.as_deref(), Some("ci"));
    }

    #[test]
    fn a_huge_name_is_a_usage_error_that_does_not_repeat_it() {
        let huge = "x".repeat(100_000);
        let err = parse(&["-p", &huge]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.use_stderr());
        let text = err.to_string();
        assert!(text.len() < 1000, "{} bytes: {text:.300}", text.len());
        assert!(text.contains("--profile"), "{text}");
        assert!(text.contains("100000 characters"), "{text}");
        assert!(text.contains("at most 64"), "{text}");
    }

    #[test]
    fn names_the_config_rejects_are_refused_here_too() {
        for bad in ["a/b", ".hidden", "x y", &"y".repeat(65)] {
            let err = parse(&[bad]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad}");
            assert!(check(bad).is_err(), "{bad}");
        }
        assert!(check(&"y".repeat(64)).is_ok());
    }

    #[test]
    fn empty_means_the_default_only_where_a_default_exists() {
        assert_eq!(parse(&["-p", ""]).unwrap().profile.as_deref(), Some(""));
        assert!(parse(&[""]).is_err());
    }
}
