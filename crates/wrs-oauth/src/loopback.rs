//! The RFC 8252 loopback redirect listener: a tiny HTTP/1.1 server on
//! 127.0.0.1 that waits for the browser to come back with the code.
//!
//! It reads only a request line and headers (capped, with a per-connection
//! timeout), answers anything but a GET on the redirect path with 404/405,
//! and answers the redirect itself with a small page telling the user
//! whether the login worked. Connections are served concurrently, so a
//! browser's idle pre-connection cannot hold up the real one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use url::Url;

use crate::authorize::{AuthorizationCode, PendingAuthorization, RedirectParams};
use crate::error::OAuthError;

/// The path used with an ephemeral port when no redirect URI is registered.
pub const DEFAULT_PATH: &str = "/callback";

/// The largest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections are served at once; more are dropped.
const MAX_CONNECTIONS: usize = 32;

/// A bound loopback listener, waiting to be given the login to complete.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    redirect_uri: String,
    path: String,
}

impl LoopbackListener {
    /// Binds the listener.
    ///
    /// With no `registered` URI: 127.0.0.1 on an ephemeral port, redirect URI
    /// `http://127.0.0.1:PORT/callback`. With a registered
    /// `http://127.0.0.1:PORT/path`, `http://localhost:PORT/path` or
    /// `http://[::1]:PORT/path`: that port (and the URI is sent exactly as
    /// given); without a port in it, an ephemeral port (RFC 8252 7.3).
    pub async fn bind(registered: Option<&str>) -> Result<Self, OAuthError> {
        let (ip, port, template) = match registered {
            None => (IpAddr::V4(Ipv4Addr::LOCALHOST), 0, None),
            Some(uri) => {
                let uri = uri.trim();
                let url = Url::parse(uri).map_err(|e| {
                    OAuthError::Config(format!("redirect URI {uri:?} is not a URL: {e}"))
                })?;
                if url.scheme() != "http" {
                    return Err(OAuthError::Config(format!(
                        "loopback redirect URI {uri:?} must start with http:// (the browser comes back to this machine)"
                    )));
                }
                // The one loopback rule, which the profile's redirect mode
                // was decided by too.
                let Some(ip) = url.host_str().and_then(wrs_sys::host::loopback_ip) else {
                    return Err(OAuthError::Config(format!(
                        "redirect URI {uri:?} is not on 127.0.0.1, [::1] or localhost: use paste mode"
                    )));
                };
                let port = url.port().unwrap_or(0);
                (ip, port, Some((uri.to_owned(), url)))
            }
        };
        let listener = TcpListener::bind(SocketAddr::new(ip, port))
            .await
            .map_err(|e| {
                OAuthError::Config(format!(
                    "cannot listen on {ip}:{port} for the login redirect: {e}"
                ))
            })?;
        let bound = listener.local_addr()?.port();
        let (redirect_uri, path) = match template {
            None => (
                format!("http://127.0.0.1:{bound}{DEFAULT_PATH}"),
                DEFAULT_PATH.to_owned(),
            ),
            Some((uri, _)) if port != 0 => {
                let path = Url::parse(&uri)
                    .map(|u| u.path().to_owned())
                    .unwrap_or_default();
                (uri, path)
            }
            Some((_, mut url)) => {
                // `set_port` fails only for URLs without a host; ours has one.
                let _ = url.set_port(Some(bound));
                (url.to_string(), url.path().to_owned())
            }
        };
        Ok(LoopbackListener {
            listener,
            redirect_uri,
            path,
        })
    }

    /// The redirect URI to send in the authorization request.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The local port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until one GET on the redirect path carries a `code` or an
    /// `error`, then checks it against `pending` (issuer, state, error) and
    /// answers the browser with a page naming `profile`.
    ///
    /// Ends with [`OAuthError::LoginTimeout`] after `timeout`. Dropping the
    /// future cancels the wait and closes the socket.
    pub async fn wait(
        self,
        pending: &PendingAuthorization,
        profile: &str,
        timeout: Duration,
    ) -> Result<AuthorizationCode, OAuthError> {
        match tokio::time::timeout(timeout, self.serve(pending, profile)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(OAuthError::LoginTimeout(timeout)),
        }
    }

    async fn serve(
        self,
        pending: &PendingAuthorization,
        profile: &str,
    ) -> Result<AuthorizationCode, OAuthError> {
        let shared = Arc::new(Shared {
            pending: pending.clone(),
            path: self.path,
            profile: profile.to_owned(),
        });
        let mut tasks: JoinSet<Option<Result<AuthorizationCode, OAuthError>>> = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) if tasks.len() < MAX_CONNECTIONS => {
                        tasks.spawn(handle(stream, Arc::clone(&shared)));
                    }
                    Ok(_) => tracing::debug!("loopback listener: too many connections, dropping one"),
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little
                        // rather than spin.
                        tracing::debug!(error = %e, "loopback listener: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(Some(outcome)) = joined {
                        return outcome;
                    }
                }
            }
        }
    }
}

struct Shared {
    pending: PendingAuthorization,
    path: String,
    profile: String,
}

/// Serves one connection; `Some` when it carried the authorization response.
async fn handle(
    mut stream: TcpStream,
    shared: Arc<Shared>,
) -> Option<Result<AuthorizationCode, OAuthError>> {
    let head = match tokio::time::timeout(CLIENT_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(head)) => head,
        // Slow, silent or oversized: just close.
        _ => return None,
    };
    let Answer {
        status,
        page,
        outcome,
    } = answer(&head, &shared.path, &shared.profile, &shared.pending);
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    // The outcome matters even if the browser has gone away.
    let _ = tokio::time::timeout(CLIENT_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    outcome
}

/// Reads up to the end of the request head; `None` on EOF, error or a head
/// over [`MAX_HEAD`].
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Some(String::from_utf8_lossy(&buf).into_owned());
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
    }
}

/// The listener's answer to one request.
#[derive(Debug)]
pub struct Answer {
    /// The status line's code and reason, e.g. `404 Not Found`.
    pub status: &'static str,
    /// The HTML page sent back; what came from the request or the server
    /// in it is escaped.
    pub page: String,
    /// The authorization response it carried, checked: the code, or why
    /// the login failed. `None` for anything else (noise, a favicon, a
    /// request without `code` or `error`), which leaves the login waiting.
    pub outcome: Option<Result<AuthorizationCode, OAuthError>>,
}

/// Decides the answer to one request head (`head`: the request line and
/// headers as read, any text) for a listener on `path` completing
/// `pending` for `profile`. Pure, so it is fuzzed as it is served.
pub fn answer(head: &str, path: &str, profile: &str, pending: &PendingAuthorization) -> Answer {
    let (status, page, outcome) = route(head, path, profile, pending);
    Answer {
        status,
        page,
        outcome,
    }
}

fn route(
    head: &str,
    redirect_path: &str,
    profile: &str,
    pending: &PendingAuthorization,
) -> (
    &'static str,
    String,
    Option<Result<AuthorizationCode, OAuthError>>,
) {
    let request_line = head.lines().next().unwrap_or("");
    let mut parts = request_line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return (
            "400 Bad Request",
            page("Bad request", "This is the wrs-token login listener."),
            None,
        );
    };
    if !version.starts_with("HTTP/1.") {
        return (
            "400 Bad Request",
            page("Bad request", "This is the wrs-token login listener."),
            None,
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != redirect_path {
        return (
            "404 Not Found",
            page("Not found", "This is the wrs-token login listener."),
            None,
        );
    }
    if method != "GET" {
        return (
            "405 Method Not Allowed",
            page("Method not allowed", "Expected a GET."),
            None,
        );
    }
    let params = RedirectParams::from_query(query);
    if !params.is_response() {
        return (
            "400 Bad Request",
            page(
                "Waiting for the login",
                "This address expects the authorization server's redirect.",
            ),
            None,
        );
    }
    let profile = escape(profile);
    match pending.check(&params) {
        Ok(code) => (
            "200 OK",
            page(
                "Login complete",
                &format!("Login complete for profile {profile} — you can close this tab."),
            ),
            Some(Ok(code)),
        ),
        Err(err) => (
            "400 Bad Request",
            page(
                "Login failed",
                &format!(
                    "Login failed for profile {profile}: {}.<br>Run the login again from your terminal.",
                    escape(&err.to_string())
                ),
            ),
            Some(Err(err)),
        ),
    }
}

fn page(title: &str, message: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>wrs-token: {title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{message}</p></body></html>\n"
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::AuthorizationRequest;

    fn pending(redirect_uri: &str) -> PendingAuthorization {
        let endpoint = Url::parse("https://idp.example.com/as/authorization.oauth2").unwrap();
        PendingAuthorization::new(
            &endpoint,
            "cli",
            &AuthorizationRequest::new(redirect_uri),
            None,
            false,
        )
    }

    async fn get(port: u16, raw: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn ephemeral_listener_ignores_noise_and_returns_the_code() {
        let listener = LoopbackListener::bind(None).await.unwrap();
        let port = listener.port();
        assert_eq!(
            listener.redirect_uri(),
            format!("http://127.0.0.1:{port}/callback")
        );
        let p = pending(listener.redirect_uri());
        let state = p.state().to_owned();
        let browser = tokio::spawn(async move {
            // An idle pre-connection that never sends anything.
            let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let favicon = get(port, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
            let garbage = get(port, "\u{1}\u{2}garbage\r\n\r\n").await;
            assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
            let post = get(port, "POST /callback?code=x HTTP/1.1\r\n\r\n").await;
            assert!(post.starts_with("HTTP/1.1 405"), "{post}");
            let bare = get(port, "GET /callback HTTP/1.1\r\n\r\n").await;
            assert!(bare.starts_with("HTTP/1.1 400"), "{bare}");
            get(
                port,
                &format!("GET /callback?code=the-code&state={state} HTTP/1.1\r\nHost: x\r\n\r\n"),
            )
            .await
        });
        let code = listener
            .wait(&p, "plm<prod>", Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(code.0.expose(), "the-code");
        let page = browser.await.unwrap();
        assert!(page.starts_with("HTTP/1.1 200"));
        assert!(
            page.contains("Login complete for profile plm&lt;prod&gt;"),
            "{page}"
        );
    }

    #[tokio::test]
    async fn error_redirect_shows_a_failure_page_and_returns_the_error() {
        let listener = LoopbackListener::bind(None).await.unwrap();
        let port = listener.port();
        let p = pending(listener.redirect_uri());
        let state = p.state().to_owned();
        let browser = tokio::spawn(async move {
            get(port, &format!("GET /callback?error=access_denied&error_description=No%20way&state={state} HTTP/1.1\r\n\r\n"))
                .await
        });
        let err = listener
            .wait(&p, "dev", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            OAuthError::Authorization {
                code: crate::ErrorCode::AccessDenied,
                ..
            }
        ));
        let page = browser.await.unwrap();
        assert!(page.starts_with("HTTP/1.1 400"));
        assert!(page.contains("Login failed for profile dev"));
        assert!(page.contains("No way"));
    }

    #[tokio::test]
    async fn oversized_head_is_dropped_without_panic() {
        let listener = LoopbackListener::bind(None).await.unwrap();
        let port = listener.port();
        let p = pending(listener.redirect_uri());
        let flood = tokio::spawn(async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let _ = stream.write_all(&vec![b'A'; MAX_HEAD * 2]).await;
            let mut out = Vec::new();
            let _ = stream.read_to_end(&mut out).await;
            out.len()
        });
        let err = listener
            .wait(&p, "dev", Duration::from_millis(500))
            .await
            .unwrap_err();
        assert!(matches!(err, OAuthError::LoginTimeout(_)));
        assert_eq!(flood.await.unwrap(), 0, "an oversized head gets no answer");
    }

    #[tokio::test]
    async fn registered_fixed_port_uri_is_used_verbatim() {
        // Find a free port, release it, then register it.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let uri = format!("http://localhost:{port}/oauth/cb");
        let listener = LoopbackListener::bind(Some(&uri)).await.unwrap();
        assert_eq!(listener.redirect_uri(), uri);
        assert_eq!(listener.port(), port);
        let listener = LoopbackListener::bind(Some("http://127.0.0.1/cb"))
            .await
            .unwrap();
        assert_eq!(
            listener.redirect_uri(),
            format!("http://127.0.0.1:{}/cb", listener.port())
        );
        assert!(matches!(
            LoopbackListener::bind(Some("https://example.com/cb")).await,
            Err(OAuthError::Config(_))
        ));
        assert!(matches!(
            LoopbackListener::bind(Some("http://example.com/cb")).await,
            Err(OAuthError::Config(_))
        ));
    }
}
