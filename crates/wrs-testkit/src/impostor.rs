//! Another local user's listener where a client looks for its daemon: what
//! a squatter under a shared temp dir leaves behind. It counts the
//! connections and bytes it receives, so a test can show that a client
//! refused before sending anything.
//!
//! The tests run as root; the other user is `wrs-e2e-other`, which
//! `scripts/setup-test-env` creates, and processes run as that user through
//! `setpriv`. A missing precondition is a test failure that says what to
//! do, never a silent skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use wrs_sys::endpoint::Endpoint;

/// The unprivileged user `scripts/setup-test-env` creates.
pub const OTHER_USER: &str = "wrs-e2e-other";

/// What the sentinel connection sends to end the listener.
const END: &[u8] = b"WRS-E2E-END";

/// The listener, run by the other user's python3. After the first bytes of
/// a connection it waits briefly for more, so a client that sends a request
/// and then waits for an answer is still counted at once.
const LISTENER: &str = r#"
import os, socket, sys
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
os.chmod(path, 0o777)
srv.listen(16)
print("ready", flush=True)
connections = received = 0
while True:
    conn, _ = srv.accept()
    conn.settimeout(10)
    data = b""
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.startswith(b"WRS-E2E-END"):
                break
            conn.settimeout(0.5)
    except OSError:
        pass
    conn.close()
    if data.startswith(b"WRS-E2E-END"):
        print("connections=%d bytes=%d" % (connections, received), flush=True)
        break
    connections += 1
    received += len(data)
    print("connection bytes=%d first=%r" % (len(data), data[:60]), flush=True)
"#;

/// The other user's ids.
#[derive(Debug, Clone, Copy)]
pub struct OtherUser {
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
}

fn id_of(flag: &str) -> Result<u32, String> {
    let out = Command::new("id")
        .args([flag, OTHER_USER])
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the user {OTHER_USER} is missing: run scripts/setup-test-env as root \
             (these tests play another local user): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("id {flag} {OTHER_USER}: {e}"))
}

impl OtherUser {
    /// The other user, after checking every precondition: we are root (to
    /// act as it), it exists, and `setpriv` and a python3 it may run exist.
    /// Panics naming the missing one.
    pub fn get() -> OtherUser {
        OtherUser::find().unwrap_or_else(|why| panic!("{why}"))
    }

    /// As [`OtherUser::get`], with what is missing as the error, for a test
    /// that `require!`s it.
    pub fn find() -> Result<OtherUser, String> {
        let me = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("cannot run id -u: {e}"))?;
        if String::from_utf8_lossy(&me.stdout).trim() != "0" {
            return Err(format!(
                "these tests must run as root: they act as the user {OTHER_USER} through setpriv"
            ));
        }
        let user = OtherUser {
            uid: id_of("-u")?,
            gid: id_of("-g")?,
        };
        let probe = user
            .command("python3")
            .args(["-c", "import os; print(os.geteuid())"])
            .output()
            .map_err(|e| {
                format!("setpriv is needed (util-linux; scripts/setup-test-env installs it): {e}")
            })?;
        if !probe.status.success()
            || String::from_utf8_lossy(&probe.stdout).trim() != user.uid.to_string()
        {
            return Err(format!(
                "cannot run python3 as {OTHER_USER} through setpriv (a system python3 in \
                 /usr/bin, scripts/setup-test-env): {}",
                String::from_utf8_lossy(&probe.stderr).trim()
            ));
        }
        Ok(user)
    }

    /// `program` as this user, with no supplementary groups.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg(program)
            // Only system directories: root's own PATH may run through
            // directories this user cannot enter (a pyenv under /root).
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .stdin(Stdio::null());
        cmd
    }

    /// Creates `dir` as this user, with `mode`: a squatter's directory.
    pub fn mkdir(&self, dir: &Path, mode: u32) {
        std::fs::create_dir(dir).expect("mkdir");
        std::os::unix::fs::chown(dir, Some(self.uid), Some(self.gid)).expect("chown");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

/// What the impostor received before it was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Connections accepted (the sentinel not counted).
    pub connections: u32,
    /// Bytes read from them, together.
    pub bytes: u64,
}

/// A listener running as the other user.
pub struct Impostor {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// Where its socket is now.
    pub socket: PathBuf,
}

impl Impostor {
    /// Starts the listener as `user`, bound at `socket` (whose directory
    /// `user` must be able to write), and returns once it listens.
    pub fn listen(user: &OtherUser, socket: &Path) -> Impostor {
        let mut child = user
            .command("python3")
            .arg("-c")
            .arg(LISTENER)
            .arg(socket)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the impostor through setpriv");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        if line.trim() != "ready" {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!(
                "the impostor did not start at {}: {line:?} {err}",
                socket.display()
            );
        }
        Impostor {
            child,
            stdout,
            socket: socket.to_owned(),
        }
    }

    /// Moves the socket file to `to` (we are root). The listener keeps
    /// listening, and the kernel keeps reporting its credentials to whoever
    /// connects: a socket of another user inside a private directory of ours.
    pub fn move_to(&mut self, to: &Path) {
        std::fs::rename(&self.socket, to).expect("move the impostor's socket");
        self.socket = to.to_owned();
    }

    /// Stops the listener and says what it received. The listener handles
    /// one connection at a time, so every client connection made before
    /// the sentinel is counted by the time the sentinel is.
    pub fn finish(mut self) -> Received {
        let mut sentinel = UnixStream::connect(&self.socket).expect("connect to the impostor");
        sentinel.write_all(END).expect("write the sentinel");
        drop(sentinel);
        let mut lines = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            match self.stdout.read_line(&mut line) {
                Ok(0) | Err(_) => panic!("the impostor ended without a summary: {lines:?}"),
                Ok(_) => {}
            }
            if let Some(summary) = line.trim().strip_prefix("connections=") {
                let (connections, bytes) = summary.split_once(" bytes=").expect("summary format");
                let _ = self.child.wait();
                return Received {
                    connections: connections.parse().expect("connections"),
                    bytes: bytes.parse().expect("bytes"),
                };
            }
            lines.push(line.trim().to_owned());
        }
    }
}

impl Drop for Impostor {
    fn drop(&mut self) {
        // Only after a failed test is it still running; `finish` waited.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A stand-in for a shared temp dir (`/tmp`, mode 1777) inside a fresh
/// directory the other user can reach, so the real `/tmp` is untouched.
pub struct SharedTmp {
    root: tempfile::TempDir,
}

impl SharedTmp {
    /// A new one.
    pub fn new() -> SharedTmp {
        let root = tempfile::Builder::new()
            .prefix("wrs-e2e-shared-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        // Others may pass through to the 1777 directory, as with /tmp.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711))
            .expect("chmod");
        let tmp = root.path().join("tmp");
        std::fs::create_dir(&tmp).expect("mkdir");
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        SharedTmp { root }
    }

    /// The directory to use as `TMPDIR`.
    pub fn path(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    /// Where a client of ours without `XDG_RUNTIME_DIR` or
    /// `WRS_TOKEN_SOCKET` looks for its daemon with this as `TMPDIR`.
    pub fn fallback_endpoint(&self) -> Endpoint {
        let tmp = self.path().into_os_string();
        Endpoint::resolve_with(|key| (key == "TMPDIR").then(|| tmp.clone()))
            .expect("the fallback endpoint")
    }
}

impl Default for SharedTmp {
    fn default() -> Self {
        Self::new()
    }
}
