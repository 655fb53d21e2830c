//! A profile's network checks, asked of `wrs-tokend probe NAME --json`.
//!
//! This client has no HTTP stack, by design; the daemon's binary has the
//! one the daemon uses, so it answers with what the daemon would meet
//! (proxy, TLS trust, discovery and issuer, token endpoint, client
//! authentication, clock). The probe starts no daemon, takes no lock and
//! writes nothing. Its report is [`wrs_proto::probe::ProbeReport`].
//!
//! Below the commands: `doctor` shows every check; `profile add` runs the
//! same probe on the profile it is about to add ([`Prober::check_new`]),
//! from a temporary config file and with the secret on the probe's stdin,
//! before anything is written or stored. `status`, when no daemon runs,
//! asks `wrs-tokend stored --json` which profiles have a stored login
//! ([`Prober::stored`]): the secret stores are the daemon binary's too.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use wrs_proto::probe::{PROBE_VERSION, ProbeReport, ReportError};
use wrs_proto::stored::{STORED_VERSION, StoredReport};

use crate::client::autostart;
use crate::programs::locate;

/// How long a probe may run. Each of its requests has the daemon's own
/// timeouts (10 s to connect, 30 s in all); this bounds the whole, a
/// secret store that never answers included.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// How long `wrs-tokend stored` may run: it only reads the stores, and
/// `status` should not hang on a keyring that never answers.
pub const STORED_DEADLINE: Duration = Duration::from_secs(10);

/// Why there is no report.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No `wrs-tokend` to run.
    #[error("{} not found", program.display())]
    NotFound {
        /// What was looked for.
        program: PathBuf,
    },
    /// It could not be started.
    #[error("cannot run {}: {source}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// It ran past its deadline and was stopped.
    #[error("{} took more than {} s and was stopped", program.display(), after.as_secs())]
    TimedOut {
        /// The program.
        program: PathBuf,
        /// The deadline it ran past.
        after: Duration,
    },
    /// It printed no report: the profile cannot be read, or it crashed.
    #[error("{} gave no report ({status}){}", program.display(), said(stderr))]
    NoReport {
        /// The program.
        program: PathBuf,
        /// How it ended.
        status: ExitStatus,
        /// The last line of its stderr.
        stderr: String,
    },
    /// Its report is of another version: the two binaries come from
    /// different installations.
    #[error(
        "{} writes reports of version {theirs}, this wrs-token reads version {ours}",
        program.display()
    )]
    Version {
        /// The program.
        program: PathBuf,
        /// The version it wrote.
        theirs: u32,
        /// The version this client reads.
        ours: u32,
    },
}

fn said(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// The `wrs-tokend` to run, found as autostart finds it: `$WRS_TOKEND`,
/// else beside this `wrs-token`, else on `PATH`.
pub struct Prober {
    program: PathBuf,
}

impl Prober {
    /// The installed `wrs-tokend`, or what was looked for.
    pub fn locate() -> Result<Prober, ProbeError> {
        let current_exe = std::env::current_exe().ok();
        let program = autostart::daemon_program(
            std::env::var_os(wrs_sys::env::TOKEND),
            current_exe.as_deref(),
        );
        match locate(&program) {
            Some(program) => Ok(Prober { program }),
            None => Err(ProbeError::NotFound { program }),
        }
    }

    /// The program that runs the probes.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Starts probing `profile`; several probes may run at once.
    pub fn start(&self, profile: &str) -> Result<Running, ProbeError> {
        let mut command = Command::new(&self.program);
        command
            .args(["probe", profile, "--json"])
            .stdin(Stdio::null());
        self.spawn(command, DEADLINE)
    }

    /// Probes `profile` of the config file `config` (not the user's: a
    /// profile not added yet), checking `secret` instead of a stored one.
    pub fn check_new(
        &self,
        profile: &str,
        config: &Path,
        secret: Option<&wrs_proto::Secret>,
    ) -> Result<ProbeReport, ProbeError> {
        let mut command = Command::new(&self.program);
        command
            .args(["probe", profile, "--json"])
            .env(wrs_sys::env::CONFIG, config);
        if secret.is_some() {
            command.arg("--client-secret-stdin").stdin(Stdio::piped());
        } else {
            command.stdin(Stdio::null());
        }
        let mut running = self.spawn(command, DEADLINE)?;
        if let (Some(secret), Some(mut stdin)) = (secret, running.child.stdin.take()) {
            // A secret is far smaller than a pipe's buffer, and the probe
            // reads all of stdin before anything else: no deadlock. A
            // failed write shows as the probe's own complaint.
            let _ = std::io::Write::write_all(&mut stdin, secret.expose().as_bytes());
        }
        running.wait()
    }

    fn spawn(&self, mut command: Command, limit: Duration) -> Result<Running, ProbeError> {
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ProbeError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        Ok(Running {
            child,
            program: self.program.clone(),
            started: Instant::now(),
            limit,
        })
    }

    /// Probes `profile` and waits for the report.
    pub fn run(&self, profile: &str) -> Result<ProbeReport, ProbeError> {
        self.start(profile)?.wait()
    }

    /// Which profiles have a login in their secret store, and whose
    /// (`wrs-tokend stored --json`): what `status` shows when no daemon
    /// runs. It only reads, so it gets [`STORED_DEADLINE`], not a probe's.
    pub fn stored(&self) -> Result<StoredReport, ProbeError> {
        let mut command = Command::new(&self.program);
        command.args(["stored", "--json"]).stdin(Stdio::null());
        self.spawn(command, STORED_DEADLINE)?.read(
            StoredReport::from_json,
            STORED_VERSION,
            "a report of stored logins",
        )
    }
}

/// A probe under way.
pub struct Running {
    child: Child,
    program: PathBuf,
    started: Instant,
    /// How long it may run.
    limit: Duration,
}

impl Running {
    /// Waits for the report (until the deadline).
    pub fn wait(self) -> Result<ProbeReport, ProbeError> {
        self.read(ProbeReport::from_json, PROBE_VERSION, "a probe report")
    }

    /// Waits (until the deadline) for the program to exit with something
    /// on stdout, and reads that with `parse`, which reads reports of
    /// version `ours`; `what` names the report when it is not one.
    fn read<T>(
        self,
        parse: fn(&str) -> Result<T, ReportError>,
        ours: u32,
        what: &str,
    ) -> Result<T, ProbeError> {
        let program = self.program.clone();
        let (status, stdout) = self.output()?;
        parse(&stdout).map_err(|e| match e {
            ReportError::Version { theirs } => ProbeError::Version {
                program,
                theirs,
                ours,
            },
            ReportError::Malformed(_) => ProbeError::NoReport {
                program,
                status,
                stderr: format!("its output is not {what}"),
            },
        })
    }

    /// Waits (until the deadline) for the program to exit with something
    /// on stdout: its status and that output.
    fn output(mut self) -> Result<(ExitStatus, String), ProbeError> {
        // A report is a few KiB, well within a pipe's buffer: the child
        // never blocks on its output before it exits, so polling suffices.
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if self.started.elapsed() < self.limit => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) | Err(_) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(ProbeError::TimedOut {
                        program: self.program,
                        after: self.limit,
                    });
                }
            }
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        if stdout.trim().is_empty() {
            let last = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty());
            return Err(ProbeError::NoReport {
                program: self.program,
                status,
                stderr: last.unwrap_or_default().to_owned(),
            });
        }
        Ok((status, stdout))
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn prober(dir: &Path, body: &str) -> Prober {
        let program = dir.join("wrs-tokend");
        wrs_testkit::process::write_script(&program, body);
        Prober { program }
    }

    #[test]
    fn the_report_on_stdout_is_read_whatever_the_exit_status() {
        let dir = tempfile::tempdir().unwrap();
        let report = ProbeReport::new("plm").to_json();
        let p = prober(dir.path(), &format!("echo '{report}'; exit 1"));
        assert_eq!(p.run("plm").unwrap(), ProbeReport::new("plm"));
    }

    #[test]
    fn no_report_says_what_the_probe_said_and_another_version_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = prober(
            dir.path(),
            "echo 'wrs-tokend: profile plm is not configured' >&2; exit 1",
        );
        let e = p.run("plm").unwrap_err();
        assert!(
            e.to_string()
                .ends_with(": wrs-tokend: profile plm is not configured"),
            "{e}"
        );
        let p = prober(dir.path(), r#"echo '{"version": 999}'"#);
        assert!(matches!(
            p.run("plm"),
            Err(ProbeError::Version { theirs: 999, .. })
        ));
    }
}
