//! What the demo shows a person: step headings, echoed commands, indented
//! output with every token-like word abbreviated.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Characters kept of an abbreviated secret.
pub(crate) const SHOWN_CHARS: usize = 12;

/// A run of token characters at least this long is abbreviated wherever it
/// appears in output: access and refresh tokens, codes and PKCE values are
/// all longer; words, times, ports and ids are shorter.
const SECRET_RUN: usize = 32;

/// The first [`SHOWN_CHARS`] characters and `…`.
pub(crate) fn abbreviate(secret: &str) -> String {
    let shown: String = secret.chars().take(SHOWN_CHARS).collect();
    if shown.len() < secret.len() {
        format!("{shown}…")
    } else {
        shown
    }
}

fn is_token_char(c: char) -> bool {
    // Base64url and JWT characters; not `+`, `=`, which join query values.
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')
}

/// `text` with every long run of token characters abbreviated, so no token
/// the demo relays (from a command's output or a log) is shown in full.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= SECRET_RUN {
            out.push_str(&abbreviate(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One command-line word as a POSIX shell would need it to be written.
pub(crate) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Seconds from now until `unix_secs` (negative once past).
pub(crate) fn secs_from_now(unix_secs: u64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(unix_secs).unwrap_or(i64::MAX) - i64::try_from(now).unwrap_or(i64::MAX)
}

/// `1 refresh`, `2 refreshes`: `n` and the right form of the noun.
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `in 7 s` or `2 s ago`.
pub(crate) fn relative(unix_secs: u64) -> String {
    match secs_from_now(unix_secs) {
        s if s >= 0 => format!("in {s} s"),
        s => format!("{} s ago", -s),
    }
}

/// Writes the demo's story to stdout. Write errors are ignored: a closed
/// stdout must not stop the clean-up.
#[derive(Debug)]
pub(crate) struct Printer {
    total: usize,
}

impl Printer {
    pub(crate) fn new(total: usize) -> Self {
        Printer { total }
    }

    fn write(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// A plain line.
    pub(crate) fn line(&self, text: &str) {
        self.write(&format!("{text}\n"));
    }

    /// `[n/total] title`, after a blank line.
    pub(crate) fn step(&self, n: usize, title: &str) {
        self.write(&format!("\n[{n}/{}] {title}\n", self.total));
    }

    /// A detail of the current step, indented.
    pub(crate) fn detail(&self, text: &str) {
        self.write(&format!("      {text}\n"));
    }

    /// An echoed command line.
    pub(crate) fn command(&self, words: &[String]) {
        let line: Vec<String> = words.iter().map(|w| shell_word(w)).collect();
        self.write(&format!("    $ {}\n", line.join(" ")));
    }

    /// A command's output, indented, redacted, without trailing blank lines.
    pub(crate) fn output(&self, text: &str) {
        let text = redact(text);
        for line in text.trim_end().lines() {
            if line.trim().is_empty() {
                self.write("\n");
            } else {
                self.write(&format!("      {}\n", line.trim_end()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviation_keeps_twelve_characters_and_marks_the_cut() {
        assert_eq!(abbreviate("wrsat_0123456789abcdefghij"), "wrsat_012345…");
        assert_eq!(abbreviate("short"), "short");
    }

    #[test]
    fn redaction_abbreviates_tokens_inside_json_and_urls_only() {
        let token = format!("wrsat_{}", "A".repeat(43));
        let json = format!(r#"{{"access_token":"{token}","token_type":"Bearer"}}"#);
        let shown = redact(&json);
        assert!(!shown.contains(&token), "{shown}");
        assert!(shown.contains(r#""wrsat_AAAAAA…""#), "{shown}");
        assert!(shown.contains(r#""token_type":"Bearer""#), "{shown}");
        let plain = "daemon running, pid 4242, up 3s\n2026-11-28T09:15:00Z /tmp/x/ca.pem";
        assert_eq!(redact(plain), plain);
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("--scope"), "--scope");
        assert_eq!(
            shell_word("https://127.0.0.1:8/x/"),
            "https://127.0.0.1:8/x/"
        );
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
