//! `wrs-token`: see the library crate for what it does and its exit codes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use wrs_token::cli::Cli;
use wrs_token::exit::Exit;

fn main() -> ExitCode {
    // A shell's TAB (the script of `wrs-token completions`) sets this
    // variable: answer with the candidates and exit. Without it, a no-op.
    clap_complete::CompleteEnv::with_factory(wrs_token::cmd::completions::command)
        .var(wrs_token::cmd::completions::COMPLETE_VAR)
        .complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Success.code()
            });
        }
    };
    match wrs_token::run(cli) {
        Ok(()) => Exit::Success.into(),
        Err(failure) => {
            // eprintln! would panic if stderr is closed.
            let _ = std::io::stderr().write_all(failure.report().as_bytes());
            failure.exit.into()
        }
    }
}
