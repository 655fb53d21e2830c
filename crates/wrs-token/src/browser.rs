//! Opening a URL in the user's browser.
//!
//! `$BROWSER` comes first, as the long-standing convention says: a list of
//! commands separated by `:` (`;` on Windows, where `:` is in every path),
//! tried in order until one starts. In a command, `%s` is replaced by the
//! URL and `%%` by `%`; a command without `%s` gets the URL as its last
//! argument. Commands are split on whitespace and run directly, never
//! through a shell, so a URL cannot inject anything. Without `$BROWSER` (or
//! when none of its commands starts) the platform's opener is used.
//!
//! The browser is started detached (null stdio, its own process group) and
//! not waited for: the login goes on whether or not a window appeared, and
//! the URL is always printed as well.

use std::ffi::OsString;
use std::io;
use std::process::{Child, Command, Stdio};

/// One way to open the URL: a program and its arguments, URL in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    /// The program, looked up on `PATH` when not a path.
    pub program: String,
    /// Its arguments, one of which is the URL.
    pub args: Vec<String>,
}

/// The separator between commands in `$BROWSER`.
pub const BROWSER_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// The launchers `$BROWSER` (its value `browser`) asks for, in order.
pub fn from_browser_var(browser: &str, url: &str) -> Vec<Launcher> {
    browser
        .split(BROWSER_SEPARATOR)
        .filter_map(|command| command_for(command, url))
        .collect()
}

/// One `$BROWSER` entry with the URL put in; `None` for a blank entry.
fn command_for(command: &str, url: &str) -> Option<Launcher> {
    let mut words = command.split_whitespace();
    let program = words.next()?;
    let mut substituted = false;
    let mut args: Vec<String> = words
        .map(|word| {
            let (arg, has_url) = substitute(word, url);
            substituted |= has_url;
            arg
        })
        .collect();
    let (program, in_program) = substitute(program, url);
    if !(substituted || in_program) {
        args.push(url.to_owned());
    }
    Some(Launcher { program, args })
}

/// `%s` → the URL, `%%` → `%`; any other `%` stays. Returns whether a `%s`
/// was seen.
fn substitute(word: &str, url: &str) -> (String, bool) {
    let mut out = String::with_capacity(word.len());
    let mut seen = false;
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('%', Some('s')) => {
                chars.next();
                out.push_str(url);
                seen = true;
            }
            ('%', Some('%')) => {
                chars.next();
                out.push('%');
            }
            _ => out.push(c),
        }
    }
    (out, seen)
}

/// The platform's own way to open a URL.
pub fn platform_default(url: &str) -> Launcher {
    let (program, mut args): (&str, Vec<String>) = if cfg!(windows) {
        // Not `cmd /c start "" URL`: cmd.exe would read the `&` between
        // query parameters as a command separator. The URL handler of
        // url.dll takes the URL as one plain argument.
        ("rundll32", vec!["url.dll,FileProtocolHandler".to_owned()])
    } else if cfg!(target_os = "macos") {
        ("open", Vec::new())
    } else {
        ("xdg-open", Vec::new())
    };
    args.push(url.to_owned());
    Launcher {
        program: program.to_owned(),
        args,
    }
}

/// Every launcher to try for `url`, given `$BROWSER`'s value.
pub fn launchers(browser_var: Option<OsString>, url: &str) -> Vec<Launcher> {
    let mut all = browser_var
        .and_then(|v| v.into_string().ok())
        .map(|v| from_browser_var(&v, url))
        .unwrap_or_default();
    all.push(platform_default(url));
    all
}

/// A browser process we started. Dropping it neither waits for nor kills
/// the process; [`Opened::reap`] collects its exit status if it has one.
#[derive(Debug)]
pub struct Opened {
    /// The program that was started.
    pub program: String,
    child: Child,
}

impl Opened {
    /// Collects the process's exit status if it has exited, so an opener
    /// that hands the URL to a running browser does not linger as a zombie.
    pub fn reap(&mut self) {
        let _ = self.child.try_wait();
    }
}

/// Why no browser could be started: each program tried, with its error.
#[derive(Debug)]
pub struct OpenError {
    /// `(program, error)` for each attempt.
    pub attempts: Vec<(String, io::Error)>,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tried: Vec<String> = self
            .attempts
            .iter()
            .map(|(program, e)| format!("{program}: {e}"))
            .collect();
        write!(f, "could not start a browser ({})", tried.join("; "))
    }
}

impl std::error::Error for OpenError {}

/// Opens `url` with the first launcher that starts (see the module doc).
pub fn open(url: &str) -> Result<Opened, OpenError> {
    let mut attempts = Vec::new();
    for launcher in launchers(std::env::var_os("BROWSER"), url) {
        match spawn(&launcher) {
            Ok(child) => {
                return Ok(Opened {
                    program: launcher.program,
                    child,
                });
            }
            Err(e) => attempts.push((launcher.program, e)),
        }
    }
    Err(OpenError { attempts })
}

fn spawn(launcher: &Launcher) -> io::Result<Child> {
    let mut command = Command::new(&launcher.program);
    command
        .args(&launcher.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own process group: a Ctrl-C that abandons the login must not also
    // close the browser window we opened.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://sso.example.com/as/authorization.oauth2?a=1&b=%20";

    fn l(program: &str, args: &[&str]) -> Launcher {
        Launcher {
            program: program.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn a_plain_command_gets_the_url_appended() {
        assert_eq!(from_browser_var("firefox", URL), [l("firefox", &[URL])]);
        assert_eq!(
            from_browser_var("firefox --new-window", URL),
            [l("firefox", &["--new-window", URL])]
        );
    }

    #[test]
    fn percent_s_is_replaced_and_nothing_is_appended() {
        assert_eq!(
            from_browser_var("chromium --app=%s --incognito", URL),
            [l("chromium", &[&format!("--app={URL}"), "--incognito"])]
        );
        assert_eq!(
            from_browser_var("echo 100%% %s", "u"),
            [l("echo", &["100%", "u"])]
        );
        // A lone '%' or another escape stays as it is.
        assert_eq!(
            from_browser_var("b %d 5%", "u"),
            [l("b", &["%d", "5%", "u"])]
        );
    }

    #[cfg(not(windows))]
    #[test]
    fn entries_are_tried_in_order_and_blank_ones_skipped() {
        assert_eq!(
            from_browser_var("::w3m: firefox %s :", "u"),
            [l("w3m", &["u"]), l("firefox", &["u"])]
        );
        assert!(from_browser_var("", "u").is_empty());
    }

    #[test]
    fn the_url_is_one_argument_whatever_it_contains() {
        let nasty = "https://x/?q=$(rm -rf ~)&r=`id`;a|b";
        assert_eq!(from_browser_var("open", nasty), [l("open", &[nasty])]);
    }

    #[test]
    fn the_platform_opener_comes_last() {
        let all = launchers(Some("mybrowser".into()), "u");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], l("mybrowser", &["u"]));
        assert_eq!(all[1], platform_default("u"));
        assert_eq!(launchers(None, "u"), [platform_default("u")]);
        assert_eq!(
            platform_default("u").args.last().map(String::as_str),
            Some("u")
        );
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn linux_opens_with_xdg_open() {
        assert_eq!(platform_default("u"), l("xdg-open", &["u"]));
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_program_is_reported_and_a_working_one_is_started() {
        let missing = l("/nonexistent/browser", &["u"]);
        assert!(spawn(&missing).is_err());
        let mut child = spawn(&l("true", &[])).unwrap();
        assert!(child.wait().unwrap().success());
    }
}
