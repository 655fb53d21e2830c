//! systemd integration: socket activation and readiness notification.
//!
//! With socket activation systemd owns the socket file (created from the
//! `.socket` unit's `ListenStream=`, whose `SocketMode=0600` and
//! `DirectoryMode=0700` must be set there) and hands us the listening fd;
//! we never remove that file. Each connection's peer uid is checked all the
//! same. Notifications are no-ops when `NOTIFY_SOCKET` is unset.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use interprocess::local_socket::tokio::Listener;
use interprocess::os::unix::uds_local_socket::tokio::Listener as UdsListener;

/// Whether systemd passed us sockets (`LISTEN_PID` is us and `LISTEN_FDS`
/// is non-zero). Does not take ownership of anything.
pub fn socket_passed() -> bool {
    sd_notify::listen_fds().is_ok_and(|fds| fds.len() > 0)
}

/// The listening socket systemd passed us, if any. Call at most once: the
/// first passed fd becomes owned by the returned listener.
pub fn inherited_listener() -> io::Result<Option<Listener>> {
    let mut fds = sd_notify::listen_fds()?;
    let Some(raw) = fds.next() else {
        return Ok(None);
    };
    if fds.len() > 0 {
        tracing::warn!(
            "systemd passed {} sockets; using the first one",
            fds.len() + 1
        );
    }
    let fd = adopt_fd(raw);
    let kind = rustix::net::sockopt::socket_type(&fd)?;
    if kind != rustix::net::SocketType::STREAM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the socket passed by systemd is not a stream socket (check ListenStream= in the .socket unit)",
        ));
    }
    let listener = UdsListener::try_from(fd)?;
    Ok(Some(Listener::from(listener)))
}

#[allow(unsafe_code)]
fn adopt_fd(raw: RawFd) -> OwnedFd {
    // SAFETY: `raw` comes from `sd_notify::listen_fds`, which only yields
    // fds in SD_LISTEN_FDS_START.. after checking that LISTEN_PID names this
    // process: systemd opened them for us and nothing else in this process
    // owns them. `inherited_listener` is called once, so the fd gets exactly
    // one owner.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// Tells systemd we accept connections (harmless without systemd).
pub fn notify_ready() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::debug!("sd_notify READY failed: {e}");
    }
}

/// Tells systemd we are stopping (harmless without systemd).
pub fn notify_stopping() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Stopping]) {
        tracing::debug!("sd_notify STOPPING failed: {e}");
    }
}
