//! `wrs-token curl` and `wrs-token git-credential` end to end: the real
//! client, the real daemon (autostarted in a sandbox), the real `wrs-mock`
//! as authorization server and Windchill, the real curl and the real git
//! against a git server that checks Bearer tokens at the mock.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod git_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use git_server::{GitServer, make_repo};
use wrs_testkit::{Mock, Sandbox, bin, describe, stdout};

/// More than the mock's access-token lifetime (3600 s by default).
const PAST_EXPIRY_SECS: u64 = 4000;

/// A sandboxed daemon and a mock with a client-credentials profile `wc`
/// whose resource is the mock's Windchill OData root.
struct World {
    mock: Mock,
    sb: Sandbox,
}

impl World {
    fn new() -> World {
        let world = World {
            mock: Mock::start(),
            sb: Sandbox::new(),
        };
        world.add_profile("wc", &world.mock.ready.wrs_root);
        world
    }

    fn add_profile(&self, name: &str, resource: &str) {
        let token_endpoint = self.mock.ready.token_endpoint.clone();
        let out = self.sb.run_with_stdin(
            &[
                "profile",
                "add",
                name,
                "--token-endpoint",
                &token_endpoint,
                "--grant",
                "client-credentials",
                "--client-id",
                "wrs-service",
                "--client-secret-stdin",
                "--store",
                "memory",
                "--resource",
                resource,
            ],
            "wrs-service-secret\n",
        );
        assert!(out.status.success(), "profile add: {}", describe(&out));
    }

    /// The token the daemon holds for `profile` now.
    fn token(&self, profile: &str) -> String {
        let out = self.sb.run(&["print", "-p", profile]);
        assert!(out.status.success(), "print: {}", describe(&out));
        stdout(&out).trim().to_owned()
    }

    fn parts_url(&self) -> String {
        format!("{}ProdMgmt/Parts", self.mock.ready.wrs_root)
    }
}

/// A `curl` first on PATH that records its argv and stdin, one file per
/// call (`argv.N`, `stdin.N`), then runs the real curl with that stdin.
struct CurlRecorder {
    dir: tempfile::TempDir,
}

impl CurlRecorder {
    fn new() -> CurlRecorder {
        use std::os::unix::fs::PermissionsExt;
        let real = find_on_path("curl").expect("curl is needed (scripts/setup-test-env)");
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("curl");
        std::fs::write(
            &script,
            format!(
                r#"#!/bin/sh
rec="{rec}"
n=$(( $(cat "$rec/calls" 2>/dev/null || echo 0) + 1 ))
echo $n > "$rec/calls"
for a in "$@"; do printf '%s\n' "$a"; done > "$rec/argv.$n"
cat > "$rec/stdin.$n"
exec "{real}" "$@" < "$rec/stdin.$n"
"#,
                rec = dir.path().display(),
                real = real.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        CurlRecorder { dir }
    }

    /// PATH with the recorder first.
    fn path(&self) -> std::ffi::OsString {
        let mut dirs = vec![self.dir.path().to_path_buf()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(dirs).unwrap()
    }

    fn calls(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .map(|s| s.trim().parse().unwrap())
            .unwrap_or(0)
    }

    fn argv(&self, n: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("argv.{n}"))).unwrap()
    }

    fn stdin(&self, n: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("stdin.{n}"))).unwrap()
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn wrs_curl(world: &World, recorder: &CurlRecorder, args: &[&str]) -> Output {
    world
        .sb
        .client()
        .env("PATH", recorder.path())
        .arg("curl")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn curl_reads_odata_with_the_token_on_stdin_and_never_in_argv() {
    let world = World::new();
    let recorder = CurlRecorder::new();
    let url = world.parts_url();
    let out = wrs_curl(&world, &recorder, &["-sS", &url]);
    assert!(out.status.success(), "{}", describe(&out));
    let parts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("OData JSON");
    assert_eq!(parts["value"][0]["Name"], "Bracket", "{parts}");

    let token = world.token("wc");
    assert_eq!(recorder.calls(), 1, "a GET needs no CSRF nonce");
    let argv = recorder.argv(1);
    assert_eq!(argv, format!("--config\n-\n-sS\n{url}\n"));
    assert!(!argv.contains(&token), "the token is in curl's argv");
    assert!(
        recorder
            .stdin(1)
            .contains(&format!("header = \"Authorization: Bearer {token}\"")),
        "{}",
        recorder.stdin(1)
    );
}

#[test]
fn curl_post_to_odata_fetches_and_sends_the_csrf_nonce() {
    let world = World::new();
    let recorder = CurlRecorder::new();
    let url = world.parts_url();
    let out = wrs_curl(
        &world,
        &recorder,
        &[
            "-sS",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"Name":"Gear Box","Number":"GB-1"}"#,
            "-w",
            "\n%{http_code}",
            &url,
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    let (body, code) = text.rsplit_once('\n').unwrap();
    assert_eq!(code, "201", "{text}");
    let created: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(created["Name"], "Gear Box");

    assert_eq!(recorder.calls(), 2, "nonce fetch, then the POST");
    assert!(
        recorder.argv(1).contains("PTC/GetCSRFToken()"),
        "{}",
        recorder.argv(1)
    );
    let token = world.token("wc");
    for n in [1, 2] {
        assert!(!recorder.argv(n).contains(&token), "token in argv {n}");
    }
    assert!(
        recorder.stdin(2).contains("header = \"CSRF_NONCE: "),
        "{}",
        recorder.stdin(2)
    );
    let counters = world.mock.counters();
    assert_eq!(counters.wrs_csrf_rejected, 0, "{counters:?}");
}

#[test]
fn curl_retries_once_with_a_fresh_token_after_a_401() {
    let world = World::new();
    let recorder = CurlRecorder::new();
    let stale = world.token("wc");
    // The daemon still trusts its token; the mock now calls it expired.
    world.mock.advance_clock(PAST_EXPIRY_SECS);
    world.mock.admin("counters/reset", "{}");

    let out = wrs_curl(&world, &recorder, &["-sS", "-f", &world.parts_url()]);
    assert!(out.status.success(), "{}", describe(&out));
    let parts: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("only the retry's body");
    assert_eq!(parts["value"][0]["Name"], "Bracket");

    let counters = world.mock.counters();
    assert_eq!(counters.wrs_unauthorized, 1, "{counters:?}");
    assert_eq!(counters.wrs_ok, 1, "{counters:?}");
    assert_eq!(counters.token_client_credentials, 1, "{counters:?}");
    assert_eq!(recorder.calls(), 2);
    let fresh = world.token("wc");
    assert_ne!(fresh, stale);
    assert!(recorder.stdin(1).contains(&stale));
    assert!(recorder.stdin(2).contains(&fresh));
}

/// A git server for `world`, with profile `gitsrv` whose resource is the
/// server's base URL (so the helper finds it by host and port).
fn git_world() -> (World, GitServer, tempfile::TempDir) {
    let world = World::new();
    let root = tempfile::tempdir().unwrap();
    make_repo(root.path());
    let server = GitServer::start(root.path(), world.mock.ready.introspection_endpoint.clone());
    world.add_profile("gitsrv", &server.base);
    (world, server, root)
}

/// The real git, isolated from the user's configuration, with wrs-token
/// as its only credential helper.
fn git(world: &World, cwd: &Path, args: &[&str]) -> Output {
    let helper = format!("!{} git-credential", bin("wrs-token").display());
    Command::new("git")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        .env_remove(wrs_sys::env::PROFILE)
        .env_remove(wrs_sys::env::CONFIG)
        .envs(world.sb.env())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .args(["-c", "credential.helper=", "-c"])
        .arg(format!("credential.helper={helper}"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("git is needed (scripts/setup-test-env)")
}

#[test]
fn git_ls_remote_and_clone_use_a_bearer_token_from_the_helper() {
    let (world, server, root) = git_world();
    let url = format!("{}repo.git", server.base);

    let out = git(&world, root.path(), &["ls-remote", &url]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).contains("refs/heads/main"),
        "{}",
        describe(&out)
    );

    let out = git(&world, root.path(), &["clone", "-q", &url, "clone"]);
    assert!(out.status.success(), "{}", describe(&out));
    let readme = std::fs::read_to_string(root.path().join("clone/README")).unwrap();
    assert_eq!(readme, "hello from windchill\n");

    let token = world.token("gitsrv");
    let seen = server.seen();
    let authorized: Vec<_> = seen.iter().filter(|s| s.status == 200).collect();
    assert!(authorized.len() >= 3, "{seen:#?}");
    for s in &authorized {
        assert_eq!(
            s.scheme.as_deref(),
            Some("Bearer"),
            "git used authtype: {s:?}"
        );
        assert_eq!(s.token.as_deref(), Some(token.as_str()));
    }
    assert!(
        seen.iter().all(|s| s.scheme.as_deref() != Some("Basic")),
        "never Basic: {seen:#?}"
    );
    assert!(
        authorized
            .iter()
            .any(|s| s.request_line.starts_with("POST /repo.git/git-upload-pack")),
        "the clone fetched through the backend: {seen:#?}"
    );
}

#[test]
fn git_recovers_from_an_expired_token_through_erase_and_a_fresh_get() {
    let (world, server, root) = git_world();
    let url = format!("{}repo.git", server.base);
    let out = git(&world, root.path(), &["ls-remote", &url]);
    assert!(out.status.success(), "{}", describe(&out));
    let stale = world.token("gitsrv");

    // The daemon still trusts its token; for the server it has expired.
    world.mock.advance_clock(PAST_EXPIRY_SECS);
    server.clear();
    let out = git(&world, root.path(), &["ls-remote", &url]);
    assert!(
        !out.status.success(),
        "the stale token was rejected: {}",
        describe(&out)
    );
    let seen = server.seen();
    assert!(
        seen.iter()
            .any(|s| s.status == 401 && s.token.as_deref() == Some(stale.as_str())),
        "{seen:#?}"
    );
    // git ran `erase` with the rejected token: the daemon dropped it.
    let fresh = world.token("gitsrv");
    assert_ne!(fresh, stale, "erase made the daemon fetch a new token");

    server.clear();
    let out = git(&world, root.path(), &["ls-remote", &url]);
    assert!(out.status.success(), "{}", describe(&out));
    let seen = server.seen();
    assert!(
        seen.iter()
            .any(|s| s.status == 200 && s.token.as_deref() == Some(fresh.as_str())),
        "{seen:#?}"
    );
}

#[test]
fn git_helper_offers_nothing_to_a_host_no_profile_names() {
    let world = World::new();
    let out = world.sb.run_with_stdin(
        &["git-credential", "get"],
        "capability[]=authtype\nprotocol=https\nhost=github.com\n\n",
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(stdout(&out), "");
}

/// An internal CA usually signs both the authorization server and
/// Windchill: with only `ca_file` set, `wrs-token curl` has curl trust it
/// for the Windchill host too (`--cacert`), so the call works as the
/// daemon's token requests do. The user's own `-k`/`--cacert` win.
#[test]
fn curl_trusts_the_profiles_ca_for_the_windchill_host() {
    let ca = tempfile::NamedTempFile::new().unwrap();
    let mock = Mock::start_with(&["--tls", "--ca-out", ca.path().to_str().unwrap()]);
    let sb = Sandbox::new();
    let out = sb.run_with_stdin(
        &[
            "profile",
            "add",
            "wc",
            "--token-endpoint",
            &mock.ready.token_endpoint,
            "--grant",
            "client-credentials",
            "--client-id",
            "wrs-service",
            "--client-secret-stdin",
            "--store",
            "memory",
            "--ca-file",
            ca.path().to_str().unwrap(),
            "--resource",
            &mock.ready.wrs_root,
        ],
        "wrs-service-secret\n",
    );
    assert!(out.status.success(), "profile add: {}", describe(&out));
    let url = format!("{}ProdMgmt/Parts", mock.ready.wrs_root);
    assert!(url.starts_with("https://"), "{url}");
    let out = sb.run(&["curl", "-sS", &url]);
    assert!(out.status.success(), "{}", describe(&out));
    let parts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("OData JSON");
    assert_eq!(parts["value"][0]["Name"], "Bracket", "{parts}");
    // A CA of the user's own replaces the profile's: here a wrong one, so
    // curl refuses the chain (exit 60 or 77) and the profile's was not added.
    let other = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(other.path(), "").unwrap();
    let out = sb.run(&[
        "curl",
        "-sS",
        "--cacert",
        other.path().to_str().unwrap(),
        &url,
    ]);
    assert!(!out.status.success(), "{}", describe(&out));
}
