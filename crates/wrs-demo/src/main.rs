//! `wrs-demo`: the guided demo `wrs-token demo` runs, and the headless
//! browser it logs in with (see the library's docs).

use clap::{Parser, Subcommand};
use wrs_demo::{browser, demo};

/// The guided demo of wrs-token against a local mock PingFederate and
/// Windchill, and the headless browser it logs in with.
#[derive(Debug, Parser)]
#[command(name = "wrs-demo", version)]
struct Cli {
    /// What to run.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the guided demo that `wrs-token demo` starts.
    Demo(demo::DemoArgs),
    /// Open a URL like a browser, headless, following redirects (for $BROWSER).
    Browse(browser::BrowseArgs),
}

fn main() {
    let code = match Cli::parse().command {
        Command::Demo(args) => {
            init_logging();
            demo::main(args)
        }
        Command::Browse(args) => browser::main(&args),
    };
    std::process::exit(code);
}

/// The in-process mock's logs on stderr: `RUST_LOG`, else warnings.
fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
}
