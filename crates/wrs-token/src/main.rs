//! `wrs-token`: see the library crate for what it does and its exit codes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use wrs_token::cli::Cli;
use wrs_token::exit::Exit;

fn main() -> ExitCode {
    // The hot commands' simple forms skip building clap's command tree; the
    // fast path declines anything else (and completion requests).
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cli = match wrs_token::fast_path::parse(&args, |name| std::env::var_os(name)) {
        Some(cli) => cli,
        None => match parse_with_clap() {
            Ok(cli) => cli,
            Err(code) => return code,
        },
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

/// The command line as clap reads it; help, version and usage errors are
/// printed here and end the process with their exit code.
fn parse_with_clap() -> Result<Cli, ExitCode> {
    // A shell's TAB (the script of `wrs-token completions`) sets this
    // variable: answer with the candidates and exit. Without it, a no-op.
    clap_complete::CompleteEnv::with_factory(wrs_token::cmd::completions::command)
        .var(wrs_token::cmd::completions::COMPLETE_VAR)
        .complete();
    Cli::try_parse().map_err(|e| {
        // Help and version go to stdout with 0; errors to stderr with 2.
        let _ = e.print();
        ExitCode::from(if e.use_stderr() {
            Exit::Usage.code()
        } else {
            Exit::Success.code()
        })
    })
}
