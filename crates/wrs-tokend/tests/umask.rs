//! Permissions with a hostile umask. A test binary of its own, holding one
//! test, because the umask is process-wide state.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

#[tokio::test]
async fn socket_and_directory_are_private_even_with_umask_000() {
    rustix::process::umask(rustix::fs::Mode::empty());
    let tmp = tempfile::tempdir().unwrap();
    let config = config_in(&tmp, fast_limits());
    let endpoint = config.endpoint.clone();
    let (_, sessions) = sessions_for("profile=p");
    let daemon = wrs_tokend::daemon::Daemon::start(config, sessions).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&endpoint.dir), 0o700);
    assert_eq!(mode(&endpoint.socket), 0o600);
    assert_eq!(mode(&endpoint.lock), 0o600);
    drop(daemon);
}
