//! The profile commands and the everyday client UX through the real
//! binaries: `profile set`/`unset`/`rename` edit the user's file in place,
//! a bad value leaves it untouched, a new client id ends the session and
//! says so, `print NAME`/`status NAME` take the profile positionally, and
//! the shell completion script completes profile names from the config.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use wrs_testkit::{Mock, Sandbox, describe, path_with_binaries, stderr, stdout};

fn config_file(sb: &Sandbox) -> PathBuf {
    sb.root.path().join("config/wrs-token/config.toml")
}

/// A hand-written file: comments, an order of its own, a default.
const HAND_WRITTEN: &str = "\
# my set-up
default = \"plm\"

# production, via PingFederate
[profiles.plm]
client_id = \"wrs-cli\"   # the public client
issuer = \"ISSUER\"
auth = \"none\"
store = \"memory\"

[profiles.other]
issuer = \"ISSUER\"
client_id = \"wrs-cli\"
auth = \"none\"
store = \"memory\"
";

fn hand_written(sb: &Sandbox, issuer: &str) -> String {
    let text = HAND_WRITTEN.replace("ISSUER", issuer);
    std::fs::create_dir_all(config_file(sb).parent().unwrap()).unwrap();
    std::fs::write(config_file(sb), &text).unwrap();
    text
}

fn login(sb: &Sandbox, name: &str) {
    let out = sb
        .client()
        .args(["login", name, "--timeout", "30"])
        .env("BROWSER", sb.browser())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn profile_set_and_unset_edit_one_line_keeping_comments_and_order() {
    let sb = Sandbox::new();
    let text = hand_written(&sb, "https://sso.example.com");
    let out = sb.run(&["profile", "set", "plm", "keepalive", "3600"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).starts_with("Set keepalive of profile plm in "),
        "{}",
        describe(&out)
    );
    let with_keepalive = text.replace(
        "store = \"memory\"\n\n[profiles.other]",
        "store = \"memory\"\nkeepalive = 3600\n\n[profiles.other]",
    );
    assert_eq!(
        std::fs::read_to_string(config_file(&sb)).unwrap(),
        with_keepalive
    );
    // `list` and the daemon read it as a profile setting.
    let list = sb.run(&["profile", "list", "--json"]);
    assert!(
        stdout(&list).contains("\"keepalive\": 3600"),
        "{}",
        describe(&list)
    );

    let out = sb.run(&["profile", "unset", "plm", "keepalive"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(std::fs::read_to_string(config_file(&sb)).unwrap(), text);
}

#[test]
fn profile_set_refuses_bad_keys_and_values_leaving_the_file_as_it_was() {
    let sb = Sandbox::new();
    let text = hand_written(&sb, "https://sso.example.com");
    for (args, says) in [
        (
            &["profile", "set", "plm", "isuer", "https://x"][..],
            "unknown key \"isuer\": a profile's keys are issuer,",
        ),
        (
            &["profile", "set", "plm", "issuer", "sso.example.com"],
            "issuer: profile \"plm\": issuer must be an http(s) URL",
        ),
        (
            &["profile", "set", "plm", "keepalive", "5"],
            "at least 60 seconds",
        ),
        (
            &["profile", "set", "plm", "grant", "password"],
            "grant: unknown variant",
        ),
        (
            &["profile", "set", "plm", "ca_file", "/nonexistent/ca.pem"],
            "ca_file /nonexistent/ca.pem:",
        ),
    ] {
        let out = sb.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", describe(&out));
        assert_eq!(
            std::fs::read_to_string(config_file(&sb)).unwrap(),
            text,
            "{args:?}"
        );
    }
    let out = sb.run(&["profile", "set", "nope", "issuer", "https://x"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("no profile named \"nope\""),
        "{}",
        describe(&out)
    );
}

/// The daemon's binding rules end a session whose server or client
/// changed; `profile set` says so at once, and `print` then asks for a
/// login (exit 3) rather than sending the old refresh token elsewhere.
#[test]
fn a_new_client_id_ends_the_session_and_profile_set_says_so() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    hand_written(&sb, mock.ready.base_url.trim_end_matches('/'));
    login(&sb, "plm");
    assert!(sb.run(&["print", "plm"]).status.success());

    let out = sb.run(&["profile", "set", "plm", "client_id", "another-client"]);
    assert!(out.status.success(), "{}", describe(&out));
    let said = stdout(&out);
    assert!(
        said.contains("makes profile plm another server or client: its stored refresh token and client secret belong to the old one"),
        "{said}"
    );
    assert!(said.contains("Next: run `wrs-token login plm`"), "{said}");
    let out = sb.run(&["print", "plm"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
}

#[test]
fn rename_keeps_the_section_and_default_and_the_daemon_forgets_the_old_session() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    let text = hand_written(&sb, mock.ready.base_url.trim_end_matches('/'));
    login(&sb, "plm");
    let out = sb.run(&["profile", "rename", "plm", "prod"]);
    assert!(out.status.success(), "{}", describe(&out));
    let said = stdout(&out);
    assert!(said.contains("Renamed profile plm to prod"), "{said}");
    assert!(said.contains("forgot plm's session"), "{said}");
    assert!(said.contains("Next: run `wrs-token login prod`"), "{said}");
    assert_eq!(
        std::fs::read_to_string(config_file(&sb)).unwrap(),
        text.replace("default = \"plm\"", "default = \"prod\"")
            .replace("[profiles.plm]", "[profiles.prod]")
    );
    // The old refresh token was revoked, and the new name starts logged out.
    assert_eq!(mock.counters().revocation, 1);
    let out = sb.run(&["print", "prod"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    // A rename onto an existing name changes nothing.
    let before = std::fs::read_to_string(config_file(&sb)).unwrap();
    let out = sb.run(&["profile", "rename", "prod", "other"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("already exists"),
        "{}",
        describe(&out)
    );
    assert_eq!(std::fs::read_to_string(config_file(&sb)).unwrap(), before);
}

#[test]
fn print_header_and_status_take_the_profile_as_name_or_dash_p() {
    let mock = Mock::start_with(&["--auto-approve"]);
    let sb = Sandbox::new();
    hand_written(&sb, mock.ready.base_url.trim_end_matches('/'));
    login(&sb, "other");
    let by_name = sb.run(&["print", "other"]);
    assert!(by_name.status.success(), "{}", describe(&by_name));
    let by_flag = sb.run(&["print", "-p", "other"]);
    assert_eq!(stdout(&by_name), stdout(&by_flag), "the same cached token");
    let header = sb.run(&["header", "other"]);
    assert!(
        stdout(&header).starts_with("Authorization: Bearer "),
        "{}",
        describe(&header)
    );
    // The default profile (plm) is logged out: NAME really chose `other`.
    assert_eq!(sb.run(&["print"]).status.code(), Some(3));

    let out = sb.run(&["print", "other", "-p", "plm"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("two profiles named: other and -p plm"),
        "{}",
        describe(&out)
    );
    // $WRS_TOKEN_PROFILE is a default: a NAME typed wins over it.
    let out = sb
        .client()
        .args(["print", "other"])
        .env(wrs_sys::env::PROFILE, "plm")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));

    let out = sb.run(&["status", "other"]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("\nother "), "{text}");
    assert!(!text.contains("\nplm "), "{text}");
    let all = stdout(&sb.run(&["status"]));
    assert!(all.contains("\nplm ") && all.contains("\nother "), "{all}");
    let out = sb.run(&["status", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

/// The bash script `wrs-token completions bash` writes, sourced in a real
/// bash, completes the sandbox config's profile names after `login` and
/// `-p`, asking the binary (never the daemon) at each TAB.
#[test]
fn bash_completes_profile_names_from_the_config() {
    let sb = Sandbox::new();
    hand_written(&sb, "https://sso.example.com");
    let script = sb.root.path().join("wrs-token.bash");
    let out = sb.run(&["completions", "bash"]);
    assert!(out.status.success(), "{}", describe(&out));
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &str, cword: usize| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\n\
                 _clap_complete_wrs_token wrs-token \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
                 printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .envs(sb.env())
            .env("PATH", path_with_binaries())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        // An empty word also offers the options; the names are what counts.
        let mut got: Vec<String> = stdout(&out)
            .lines()
            .filter(|w| !w.starts_with('-'))
            .map(str::to_owned)
            .collect();
        got.sort();
        got
    };
    assert_eq!(complete("wrs-token login ''", 2), ["other", "plm"]);
    assert_eq!(complete("wrs-token print -p p", 3), ["plm"]);
    assert_eq!(complete("wrs-token profile set o", 3), ["other"]);
    assert!(!sb.socket.exists(), "a TAB started no daemon");
}

/// Whether `program` runs here (`scripts/setup-test-env` installs it).
fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The fish script: fish's own `complete -C` asks it as a TAB would.
#[test]
fn fish_completes_profile_names_from_the_config() {
    wrs_testkit::require!(installed("fish"), "fish is not installed");
    let sb = Sandbox::new();
    hand_written(&sb, "https://sso.example.com");
    let script = sb.root.path().join("wrs-token.fish");
    std::fs::write(&script, sb.run(&["completions", "fish"]).stdout).unwrap();
    let complete = |line: &str| {
        let out = Command::new("fish")
            .arg("--no-config")
            .arg("-c")
            .arg(format!(
                "source '{}'; complete -C '{line}'",
                script.display()
            ))
            .envs(sb.env())
            .env("PATH", path_with_binaries())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        let mut got: Vec<String> = stdout(&out)
            .lines()
            .filter(|w| !w.starts_with('-'))
            .map(str::to_owned)
            .collect();
        got.sort();
        got
    };
    assert_eq!(complete("wrs-token login "), ["other", "plm"]);
    assert_eq!(complete("wrs-token status -p o"), ["other"]);
}

/// The zsh script in a real zsh. Its completion system needs a terminal,
/// so `compdef` and `_describe` (which hand candidates to it) are stand-ins
/// that print them; the script's own logic and the binary run for real.
#[test]
fn zsh_completes_profile_names_from_the_config() {
    wrs_testkit::require!(installed("zsh"), "zsh is not installed");
    let sb = Sandbox::new();
    hand_written(&sb, "https://sso.example.com");
    let script = sb.root.path().join("_wrs-token");
    std::fs::write(&script, sb.run(&["completions", "zsh"]).stdout).unwrap();
    let complete = |words: &str, current: usize| {
        let out = Command::new("zsh")
            .arg("-f")
            .arg("-c")
            .arg(format!(
                "compdef() {{ : }}\n_describe() {{ print -l -- ${{(P)3}} }}\n\
                 source '{}'\nwords=({words})\nCURRENT={current}\n\
                 _clap_dynamic_completer_wrs_token",
                script.display()
            ))
            .envs(sb.env())
            .env("PATH", path_with_binaries())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        let mut got: Vec<String> = stdout(&out)
            .lines()
            .filter(|w| !w.starts_with('-'))
            .map(|w| w.split(':').next().unwrap_or(w).to_owned())
            .collect();
        got.sort();
        got
    };
    assert_eq!(complete("wrs-token logout ''", 3), ["other", "plm"]);
    assert_eq!(complete("wrs-token print -p p", 4), ["plm"]);
}

/// `profile add` with `args`, `secret` on stdin.
fn add(sb: &Sandbox, args: &[&str], secret: &str) -> std::process::Output {
    let mut argv = vec!["profile", "add"];
    argv.extend_from_slice(args);
    sb.run_with_stdin(&argv, secret)
}

/// A refused `profile add` left nothing: no config file, and the daemon
/// (which would have stored the secret) was never even started.
fn nothing_left(sb: &Sandbox) {
    assert!(!config_file(sb).exists(), "a config file was written");
    assert!(!sb.socket.exists(), "the daemon was started");
}

#[test]
fn profile_add_checks_the_client_secret_before_adding() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    let issuer = mock.ready.issuer.as_str();
    let confidential = [
        "plm",
        "--issuer",
        issuer,
        "--client-id",
        "wrs-confidential",
        "--client-secret-stdin",
        "--store",
        "file",
    ];
    let out = add(&sb, &confidential, "not-the-secret\n");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("profile plm was not added: the client auth check failed"),
        "{err}"
    );
    assert!(err.contains("FAIL  client auth:"), "{err}");
    assert!(err.contains("fix: "), "{err}");
    assert!(!stdout(&out).contains("Added"), "{}", describe(&out));
    assert!(
        !err.contains("not-the-secret"),
        "the secret is never shown: {err}"
    );
    nothing_left(&sb);

    // The right secret passes the same checks, and they are shown.
    let out = add(&sb, &confidential, "wrs-confidential-secret\n");
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("ok    discovery:"), "{text}");
    assert!(text.contains("ok    client auth:"), "{text}");
    assert!(text.contains("Added profile plm"), "{text}");
    assert!(
        text.find("ok    client auth").unwrap() < text.find("Added profile plm").unwrap(),
        "{text}"
    );
}

#[test]
fn profile_add_refuses_a_server_that_names_another_issuer() {
    let mock = Mock::start();
    let sb = Sandbox::new();
    // The same server under another name: its discovery document names
    // the issuer it is configured with, not this one.
    let other_name = mock.ready.issuer.replace("127.0.0.1", "localhost");
    assert_ne!(other_name, mock.ready.issuer);
    let out = add(
        &sb,
        &["plm", "--issuer", &other_name, "--client-id", "wrs-cli"],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("FAIL  issuer:"), "{err}");
    assert!(
        err.contains("set issuer = "),
        "the fix names the issuer to set: {err}"
    );
    nothing_left(&sb);
}

#[test]
fn profile_add_refuses_an_untrusted_tls_chain_and_ca_file_fixes_it() {
    let sb = Sandbox::new();
    let ca = sb.root.path().join("mock-ca.pem");
    let mock = Mock::start_with(&["--tls", "--ca-out", ca.to_str().unwrap()]);
    let public = [
        "plm",
        "--issuer",
        &mock.ready.issuer,
        "--client-id",
        "wrs-cli",
    ];
    let out = add(&sb, &public, "");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("FAIL  tls:"), "{err}");
    assert!(err.contains("--ca-file"), "{err}");
    nothing_left(&sb);

    let mut trusted = public.to_vec();
    trusted.extend(["--ca-file", ca.to_str().unwrap()]);
    let out = add(&sb, &trusted, "");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).contains("Added profile plm"),
        "{}",
        describe(&out)
    );
}

/// Offline set-up: `--no-check` adds a profile whose server cannot be
/// reached now.
#[test]
fn profile_add_no_check_adds_offline() {
    let sb = Sandbox::new();
    let offline = [
        "plm",
        "--issuer",
        "https://sso.invalid",
        "--client-id",
        "wrs-cli",
    ];
    let out = add(&sb, &offline, "");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr(&out).contains("--no-check"), "{}", describe(&out));
    nothing_left(&sb);
    let mut unchecked = offline.to_vec();
    unchecked.push("--no-check");
    let out = add(&sb, &unchecked, "");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).starts_with("Added profile plm"),
        "{}",
        describe(&out)
    );
    assert!(config_file(&sb).exists());
}

/// `--auth` follows what was given: no secret means a public client, a
/// secret on stdin means `basic`; `--auth basic` without one is a usage
/// error.
#[test]
fn profile_add_infers_the_client_authentication() {
    let sb = Sandbox::new();
    let base = ["--issuer", "https://sso.invalid", "--no-check"];
    let run = |name: &str, extra: &[&str], secret: &str| {
        let mut args = vec![name, "--client-id", "c"];
        args.extend_from_slice(&base);
        args.extend_from_slice(extra);
        add(&sb, &args, secret)
    };
    assert!(run("public", &[], "").status.success());
    let out = sb.run(&["profile", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "public");
    assert_eq!(list[0]["auth"], "none", "{list}");

    let out = run("basic", &["--auth", "basic"], "");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("needs a client secret"),
        "{}",
        describe(&out)
    );
    let out = run("none", &["--auth", "none", "--client-secret-stdin"], "s\n");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}
