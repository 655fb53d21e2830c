//! Reading curl's command line the way curl does, far enough to know which
//! URLs it will fetch with which method, whether it would read stdin, and
//! which connection options a side request (the CSRF nonce) must share.
//!
//! curl's rules: long options are `--name` (never `--name=value`), a
//! `--no-` prefix negates a switch, short options cluster (`-sSL`) and a
//! short option's value may be attached (`-d@file`, `-XPOST`) or be the
//! next argument. Arguments that are not options are URLs.

use std::ffi::OsString;

/// Long options that take a value (curl 7.88's `--help all`, plus later
/// ones); any other is a switch.
const LONG_WITH_VALUE: &[&str] = &[
    "abstract-unix-socket",
    "alt-svc",
    "aws-sigv4",
    "cacert",
    "capath",
    "cert",
    "cert-type",
    "ciphers",
    "config",
    "connect-timeout",
    "connect-to",
    "continue-at",
    "cookie",
    "cookie-jar",
    "create-file-mode",
    "crlfile",
    "curves",
    "data",
    "data-ascii",
    "data-binary",
    "data-raw",
    "data-urlencode",
    "delegation",
    "dns-interface",
    "dns-ipv4-addr",
    "dns-ipv6-addr",
    "dns-servers",
    "doh-url",
    "dump-header",
    "ech",
    "egd-file",
    "engine",
    "etag-compare",
    "etag-save",
    "expect100-timeout",
    "form",
    "form-string",
    "ftp-account",
    "ftp-alternative-to-user",
    "ftp-method",
    "ftp-port",
    "ftp-ssl-ccc-mode",
    "haproxy-clientip",
    "happy-eyeballs-timeout-ms",
    "header",
    "hostpubmd5",
    "hostpubsha256",
    "hsts",
    "interface",
    "ip-tos",
    "json",
    "keepalive-cnt",
    "keepalive-time",
    "key",
    "key-type",
    "knownhosts",
    "krb",
    "libcurl",
    "limit-rate",
    "local-port",
    "login-options",
    "mail-auth",
    "mail-from",
    "mail-rcpt",
    "max-filesize",
    "max-redirs",
    "max-time",
    "netrc-file",
    "noproxy",
    "oauth2-bearer",
    "output",
    "output-dir",
    "parallel-max",
    "pass",
    "pinnedpubkey",
    "preproxy",
    "proto",
    "proto-default",
    "proto-redir",
    "proxy",
    "proxy-cacert",
    "proxy-capath",
    "proxy-cert",
    "proxy-cert-type",
    "proxy-ciphers",
    "proxy-crlfile",
    "proxy-header",
    "proxy-key",
    "proxy-key-type",
    "proxy-pass",
    "proxy-pinnedpubkey",
    "proxy-service-name",
    "proxy-tls13-ciphers",
    "proxy-tlsauthtype",
    "proxy-tlspassword",
    "proxy-tlsuser",
    "proxy-user",
    "proxy1.0",
    "pubkey",
    "quote",
    "random-file",
    "range",
    "rate",
    "referer",
    "request",
    "request-target",
    "resolve",
    "retry",
    "retry-delay",
    "retry-max-time",
    "sasl-authzid",
    "service-name",
    "sigalgs",
    "socks4",
    "socks4a",
    "socks5",
    "socks5-gssapi-service",
    "socks5-hostname",
    "speed-limit",
    "speed-time",
    "stderr",
    "telnet-option",
    "tftp-blksize",
    "time-cond",
    "tls-max",
    "tls13-ciphers",
    "tlsauthtype",
    "tlspassword",
    "tlsuser",
    "trace",
    "trace-ascii",
    "trace-config",
    "unix-socket",
    "upload-file",
    "url",
    "url-query",
    "user",
    "user-agent",
    "variable",
    "vlan-priority",
    "write-out",
];

/// Short options and their long names. The ones that take a value are
/// exactly those whose long name is in [`LONG_WITH_VALUE`].
const SHORT: &[(char, &str)] = &[
    ('a', "append"),
    ('A', "user-agent"),
    ('b', "cookie"),
    ('B', "use-ascii"),
    ('c', "cookie-jar"),
    ('C', "continue-at"),
    ('d', "data"),
    ('D', "dump-header"),
    ('e', "referer"),
    ('E', "cert"),
    ('f', "fail"),
    ('F', "form"),
    ('g', "globoff"),
    ('G', "get"),
    ('h', "help"),
    ('H', "header"),
    ('i', "include"),
    ('I', "head"),
    ('j', "junk-session-cookies"),
    ('J', "remote-header-name"),
    ('k', "insecure"),
    ('K', "config"),
    ('l', "list-only"),
    ('L', "location"),
    ('m', "max-time"),
    ('M', "manual"),
    ('n', "netrc"),
    ('N', "no-buffer"),
    ('o', "output"),
    ('O', "remote-name"),
    ('p', "proxytunnel"),
    ('P', "ftp-port"),
    ('q', "disable"),
    ('Q', "quote"),
    ('r', "range"),
    ('R', "remote-time"),
    ('s', "silent"),
    ('S', "show-error"),
    ('t', "telnet-option"),
    ('T', "upload-file"),
    ('u', "user"),
    ('U', "proxy-user"),
    ('v', "verbose"),
    ('V', "version"),
    ('w', "write-out"),
    ('x', "proxy"),
    ('X', "request"),
    ('y', "speed-time"),
    ('Y', "speed-limit"),
    ('z', "time-cond"),
    ('Z', "parallel"),
    ('0', "http1.0"),
    ('1', "tlsv1"),
    ('2', "sslv2"),
    ('3', "sslv3"),
    ('4', "ipv4"),
    ('6', "ipv6"),
    (':', "next"),
    ('#', "progress-bar"),
];

/// Options a side request to the same server needs to connect the way the
/// user's request does (TLS trust, client certificates, proxies, name
/// resolution, timeouts).
const CONNECTION: &[&str] = &[
    "abstract-unix-socket",
    "cacert",
    "capath",
    "cert",
    "cert-type",
    "ciphers",
    "connect-timeout",
    "connect-to",
    "crlfile",
    "dns-servers",
    "doh-url",
    "http1.1",
    "http2",
    "http2-prior-knowledge",
    "insecure",
    "interface",
    "ipv4",
    "ipv6",
    "key",
    "key-type",
    "max-time",
    "noproxy",
    "pass",
    "pinnedpubkey",
    "preproxy",
    "proxy",
    "proxy-cacert",
    "proxy-capath",
    "proxy-cert",
    "proxy-insecure",
    "proxy-key",
    "proxy-pass",
    "proxy-user",
    "proxytunnel",
    "resolve",
    "socks5",
    "socks5-hostname",
    "tlsv1.2",
    "tlsv1.3",
    "unix-socket",
    "user-agent",
];

/// One option as curl reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// The long name, without `--` (short options are mapped to it).
    pub name: String,
    /// Its value, for options that take one.
    pub value: Option<String>,
}

/// What curl will do, as far as wrs-token cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurlLine {
    /// Options in order.
    pub opts: Vec<Opt>,
    /// URLs in order (positional arguments and `--url` values).
    pub urls: Vec<String>,
}

/// Why a command line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An argument makes curl read stdin, which carries the token.
    ReadsStdin(String),
}

impl CurlLine {
    /// Reads curl's arguments. Non-UTF-8 arguments are read lossily (they
    /// are passed on to curl unchanged all the same).
    pub fn parse(args: &[OsString]) -> CurlLine {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut line = CurlLine::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if let Some(long) = arg.strip_prefix("--").filter(|l| !l.is_empty()) {
                let name = canonical(long);
                let value = if takes_value(&name) {
                    i += 1;
                    Some(args.get(i - 1).cloned().unwrap_or_default())
                } else {
                    None
                };
                line.push(name, value);
            } else if let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) {
                for (pos, c) in cluster.char_indices() {
                    let Some(name) = short_name(c) else { continue };
                    if takes_value(name) {
                        let attached = &cluster[pos + c.len_utf8()..];
                        let value = if attached.is_empty() {
                            i += 1;
                            args.get(i - 1).cloned().unwrap_or_default()
                        } else {
                            attached.to_owned()
                        };
                        line.push(name.to_owned(), Some(value));
                        break;
                    }
                    line.push(name.to_owned(), None);
                }
            } else {
                line.urls.push(arg.clone());
            }
        }
        line
    }

    fn push(&mut self, name: String, value: Option<String>) {
        if name == "url"
            && let Some(url) = &value
        {
            self.urls.push(url.clone());
        }
        self.opts.push(Opt { name, value });
    }

    fn values<'a>(&'a self, names: &'a [&str]) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.opts.iter().filter_map(move |o| {
            let value = o.value.as_deref()?;
            names
                .contains(&o.name.as_str())
                .then_some((o.name.as_str(), value))
        })
    }

    fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|o| o.name == name)
    }

    /// The first argument that makes curl read its stdin, if any.
    pub fn stdin_reader(&self) -> Option<Refusal> {
        let found = |name: &str, value: &str| Refusal::ReadsStdin(format!("--{name} {value}"));
        for opt in &self.opts {
            let Some(v) = opt.value.as_deref() else {
                continue;
            };
            let name = opt.name.as_str();
            let reads = match name {
                // A file name of "-" (or "." for -T) is stdin.
                "config" | "cookie" | "upload-file" => {
                    v == "-" || (name == "upload-file" && v == ".")
                }
                // @- reads the data, the header file or the format from stdin.
                "data" | "data-ascii" | "data-binary" | "json" | "header" | "proxy-header"
                | "write-out" => v == "@-",
                // name@- as well as @-.
                "data-urlencode" | "url-query" | "variable" => v == "@-" || v.ends_with("@-"),
                // name=@- (a file part) or name=<- (a text part), maybe with ;type=…
                "form" => form_reads_stdin(v),
                _ => false,
            };
            if reads {
                return Some(found(name, v));
            }
        }
        None
    }

    /// The HTTP method curl will use for the URLs.
    pub fn method(&self) -> String {
        let mut explicit = None;
        for (_, v) in self.values(&["request"]) {
            explicit = Some(v.to_ascii_uppercase());
        }
        if let Some(m) = explicit {
            return m;
        }
        if self.has("head") {
            return "HEAD".into();
        }
        if self.has("get") {
            return "GET".into();
        }
        let sends_data = self.opts.iter().any(|o| {
            matches!(
                o.name.as_str(),
                "data"
                    | "data-ascii"
                    | "data-binary"
                    | "data-raw"
                    | "data-urlencode"
                    | "json"
                    | "form"
                    | "form-string"
            )
        });
        if sends_data {
            "POST".into()
        } else if self.has("upload-file") {
            "PUT".into()
        } else {
            "GET".into()
        }
    }

    /// Whether the user asked curl to dump response headers somewhere.
    pub fn dumps_headers(&self) -> bool {
        self.has("dump-header")
    }

    /// Whether the user says which servers curl trusts (`--cacert`,
    /// `--capath`, `-k`/`--insecure`, `--ca-native`): then wrs-token adds
    /// no CA of its own.
    pub fn sets_trust(&self) -> bool {
        self.opts.iter().any(|o| {
            matches!(
                o.name.as_str(),
                "cacert" | "capath" | "insecure" | "ca-native"
            )
        })
    }

    /// The user's connection options, as arguments for a side request.
    pub fn connection_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        for opt in &self.opts {
            if CONNECTION.contains(&opt.name.as_str()) {
                out.push(format!("--{}", opt.name));
                out.extend(opt.value.clone());
            }
        }
        out
    }
}

fn form_reads_stdin(v: &str) -> bool {
    let Some((_, content)) = v.split_once('=') else {
        return false;
    };
    let file = content.split(';').next().unwrap_or("");
    file == "@-" || file == "<-"
}

/// `--expand-data` is `--data` with variables expanded (curl 8.3).
fn canonical(long: &str) -> String {
    long.strip_prefix("expand-").unwrap_or(long).to_owned()
}

fn takes_value(name: &str) -> bool {
    LONG_WITH_VALUE.contains(&name)
}

fn short_name(c: char) -> Option<&'static str> {
    SHORT.iter().find(|(s, _)| *s == c).map(|(_, l)| *l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> CurlLine {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        CurlLine::parse(&args)
    }

    #[test]
    fn the_users_own_trust_options_are_seen_in_every_spelling() {
        for args in [
            &["--cacert", "/ca.pem", "https://h/"][..],
            &["--capath", "/etc/ssl", "https://h/"],
            &["-k", "https://h/"],
            &["-sSk", "https://h/"],
            &["--insecure", "https://h/"],
        ] {
            assert!(line(args).sets_trust(), "{args:?}");
        }
        assert!(!line(&["-sS", "-H", "X: cacert", "https://h/"]).sets_trust());
    }

    fn refused(args: &[&str]) -> bool {
        line(args).stdin_reader().is_some()
    }

    #[test]
    fn arguments_that_read_stdin_are_found_in_every_spelling() {
        for args in [
            &["-d", "@-", "u"][..],
            &["-d@-", "u"],
            &["-sSd", "@-", "u"],
            &["--data-binary", "@-", "u"],
            &["--data", "@-", "u"],
            &["--json", "@-", "u"],
            &["-T", "-", "u"],
            &["--upload-file", "-", "u"],
            &["-T.", "u"],
            &["--config", "-"],
            &["-K", "-"],
            &["-K-"],
            &["-F", "file=@-", "u"],
            &["-F", "file=@-;type=text/plain", "u"],
            &["--form", "text=<-", "u"],
            &["-H", "@-", "u"],
            &["--data-urlencode", "name@-", "u"],
            &["-b", "-", "u"],
            &["-w", "@-", "u"],
        ] {
            assert!(refused(args), "{args:?} reads stdin");
        }
    }

    #[test]
    fn arguments_that_only_look_like_stdin_are_fine() {
        for args in [
            &["-d", "@body.json", "u"][..],
            &["-d", "-", "u"],
            &["--data-raw", "@-", "u"],
            &["-T", "file", "u"],
            &["-o", "-", "u"],
            &["-F", "a=b@-", "u"],
            &["-H", "X-A: @-", "u"],
            &["-D", "-", "u"],
            &["--", "u"],
        ] {
            assert!(!refused(args), "{args:?} does not read stdin");
        }
        assert_eq!(
            line(&["-sd", "@-", "u"]).stdin_reader(),
            Some(Refusal::ReadsStdin("--data @-".into()))
        );
    }

    #[test]
    fn urls_are_the_positionals_and_url_values_not_option_values() {
        let l = line(&[
            "-sS",
            "-H",
            "Accept: x",
            "-o",
            "out",
            "https://a/x",
            "--url",
            "https://b/y",
            "-XPOST",
            "-e",
            "https://referer/",
        ]);
        assert_eq!(l.urls, ["https://a/x", "https://b/y"]);
    }

    #[test]
    fn method_follows_curls_rules() {
        assert_eq!(line(&["u"]).method(), "GET");
        assert_eq!(line(&["-d", "x", "u"]).method(), "POST");
        assert_eq!(line(&["--json", "{}", "u"]).method(), "POST");
        assert_eq!(line(&["-F", "a=b", "u"]).method(), "POST");
        assert_eq!(line(&["-G", "-d", "q=1", "u"]).method(), "GET");
        assert_eq!(line(&["-T", "f", "u"]).method(), "PUT");
        assert_eq!(line(&["-I", "u"]).method(), "HEAD");
        assert_eq!(line(&["-X", "patch", "-d", "x", "u"]).method(), "PATCH");
        assert_eq!(line(&["-XDELETE", "u"]).method(), "DELETE");
        assert_eq!(
            line(&["--request", "PUT", "--request", "POST", "u"]).method(),
            "POST"
        );
    }

    #[test]
    fn connection_options_are_kept_for_side_requests() {
        let l = line(&[
            "-ksS",
            "--cacert",
            "ca.pem",
            "-x",
            "http://proxy:3128",
            "-d",
            "x",
            "-H",
            "A: b",
            "--resolve",
            "h:443:127.0.0.1",
            "-o",
            "out",
            "u",
        ]);
        assert_eq!(
            l.connection_args(),
            [
                "--insecure",
                "--cacert",
                "ca.pem",
                "--proxy",
                "http://proxy:3128",
                "--resolve",
                "h:443:127.0.0.1"
            ]
        );
        assert!(!l.dumps_headers());
        assert!(line(&["-D", "h.txt", "u"]).dumps_headers());
    }
}
