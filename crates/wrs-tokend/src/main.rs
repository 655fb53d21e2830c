//! `wrs-tokend`: see the library's documentation.

use std::process::ExitCode;

use clap::Parser;

#[cfg(unix)]
fn main() -> ExitCode {
    wrs_tokend::launch::main(wrs_tokend::cli::Cli::parse())
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    let _ = wrs_tokend::cli::Cli::parse();
    eprintln!("wrs-tokend: this platform is not supported yet");
    ExitCode::FAILURE
}
