//! The demo's Windchill call: what `curl -H @<(wrs-token header) …` does,
//! in-process, trusting only the mock's CA.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

/// The OData collection the demo reads, below the WRS root.
pub(crate) const PARTS_PATH: &str = "ProdMgmt/Parts";

/// An HTTPS client that trusts `ca_pem` (and the system roots), with
/// timeouts and without proxies (the mock is on loopback).
pub(crate) fn http_client(ca_pem: &str) -> anyhow::Result<reqwest::Client> {
    let certs = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes())
        .context("the mock's CA certificate is not valid PEM")?;
    reqwest::Client::builder()
        .tls_certs_merge(certs)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .build()
        .context("cannot build the HTTPS client")
}

/// What Windchill answered for `ProdMgmt/Parts`.
#[derive(Debug)]
pub(crate) struct PartsAnswer {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// `(Number, Name)` of each part.
    pub(crate) parts: Vec<(String, String)>,
}

impl PartsAnswer {
    /// `3 parts: 0000000001 Bracket, …`.
    pub(crate) fn summary(&self) -> String {
        let list: Vec<String> = self
            .parts
            .iter()
            .map(|(number, name)| format!("{number} {name}"))
            .collect();
        format!("{} parts: {}", self.parts.len(), list.join(", "))
    }
}

/// `GET <root>ProdMgmt/Parts` with `Authorization: Bearer <token>`; an
/// error unless Windchill answers 2xx with an OData collection.
pub(crate) async fn get_parts(
    http: &reqwest::Client,
    root: &Url,
    token: &str,
) -> anyhow::Result<PartsAnswer> {
    let url = parts_url(root)?;
    let response = http
        .get(url.clone())
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .with_context(|| format!("GET {url} failed"))?;
    let status = response.status();
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("GET {url}: the answer ({status}) is not JSON"))?;
    if !status.is_success() {
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        let challenge = challenge.map(|c| format!(" [{c}]")).unwrap_or_default();
        return Err(anyhow!("Windchill answered {status}: {message}{challenge}"));
    }
    Ok(PartsAnswer {
        status,
        parts: parts_of(&body)?,
    })
}

/// `<root>ProdMgmt/Parts`.
pub(crate) fn parts_url(root: &Url) -> anyhow::Result<Url> {
    root.join(PARTS_PATH)
        .with_context(|| format!("cannot build the parts URL below {root}"))
}

/// The `(Number, Name)` pairs of an OData collection answer.
fn parts_of(body: &Value) -> anyhow::Result<Vec<(String, String)>> {
    let items = body
        .get("value")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("the answer has no OData \"value\" array"))?;
    let field = |item: &Value, key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    Ok(items
        .iter()
        .map(|item| (field(item, "Number"), field(item, "Name")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parts_are_read_from_the_odata_value_array() {
        let body = json!({
            "@odata.context": "x",
            "value": [
                { "Number": "0000000001", "Name": "Bracket" },
                { "Name": "Housing" },
            ],
        });
        let answer = PartsAnswer {
            status: StatusCode::OK,
            parts: parts_of(&body).unwrap(),
        };
        assert_eq!(answer.summary(), "2 parts: 0000000001 Bracket, ? Housing");
        assert!(parts_of(&json!({ "error": {} })).is_err());
    }

    #[test]
    fn the_parts_url_is_below_the_root() {
        let root = Url::parse("https://127.0.0.1:1/Windchill/oauth/servlet/odata/").unwrap();
        assert_eq!(
            parts_url(&root).unwrap().as_str(),
            "https://127.0.0.1:1/Windchill/oauth/servlet/odata/ProdMgmt/Parts"
        );
    }
}
