//! Arguments of the commands that hand a token to other programs (`curl`,
//! `exec`, `git-credential`) and of the ones that describe the command line
//! to shells and `man` (`completions`, `man`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

use super::{ProfileNameParser, TokenArgs};

pub(super) const CURL_HELP: &str = "\
Examples:
  wrs-token curl \\
      https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts
  wrs-token curl -p plm -X POST -H 'Content-Type: application/json' \\
      -d @part.json \\
      https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts
  wrs-token curl -f -sS -o parts.json \\
      https://plm.example.com/Windchill/oauth/servlet/odata/ProdMgmt/Parts

wrs-token's own options come first; everything from the first other
argument on is passed to curl unchanged (curl's -p is --proxytunnel).

The token never appears in curl's arguments (which `ps` shows): wrs-token
runs `curl --config - ARGS…` and writes `header = \"Authorization: Bearer …\"`
to curl's stdin. So curl's stdin is taken: arguments that make curl read
stdin (-d @-, --data-binary @-, -T -, -K -, -F name=@-, -H @-, …) are
refused; put that data in a file instead.

Profile: -p NAME, else the profile whose `resource` matches the first URL
(scheme, host, port, longest path), else $WRS_TOKEN_PROFILE, else the
default profile.

HTTP 401: wrs-token asks curl to dump the response headers into a private
temporary file (mode 0600, removed afterwards) to learn the status, and on
401 tells the daemon the token was rejected and runs curl once more with a
fresh token. curl writes each attempt's output, so a 401 body may precede
the retried response on stdout; add -f (--fail) to keep the 401's body out.
With your own -D/--dump-header there is no retry.

Windchill writes: for POST, PUT, PATCH and DELETE to a Windchill OData URL
(under the profile's resource, or containing /servlet/odata/), wrs-token
first fetches a nonce from …/PTC/GetCSRFToken() with the same token and
adds the `CSRF_NONCE: <value>` header, also through curl's stdin
(--no-csrf turns this off).

curl's exit status, stdout and stderr are passed through unchanged;
$WRS_TOKEN_CURL names the curl to run (default: `curl` on PATH).";

pub(super) const EXEC_HELP: &str = "\
Examples:
  wrs-token exec -p plm -- python sync_parts.py
  wrs-token exec --env WC_TOKEN -- \\
      sh -c 'curl -H \"Authorization: Bearer $WC_TOKEN\" \"$URL\"'

CMD gets the token in $WRS_ACCESS_TOKEN (or the variable --env names) and
its expiry, in Unix seconds, in $WRS_ACCESS_TOKEN_EXPIRES_AT (or
$<VAR>_EXPIRES_AT). The token is not renewed while CMD runs: ask for
enough validity with --min-ttl, or let a long job call `wrs-token print`
itself. On Unix wrs-token replaces itself with CMD, so CMD's exit status
and signals are CMD's own; elsewhere CMD's exit status is passed on.";

pub(super) const GIT_CREDENTIAL_HELP: &str = "\
Examples:
  git config --global \\
      credential.https://plm.example.com.helper '!wrs-token git-credential'
  git config --global credential.https://plm.example.com.useHttpPath true
  git config --global credential.https://git.example.com.helper \\
      '!wrs-token git-credential -p plm'
  printf 'protocol=https\\nhost=plm.example.com\\n\\n' | \\
      wrs-token git-credential get

Speaks git's credential-helper protocol (gitcredentials(7)). git calls
`get` for a credential, `erase` when the server rejected it (wrs-token then
tells the daemon to drop that token), `store` after a success (nothing to
do: the daemon keeps the tokens).

Profile: -p NAME, else the profile whose `resource` has git's scheme, host
and port (and, with credential.<url>.useHttpPath, the longest matching
path), else $WRS_TOKEN_PROFILE. When none applies, `get` prints nothing and
git asks its other helpers. Scope the helper to your Windchill hosts as
above, so that no other server is ever offered a token.

git 2.46 or newer announces `capability[]=authtype`; wrs-token then answers
with `authtype=Bearer` and `credential=<token>` and git sends
`Authorization: Bearer <token>`. Older git gets `username=oauth2` (see
--username) and `password=<token>`, which git sends with HTTP Basic: the
server must accept the token as a Basic password then. Either way the
answer is marked ephemeral, with `password_expiry_utc`, so git never stores
the token, and the refresh token never leaves the daemon. More in docs/git.md.";

pub(super) const COMPLETIONS_HELP: &str = "\
Examples:
  wrs-token completions bash \\
      > ~/.local/share/bash-completion/completions/wrs-token
  wrs-token completions zsh > ~/.zfunc/_wrs-token  # with fpath+=(~/.zfunc)
  wrs-token completions fish > ~/.config/fish/completions/wrs-token.fish
  wrs-token completions powershell >> $PROFILE

Writes the completion script to stdout; open a new shell after installing it.";

pub(super) const MAN_HELP: &str = "\
Examples:
  wrs-token man | man -l -
  wrs-token man --dir ~/.local/share/man/man1     # then: man wrs-token-curl

Without --dir, writes the main page (wrs-token.1) to stdout. With --dir,
writes one page per command (wrs-token.1, wrs-token-curl.1, …) into DIR,
which must exist; a man directory on your MANPATH makes `man` find them.";

/// `wrs-token curl`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CurlArgs {
    /// Profile (default: the one whose resource matches the URL, then
    /// $WRS_TOKEN_PROFILE, then the default profile). Must come before
    /// curl's arguments.
    #[arg(short, long, value_name = "NAME", value_parser = ProfileNameParser::optional())]
    pub profile: Option<String>,

    /// The token should stay valid at least this many seconds (see
    /// `wrs-token print --help`).
    #[arg(long, value_name = "SECS")]
    pub min_ttl: Option<u64>,

    /// Never fetch or send a Windchill CSRF nonce.
    #[arg(long)]
    pub no_csrf: bool,

    /// Arguments for curl, passed on unchanged.
    #[arg(
        value_name = "CURL ARGS",
        num_args = 0..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub curl_args: Vec<OsString>,
}

/// `wrs-token exec`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExecArgs {
    /// Which token.
    #[command(flatten)]
    pub token: TokenArgs,

    /// The environment variable that receives the token; its expiry goes
    /// into `<VAR>_EXPIRES_AT`.
    #[arg(long = "env", value_name = "VAR", default_value = "WRS_ACCESS_TOKEN")]
    pub var: String,

    /// The command to run, and its arguments.
    #[arg(
        value_name = "CMD",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// The username `git-credential get` answers unless `--username` says
/// otherwise.
pub const DEFAULT_GIT_USERNAME: &str = "oauth2";

/// `wrs-token git-credential`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct GitCredentialArgs {
    /// Profile (default: the one whose resource matches git's URL, then
    /// $WRS_TOKEN_PROFILE).
    #[arg(short, long, value_name = "NAME", value_parser = ProfileNameParser::optional())]
    pub profile: Option<String>,

    /// The username answered to git versions without `authtype` support.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_GIT_USERNAME)]
    pub username: String,

    /// The token should stay valid at least this many seconds (see
    /// `wrs-token print --help`).
    #[arg(long, value_name = "SECS")]
    pub min_ttl: Option<u64>,

    /// What git asks: get, store, erase or capability (git's helper
    /// protocol says to ignore any other, and so we do).
    #[arg(value_name = "ACTION")]
    pub action: String,
}

/// `wrs-token completions`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `wrs-token man`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ManArgs {
    /// Write one page per command into this existing directory instead of
    /// the main page to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("wrs-token").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    fn curl_args(args: &[&str]) -> super::CurlArgs {
        let mut argv = vec!["curl"];
        argv.extend_from_slice(args);
        match parse(&argv) {
            Command::Curl(a) => a,
            other => panic!("not curl: {other:?}"),
        }
    }

    #[test]
    fn curl_takes_our_options_first_and_passes_everything_else_on() {
        let a = curl_args(&[
            "-p",
            "wc",
            "--no-csrf",
            "-X",
            "POST",
            "-p",
            "-d",
            "x",
            "https://h/",
        ]);
        assert_eq!(a.profile.as_deref(), Some("wc"));
        assert!(a.no_csrf);
        assert_eq!(a.curl_args, ["-X", "POST", "-p", "-d", "x", "https://h/"]);
        let a = curl_args(&["-sS", "--fail", "https://h/"]);
        assert_eq!(a.profile, None);
        assert_eq!(a.curl_args, ["-sS", "--fail", "https://h/"]);
        let a = curl_args(&["https://h/", "--min-ttl", "5"]);
        assert_eq!(a.curl_args, ["https://h/", "--min-ttl", "5"]);
        assert_eq!(a.min_ttl, None);
    }

    #[test]
    fn exec_takes_the_command_with_or_without_a_double_dash() {
        for argv in [
            &["exec", "--env", "T", "--", "sh", "-c", "echo $T"][..],
            &["exec", "--env", "T", "sh", "-c", "echo $T"],
        ] {
            let Command::Exec(a) = parse(argv) else {
                panic!("not exec")
            };
            assert_eq!(a.var, "T");
            assert_eq!(a.command, ["sh", "-c", "echo $T"]);
        }
        let Command::Exec(a) = parse(&["exec", "-p", "plm", "--", "env"]) else {
            panic!("not exec")
        };
        assert_eq!(a.var, "WRS_ACCESS_TOKEN");
        assert_eq!(a.token.profile().as_deref(), Some("plm"));
        assert!(Cli::try_parse_from(["wrs-token", "exec"]).is_err());
    }

    #[test]
    fn git_credential_takes_flags_before_the_action_git_appends() {
        let Command::GitCredential(a) = parse(&["git-credential", "-p", "plm", "get"]) else {
            panic!("not git-credential")
        };
        assert_eq!(
            (a.profile.as_deref(), a.action.as_str()),
            (Some("plm"), "get")
        );
        assert_eq!(a.username, "oauth2");
        let Command::GitCredential(a) = parse(&["git-credential", "frobnicate"]) else {
            panic!("not git-credential")
        };
        assert_eq!(a.action, "frobnicate");
    }

    #[test]
    fn completions_and_man_parse() {
        assert!(matches!(
            parse(&["completions", "fish"]),
            Command::Completions(_)
        ));
        assert!(Cli::try_parse_from(["wrs-token", "completions", "tcsh"]).is_err());
        let Command::Man(a) = parse(&["man", "--dir", "/tmp/m"]) else {
            panic!("not man")
        };
        assert_eq!(a.dir.as_deref(), Some(std::path::Path::new("/tmp/m")));
    }
}
