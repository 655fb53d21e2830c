//! A git smart-HTTP server guarded by OAuth: std `TcpListener`, one thread
//! per connection, `Authorization: Bearer <t>` checked at the mock's
//! introspection endpoint (as a resource server does), `401` with
//! `WWW-Authenticate: Bearer` otherwise, and the real `git http-backend`
//! run as a CGI program for everything it accepts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wrs_testkit::http::token_is_active_at;

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET /repo.git/info/refs?service=git-upload-pack`, …
    pub request_line: String,
    /// The Authorization header's scheme (`Bearer`, `Basic`), if any.
    pub scheme: Option<String>,
    /// The Bearer token, if any.
    pub token: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// The running server. The listener thread lives as long as the test.
pub struct GitServer {
    /// `http://127.0.0.1:PORT/`.
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl GitServer {
    /// Serves the bare repositories under `root`, checking tokens at the
    /// `introspection` endpoint.
    pub fn start(root: &Path, introspection: String) -> GitServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}/", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_path_buf();
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, introspection, log) =
                    (root.clone(), introspection.clone(), Arc::clone(&log));
                std::thread::spawn(move || {
                    if let Some(seen) = serve(stream, &root, &introspection) {
                        log.lock().expect("log").push(seen);
                    }
                });
            }
        });
        GitServer { base, seen }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        self.seen.lock().expect("log").clear();
    }
}

/// Answers one request (the connection is closed afterwards).
fn serve(stream: TcpStream, root: &Path, introspection: &str) -> Option<Seen> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let request_line = request_line.trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let authorization = header("authorization");
    let scheme = authorization
        .as_deref()
        .and_then(|a| a.split_whitespace().next())
        .map(str::to_owned);
    let token = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let body = read_body(&mut reader, &header)?;
    let mut out = stream;
    let authorized = token
        .as_deref()
        .is_some_and(|t| token_is_active_at(introspection, t));
    let status = if authorized {
        let (method, target) = split_request_line(&request_line)?;
        cgi(&mut out, root, method, target, &header, body)?
    } else {
        let body = b"authentication required\n";
        let head = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"git\"\r\n\
             Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        out.write_all(head.as_bytes()).ok()?;
        out.write_all(body).ok()?;
        401
    };
    Some(Seen {
        request_line,
        scheme,
        token,
        status,
    })
}

fn split_request_line(line: &str) -> Option<(&str, &str)> {
    let mut parts = line.split_whitespace();
    Some((parts.next()?, parts.next()?))
}

/// The request body: Content-Length bytes, or a chunked body de-chunked.
fn read_body(
    reader: &mut BufReader<TcpStream>,
    header: &dyn Fn(&str) -> Option<String>,
) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        // Chunk by chunk up to the terminating zero-size chunk; each chunk's
        // data is followed by CRLF.
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).ok()?;
            let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = header("content-length").and_then(|l| l.parse::<u64>().ok()) {
        reader.take(len).read_to_end(&mut body).ok()?;
    }
    Some(body)
}

/// Runs `git http-backend` for the request and relays its answer;
/// returns the status it chose.
fn cgi(
    out: &mut TcpStream,
    root: &Path,
    method: &str,
    target: &str,
    header: &dyn Fn(&str) -> Option<String>,
    body: Vec<u8>,
) -> Option<u16> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", root)
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", method)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (var, name) in [
        ("CONTENT_TYPE", "content-type"),
        ("GIT_PROTOCOL", "git-protocol"),
        ("HTTP_CONTENT_ENCODING", "content-encoding"),
    ] {
        if let Some(v) = header(name) {
            command.env(var, v);
        }
    }
    let mut child = command.spawn().ok()?;
    let mut stdin = child.stdin.take()?;
    // Stream the body from a thread while the backend's answer is read.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut stdout = BufReader::new(child.stdout.take()?);
    let mut status = 200u16;
    let mut reason = "OK".to_owned();
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).ok()? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => {
                let v = v.trim();
                let (code, text) = v.split_once(' ').unwrap_or((v, ""));
                status = code.parse().ok()?;
                reason = text.to_owned();
            }
            _ => {
                head.push_str(line);
                head.push_str("\r\n");
            }
        }
    }
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).ok()?;
    let _ = feeder.join();
    let _ = child.wait();
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
        rest.len()
    );
    out.write_all(response.as_bytes()).ok()?;
    out.write_all(&rest).ok()?;
    Some(status)
}

/// A bare repository `<root>/repo.git` with one commit holding
/// `README` = `hello from windchill\n`.
pub fn make_repo(root: &Path) -> PathBuf {
    let work = root.join("work");
    let bare = root.join("repo.git");
    git(
        root,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            bare.to_str().expect("path"),
        ],
    );
    git(
        root,
        &["init", "-q", "-b", "main", work.to_str().expect("path")],
    );
    std::fs::write(work.join("README"), "hello from windchill\n").expect("write");
    git(&work, &["add", "README"]);
    git(&work, &["commit", "-q", "-m", "first"]);
    git(&work, &["push", "-q", bare.to_str().expect("path"), "main"]);
    bare
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git is needed for these tests (scripts/setup-test-env)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
