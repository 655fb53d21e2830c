//! `wrs-token completions SHELL` and `wrs-token man [--dir DIR]`: the
//! command line described for shells and for `man`, generated from the
//! clap types so they never drift from what the binary accepts.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;

/// The program name completions and pages are written for.
const BIN: &str = "wrs-token";

/// `wrs-token completions SHELL`: the script on stdout.
pub fn run(args: &CompletionsArgs) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN, &mut script);
    write_stdout(&script)
}

/// `wrs-token man`: the main page on stdout, or every page into `--dir`.
pub fn run_man(args: &ManArgs) -> Result<(), Failure> {
    let cmd = Cli::command();
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
    fn every_shell_gets_a_script_naming_the_new_commands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), BIN, &mut out);
            let text = String::from_utf8(out).unwrap();
            for sub in ["git-credential", "curl", "exec", "completions"] {
                assert!(text.contains(sub), "{shell:?} script lacks {sub}");
            }
        }
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
