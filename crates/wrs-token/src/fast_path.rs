//! The hot commands' simple forms, parsed without clap.
//!
//! `print`, `header` and `git-credential get` run once for every curl or
//! git call. Building clap's command tree (every subcommand, flag and help
//! text) is most of what such a call spends before it connects: it touches
//! pages no other part of the call needs. [`parse`] recognises the simple
//! argument lists of those three commands and builds the very [`Cli`] clap
//! would build; `main` then runs it through the same [`crate::run`].
//!
//! Whatever it does not recognise it declines (`None`), and clap parses the
//! line as before: help, `--version`, errors, rare or repeated flags,
//! `--`, non-UTF-8 words, completion requests. So a message or exit code
//! can never differ between the two paths; only the time to get there.
//! The variables clap reads for these commands (`env = …` in [`crate::cli`])
//! are read here the same way, or the line is declined when one holds a
//! value clap would refuse. The tests hold a table of argument lists and
//! check, with and without those variables set, that every line taken here
//! parses to the same [`Cli`] in clap and every declined one is declined.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::integrations::DEFAULT_GIT_USERNAME;
use crate::cli::profile_name;
use crate::cli::{Cli, Command, GitCredentialArgs, GlobalArgs, HeaderArgs, PrintArgs, TokenArgs};
use crate::cmd::completions::COMPLETE_VAR;

/// The [`Cli`] for `args` (the words after the program's name) when they
/// are a simple form of `print`, `header` or `git-credential get`; `None`
/// means "ask clap". `env` reads an environment variable (the process's in
/// `main`).
pub fn parse(args: &[OsString], env: impl Fn(&str) -> Option<OsString>) -> Option<Cli> {
    // A shell's TAB asks clap_complete, which needs the whole tree.
    if env(COMPLETE_VAR).is_some() {
        return None;
    }
    let words: Vec<&str> = args.iter().map(|a| a.to_str()).collect::<Option<_>>()?;
    // Global options may come before the subcommand: its name is the
    // first positional word.
    let (before, subcommand_at) = tokenize(&words, &GLOBAL_ONLY, true)?;
    let (command, spec) = match words.get(subcommand_at).copied()? {
        "print" => (Hot::Print, &PRINT),
        "header" => (Hot::Header, &HEADER),
        "git-credential" => (Hot::GitCredential, &GIT_CREDENTIAL),
        _ => return None,
    };
    let (after, _) = tokenize(&words[subcommand_at + 1..], spec, false)?;
    let line = Line::new(before.into_iter().chain(after))?;
    // The global options' variables are read whether or not the line gives
    // the option: clap copies a global option into the subcommand, whose
    // copy reads the variable too, so a value it refuses fails the line.
    let env_no_autostart = env_flag(env(wrs_sys::env::NO_AUTOSTART))?;
    let env_socket = env_path(env(wrs_sys::env::SOCKET))?;
    let global = GlobalArgs {
        no_autostart: line.flag("no-autostart") || env_no_autostart,
        socket: match line.value("socket") {
            // clap's path parser refuses an empty one.
            Some("") => return None,
            Some(path) => Some(PathBuf::from(path)),
            None => env_socket,
        },
    };
    let command = match command {
        Hot::Print => {
            if line.flag("header") && line.flag("json") {
                return None;
            }
            Command::Print(PrintArgs {
                name: line.one_name()?,
                token: token_args(&line, &env)?,
                header: line.flag("header"),
                json: line.flag("json"),
                no_newline: line.flag("no-newline"),
            })
        }
        Hot::Header => Command::Header(HeaderArgs {
            name: line.one_name()?,
            token: token_args(&line, &env)?,
            no_newline: line.flag("no-newline"),
        }),
        Hot::GitCredential => {
            if line.positionals != ["get"] {
                return None;
            }
            Command::GitCredential(GitCredentialArgs {
                profile: optional(line.value("profile"), profile_value)?,
                username: match line.value("username") {
                    Some("") => return None,
                    Some(name) => name.to_owned(),
                    None => DEFAULT_GIT_USERNAME.to_owned(),
                },
                min_ttl: optional(line.value("min-ttl"), seconds)?,
                action: "get".to_owned(),
            })
        }
    };
    Some(Cli { global, command })
}

/// The commands taken here.
#[derive(Clone, Copy)]
enum Hot {
    Print,
    Header,
    GitCredential,
}

/// The options a command takes besides the global ones, by long name.
struct Spec {
    flags: &'static [&'static str],
    /// Options with a value, and their short letter.
    options: &'static [(&'static str, Option<char>)],
}

/// `--no-autostart` and `--socket`: every subcommand takes them, before or
/// after its name.
const GLOBAL_FLAGS: &[&str] = &["no-autostart"];
const GLOBAL_OPTIONS: &[(&str, Option<char>)] = &[("socket", None)];

const GLOBAL_ONLY: Spec = Spec {
    flags: &[],
    options: &[],
};
const PRINT: Spec = Spec {
    flags: &["header", "json", "no-newline"],
    options: &[("profile", Some('p')), ("min-ttl", None)],
};
const HEADER: Spec = Spec {
    flags: &["no-newline"],
    options: &[("profile", Some('p')), ("min-ttl", None)],
};
const GIT_CREDENTIAL: Spec = Spec {
    flags: &[],
    options: &[
        ("profile", Some('p')),
        ("username", None),
        ("min-ttl", None),
    ],
};

/// One word (or an option and its value) of the command line.
#[derive(Debug, PartialEq, Eq)]
enum Word<'a> {
    Flag(&'static str),
    Option(&'static str, &'a str),
    Positional(&'a str),
}

/// Splits `words` by `spec` (plus the global options), up to the first
/// positional word if `stop_at_positional`; with the number of words
/// consumed. `None` for a word that is not one of them in a simple form.
fn tokenize<'a>(
    all: &[&'a str],
    spec: &Spec,
    stop_at_positional: bool,
) -> Option<(Vec<Word<'a>>, usize)> {
    let flags = || spec.flags.iter().chain(GLOBAL_FLAGS).copied();
    let options = || spec.options.iter().chain(GLOBAL_OPTIONS).copied();
    let mut out = Vec::with_capacity(all.len());
    let mut words = all.iter().copied();
    let mut consumed = 0;
    while let Some(word) = words.next() {
        if stop_at_positional && !word.starts_with('-') {
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if let Some(flag) = flags().find(|f| *f == name) {
                if inline.is_some() {
                    return None;
                }
                out.push(Word::Flag(flag));
            } else if let Some((option, _)) = options().find(|(o, _)| *o == name) {
                out.push(Word::Option(option, option_value(inline, &mut words)?));
            } else {
                // `--` itself, `--help`, `--version`, anything unknown.
                return None;
            }
        } else if let Some(short) = word.strip_prefix('-') {
            // Only `-p VALUE`: `-pVALUE`, `-p=VALUE`, `-h`, `-V` and
            // clusters go to clap.
            let mut letters = short.chars();
            let (Some(letter), None) = (letters.next(), letters.next()) else {
                return None;
            };
            let (option, _) = options().find(|(_, s)| *s == Some(letter))?;
            out.push(Word::Option(option, option_value(None, &mut words)?));
        } else {
            out.push(Word::Positional(word));
        }
        consumed = all.len() - words.len();
    }
    Some((out, consumed))
}

/// An option's value, given inline (`--name=VALUE`) or as the next word.
/// One that starts with `-` is left to clap, which may take it for an
/// option.
fn option_value<'a>(
    inline: Option<&'a str>,
    words: &mut impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let value = match inline {
        Some(value) => value,
        None => words.next()?,
    };
    (!value.starts_with('-')).then_some(value)
}

/// A command line split into words, each option at most once.
struct Line<'a> {
    flags: Vec<&'static str>,
    options: Vec<(&'static str, &'a str)>,
    positionals: Vec<&'a str>,
}

impl<'a> Line<'a> {
    /// `None` when an option or flag is given twice: clap's rules for that
    /// (an error, or the last one wins) stay clap's.
    fn new(words: impl Iterator<Item = Word<'a>>) -> Option<Self> {
        let mut line = Line {
            flags: Vec::new(),
            options: Vec::new(),
            positionals: Vec::new(),
        };
        for word in words {
            match word {
                Word::Flag(name) => {
                    if line.flags.contains(&name) {
                        return None;
                    }
                    line.flags.push(name);
                }
                Word::Option(name, value) => {
                    if line.options.iter().any(|(n, _)| *n == name) {
                        return None;
                    }
                    line.options.push((name, value));
                }
                Word::Positional(value) => line.positionals.push(value),
            }
        }
        Some(line)
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    fn value(&self, name: &str) -> Option<&'a str> {
        self.options
            .iter()
            .find_map(|(n, value)| (*n == name).then_some(*value))
    }

    /// The positional profile NAME of `print` and `header`: at most one,
    /// and one clap's parser accepts (an empty NAME is left to clap).
    fn one_name(&self) -> Option<Option<String>> {
        match self.positionals.as_slice() {
            [] => Some(None),
            [name] if !name.is_empty() => profile_value(name).map(Some),
            _ => None,
        }
    }
}

/// `-p` / `--profile` and WRS_TOKEN_PROFILE, as `TokenArgs` has them.
fn token_args(line: &Line, env: &impl Fn(&str) -> Option<OsString>) -> Option<TokenArgs> {
    let profile = match line.value("profile") {
        Some(name) => Some(profile_value(name)?),
        None => match env(wrs_sys::env::PROFILE) {
            Some(name) => Some(profile_value(name.to_str()?)?),
            None => None,
        },
    };
    Some(TokenArgs {
        profile,
        min_ttl: optional(line.value("min-ttl"), seconds)?,
    })
}

/// An option's value through `parse` when it was given: `None` when
/// `parse` leaves the value to clap.
fn optional<T>(value: Option<&str>, parse: impl Fn(&str) -> Option<T>) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(value) => parse(value).map(Some),
    }
}

/// A profile name as `ProfileNameParser::optional()` takes it: empty (the
/// default profile) or a name the config file could hold; else clap's
/// error message is wanted.
fn profile_value(name: &str) -> Option<String> {
    (name.is_empty() || profile_name::check(name).is_ok()).then(|| name.to_owned())
}

/// `--min-ttl`: decimal digits only (clap's u64 parser also takes `+5`;
/// leave such spellings to it).
fn seconds(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// WRS_TOKEN_NO_AUTOSTART as clap's `FalseyValueParser` reads it: unset,
/// empty and the false words (`0`, `no`, `off`, … in any case) are false,
/// anything else true; a value that is not UTF-8 is clap's error to report.
fn env_flag(value: Option<OsString>) -> Option<bool> {
    const FALSE_WORDS: [&str; 6] = ["n", "no", "f", "false", "off", "0"];
    let Some(value) = value else {
        return Some(false);
    };
    let value = value.to_str()?.to_lowercase();
    Some(!value.is_empty() && !FALSE_WORDS.contains(&value.as_str()))
}

/// WRS_TOKEN_SOCKET as clap's path parser reads it: empty is clap's error
/// to report.
fn env_path(value: Option<OsString>) -> Option<Option<PathBuf>> {
    match value {
        None => Some(None),
        Some(path) if path.is_empty() => None,
        Some(path) => Some(Some(PathBuf::from(path))),
    }
}

#[cfg(test)]
mod tests;
