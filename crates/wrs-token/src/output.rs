//! Writing to stdout and formatting times.
//!
//! Output goes through [`write_stdout`], never `println!`: a reader that
//! stops early (`wrs-token print | head -c1`) closes the pipe, and that is
//! success, not a panic.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use wrs_proto::{SessionState, TokenReply};

use crate::exit::{Exit, Failure, one_line};

/// Tells the user, in one line on stderr, when a token does not meet the
/// minimum validity that applied (what the server's tokens give, or why
/// renewal is late). Stdout is left alone: the token is still the best
/// there is, and scripts keep working.
pub fn warn_if_short(reply: &TokenReply) {
    if let Some(line) = shortfall_line(reply) {
        // Best effort: a closed stderr must not fail the command.
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }
}

/// The warning line for `reply`, if its minimum was not met.
pub fn shortfall_line(reply: &TokenReply) -> Option<String> {
    if reply.min_ttl_met {
        return None;
    }
    let text = reply.warning.clone().unwrap_or_else(|| {
        format!(
            "the token has less than the {} s of validity asked for",
            reply.min_ttl_secs
        )
    });
    Some(format!("wrs-token: warning: {}\n", one_line(&text)))
}

/// Writes `bytes` to stdout and flushes. A closed pipe counts as success.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    write_to(&mut io::stdout().lock(), bytes)
}

/// As [`write_stdout`], to any writer.
pub fn write_to(out: &mut impl Write, bytes: &[u8]) -> Result<(), Failure> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(
            Exit::Failure,
            format!("cannot write to stdout: {e}"),
        )),
    }
}

/// Now, in Unix seconds (wall clock, like the daemon's expiry times).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds from `now` until `at`, never negative.
pub fn secs_until(at: u64, now: u64) -> u64 {
    at.saturating_sub(now)
}

/// Unix seconds as RFC 3339 UTC, e.g. `2026-11-28T09:15:00Z`.
pub fn rfc3339(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`, restricted to dates from 1970 on).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A duration for people: `45s`, `4m 10s`, `2h 5m`, `3d 4h`.
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// Rows as aligned columns (two spaces apart, no trailing blanks).
pub fn table<R: AsRef<[String]>>(rows: &[R]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.as_ref().iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(max) => *max = (*max).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.as_ref().iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            line.push_str(cell);
            line.push_str(&" ".repeat(pad + 2));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A session state as `status` and `profile list` show it.
pub fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::LoggedOut => "logged out",
        SessionState::Active => "active",
        SessionState::Refreshing => "refreshing",
        SessionState::NeedsLogin => "needs login",
        SessionState::BackingOff => "backing off",
        SessionState::Idle => "idle",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_without_trailing_blanks() {
        let rows = [
            vec!["NAME".to_owned(), "SERVER".to_owned()],
            vec!["plm-prod".to_owned(), "https://sso".to_owned()],
            vec!["ci".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&rows),
            "NAME      SERVER\nplm-prod  https://sso\nci\n"
        );
    }

    #[test]
    fn rfc3339_formats_utc_with_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(1_803_859_200), "2027-03-01T00:00:00Z");
    }

    #[test]
    fn remaining_time_is_never_negative() {
        assert_eq!(secs_until(100, 40), 60);
        assert_eq!(secs_until(100, 100), 0);
        assert_eq!(secs_until(100, 5000), 0);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(250), "4m 10s");
        assert_eq!(human_duration(7_500), "2h 5m");
        assert_eq!(human_duration(273_600), "3d 4h");
    }

    struct ClosedPipe;
    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(28))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn only_an_unmet_minimum_gets_a_warning_line() {
        let mut reply = TokenReply {
            profile: "plm".into(),
            access_token: wrs_proto::Secret::new("tok"),
            token_type: "Bearer".into(),
            expires_at: 0,
            lifetime_secs: 7,
            min_ttl_secs: 60,
            min_ttl_met: true,
            warning: None,
            scope: None,
        };
        assert_eq!(shortfall_line(&reply), None);
        reply.min_ttl_met = false;
        reply.warning = Some("profile plm's tokens live 7.0s\nand more".into());
        assert_eq!(
            shortfall_line(&reply).unwrap(),
            "wrs-token: warning: profile plm's tokens live 7.0s and more\n"
        );
        reply.warning = None;
        assert!(shortfall_line(&reply).unwrap().contains("60 s"));
    }

    #[test]
    fn broken_pipe_is_success_but_other_write_errors_are_not() {
        assert_eq!(write_to(&mut ClosedPipe, b"token\n"), Ok(()));
        let err = write_to(&mut Full, b"token\n").unwrap_err();
        assert_eq!(err.exit, Exit::Failure);
        assert!(err.message.starts_with("cannot write to stdout"));
    }
}
