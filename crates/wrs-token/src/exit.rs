//! Exit codes and the one-line error report.
//!
//! The codes are part of the interface (scripts branch on them) and never
//! change meaning:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | any other failure |
//! | 2 | usage error (clap's own code for bad arguments) |
//! | 3 | login required: run `wrs-token login <profile>` |
//! | 4 | daemon unreachable: not running with autostart off, failed to start, timed out, speaks another protocol version, or the socket is not trusted (its directory or its listener belongs to someone else) |
//! | 5 | the authorization server refused, or could not be reached |

use std::fmt;
use std::io::Write as _;
use std::process::{ExitCode, ExitStatus};

use wrs_proto::{ErrorKind, ErrorResponse, PROTOCOL_VERSION};
use wrs_sys::env;

use crate::client::{ClientError, StartError};

/// A stable exit code. See the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 0: it worked.
    Success = 0,
    /// 1: any failure without a more specific code.
    Failure = 1,
    /// 2: bad command-line arguments.
    Usage = 2,
    /// 3: the profile needs an interactive login.
    LoginRequired = 3,
    /// 4: the daemon cannot be reached or understood.
    DaemonUnreachable = 4,
    /// 5: the authorization server refused or could not be reached.
    AuthorizationServer = 5,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit code for a daemon error kind.
    pub fn for_kind(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::LoginRequired => Exit::LoginRequired,
            ErrorKind::VersionMismatch | ErrorKind::DaemonBusy => Exit::DaemonUnreachable,
            ErrorKind::AuthorizationServer | ErrorKind::Network => Exit::AuthorizationServer,
            ErrorKind::UnknownProfile
            | ErrorKind::NoProfile
            | ErrorKind::Busy
            | ErrorKind::BadRequest
            | ErrorKind::Config
            | ErrorKind::Store
            | ErrorKind::LoginFailed
            | ErrorKind::Internal => Exit::Failure,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// The hint for a daemon that speaks another protocol version.
pub const RESTART_HINT: &str =
    "run `wrs-token daemon stop`, then retry (the new daemon starts automatically)";

/// A failed command: what to print and how to exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// One line, without the `wrs-token: ` prefix.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with a message and no hint.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The text for stderr: `wrs-token: <message>`, then `hint: <hint>`.
    pub fn report(&self) -> String {
        let mut out = format!("wrs-token: {}\n", one_line(&self.message));
        if let Some(hint) = &self.hint {
            out.push_str(&format!("hint: {}\n", one_line(hint)));
        }
        out
    }

    /// A client error for a request about `profile` (`None`: the default).
    pub fn from_client(err: ClientError, profile: Option<&str>) -> Self {
        match err {
            ClientError::Daemon(e) => Failure::from_daemon(e, profile),
            other => Failure::from(other),
        }
    }

    /// A daemon's error answer to a request about `profile`.
    pub fn from_daemon(e: ErrorResponse, profile: Option<&str>) -> Self {
        let exit = Exit::for_kind(e.kind);
        match e.kind {
            ErrorKind::LoginRequired => {
                let command = match profile {
                    Some(p) => format!("wrs-token login {p}"),
                    None => "wrs-token login".to_owned(),
                };
                let mut message = format!("login required: run `{command}`");
                // Keep the daemon's reason unless it is only the same advice.
                if !e.message.is_empty() && !e.message.contains("wrs-token login") {
                    message.push_str(&format!(" ({})", e.message));
                }
                Failure {
                    exit,
                    message,
                    hint: e.hint,
                }
            }
            ErrorKind::VersionMismatch => Failure::new(
                exit,
                format!(
                    "the daemon speaks protocol version {}, this wrs-token speaks version {PROTOCOL_VERSION}",
                    e.protocol_version
                ),
            )
            .with_hint(RESTART_HINT),
            _ => {
                let mut message = e.message;
                if let Some(code) = e.oauth_error.filter(|c| !message.contains(c.as_str())) {
                    message.push_str(&format!(" ({code})"));
                }
                Failure {
                    exit,
                    message,
                    hint: e.hint,
                }
            }
        }
    }
}

impl From<ClientError> for Failure {
    fn from(err: ClientError) -> Self {
        let err = match err {
            ClientError::Daemon(e) => return Failure::from_daemon(e, None),
            other => other,
        };
        let message = err.to_string();
        let unreachable =
            |hint: &str| Failure::new(Exit::DaemonUnreachable, message.clone()).with_hint(hint);
        match &err {
            ClientError::Daemon(e) => Failure::from_daemon(e.clone(), None),
            ClientError::Endpoint(_) => Failure::new(Exit::Failure, message).with_hint(format!(
                "set {} or --socket to an absolute path",
                env::SOCKET
            )),
            ClientError::NotRunning { .. } => unreachable(&format!(
                "start it with `wrs-token daemon start`, or allow autostart \
                 (drop --no-autostart / {})",
                env::NO_AUTOSTART
            )),
            ClientError::Unserved { socket } => unreachable(&format!(
                "a socket forwarded with `ssh -R` whose connection is gone? connect again; \
                 to use this machine's own daemon, unset {}; if it is a daemon of yours that \
                 stopped, start it: `wrs-tokend --socket {}`",
                env::SOCKET,
                socket.display()
            )),
            ClientError::Connect { .. } => {
                unreachable("check the socket's owner and permissions, or set --socket")
            }
            ClientError::Untrusted { socket, reason } => unreachable(&reason.hint(socket)),
            ClientError::Start(StartError::NotFound { .. }) => unreachable(&format!(
                "install wrs-tokend beside wrs-token or on PATH, or set {}",
                env::TOKEND
            )),
            ClientError::Start(_) => {
                unreachable("run `wrs-tokend --foreground` to see why it does not start")
            }
            ClientError::Timeout { .. } => unreachable(
                "the daemon may be stuck: see `wrs-token daemon status`, \
                 restart it with `wrs-token daemon stop`",
            ),
            ClientError::Wire(_) if err.is_version_problem() => unreachable(RESTART_HINT),
            ClientError::Wire(_) | ClientError::NoAnswer => {
                unreachable("see `wrs-token daemon status`; the daemon's log may say more")
            }
            ClientError::BadEnvironment { .. } => Failure::new(Exit::Usage, message)
                .with_hint("set it to whole seconds, e.g. 30, or unset it"),
            ClientError::Unexpected { .. } => {
                Failure::new(Exit::Failure, message).with_hint(RESTART_HINT)
            }
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Keeps a report to one line per part, whatever a daemon or launcher sent.
pub(crate) fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The exit status a shell would report for a child's `status`: its code,
/// or 128 + the signal that ended it.
pub fn exit_code(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    1
}

/// Ends this process with the child's exit status (see [`exit_code`]).
/// The caller drops whatever needs cleaning up first: destructors do not
/// run past this point.
pub fn exit_with(status: ExitStatus) -> ! {
    let _ = std::io::stdout().flush();
    std::process::exit(exit_code(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_KINDS: [ErrorKind; 13] = [
        ErrorKind::LoginRequired,
        ErrorKind::UnknownProfile,
        ErrorKind::NoProfile,
        ErrorKind::AuthorizationServer,
        ErrorKind::Network,
        ErrorKind::VersionMismatch,
        ErrorKind::Busy,
        ErrorKind::BadRequest,
        ErrorKind::Config,
        ErrorKind::Store,
        ErrorKind::LoginFailed,
        ErrorKind::Internal,
        ErrorKind::DaemonBusy,
    ];

    #[test]
    fn every_error_kind_has_its_documented_exit_code() {
        for kind in ALL_KINDS {
            let expected = match kind {
                ErrorKind::LoginRequired => 3,
                ErrorKind::VersionMismatch | ErrorKind::DaemonBusy => 4,
                ErrorKind::AuthorizationServer | ErrorKind::Network => 5,
                _ => 1,
            };
            assert_eq!(Exit::for_kind(kind).code(), expected, "{kind:?}");
            let failure = Failure::from_daemon(ErrorResponse::new(kind, "x"), None);
            assert_eq!(failure.exit.code(), expected, "{kind:?} via Failure");
        }
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(
            [
                Exit::Success,
                Exit::Failure,
                Exit::Usage,
                Exit::LoginRequired,
                Exit::DaemonUnreachable,
                Exit::AuthorizationServer
            ]
            .map(Exit::code),
            [0, 1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn login_required_names_the_command_to_run() {
        let e = ErrorResponse::new(ErrorKind::LoginRequired, "refresh token rejected");
        let f = Failure::from_daemon(e.clone(), Some("plm"));
        assert_eq!(
            f.message,
            "login required: run `wrs-token login plm` (refresh token rejected)"
        );
        let f = Failure::from_daemon(e, None);
        assert!(
            f.message
                .starts_with("login required: run `wrs-token login`")
        );
        let same = ErrorResponse::new(
            ErrorKind::LoginRequired,
            "login required: run `wrs-token login plm`",
        );
        assert_eq!(
            Failure::from_daemon(same, Some("plm")).message,
            "login required: run `wrs-token login plm`"
        );
    }

    #[test]
    fn version_mismatch_names_both_versions_and_the_fix() {
        let mut e = ErrorResponse::new(ErrorKind::VersionMismatch, "mismatch");
        e.protocol_version = PROTOCOL_VERSION + 1;
        let f = Failure::from_daemon(e, None);
        assert_eq!(f.exit, Exit::DaemonUnreachable);
        assert!(
            f.message
                .contains(&format!("version {}", PROTOCOL_VERSION + 1))
        );
        assert!(f.message.contains(&format!("version {PROTOCOL_VERSION}")));
        assert_eq!(f.hint.as_deref(), Some(RESTART_HINT));
    }

    #[test]
    fn oauth_error_code_is_shown_once() {
        let e = ErrorResponse::new(ErrorKind::AuthorizationServer, "client rejected")
            .with_oauth_error("invalid_client")
            .with_hint("check the client secret");
        let f = Failure::from_daemon(e, None);
        assert_eq!(f.message, "client rejected (invalid_client)");
        assert_eq!(
            f.report(),
            "wrs-token: client rejected (invalid_client)\nhint: check the client secret\n"
        );
    }

    #[test]
    fn report_is_one_line_per_part() {
        let f = Failure::new(Exit::Failure, "a\nb\r\n").with_hint("c\nd");
        assert_eq!(f.report(), "wrs-token: a b\nhint: c d\n");
    }

    #[test]
    fn transport_failures_are_daemon_unreachable() {
        let cases = [
            ClientError::NotRunning {
                socket: "/x".into(),
            },
            ClientError::Timeout {
                timeout: std::time::Duration::from_secs(30),
            },
            ClientError::NoAnswer,
            ClientError::Unserved {
                socket: "/home/u/.wrs-token/agent.sock".into(),
            },
            ClientError::Wire(wrs_proto::WireError::Truncated),
            ClientError::Start(StartError::NotFound {
                program: "wrs-tokend".into(),
            }),
        ];
        for err in cases {
            let f = Failure::from(err);
            assert_eq!(f.exit, Exit::DaemonUnreachable, "{f:?}");
            assert!(f.hint.is_some(), "{f:?}");
        }
    }

    #[test]
    fn an_untrusted_socket_is_exit_4_naming_the_path_with_a_way_out() {
        let f = Failure::from(ClientError::Untrusted {
            socket: "/tmp/wrs-token-1000/agent.sock".into(),
            reason: crate::client::Distrust::Directory {
                dir: "/tmp/wrs-token-1000".into(),
                why: wrs_sys::private_dir::Unfit::Owner {
                    owner: 1001,
                    ours: 1000,
                },
            },
        });
        assert_eq!(f.exit, Exit::DaemonUnreachable);
        assert_eq!(
            f.message,
            "refusing to use the daemon socket /tmp/wrs-token-1000/agent.sock: its directory \
             /tmp/wrs-token-1000 belongs to uid 1001, not to you (uid 1000); nothing was sent"
        );
        let hint = f.hint.unwrap_or_default();
        assert!(hint.contains("XDG_RUNTIME_DIR"), "{hint}");
    }

    #[test]
    fn undecodable_answer_suggests_restarting_the_daemon() {
        let f = Failure::from(ClientError::Wire(wrs_proto::WireError::Decode("x".into())));
        assert_eq!(f.exit, Exit::DaemonUnreachable);
        assert_eq!(f.hint.as_deref(), Some(RESTART_HINT));
    }
    #[cfg(unix)]
    #[test]
    fn signals_become_128_plus_their_number() {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        // Raw wait status 15: killed by SIGTERM.
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }
}
