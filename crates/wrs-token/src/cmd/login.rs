//! `wrs-token login`: start a login at the daemon, show the user what to
//! do (open the browser, print a device code, read a pasted URL), then wait
//! for the daemon to say it holds tokens. Everything for people goes to
//! stderr; stdout stays empty.
//!
//! A login this client started never outlives it: Ctrl-C, SIGTERM and
//! SIGHUP (a closed terminal) cancel it at the daemon before the client
//! exits (see [`interrupt`]), so its loopback port closes and a new login
//! may start at once. `--cancel` does the same for a login started
//! elsewhere.

pub mod interrupt;

use std::time::{Duration, Instant};

use wrs_proto::{ErrorKind, LoginMethod, LoginPrompt};

use crate::browser;
use crate::cli::LoginArgs;
use crate::client::{Client, ClientError, LoggedIn, LoginProgress, LoginStart};
use crate::exit::{Exit, Failure};
use crate::output::{human_duration, now_unix, rfc3339, secs_until};
use crate::prompt::{self, say};

/// How long one [`wrs_proto::Request::LoginWait`] asks the daemon to wait:
/// short, so the spinner moves and `--timeout` is kept to the second.
pub const WAIT_ROUND: Duration = Duration::from_secs(2);

/// A round that came back quicker than this is followed by a pause, so a
/// daemon answering "pending" at once is not asked in a busy loop.
const MIN_ROUND: Duration = Duration::from_millis(250);

/// The paste-mode prompt.
pub const PASTE_PROMPT: &str = "Paste the full URL your browser was redirected to: ";

/// `wrs-token login`.
pub fn run(client: &Client, args: &LoginArgs) -> Result<(), Failure> {
    let profile = args.choice.profile();
    if args.refresh_token_stdin {
        return import(client, profile);
    }
    if args.cancel {
        return cancel(client, profile);
    }
    let method = method(args);
    let started = Instant::now();
    // Before the login starts, so there is no moment in which an
    // interrupt would leave it behind.
    let pending = interrupt::cancel_on_signal(client);
    let outcome = log_in(client, args, profile, method, started, &pending);
    pending.unless_interrupted(outcome)
}

/// The login itself, from `LoginBegin` to the daemon's last word.
fn log_in(
    client: &Client,
    args: &LoginArgs,
    profile: Option<String>,
    method: LoginMethod,
    started: Instant,
    pending: &interrupt::Pending,
) -> Result<(), Failure> {
    let prompt = match client
        .login_begin(profile.clone(), method)
        .map_err(|e| login_failure(e, profile.as_deref()))?
    {
        LoginStart::Finished(done) => return finished(&done),
        LoginStart::Started(prompt) => prompt,
    };
    pending.started(&prompt);
    let mut opened = present(&prompt, method);
    let done = if prompt.expects_paste {
        let url = prompt::ask_pasted(PASTE_PROMPT)?;
        client
            .login_paste(&prompt.login_id, url)
            .map_err(|e| login_failure(e, Some(&prompt.profile)))?
    } else {
        let timeout = Duration::from_secs(args.timeout);
        wait(
            client,
            &prompt,
            started + timeout,
            args.timeout,
            &mut opened,
        )?
    };
    if let Some(o) = opened.as_mut() {
        o.reap();
    }
    finished(&done)
}

/// The login method the flags ask for.
pub fn method(args: &LoginArgs) -> LoginMethod {
    if args.device {
        LoginMethod::Device
    } else if args.paste {
        LoginMethod::Paste
    } else if args.no_browser {
        LoginMethod::NoBrowser
    } else {
        LoginMethod::Browser
    }
}

fn import(client: &Client, profile: Option<String>) -> Result<(), Failure> {
    let token = prompt::secret_from_stdin("Refresh token: ")?;
    let done = client
        .import_refresh_token(profile.clone(), token)
        .map_err(|e| login_failure(e, profile.as_deref()))?;
    say(&format!(
        "Imported the refresh token for profile {}; token valid until {}\n",
        done.profile,
        valid_until(done.expires_at, now_unix())
    ));
    Ok(())
}

/// `wrs-token login --cancel`: ends the profile's pending login.
fn cancel(client: &Client, profile: Option<String>) -> Result<(), Failure> {
    let (name, cancelled) = client
        .login_cancel(profile.clone(), None)
        .map_err(|e| Failure::from_client(e, profile.as_deref()))?;
    if cancelled {
        say(&format!(
            "Cancelled the pending login for profile {name}.\n"
        ));
    } else {
        say(&format!("No login for profile {name} was pending.\n"));
    }
    Ok(())
}

/// Shows the user what to do; opens the browser in browser mode.
fn present(prompt: &LoginPrompt, method: LoginMethod) -> Option<browser::Opened> {
    say(&instructions(prompt, method));
    if method == LoginMethod::NoBrowser
        && let Some(hint) = ssh_hint(prompt, |name| std::env::var(name).ok())
    {
        say(&hint);
    }
    let url = prompt.url_complete.as_deref().or(prompt.url.as_deref())?;
    if method != LoginMethod::Browser {
        return None;
    }
    match browser::open(url) {
        Ok(opened) => Some(opened),
        Err(e) => {
            say(&format!("{e}; open the URL above by hand.\n"));
            None
        }
    }
}

/// The text shown once the daemon has started a login.
pub fn instructions(prompt: &LoginPrompt, method: LoginMethod) -> String {
    let name = &prompt.profile;
    if let Some(code) = &prompt.user_code {
        let mut text = format!("To log in to profile {name}, visit:\n\n    ");
        text.push_str(prompt.url.as_deref().unwrap_or("(the server sent no URL)"));
        text.push_str(&format!("\n\nand enter the code:\n\n    {code}\n\n"));
        if let Some(complete) = &prompt.url_complete {
            text.push_str(&format!(
                "or open this URL, which has the code filled in:\n\n    {complete}\n\n"
            ));
        }
        return text;
    }
    let Some(url) = prompt.url.as_deref() else {
        return format!("Logging in to profile {name}…\n");
    };
    match (method, prompt.expects_paste) {
        (LoginMethod::Browser, false) => format!(
            "Opening the browser to log in to profile {name}.\n\
             If the browser did not open, visit:\n\n    {url}\n\n"
        ),
        (LoginMethod::Browser, true) => format!(
            "Opening the browser to log in to profile {name}.\n\
             If the browser did not open, visit:\n\n    {url}\n\n\
             After logging in, copy the address your browser was sent to.\n"
        ),
        (_, true) => format!(
            "To log in to profile {name}, open this URL in a browser:\n\n    {url}\n\n\
             After logging in, copy the address your browser was sent to.\n"
        ),
        (_, false) => {
            format!("To log in to profile {name}, open this URL in a browser:\n\n    {url}\n\n")
        }
    }
}

/// On an SSH session (`SSH_CONNECTION` or `SSH_TTY` set), a loopback
/// redirect lands on the user's own machine, where nothing listens: say
/// how to get there, `--device` or the exact `ssh -L` line for the port
/// the daemon listens on. `None` elsewhere, and for device or paste logins.
pub fn ssh_hint(prompt: &LoginPrompt, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let connection = var("SSH_CONNECTION");
    if connection.is_none() && var("SSH_TTY").is_none() {
        return None;
    }
    if prompt.user_code.is_some() || prompt.expects_paste {
        return None;
    }
    let (host, port) = loopback_redirect(prompt.url.as_deref()?)?;
    // SSH_CONNECTION is "client-ip client-port server-ip server-port": the
    // address (and port) the user reached this machine at.
    let mut fields = connection
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .skip(2);
    let (server, ssh_port) = (fields.next(), fields.next());
    let server = server.map(str::to_owned).unwrap_or_else(this_host);
    let port_flag = match ssh_port {
        Some(p) if p != "22" => format!("-p {p} "),
        _ => String::new(),
    };
    let user = var("USER").or_else(|| var("LOGNAME"));
    let target = match user {
        Some(user) => format!("{user}@{server}"),
        None => server,
    };
    let name = &prompt.profile;
    Some(format!(
        "This is an SSH session: the browser on your own machine cannot reach this machine's \
         {host}:{port}, where the login's redirect lands. Either log in with a code instead:\n\n    \
         wrs-token login {name} --device\n\n\
         or, on your own machine, forward the port before opening the URL (keep it open until the \
         login finishes):\n\n    ssh {port_flag}-L {port}:{host}:{port} {target}\n\n"
    ))
}

/// The host and port of the loopback `redirect_uri` in an authorization URL.
fn loopback_redirect(url: &str) -> Option<(String, u16)> {
    let query = url.split_once('?')?.1.split('#').next()?;
    let encoded = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("redirect_uri="))?;
    let redirect = percent_decode(encoded)?;
    let authority = redirect.strip_prefix("http://")?.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    Some((host.to_owned(), port.parse().ok()?)).filter(|_| loopback)
}

/// Decodes `%XX` escapes and `+` (form encoding); `None` for bad escapes
/// or text that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// This machine's host name, for the `ssh -L` line when `SSH_CONNECTION`
/// does not say which address the user came in on.
fn this_host() -> String {
    // Linux keeps it here; elsewhere a placeholder the user fills in.
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "THIS-HOST".to_owned())
}

/// Asks the daemon until the login finishes or `deadline` passes.
fn wait(
    client: &Client,
    prompt: &LoginPrompt,
    deadline: Instant,
    timeout_secs: u64,
    opened: &mut Option<browser::Opened>,
) -> Result<LoggedIn, Failure> {
    let mut progress = Progress::new(prompt::stderr_is_terminal());
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            progress.clear();
            // Nobody will finish it now: free the profile and the port at
            // once rather than when the daemon notices the silence.
            let _ =
                client.login_cancel(Some(prompt.profile.clone()), Some(prompt.login_id.clone()));
            return Err(timed_out(&prompt.profile, timeout_secs));
        }
        progress.tick(left);
        let round = Instant::now();
        // Whole seconds, rounded up, so the last round does not overshoot
        // by more than a second.
        let this_round = WAIT_ROUND.min(Duration::from_secs(left.as_secs().max(1)));
        match client.login_wait(&prompt.login_id, this_round) {
            Ok(LoginProgress::Finished(done)) => {
                progress.clear();
                return Ok(done);
            }
            Ok(LoginProgress::Pending) => {}
            Err(e) => {
                progress.clear();
                return Err(login_failure(e, Some(&prompt.profile)));
            }
        }
        if let Some(o) = opened.as_mut() {
            o.reap();
        }
        if round.elapsed() < MIN_ROUND {
            std::thread::sleep(MIN_ROUND.min(deadline.saturating_duration_since(Instant::now())));
        }
    }
}

/// The failure for a login that was not finished in time.
pub fn timed_out(profile: &str, timeout_secs: u64) -> Failure {
    Failure::new(
        Exit::Failure,
        format!("login timed out after {timeout_secs} s; run `wrs-token login {profile}` again"),
    )
    .with_hint("use --timeout SECS for more time, or --device / --paste where no browser can reach this machine")
}

/// A daemon error during a login, in the login's words.
fn login_failure(e: ClientError, profile: Option<&str>) -> Failure {
    match e {
        ClientError::Daemon(err) if err.kind == ErrorKind::Busy => {
            let name = profile.map_or_else(|| "the default profile".to_owned(), str::to_owned);
            Failure::new(
                Exit::for_kind(ErrorKind::Busy),
                format!("another login for {name} is in progress"),
            )
            .with_hint(format!(
                "finish it in the browser where it was started, or cancel it: `wrs-token login --cancel {}`",
                profile.unwrap_or("NAME")
            ))
        }
        other => Failure::from_client(other, profile),
    }
}

fn finished(done: &LoggedIn) -> Result<(), Failure> {
    say(&format!(
        "Logged in to profile {}; token valid until {}\n",
        done.profile,
        valid_until(done.expires_at, now_unix())
    ));
    Ok(())
}

/// `2026-11-28T09:15:00Z (in 59m 30s)`.
pub fn valid_until(expires_at: u64, now: u64) -> String {
    format!(
        "{} (in {})",
        rfc3339(expires_at),
        human_duration(secs_until(expires_at, now))
    )
}

/// Progress while waiting: a spinner redrawn in place on a terminal, one
/// line otherwise (a log must not fill up with frames). Redrawing pads with
/// spaces rather than using escape sequences, which not every Windows
/// console understands.
struct Progress {
    terminal: bool,
    frame: usize,
    announced: bool,
    /// Characters of the longest line drawn so far.
    width: usize,
}

const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

impl Progress {
    fn new(terminal: bool) -> Self {
        Progress {
            terminal,
            frame: 0,
            announced: false,
            width: 0,
        }
    }

    fn tick(&mut self, left: Duration) {
        // Rounded up: "5m 0s" at the start, not "4m 59s".
        let left = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        if self.terminal {
            let frame = FRAMES[self.frame % FRAMES.len()];
            self.frame += 1;
            let line = format!(
                "{frame} Waiting for the login to finish ({} left)",
                human_duration(left)
            );
            let len = line.chars().count();
            self.width = self.width.max(len);
            say(&format!("\r{line}{}", " ".repeat(self.width - len)));
        } else if !self.announced {
            say(&format!(
                "Waiting for the login to finish (up to {})…\n",
                human_duration(left)
            ));
        }
        self.announced = true;
    }

    fn clear(&mut self) {
        if self.terminal && self.announced {
            // Blank the line and return to its start: the next message
            // starts clean.
            say(&format!("\r{}\r", " ".repeat(self.width)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ProfileChoice;

    fn args() -> LoginArgs {
        LoginArgs {
            choice: ProfileChoice {
                name: None,
                profile: None,
            },
            no_browser: false,
            device: false,
            paste: false,
            refresh_token_stdin: false,
            cancel: false,
            timeout: 300,
        }
    }

    fn prompt() -> LoginPrompt {
        LoginPrompt {
            login_id: "l1".into(),
            profile: "plm".into(),
            url: Some("https://sso/authorize?x=1".into()),
            user_code: None,
            url_complete: None,
            expects_paste: false,
            expires_in: 300,
        }
    }

    #[test]
    fn flags_choose_the_method_and_browser_is_the_default() {
        assert_eq!(method(&args()), LoginMethod::Browser);
        let mut a = args();
        a.no_browser = true;
        assert_eq!(method(&a), LoginMethod::NoBrowser);
        let mut a = args();
        a.device = true;
        assert_eq!(method(&a), LoginMethod::Device);
        let mut a = args();
        a.paste = true;
        assert_eq!(method(&a), LoginMethod::Paste);
    }

    #[test]
    fn browser_mode_always_prints_the_url_too() {
        let text = instructions(&prompt(), LoginMethod::Browser);
        assert!(
            text.contains("If the browser did not open, visit:"),
            "{text}"
        );
        assert!(text.contains("https://sso/authorize?x=1"), "{text}");
        let text = instructions(&prompt(), LoginMethod::NoBrowser);
        assert!(!text.contains("Opening the browser"), "{text}");
        assert!(text.contains("https://sso/authorize?x=1"), "{text}");
    }

    #[test]
    fn device_mode_shows_the_code_on_its_own_line_and_the_complete_url() {
        let p = LoginPrompt {
            url: Some("https://sso/device".into()),
            user_code: Some("WDJB-MJHT".into()),
            url_complete: Some("https://sso/device?user_code=WDJB-MJHT".into()),
            ..prompt()
        };
        let text = instructions(&p, LoginMethod::Device);
        assert!(text.contains("\n    https://sso/device\n"), "{text}");
        assert!(text.contains("\n    WDJB-MJHT\n"), "{text}");
        assert!(
            text.contains("https://sso/device?user_code=WDJB-MJHT"),
            "{text}"
        );
    }

    #[test]
    fn a_prompt_without_url_just_says_what_happens() {
        let p = LoginPrompt {
            url: None,
            ..prompt()
        };
        assert_eq!(
            instructions(&p, LoginMethod::Browser),
            "Logging in to profile plm…\n"
        );
    }

    #[test]
    fn paste_mode_says_what_to_copy() {
        let p = LoginPrompt {
            expects_paste: true,
            ..prompt()
        };
        let text = instructions(&p, LoginMethod::Paste);
        assert!(text.contains("copy the address"), "{text}");
    }

    #[test]
    fn busy_means_another_login_is_running() {
        let e = ClientError::Daemon(wrs_proto::ErrorResponse::new(ErrorKind::Busy, "busy"));
        let f = login_failure(e, Some("plm"));
        assert_eq!(f.message, "another login for plm is in progress");
        assert_eq!(f.exit, Exit::Failure);
        let e = ClientError::Daemon(wrs_proto::ErrorResponse::new(
            ErrorKind::AuthorizationServer,
            "access denied",
        ));
        assert_eq!(
            login_failure(e, Some("plm")).exit,
            Exit::AuthorizationServer
        );
    }

    #[test]
    fn busy_names_the_cancel_command() {
        let e = ClientError::Daemon(wrs_proto::ErrorResponse::new(ErrorKind::Busy, "busy"));
        let hint = login_failure(e, Some("plm")).hint.unwrap();
        assert!(hint.contains("wrs-token login --cancel plm"), "{hint}");
    }

    fn ssh_prompt() -> LoginPrompt {
        LoginPrompt {
            url: Some(
                "https://sso/as/authorization.oauth2?client_id=wrs-cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A43123%2Fcallback&state=x"
                    .into(),
            ),
            ..prompt()
        }
    }

    #[test]
    fn over_ssh_no_browser_names_device_and_the_exact_port_forward() {
        let env = |name: &str| match name {
            "SSH_CONNECTION" => Some("10.0.0.5 51234 10.0.0.9 2222".to_owned()),
            "USER" => Some("alice".to_owned()),
            _ => None,
        };
        let hint = ssh_hint(&ssh_prompt(), env).unwrap();
        assert!(hint.contains("wrs-token login plm --device"), "{hint}");
        assert!(
            hint.contains("ssh -p 2222 -L 43123:127.0.0.1:43123 alice@10.0.0.9"),
            "{hint}"
        );
        let tty_only = |name: &str| (name == "SSH_TTY").then(|| "/dev/pts/3".to_owned());
        let hint = ssh_hint(&ssh_prompt(), tty_only).unwrap();
        assert!(hint.contains("-L 43123:127.0.0.1:43123 "), "{hint}");
    }

    #[test]
    fn no_ssh_hint_off_ssh_or_without_a_loopback_redirect() {
        assert_eq!(ssh_hint(&ssh_prompt(), |_| None), None);
        let ssh = |name: &str| (name == "SSH_TTY").then(|| "/dev/pts/3".to_owned());
        assert_eq!(ssh_hint(&prompt(), ssh), None, "no redirect_uri");
        let device = LoginPrompt {
            user_code: Some("WDJB-MJHT".into()),
            ..ssh_prompt()
        };
        assert_eq!(ssh_hint(&device, ssh), None);
        assert_eq!(
            loopback_redirect("https://sso/a?redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"),
            None
        );
    }

    #[test]
    fn timeout_names_the_profile_and_the_command() {
        let f = timed_out("plm", 300);
        assert_eq!(
            f.message,
            "login timed out after 300 s; run `wrs-token login plm` again"
        );
    }

    #[test]
    fn validity_is_shown_in_utc_with_the_time_left() {
        assert_eq!(
            valid_until(1_700_003_600, 1_700_000_000),
            "2023-11-14T23:13:20Z (in 1h 0m)"
        );
    }
}
