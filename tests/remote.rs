//! Remote hosts: a build server's `wrs-token` uses the workstation's daemon
//! through a socket forwarded with `ssh -R remote.sock:local.sock`, as
//! ssh-agent and oidc-agent users do, and never starts a daemon of its own
//! there.
//!
//! End to end with Debian's OpenSSH: the test starts its own `sshd` on
//! 127.0.0.1 and a free port (its own config, host key and authorized key
//! in a temp dir; never the system service), and logs in as root to the
//! same machine: the remote side is a second login of the daemon's uid, as
//! on a build server where the user is the same person. Needs root (sshd
//! changes to the user it logs in) and `openssh-server`/`openssh-client`
//! (scripts/setup-test-env installs them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wrs_testkit::{Mock, Sandbox, bin, describe, require, stderr, stdout, wait_until};

const SSHD: &str = "/usr/sbin/sshd";

/// A private directory (0700), as the forwarded socket's must be.
fn private_dir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path.to_path_buf()
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen: {}", describe(&out));
}

/// An `sshd` of the test's own on 127.0.0.1, stopped on drop.
struct Sshd {
    child: Child,
    port: u16,
    /// The client key root's authorized keys hold.
    identity: PathBuf,
}

impl Sshd {
    fn start(dir: &Path) -> Sshd {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host_key = dir.join("host_key");
        let identity = dir.join("id");
        keygen(&host_key);
        keygen(&identity);
        let authorized = dir.join("authorized_keys");
        std::fs::copy(identity.with_extension("pub"), &authorized).unwrap();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
                 AuthorizedKeysFile {authorized}\nPubkeyAuthentication yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nUsePAM no\n\
                 # The temp dir sits under the world-writable /tmp.\n\
                 StrictModes no\n\
                 # What the README asks of a build server's sshd.\n\
                 AllowStreamLocalForwarding yes\nStreamLocalBindUnlink yes\n",
                host = host_key.display(),
                pid = dir.join("sshd.pid").display(),
                authorized = authorized.display(),
            ),
        )
        .unwrap();
        // Privilege separation needs its empty directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let sshd = Sshd {
            child,
            port,
            identity,
        };
        assert!(
            wait_until(Duration::from_secs(20), || TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "sshd does not listen; its log: {}",
            std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
        sshd
    }

    /// `ssh -R remote:local root@127.0.0.1 command`, non-interactive.
    fn run_with_forward(&self, remote: &Path, local: &Path, command: &str) -> std::process::Output {
        Command::new("ssh")
            .args(["-F", "/dev/null", "-i"])
            .arg(&self.identity)
            .args([
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ExitOnForwardFailure=yes",
                "-p",
                &self.port.to_string(),
                "-R",
            ])
            .arg(format!("{}:{}", remote.display(), local.display()))
            .arg("root@127.0.0.1")
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_socket_forwarded_with_ssh_r_serves_the_remote_client_and_no_daemon_starts_there() {
    require!(
        is_root(),
        "root: sshd logs the test in as root (CI runs the tests as root)"
    );
    require!(
        Path::new(SSHD).exists() && Command::new("ssh").arg("-V").output().is_ok(),
        "openssh-server and openssh-client (scripts/setup-test-env installs them)"
    );
    let mock = Mock::start();
    let sb = Sandbox::new();
    sb.add_public_profile("plm", &mock.ready.issuer, "memory", &[]);
    let minted = mock.admin(
        "tokens",
        r#"{"client_id":"wrs-cli","scope":"openid offline_access WINDCHILL"}"#,
    );
    let out = sb.run_with_stdin(
        &["login", "plm", "--refresh-token-stdin"],
        &format!("{}\n", minted["refresh_token"].as_str().unwrap()),
    );
    assert!(out.status.success(), "{}", describe(&out));
    let local_token = {
        let out = sb.run(&["print", "-p", "plm"]);
        assert!(out.status.success(), "{}", describe(&out));
        stdout(&out).trim().to_owned()
    };
    let daemon_pid = sb.daemon_pid().unwrap();

    let dir = sb.root.path();
    let sshd = Sshd::start(&private_dir(&dir.join("sshd")));
    // The build server's side: a private directory for the forward, and an
    // environment of its own whose default socket is elsewhere.
    let remote_dir = private_dir(&dir.join("remote"));
    let remote_socket = remote_dir.join("agent.sock");
    let remote_runtime = private_dir(&dir.join("remote-run"));
    let remote_home = private_dir(&dir.join("remote-home"));
    let command = format!(
        "env -i PATH=/usr/bin:/bin HOME={home} XDG_RUNTIME_DIR={run} WRS_TOKEND={tokend} \
         WRS_TOKEN_SOCKET={socket} {client} print -p plm",
        home = remote_home.display(),
        run = remote_runtime.display(),
        tokend = bin("wrs-tokend").display(),
        socket = remote_socket.display(),
        client = bin("wrs-token").display(),
    );
    let out = sshd.run_with_forward(&remote_socket, &sb.socket, &command);
    assert!(out.status.success(), "ssh: {}", describe(&out));
    assert_eq!(
        stdout(&out).trim(),
        local_token,
        "the remote client got the local daemon's token"
    );
    // No daemon of its own: nothing at the remote default socket, and the
    // local daemon is the one there was.
    assert!(
        !remote_runtime.join("wrs-token").exists(),
        "a second daemon started on the remote side"
    );
    assert_eq!(sb.daemon_pid(), Some(daemon_pid));

    // The connection is gone; the forward's socket may stay behind (sshd
    // does not remove it). Make sure one is there, as after a dropped
    // connection: the remote client says so and starts nothing there.
    if !remote_socket.exists() {
        drop(UnixListener::bind(&remote_socket).unwrap());
    }
    let out = Command::new(bin("wrs-token"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &remote_home)
        .env("XDG_RUNTIME_DIR", &remote_runtime)
        .env("WRS_TOKEND", bin("wrs-tokend"))
        .env("WRS_TOKEN_SOCKET", &remote_socket)
        .args(["print", "-p", "plm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(
        stderr(&out).contains("nothing answers on"),
        "{}",
        describe(&out)
    );
    assert!(stderr(&out).contains("ssh -R"), "{}", describe(&out));
    assert!(
        std::os::unix::net::UnixStream::connect(&remote_socket).is_err(),
        "no daemon was started at the forward's path"
    );
}

#[test]
fn a_dead_socket_given_explicitly_elsewhere_is_never_replaced_but_an_empty_path_gets_a_daemon() {
    let sb = Sandbox::new();
    // Someone else's endpoint, left unanswered (a forward whose ssh
    // connection is gone): WRS_TOKEN_SOCKET points at it.
    let forward = private_dir(&sb.root.path().join("forward")).join("agent.sock");
    drop(UnixListener::bind(&forward).unwrap());
    let out = sb
        .client()
        .env("WRS_TOKEN_SOCKET", &forward)
        .args(["print"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(
        stderr(&out).contains("nothing answers on"),
        "{}",
        describe(&out)
    );
    assert!(std::os::unix::net::UnixStream::connect(&forward).is_err());
    // A path with nothing at it yet is the user's own choice: a daemon is
    // started there, as at the default socket.
    let own = sb.root.path().join("forward/own.sock");
    let out = sb
        .client()
        .env("WRS_TOKEN_SOCKET", &own)
        .args(["print"])
        .output()
        .unwrap();
    // No profile is configured: the started daemon says so.
    assert_ne!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(std::os::unix::net::UnixStream::connect(&own).is_ok());
    let out = sb
        .client()
        .env("WRS_TOKEN_SOCKET", &own)
        .args(["daemon", "stop"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| stdout(&out).trim() == "0")
}
