//! Exit statuses that both binaries rely on: wrs-tokend exits with them,
//! wrs-token reads them from the daemon it started. Statuses only one
//! binary knows stay with it (`wrs_token::exit::Exit`).

/// "Another daemon already serves this user" (`EX_TEMPFAIL`): wrs-tokend
/// exits with it when the lock is held or a daemon answers on the socket,
/// and wrs-token's autostart then connects to that daemon instead of
/// reporting a failure (two clients starting a daemon at once).
pub const ALREADY_RUNNING: u8 = 75;

#[cfg(test)]
mod tests {
    /// launchd, systemd units and scripts see this number.
    #[test]
    fn already_running_is_ex_tempfail() {
        assert_eq!(super::ALREADY_RUNNING, 75);
    }
}
