//! `wrs-token daemon start|stop|status|reload`: the daemon's life, on request.

use std::time::{Duration, Instant};

use wrs_proto::{Request, Response, StatusReport};

use crate::cli::DaemonCommand;
use crate::client::{self, Client, ClientError, QUICK_TIMEOUT, autostart};
use crate::exit::{Exit, Failure};
use crate::output::{human_duration, write_stdout};

/// How long `stop` waits for the socket to stop answering.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// `wrs-token daemon …`.
pub fn run(client: &Client, command: DaemonCommand) -> Result<(), Failure> {
    match command {
        DaemonCommand::Start => start(client),
        DaemonCommand::Stop => stop(client),
        DaemonCommand::Status => status(client),
        DaemonCommand::Reload => reload(client),
    }
}

fn reload(client: &Client) -> Result<(), Failure> {
    match client.reload_if_running()? {
        Some(profiles) => write_stdout(
            format!("daemon reloaded the configuration ({profiles} profiles)\n").as_bytes(),
        ),
        None => write_stdout(b"daemon not running (it reads the configuration when it starts)\n"),
    }
}

fn start(client: &Client) -> Result<(), Failure> {
    let endpoint = client.endpoint();
    let (report, verb) = match client::try_connect(endpoint)? {
        Some(conn) => (client::status_of(conn)?, "already running"),
        None => {
            // An explicit start ignores --no-autostart: this is the user
            // asking for it.
            autostart::start(endpoint).map_err(ClientError::from)?;
            let conn = client::try_connect(endpoint)?.ok_or_else(|| {
                ClientError::from(autostart::StartError::NoAnswer {
                    socket: endpoint.socket.clone(),
                })
            })?;
            (client::status_of(conn)?, "started")
        }
    };
    let line = format!(
        "daemon {verb} (pid {}, version {}, socket {})\n",
        report.pid, report.daemon_version, report.socket
    );
    write_stdout(line.as_bytes())
}

fn stop(client: &Client) -> Result<(), Failure> {
    let endpoint = client.endpoint();
    let Some(conn) = client::try_connect(endpoint)? else {
        return write_stdout(b"daemon not running\n");
    };
    let pid = conn.peer_pid();
    match conn.call(Request::Shutdown {}, QUICK_TIMEOUT) {
        Ok(Response::ShuttingDown {}) => {}
        Ok(other) => return Err(client::unexpected("shutdown", &other).into()),
        // A daemon of another protocol version refuses our Shutdown like any
        // other request; the fix we advertise for a version mismatch is
        // `daemon stop`, so it must work then too: signal the process.
        Err(e) if e.is_version_problem() => terminate(pid, e)?,
        Err(e) => return Err(e.into()),
    }
    wait_until_gone(client, STOP_TIMEOUT, pid)?;
    write_stdout(b"daemon stopped\n")
}

/// Polls the socket until nobody answers. There is no event to wait for
/// once the daemon has acknowledged the shutdown: the socket going quiet is
/// the signal.
fn wait_until_gone(client: &Client, timeout: Duration, pid: Option<u32>) -> Result<(), Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        if client::try_connect(client.endpoint())?.is_none() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
            return Err(Failure::new(
                Exit::Failure,
                format!(
                    "the daemon{who} still answers {} s after the shutdown request",
                    timeout.as_secs()
                ),
            )
            .with_hint("it may be finishing a refresh; try again, or stop the process by hand"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
fn terminate(pid: Option<u32>, cause: ClientError) -> Result<(), Failure> {
    let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Err(Failure::from(cause)
            .with_hint("the daemon cannot be asked to stop; end the wrs-tokend process by hand"));
    };
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).map_err(|e| {
        Failure::new(
            Exit::Failure,
            format!("cannot stop the daemon (pid {}): {e}", pid.as_raw_nonzero()),
        )
    })
}

#[cfg(not(unix))]
fn terminate(_pid: Option<u32>, cause: ClientError) -> Result<(), Failure> {
    Err(Failure::from(cause)
        .with_hint("the daemon cannot be asked to stop; end the wrs-tokend process by hand"))
}

fn status(client: &Client) -> Result<(), Failure> {
    let endpoint = client.endpoint();
    let Some(conn) = client::try_connect(endpoint)? else {
        return Err(Failure::from(ClientError::NotRunning {
            socket: endpoint.socket.clone(),
        })
        .with_hint("start it with `wrs-token daemon start`"));
    };
    let report = client::status_of(conn)?;
    write_stdout(render(&report).as_bytes())
}

/// `daemon status` output.
pub fn render(report: &StatusReport) -> String {
    format!(
        "running\npid       {}\nversion   {}\nprotocol  {}\nsocket    {}\nuptime    {}\n",
        report.pid,
        report.daemon_version,
        report.protocol_version,
        report.socket,
        human_duration(report.uptime_secs)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_pid_version_protocol_and_socket() {
        let text = render(&StatusReport {
            daemon_version: "0.1.0".into(),
            protocol_version: 1,
            pid: 77,
            uptime_secs: 61,
            socket: "/s".into(),
            profiles: vec![],
            config_file: String::new(),
            config_error: None,
        });
        assert_eq!(
            text,
            "running\npid       77\nversion   0.1.0\nprotocol  1\nsocket    /s\nuptime    1m 1s\n"
        );
    }
}
