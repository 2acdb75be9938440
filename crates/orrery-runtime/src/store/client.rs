//! The agent's side of the store: blocking requests for one node, with its token. Bodies stream
//! from and to files; errors carry the store's own words (they become the failing step's
//! message, e.g. a workspace conflict).

use std::io::Read;
use std::sync::Once;
use std::time::Duration;

use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{AgentOutcome, ServicePorts, TestResults, NODES};
use crate::services::NodeTask;

/// How the agent finds its node in the store.
#[derive(Clone, Debug)]
pub struct StoreAddress {
    /// `http://HOST:PORT` or `https://HOST:PORT`.
    pub url: String,
    pub node: String,
    pub token: String,
    /// The run's CA (PEM), for a store on HTTPS.
    pub ca_pem: Option<String>,
}

pub struct StoreClient {
    http: Client,
    /// Heartbeats give up quickly: a store that does not answer counts as gone.
    beat: Client,
    /// `URL/v1/nodes/NODE`, the node's id one path segment (escaped).
    base: reqwest::Url,
    token: String,
}

/// reqwest is built without a crypto provider of its own (no C toolchain for aws-lc): rustls
/// gets ring's, once per process.
fn install_ring_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl StoreClient {
    pub fn new(address: &StoreAddress, heartbeat_timeout: Duration) -> Result<StoreClient, String> {
        install_ring_provider();
        let build = |timeout: Option<Duration>| -> Result<Client, String> {
            // The store is on the coordinator: never through a proxy from the environment.
            let mut builder = Client::builder()
                .no_proxy()
                .connect_timeout(Duration::from_secs(10))
                .timeout(timeout);
            if let Some(pem) = &address.ca_pem {
                let ca = reqwest::Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| format!("the store's CA certificate: {e}"))?;
                builder = builder.tls_certs_only([ca]);
            }
            builder
                .build()
                .map_err(|e| format!("cannot set up the HTTP client: {e}"))
        };
        let mut base = reqwest::Url::parse(&address.url)
            .map_err(|e| format!("store URL {}: {e}", address.url))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(format!(
                "store URL {}: not http:// or https://",
                address.url
            ));
        }
        base.path_segments_mut()
            .map_err(|()| format!("store URL {}: cannot hold a path", address.url))?
            .pop_if_empty()
            .extend(NODES.trim_start_matches('/').split('/'))
            .push(&address.node);
        Ok(StoreClient {
            http: build(None)?,
            beat: build(Some(heartbeat_timeout))?,
            base,
            token: address.token.clone(),
        })
    }

    fn request(&self, client: &Client, method: Method, path: &str) -> RequestBuilder {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend(path.split('/'));
        }
        client.request(method, url).bearer_auth(&self.token)
    }

    fn send(&self, request: RequestBuilder) -> Result<Response, String> {
        let response = request.send().map_err(|e| describe(&e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let text = response.text().unwrap_or_default();
        Err(format!("the store answered {status}: {}", text.trim()))
    }

    fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, String> {
        let response = self.send(request)?;
        serde_json::from_reader(response).map_err(|e| format!("the store's answer: {e}"))
    }

    fn with_json(request: RequestBuilder, value: &impl Serialize) -> RequestBuilder {
        request
            .header("content-type", "application/json")
            .body(serde_json::to_vec(value).unwrap_or_default())
    }

    pub fn task(&self) -> Result<NodeTask, String> {
        self.json(self.request(&self.http, Method::GET, "task"))
    }

    /// Whether the run asks the node to stop.
    pub fn heartbeat(&self) -> Result<bool, String> {
        let answer: serde_json::Value =
            self.json(self.request(&self.beat, Method::POST, "heartbeat"))?;
        Ok(answer
            .get("cancel")
            .and_then(|c| c.as_bool())
            .unwrap_or(false))
    }

    /// Lines of the log, newline-separated.
    pub fn log(&self, text: String) -> Result<(), String> {
        self.send(self.request(&self.http, Method::POST, "log").body(text))
            .map(drop)
    }

    pub fn event(&self, event: &serde_json::Value) -> Result<(), String> {
        self.send(Self::with_json(
            self.request(&self.http, Method::POST, "event"),
            event,
        ))
        .map(drop)
    }

    pub fn checkout_parts(&self) -> Result<usize, String> {
        let answer: serde_json::Value =
            self.json(self.request(&self.http, Method::GET, "checkout"))?;
        Ok(answer.get("parts").and_then(|p| p.as_u64()).unwrap_or(0) as usize)
    }

    pub fn checkout_part(&self, part: usize) -> Result<Response, String> {
        self.send(self.request(&self.http, Method::GET, &format!("checkout/{part}")))
    }

    pub fn cache_exists(&self, key: &str) -> Result<bool, String> {
        let answer: serde_json::Value = self.json(
            self.request(&self.http, Method::GET, "cache/exists")
                .query(&[("key", key)]),
        )?;
        Ok(answer
            .get("exists")
            .and_then(|e| e.as_bool())
            .unwrap_or(false))
    }

    /// The stored key the first of `keys` finds, if any.
    pub fn cache_find(&self, keys: &[String]) -> Result<Option<String>, String> {
        let answer: serde_json::Value = self.json(Self::with_json(
            self.request(&self.http, Method::POST, "cache/find"),
            &serde_json::json!({"keys": keys}),
        ))?;
        Ok(answer
            .get("key")
            .and_then(|k| k.as_str())
            .map(str::to_string))
    }

    pub fn cache_get(&self, key: &str) -> Result<Response, String> {
        self.send(
            self.request(&self.http, Method::GET, "cache")
                .query(&[("key", key)]),
        )
    }

    /// Stores a cache; `Some(size)` when saved, `None` when the key existed.
    pub fn cache_put(&self, key: &str, archive: std::fs::File) -> Result<Option<u64>, String> {
        let answer: serde_json::Value = self.json(
            self.request(&self.http, Method::PUT, "cache")
                .query(&[("key", key)])
                .body(Body::from(archive)),
        )?;
        Ok(answer.get("saved").and_then(|s| s.as_u64()))
    }

    pub fn layers(&self) -> Result<Vec<String>, String> {
        let answer: serde_json::Value =
            self.json(self.request(&self.http, Method::GET, "workspace"))?;
        Ok(answer
            .get("layers")
            .and_then(|l| l.as_array())
            .map(|l| {
                l.iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub fn layer(&self, name: &str) -> Result<Response, String> {
        self.send(self.request(&self.http, Method::GET, &format!("workspace/{name}")))
    }

    pub fn layer_put(&self, layer: std::fs::File) -> Result<(), String> {
        self.send(
            self.request(&self.http, Method::PUT, "workspace")
                .body(Body::from(layer)),
        )
        .map(drop)
    }

    /// Stores a tar (one top-level entry `name`) as `dest` in the node's folder.
    pub fn files(&self, dest: &str, name: &str, tar: Vec<u8>) -> Result<usize, String> {
        let answer: serde_json::Value = self.json(
            self.request(&self.http, Method::PUT, "files")
                .query(&[("dest", dest), ("name", name)])
                .body(tar),
        )?;
        Ok(answer.get("files").and_then(|f| f.as_u64()).unwrap_or(0) as usize)
    }

    pub fn tests(&self, results: &TestResults) -> Result<(), String> {
        self.send(Self::with_json(
            self.request(&self.http, Method::POST, "tests"),
            results,
        ))
        .map(drop)
    }

    pub fn timings(&self) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::new();
        self.send(self.request(&self.http, Method::GET, "timings"))?
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        Ok(bytes)
    }

    /// The ports the node's services reported, once their version is past `after` (or after
    /// the store's wait).
    pub fn service_ports(&self, after: u64) -> Result<ServicePorts, String> {
        self.json(
            self.request(&self.http, Method::GET, "ports")
                .query(&[("after", after)]),
        )
    }

    /// A service container's report of the ports it listens on (with the service token); gives
    /// up quickly, as a health check must.
    pub fn report_ports(&self, service: &str, ports: &[u16]) -> Result<(), String> {
        self.send(Self::with_json(
            self.request(&self.beat, Method::POST, &format!("ports/{service}")),
            &serde_json::json!({ "ports": ports }),
        ))
        .map(drop)
    }

    pub fn finished(&self, outcome: &AgentOutcome) -> Result<(), String> {
        self.send(Self::with_json(
            self.request(&self.http, Method::POST, "finished"),
            outcome,
        ))
        .map(drop)
    }
}

/// A request error with its causes (reqwest's own message alone says little).
fn describe(error: &reqwest::Error) -> String {
    let mut text = format!("cannot reach the store: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_is_one_escaped_path_segment() {
        let address = |url: &str, node: &str| StoreAddress {
            url: url.into(),
            node: node.into(),
            token: "t".into(),
            ca_pem: None,
        };
        let client = StoreClient::new(
            &address("http://127.0.0.1:7311/", "run/build-1"),
            Duration::from_secs(1),
        )
        .unwrap();
        let request = client
            .request(&client.http, Method::GET, "workspace/00001-0000-0.tar.gz")
            .build()
            .unwrap();
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:7311/v1/nodes/run%2Fbuild-1/workspace/00001-0000-0.tar.gz"
        );
        assert!(StoreClient::new(&address("ftp://host", "n"), Duration::from_secs(1)).is_err());
        assert!(StoreClient::new(&address("not a url", "n"), Duration::from_secs(1)).is_err());
    }
}
