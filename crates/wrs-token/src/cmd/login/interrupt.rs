//! An interrupted `login` cancels its login at the daemon.
//!
//! Without this, Ctrl-C (or a closed terminal) would leave the login
//! pending at the daemon: its loopback port open and the profile refusing
//! a new login as "in progress" until the daemon noticed the silence. A
//! thread of its own waits for SIGINT, SIGTERM or SIGHUP (signal-hook's
//! self-pipe, so nothing runs in signal context), sends `LoginCancel` on a
//! fresh connection (the main thread may be blocked on its own) and exits
//! with 128 + the signal's number (130 for Ctrl-C), as a shell expects.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use wrs_proto::LoginPrompt;

use crate::client::Client;

/// The login to cancel when a signal comes, once the daemon named it.
#[derive(Clone, Default)]
pub struct Pending {
    login: Arc<Mutex<Option<(String, String)>>>,
    interrupted: Arc<AtomicBool>,
}

impl Pending {
    /// `outcome`, unless a signal came: then the handler thread is
    /// cancelling the login (which ends this thread's wait with "cancelled")
    /// and exits the process with the signal's status; this thread leaves
    /// that to it rather than exiting 1 first.
    pub fn unless_interrupted<T>(&self, outcome: T) -> T {
        if self.interrupted.load(Ordering::SeqCst) {
            loop {
                std::thread::park();
            }
        }
        outcome
    }

    /// The daemon started `prompt`'s login: a signal from now on cancels it.
    pub fn started(&self, prompt: &LoginPrompt) {
        *self.login.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((prompt.profile.clone(), prompt.login_id.clone()));
    }

    fn take(&self) -> Option<(String, String)> {
        self.login
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Installs the handler for the rest of the process; the returned
/// [`Pending`] is told the login once it started.
#[cfg(unix)]
pub fn cancel_on_signal(client: &Client) -> Pending {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    use crate::prompt::say;

    let pending = Pending::default();
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => {
            // The login still works; only an interrupt leaves it pending
            // until the daemon sees its client gone.
            say(&format!("warning: cannot watch for Ctrl-C ({e})\n"));
            return pending;
        }
    };
    // Never start a daemon just to cancel a login it cannot have.
    let client = client.clone().with_autostart(false);
    let watched = pending.clone();
    std::thread::spawn(move || {
        let Some(signal) = signals.forever().next() else {
            return;
        };
        watched.interrupted.store(true, Ordering::SeqCst);
        if let Some((profile, login_id)) = watched.take() {
            match client.login_cancel(Some(profile.clone()), Some(login_id)) {
                Ok(_) => say(&format!(
                    "\nInterrupted: the login for profile {profile} was cancelled.\n"
                )),
                Err(e) => say(&format!(
                    "\nInterrupted; cancelling the login for profile {profile} failed ({e}): \
                     run `wrs-token login --cancel {profile}`\n"
                )),
            }
        }
        std::process::exit(128 + signal);
    });
    pending
}

/// Elsewhere the default handling stays: the daemon drops a login whose
/// client went silent.
#[cfg(not(unix))]
pub fn cancel_on_signal(_client: &Client) -> Pending {
    Pending::default()
}
