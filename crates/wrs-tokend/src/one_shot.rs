//! What the one-shot jobs (`probe`, `stored`) start from: a
//! current-thread runtime and the installation's paths, or the reason on
//! stderr and exit 1.

use std::process::ExitCode;

use tokio::runtime::Runtime;
use wrs_config::Paths;

/// The runtime and paths of a one-shot job; on failure the message is
/// already on stderr and the exit code is the one to return.
pub(crate) fn start() -> Result<(Runtime, Paths), ExitCode> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("wrs-tokend: cannot start the async runtime: {e}");
            return Err(ExitCode::FAILURE);
        }
    };
    let Some(paths) = Paths::resolve() else {
        eprintln!(
            "wrs-tokend: cannot tell where the configuration lives (no HOME, XDG_CONFIG_HOME or {})",
            wrs_sys::env::CONFIG
        );
        return Err(ExitCode::FAILURE);
    };
    Ok((runtime, paths))
}
