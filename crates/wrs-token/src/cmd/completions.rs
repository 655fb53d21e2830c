//! `wrs-token completions SHELL` and `wrs-token man [--dir DIR]`: the
//! command line described for shells and for `man`, generated from the
//! clap types so they never drift from what the binary accepts.
//!
//! Completion is dynamic (clap_complete's engine): the script a shell
//! sources only registers a function that, at each TAB, runs
//! `WRS_TOKEN_COMPLETE=<shell> wrs-token -- WORDS…` ([`COMPLETE_VAR`];
//! `main` answers it before anything else runs). So profile names complete
//! wherever a profile is named (`-p <TAB>`, `login <TAB>`, `profile set
//! <TAB>`…), read from the config file, never from the daemon: a TAB
//! starts no process but wrs-token itself.

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;

/// The program name completions and pages are written for.
const BIN: &str = "wrs-token";

/// The environment variable that asks `wrs-token` for completions.
pub const COMPLETE_VAR: &str = "WRS_TOKEN_COMPLETE";

/// The arguments that name an existing profile (`profile add NAME` and
/// `profile rename … NEW` name a new one, so they are left alone).
const PROFILE_ARG_IDS: &[&str] = &["profile", "name", "old"];

/// The command line as completion sees it: [`Cli`] with the configured
/// profile names as the candidates of every argument naming a profile.
pub fn command() -> clap::Command {
    with_profile_names(Cli::command())
}

fn with_profile_names(cmd: clap::Command) -> clap::Command {
    let names_new_profile = cmd.get_name() == "add";
    // `mut_args`, not `mut_arg`: the latter moves the argument to the end,
    // which renumbers positionals (`profile set NAME KEY VALUE` would
    // complete profile names for VALUE).
    cmd.mut_args(|arg| {
        if !names_new_profile && PROFILE_ARG_IDS.contains(&arg.get_id().as_str()) {
            arg.add(ArgValueCandidates::new(profile_names))
        } else {
            arg
        }
    })
    .mut_subcommands(with_profile_names)
}

/// The profiles of the config file; none when it cannot be read (a TAB
/// is no place for an error message).
fn profile_names() -> Vec<CompletionCandidate> {
    let Some(paths) = wrs_config::Paths::resolve() else {
        return Vec::new();
    };
    wrs_config::Config::load(&paths.config_file)
        .map(|c| {
            c.profiles
                .into_keys()
                .map(CompletionCandidate::new)
                .collect()
        })
        .unwrap_or_default()
}

/// `wrs-token completions SHELL`: the script on stdout.
pub fn run(args: &CompletionsArgs) -> Result<(), Failure> {
    write_stdout(&script(args.shell)?)
}

/// The registration script for `shell`.
pub fn script(shell: clap_complete::Shell) -> Result<Vec<u8>, Failure> {
    let name = shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| Failure::new(Exit::Usage, format!("no completion for the shell {name}")))?;
    let mut script = Vec::new();
    completer
        .write_registration(COMPLETE_VAR, BIN, BIN, BIN, &mut script)
        .map_err(|e| Failure::new(Exit::Failure, e.to_string()))?;
    Ok(script)
}

/// The command line as the manual pages show it: the help texts without
/// their Markdown-style `code` marks. roff has no such mark (clap_mangen
/// escapes what it is given, so bold cannot be asked for in the text) and
/// `man` would show the backticks literally; the words alone read right.
pub fn man_command() -> clap::Command {
    for_man(Cli::command())
}

fn for_man(mut cmd: clap::Command) -> clap::Command {
    fn plain(text: &clap::builder::StyledStr) -> String {
        text.to_string().replace('`', "")
    }
    if let Some(t) = cmd.get_about().map(plain) {
        cmd = cmd.about(t);
    }
    if let Some(t) = cmd.get_long_about().map(plain) {
        cmd = cmd.long_about(t);
    }
    if let Some(t) = cmd.get_before_help().map(plain) {
        cmd = cmd.before_help(t);
    }
    if let Some(t) = cmd.get_before_long_help().map(plain) {
        cmd = cmd.before_long_help(t);
    }
    if let Some(t) = cmd.get_after_help().map(plain) {
        cmd = cmd.after_help(t);
    }
    if let Some(t) = cmd.get_after_long_help().map(plain) {
        cmd = cmd.after_long_help(t);
    }
    cmd.mut_args(|mut arg| {
        if let Some(t) = arg.get_help().map(plain) {
            arg = arg.help(t);
        }
        if let Some(t) = arg.get_long_help().map(plain) {
            arg = arg.long_help(t);
        }
        arg
    })
    .mut_subcommands(for_man)
}

/// `wrs-token man`: the main page on stdout, or every page into `--dir`.
pub fn run_man(args: &ManArgs) -> Result<(), Failure> {
    let cmd = man_command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .map_err(|e| Failure::new(Exit::Failure, format!("cannot render the page: {e}")))?;
            write_stdout(&page)
        }
        Some(dir) => clap_mangen::generate_to(cmd, dir).map_err(|e| {
            Failure::new(
                Exit::Failure,
                format!("cannot write manual pages into {}: {e}", dir.display()),
            )
            .with_hint("--dir must name an existing, writable directory")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_that_asks_wrs_token() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
            clap_complete::Shell::Elvish,
        ] {
            let text = String::from_utf8(script(shell).unwrap()).unwrap();
            assert!(text.contains(COMPLETE_VAR), "{shell:?}: {text}");
            assert!(text.contains(BIN), "{shell:?}: {text}");
        }
    }

    /// Which arguments complete profile names: every one naming an
    /// existing profile, none naming a new one.
    #[test]
    fn profile_arguments_complete_names_except_new_ones() {
        fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            for a in cmd.get_arguments() {
                if a.get::<ArgValueCandidates>().is_some() {
                    out.push(format!("{path} {}", a.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &path, out);
            }
        }
        let mut with = Vec::new();
        walk(&command(), "", &mut with);
        for expected in [
            " wrs-token print profile",
            " wrs-token print name",
            " wrs-token login name",
            " wrs-token login profile",
            " wrs-token status name",
            " wrs-token curl profile",
            " wrs-token profile set name",
            " wrs-token profile rename old",
        ] {
            assert!(with.iter().any(|w| w == expected), "{expected} in {with:?}");
        }
        assert!(
            !with.iter().any(|w| w.starts_with(" wrs-token profile add")),
            "{with:?}"
        );
        assert!(
            !with.iter().any(|w| w == " wrs-token profile rename new"),
            "{with:?}"
        );
    }

    /// Regression: help texts mark code with backticks, which `man`
    /// showed literally.
    #[test]
    fn man_pages_have_no_backticks() {
        let dir = tempfile::tempdir().unwrap();
        run_man(&ManArgs {
            dir: Some(dir.path().to_owned()),
        })
        .unwrap();
        let mut pages = 0;
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains('`'), "{}: {text}", path.display());
            pages += 1;
        }
        assert!(pages > 20, "{pages} pages");
        // The words stay: only the marks go.
        let main = std::fs::read_to_string(dir.path().join("wrs-token.1")).unwrap();
        assert!(main.contains("wrs\\-token login <profile>"), "{main}");
    }

    #[test]
    fn man_dir_gets_one_page_per_command() {
        let dir = tempfile::tempdir().unwrap();
        run_man(&ManArgs {
            dir: Some(dir.path().to_owned()),
        })
        .unwrap();
        for page in [
            "wrs-token.1",
            "wrs-token-curl.1",
            "wrs-token-git-credential.1",
            "wrs-token-profile-add.1",
        ] {
            let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
            assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
        }
        let missing = run_man(&ManArgs {
            dir: Some(dir.path().join("nope")),
        })
        .unwrap_err();
        assert!(missing.message.contains("nope"), "{missing:?}");
    }
}
