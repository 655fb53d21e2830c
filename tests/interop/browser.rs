//! A scripted user agent: follows redirects itself, keeps cookies, and
//! "presses the button" on each HTML form oidc-provider's development pages
//! show (user code, confirmation, login, consent), filling in the fields it
//! was told about. Just enough browser for those pages, no more.

use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use url::Url;

/// Redirects and form posts allowed for one walk through the pages.
const MAX_STEPS: usize = 20;

/// Where a walk ended.
#[derive(Debug)]
pub enum Outcome {
    /// A redirect to a URL the caller said to stop at (the client's
    /// redirect URI): not followed.
    Redirected(Url),
    /// A page without a form: the end of the interaction.
    Page(String),
}

/// One browser: a cookie jar and a client that does not follow redirects.
pub struct Browser {
    http: reqwest::Client,
    jar: Vec<Cookie>,
}

#[derive(Debug)]
struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// A request the walk makes next.
enum Step {
    Get(Url),
    Post(Url, Vec<(String, String)>),
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Browser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("reqwest client");
        Browser {
            http,
            jar: Vec::new(),
        }
    }

    /// Opens `start` and walks on: follows redirects (stopping before any
    /// URL `stop` accepts), and submits the first POST form of each page,
    /// with its hidden fields as they are and empty fields named in `fill`
    /// filled in. Ends at a page without a form.
    pub async fn walk(
        &mut self,
        start: &Url,
        fill: &[(&str, &str)],
        stop: impl Fn(&Url) -> bool,
    ) -> Outcome {
        let mut step = Step::Get(start.clone());
        let mut trail = Vec::new();
        for _ in 0..MAX_STEPS {
            let url = match &step {
                Step::Get(url) | Step::Post(url, _) => url.clone(),
            };
            trail.push(url.path().to_owned());
            let (status, location, body) = self.send(step).await;
            if (300..400).contains(&status) {
                let location =
                    location.unwrap_or_else(|| panic!("HTTP {status} without Location from {url}"));
                let next = url
                    .join(&location)
                    .unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"));
                if stop(&next) {
                    return Outcome::Redirected(next);
                }
                step = Step::Get(next);
                continue;
            }
            assert_eq!(
                status, 200,
                "{url} answered {status} (pages so far: {trail:?}):\n{body}"
            );
            match Form::first_post(&body) {
                Some(form) => {
                    let action = url
                        .join(&form.action)
                        .unwrap_or_else(|e| panic!("bad form action {:?}: {e}", form.action));
                    step = Step::Post(action, form.fill(fill));
                }
                None => return Outcome::Page(body),
            }
        }
        panic!("more than {MAX_STEPS} steps, pages: {trail:?}")
    }

    /// GETs a URL (e.g. the loopback redirect) and returns status and body.
    pub async fn get(&mut self, url: &Url) -> (u16, String) {
        let (status, _, body) = self.send(Step::Get(url.clone())).await;
        (status, body)
    }

    async fn send(&mut self, step: Step) -> (u16, Option<String>, String) {
        let (url, request) = match step {
            Step::Get(url) => (url.clone(), self.http.get(url.as_str())),
            Step::Post(url, fields) => (url.clone(), self.http.post(url.as_str()).form(&fields)),
        };
        let cookies = self.cookie_header(url.path());
        let request = if cookies.is_empty() {
            request
        } else {
            request.header(COOKIE, cookies)
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        for value in response.headers().get_all(SET_COOKIE) {
            if let Ok(value) = value.to_str() {
                self.store(value);
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        (status, location, body)
    }

    /// Keeps a `Set-Cookie` (RFC 6265, reduced to what a single host
    /// needs: name, value, path; a cookie set empty or expired is removed).
    fn store(&mut self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        let mut path = "/".to_owned();
        let mut expired = value.is_empty();
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "path" => path = val.trim().to_owned(),
                "max-age" => expired |= val.trim().parse::<i64>().is_ok_and(|s| s <= 0),
                // Deletions are dated 1970 (koa's `cookies.set(name, null)`).
                "expires" => expired |= val.contains("1970"),
                _ => {}
            }
        }
        self.jar.retain(|c| !(c.name == name && c.path == path));
        if !expired {
            self.jar.push(Cookie { name, value, path });
        }
    }

    fn cookie_header(&self, request_path: &str) -> String {
        self.jar
            .iter()
            .filter(|c| path_matches(request_path, &c.path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// RFC 6265 5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/'))
}

/// An HTML form: its action and its named inputs.
struct Form {
    action: String,
    inputs: Vec<(String, String)>,
}

impl Form {
    /// The first `<form method="post">` of a page, if any.
    fn first_post(html: &str) -> Option<Form> {
        let mut rest = html;
        while let Some(start) = rest.find("<form") {
            let (tag, after) = tag_at(&rest[start..])?;
            let end = after.find("</form>").unwrap_or(after.len());
            let (inner, next) = after.split_at(end);
            rest = next;
            if !attribute(tag, "method").is_some_and(|m| m.eq_ignore_ascii_case("post")) {
                continue;
            }
            let mut inputs = Vec::new();
            let mut scan = inner;
            while let Some(i) = scan.find("<input") {
                let Some((input, after)) = tag_at(&scan[i..]) else {
                    break;
                };
                if let Some(name) = attribute(input, "name") {
                    inputs.push((name, attribute(input, "value").unwrap_or_default()));
                }
                scan = after;
            }
            return Some(Form {
                action: attribute(tag, "action").unwrap_or_default(),
                inputs,
            });
        }
        None
    }

    /// The fields to submit: every input, empty ones filled from `fill`.
    fn fill(self, fill: &[(&str, &str)]) -> Vec<(String, String)> {
        self.inputs
            .into_iter()
            .map(|(name, value)| {
                let filled = fill.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
                match filled {
                    Some(v) if value.is_empty() => (name, v.to_owned()),
                    _ => (name, value),
                }
            })
            .collect()
    }
}

/// Splits `<tag …>rest` into the tag's inside and what follows it.
fn tag_at(html: &str) -> Option<(&str, &str)> {
    let end = html.find('>')?;
    Some((&html[..end], &html[end + 1..]))
}

/// The value of attribute `name` inside a start tag (quoted or bare), with
/// the entities oidc-provider's escaping produces decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag.split_once(char::is_whitespace)?.1;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace() || c == '/')
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let mut value = None;
        if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (v, after) = match after_eq.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after_eq[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                    after_eq.split_at(end)
                }
            };
            value = Some(v);
            rest = after;
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(decode_entities(value.unwrap_or("")));
        }
    }
}

fn decode_entities(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn forms_attributes_and_cookie_paths_parse() {
    let html = r#"<p>x</p><form id="a" method="get" action="/no"></form>
        <form id="op.deviceInputForm" novalidate method="post" action="/device?x=1&amp;y=2">
        <input type="hidden" name="xsrf" value="a&quot;b"/>
        <input
          type="text" name="user_code" placeholder="Enter code" autofocus></input>
        </form>"#;
    let form = Form::first_post(html).expect("a post form");
    assert_eq!(form.action, "/device?x=1&y=2");
    assert_eq!(
        form.fill(&[("user_code", "ABCD-EFGH"), ("xsrf", "ignored")]),
        vec![
            ("xsrf".to_owned(), "a\"b".to_owned()),
            ("user_code".to_owned(), "ABCD-EFGH".to_owned())
        ]
    );
    assert!(path_matches("/interaction/abc", "/interaction/abc"));
    assert!(path_matches("/interaction/abc/login", "/interaction/abc"));
    assert!(!path_matches("/interaction/abcd", "/interaction/abc"));
    assert!(path_matches("/auth/x", "/"));
}
