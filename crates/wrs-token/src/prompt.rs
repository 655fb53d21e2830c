//! Asking people, reading secrets.
//!
//! Prompts go to stderr and answers come from stdin, and only when stdin is
//! a terminal: a script gets a usage error naming the flag it forgot, never
//! a prompt that hangs. Secrets are typed without echo, or piped in
//! (`--client-secret-stdin`, `--refresh-token-stdin`) so they never appear
//! in argv or the shell history.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use wrs_proto::Secret;
use zeroize::Zeroize;

use crate::exit::{Exit, Failure};

/// The longest secret accepted on stdin. Client secrets and refresh tokens
/// are far shorter; a larger input is a mistake (a file piped by accident)
/// and must not become a frame the daemon refuses.
pub const MAX_SECRET_LEN: usize = 16 * 1024;

/// Whether stdin is a terminal a person types at.
pub fn stdin_is_terminal() -> bool {
    io::stdin().is_terminal()
}

/// Whether stderr is a terminal (progress may be redrawn in place).
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Writes `text` to stderr, ignoring a closed stderr: what we tell a person
/// must never turn a success into a failure.
pub fn say(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// Asks `label` on stderr and reads one line from stdin, trimmed. An empty
/// answer is asked again (up to three times); end of input is an error.
pub fn ask(label: &str) -> Result<String, Failure> {
    for _ in 0..3 {
        say(label);
        let mut line = String::new();
        let n = io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| read_failure(label, e))?;
        if n == 0 {
            return Err(no_input(label));
        }
        let answer = line.trim();
        if !answer.is_empty() {
            return Ok(answer.to_owned());
        }
    }
    Err(Failure::new(
        Exit::Usage,
        format!("no answer to {:?}", label.trim()),
    ))
}

/// Asks `label` and reads one line from stdin, terminal or not, with echo
/// (a pasted URL is easier to check when seen). The answer is a [`Secret`]
/// because it may carry a one-time code; surrounding whitespace is dropped.
pub fn ask_pasted(label: &str) -> Result<Secret, Failure> {
    say(label);
    let mut line = String::new();
    let n = io::stdin().lock().read_line(&mut line);
    let line = Secret::new(line);
    let n = n.map_err(|e| Failure::new(Exit::Failure, format!("cannot read stdin: {e}")))?;
    // A terminal echoed the Enter key; piped input did not: end the line.
    if n == 0 || !stdin_is_terminal() {
        say("\n");
    }
    let answer = line.expose().trim();
    if answer.is_empty() {
        return Err(Failure::new(Exit::Usage, "no URL was pasted"));
    }
    Ok(Secret::new(answer))
}

/// Asks `label` and reads a secret from the terminal without echo.
pub fn ask_secret(label: &str) -> Result<Secret, Failure> {
    say(label);
    let line = hidden::read_line().map_err(|e| read_failure(label, e))?;
    let line = line.ok_or_else(|| no_input(label))?;
    let secret = strip_one_newline(line);
    if secret.is_empty() {
        return Err(Failure::new(Exit::Usage, format!("empty {}", what(label))));
    }
    Ok(secret)
}

/// A secret from stdin: asked for without echo when stdin is a terminal,
/// else read to the end (see [`read_secret`]).
pub fn secret_from_stdin(label: &str) -> Result<Secret, Failure> {
    if stdin_is_terminal() {
        ask_secret(label)
    } else {
        read_secret(io::stdin().lock(), &what(label))
    }
}

/// Reads a whole secret from `input`: one trailing newline (`\n` or
/// `\r\n`) is dropped, as `echo` and editors add one; an empty secret, a
/// line break inside it, bytes that are not UTF-8 or more than
/// [`MAX_SECRET_LEN`] bytes are refused. `what` names it in errors.
pub fn read_secret(input: impl Read, what: &str) -> Result<Secret, Failure> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_SECRET_LEN + 1).unwrap_or(u64::MAX);
    input.take(limit).read_to_end(&mut bytes).map_err(|e| {
        Failure::new(
            Exit::Failure,
            format!("cannot read the {what} from stdin: {e}"),
        )
    })?;
    // Into a Secret at once, so every exit path below zeroes the bytes.
    let too_long = bytes.len() > MAX_SECRET_LEN;
    let text = match String::from_utf8(bytes) {
        Ok(t) => Secret::new(t),
        Err(e) => {
            e.into_bytes().zeroize();
            return Err(Failure::new(
                Exit::Usage,
                format!("the {what} on stdin is not UTF-8 text"),
            ));
        }
    };
    if too_long {
        return Err(Failure::new(
            Exit::Usage,
            format!("the {what} on stdin is longer than {MAX_SECRET_LEN} bytes"),
        ));
    }
    let secret = strip_one_newline(text);
    if secret.is_empty() {
        return Err(
            Failure::new(Exit::Usage, format!("the {what} on stdin is empty"))
                .with_hint("pipe it in, e.g. `printf '%s' \"$SECRET\" | wrs-token …`"),
        );
    }
    if secret.expose().contains(['\n', '\r']) {
        return Err(Failure::new(
            Exit::Usage,
            format!("the {what} on stdin spans more than one line"),
        ));
    }
    Ok(secret)
}

/// Drops one trailing `\n` or `\r\n`.
fn strip_one_newline(secret: Secret) -> Secret {
    let s = secret.expose();
    let trimmed = s
        .strip_suffix("\r\n")
        .or_else(|| s.strip_suffix('\n'))
        .unwrap_or(s);
    if trimmed.len() == s.len() {
        secret
    } else {
        Secret::new(trimmed)
    }
}

/// "client secret" from a label such as "Client secret: ".
fn what(label: &str) -> String {
    label.trim().trim_end_matches(':').trim().to_lowercase()
}

fn read_failure(label: &str, e: io::Error) -> Failure {
    Failure::new(
        Exit::Failure,
        format!("cannot read the {} from the terminal: {e}", what(label)),
    )
}

fn no_input(label: &str) -> Failure {
    say("\n");
    Failure::new(
        Exit::Usage,
        format!("no {} given (end of input)", what(label)),
    )
}

#[cfg(unix)]
mod hidden {
    use std::io::{self, BufRead};

    use rustix::termios::{self, LocalModes, OptionalActions, Termios};
    use wrs_proto::Secret;

    /// Restores the terminal's modes when dropped, whatever happened.
    struct Restore(Termios);

    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = termios::tcsetattr(io::stdin(), OptionalActions::Now, &self.0);
        }
    }

    /// One line typed with echo off (the newline is still echoed, so the
    /// cursor moves on). `None` at end of input.
    pub(super) fn read_line() -> io::Result<Option<Secret>> {
        let stdin = io::stdin();
        let original = termios::tcgetattr(&stdin)?;
        let mut quiet = original.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        quiet.local_modes.insert(LocalModes::ECHONL);
        termios::tcsetattr(&stdin, OptionalActions::Flush, &quiet)?;
        let _restore = Restore(original);
        let mut line = String::new();
        let n = stdin.lock().read_line(&mut line);
        let line = Secret::new(line);
        Ok((n? > 0).then_some(line))
    }
}

#[cfg(windows)]
mod hidden {
    use std::io;

    use wrs_proto::Secret;

    /// One line typed at the console without echo. `None` never happens:
    /// rpassword reports end of input as an error.
    pub(super) fn read_line() -> io::Result<Option<Secret>> {
        rpassword::read_password().map(|s| Some(Secret::new(s)))
    }
}

#[cfg(not(any(unix, windows)))]
mod hidden {
    use std::io;

    use wrs_proto::Secret;

    pub(super) fn read_line() -> io::Result<Option<Secret>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "cannot turn echo off on this platform; pipe the secret to stdin",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<String, Failure> {
        read_secret(bytes, "client secret").map(|s| s.expose().to_owned())
    }

    #[test]
    fn exactly_one_trailing_newline_is_dropped() {
        assert_eq!(read(b"s3cret").unwrap(), "s3cret");
        assert_eq!(read(b"s3cret\n").unwrap(), "s3cret");
        assert_eq!(read(b"s3cret\r\n").unwrap(), "s3cret");
        assert_eq!(
            read(b"  spaced  \n").unwrap(),
            "  spaced  ",
            "spaces are kept"
        );
        let err = read(b"s3cret\n\n").unwrap_err();
        assert!(err.message.contains("more than one line"), "{err:?}");
    }

    #[test]
    fn empty_secrets_are_refused_as_usage_errors() {
        for input in [&b""[..], b"\n", b"\r\n"] {
            let err = read(input).unwrap_err();
            assert_eq!(err.exit, Exit::Usage);
            assert_eq!(err.message, "the client secret on stdin is empty");
        }
    }

    #[test]
    fn multi_line_binary_and_oversized_input_is_refused() {
        assert!(read(b"a\nb\n").is_err());
        assert!(read(b"\xff\xfe\n").unwrap_err().message.contains("UTF-8"));
        let big = vec![b'x'; MAX_SECRET_LEN + 1];
        assert!(read(&big).unwrap_err().message.contains("longer than"));
        let max = vec![b'x'; MAX_SECRET_LEN];
        assert_eq!(read(&max).unwrap().len(), MAX_SECRET_LEN);
    }

    #[test]
    fn errors_never_contain_the_secret() {
        let err = read(b"top-secret\nsecond").unwrap_err();
        assert!(!err.report().contains("top-secret"), "{}", err.report());
    }

    #[test]
    fn labels_become_names() {
        assert_eq!(what("Client secret: "), "client secret");
        assert_eq!(what("Refresh token:"), "refresh token");
    }
}
