//! `wrs-demo browse URL`: a headless user agent for `$BROWSER`.
//!
//! It GETs the URL and follows redirects by hand (so it can say where each
//! one went), across schemes: from the mock's HTTPS authorization endpoint
//! to the client's `http://127.0.0.1:PORT/callback` loopback listener. Then
//! it prints one line on what happened and exits 0; 1 only when a request
//! could not be made at all. With the mock in `--auto-approve` mode this is
//! a complete browser login with no person involved: `wrs-token demo` and
//! tests use it as `BROWSER="wrs-demo browse --ca-file ca.pem %s"`.
//!
//! Query strings are never printed: they carry authorization codes. An
//! `error` parameter (an OAuth error redirect) is named, as it is no secret.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use url::Url;

/// Environment fallback for `--ca-file` (`$BROWSER` cannot carry a path
/// with spaces).
pub const CA_FILE_ENV: &str = "WRS_DEMO_BROWSE_CA_FILE";
/// Environment fallback for `--report`.
pub const REPORT_ENV: &str = "WRS_DEMO_BROWSE_REPORT";

/// The most redirects followed, like a browser's limit.
const MAX_REDIRECTS: usize = 10;

/// Open a URL like a browser would, without a window.
#[derive(Debug, clap::Args)]
pub struct BrowseArgs {
    /// Trust this CA certificate (PEM) besides the system's roots.
    #[arg(long, value_name = "PATH", env = CA_FILE_ENV)]
    ca_file: Option<PathBuf>,
    /// Also append the report line to this file (a browser started by
    /// `wrs-token login` has no terminal).
    #[arg(long, value_name = "PATH", env = REPORT_ENV)]
    report: Option<PathBuf>,
    /// Give up on a request after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// The URL to open.
    url: Url,
}

/// One response on the way.
#[derive(Debug)]
struct Hop {
    url: Url,
    status: reqwest::StatusCode,
}

/// Runs `wrs-demo browse`: prints the report line; returns the exit code
/// (0 once an answer came, 1 when a request could not be made).
pub fn main(args: &BrowseArgs) -> i32 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(rt) => rt.block_on(browse(args)),
        Err(e) => Err(anyhow!("cannot start the tokio runtime: {e}")),
    };
    let (line, code) = match outcome {
        Ok(line) => (line, 0),
        Err(e) => (format!("browse: {e:#}"), 1),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    if let Some(path) = &args.report
        && let Err(e) = append(path, &line)
    {
        eprintln!("wrs-demo browse: cannot write {}: {e}", path.display());
    }
    code
}

fn append(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(file, "{line}")
}

fn client(args: &BrowseArgs) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("wrs-demo-browse/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(args.timeout.max(1)));
    if let Some(path) = &args.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read the CA file {}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} is not a PEM certificate bundle", path.display()))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().context("cannot build the HTTP client")
}

/// Follows the redirect chain from `args.url`; the report line.
async fn browse(args: &BrowseArgs) -> anyhow::Result<String> {
    let http = client(args)?;
    let mut url = args.url.clone();
    let mut hops = Vec::new();
    let mut errors = Vec::new();
    loop {
        let response = http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "text/html,*/*")
            .send()
            .await
            // reqwest's message would repeat the URL with its query.
            .map_err(reqwest::Error::without_url)
            .with_context(|| format!("GET {} failed", without_query(&url)))?;
        let status = response.status();
        hops.push(Hop {
            url: url.clone(),
            status,
        });
        if let Some(error) = oauth_error(&url) {
            errors.push(error);
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(location) if status.is_redirection() => {
                if hops.len() > MAX_REDIRECTS {
                    return Err(anyhow!("more than {MAX_REDIRECTS} redirects"));
                }
                url = url.join(&location).with_context(|| {
                    format!("bad redirect Location from {}", without_query(&url))
                })?;
            }
            _ => {
                let body = response.text().await.unwrap_or_default();
                return Ok(report(&hops, &body, &errors));
            }
        }
    }
}

/// `browse: GET A → 302 → B → 200 OK "title"`.
fn report(hops: &[Hop], body: &str, errors: &[String]) -> String {
    let mut line = String::from("browse: GET");
    for (i, hop) in hops.iter().enumerate() {
        if i > 0 {
            line.push_str(" →");
        }
        line.push_str(&format!(
            " {} → {}",
            without_query(&hop.url),
            status_text(hop.status)
        ));
    }
    if let Some(title) = page_title(body) {
        line.push_str(&format!(" \"{title}\""));
    }
    if !errors.is_empty() {
        line.push_str(&format!(" (error={})", errors.join(", ")));
    }
    line
}

fn status_text(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) if !status.is_redirection() => format!("{} {reason}", status.as_u16()),
        _ => status.as_u16().to_string(),
    }
}

/// The URL without query and fragment: codes and state stay private.
fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// The `error` parameter of an OAuth error redirect.
fn oauth_error(url: &Url) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == "error").map(|(_, v)| {
        v.chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect()
    })
}

/// The page's `<title>`, else its first line of text, shortened.
fn page_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let text = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(start), Some(end)) if start + 7 <= end => body[start + 7..end].to_owned(),
        _ if lower.contains('<') => return None,
        _ => body.lines().find(|l| !l.trim().is_empty())?.to_owned(),
    };
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    let short: String = text.chars().take(80).collect();
    Some(if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_each_hop_without_query_strings() {
        let hops = [
            Hop {
                url: Url::parse("https://127.0.0.1:9/as/authorization.oauth2?code_challenge=x")
                    .unwrap(),
                status: reqwest::StatusCode::FOUND,
            },
            Hop {
                url: Url::parse("http://127.0.0.1:8/callback?code=secret&state=s").unwrap(),
                status: reqwest::StatusCode::OK,
            },
        ];
        let line = report(&hops, "<html><title>Logged in</title></html>", &[]);
        assert_eq!(
            line,
            "browse: GET https://127.0.0.1:9/as/authorization.oauth2 → 302 → \
             http://127.0.0.1:8/callback → 200 OK \"Logged in\""
        );
        assert!(!line.contains("secret"));
    }

    #[test]
    fn error_redirects_are_named() {
        let url = Url::parse("http://127.0.0.1:8/callback?error=access_denied&state=s").unwrap();
        assert_eq!(oauth_error(&url).as_deref(), Some("access_denied"));
        assert_eq!(oauth_error(&Url::parse("http://h/?code=c").unwrap()), None);
    }

    #[test]
    fn titles_come_from_html_or_the_first_text_line() {
        assert_eq!(page_title("<TITLE> A  b </TITLE>").as_deref(), Some("A b"));
        assert_eq!(
            page_title("\nplain text\nmore").as_deref(),
            Some("plain text")
        );
        assert_eq!(page_title("<p>no title</p>"), None);
        assert_eq!(page_title(""), None);
    }
}
