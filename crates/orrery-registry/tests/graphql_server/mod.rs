//! A stand-in for CircleCI's orb registry: a minimal HTTP/1.1 server on 127.0.0.1 (one request
//! per connection) that answers the GraphQL operations `CircleCiRegistry` sends, from an
//! in-memory store, the way CircleCI answers them.
//!
//! Behaviour worth knowing in tests:
//! - only `POST /graphql-unstable` exists; other paths answer 404;
//! - a `Circle-Token` (or `Authorization`) header other than the server's token answers HTTP
//!   401 `{"message": "Invalid token provided."}`; the token [`EXPIRED_TOKEN`] answers
//!   GraphQL `errors` "You must log in first."; mutations without a token answer the same;
//! - publishing an existing release version answers a `publishOrb.errors` entry, as does an
//!   empty orb source;
//! - the namespace [`BROKEN_NAMESPACE`] makes every query answer a top-level `errors` array.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{json, Value};

pub const EXPIRED_TOKEN: &str = "expired-token";
pub const BROKEN_NAMESPACE: &str = "broken";

#[derive(Default)]
struct Store {
    token: String,
    namespaces: BTreeSet<String>,
    /// `namespace/name` → orb
    orbs: BTreeMap<String, StoredOrb>,
    /// The root field of every GraphQL operation received, in order.
    operations: Vec<String>,
    /// `(Circle-Token, Authorization)` of the last request.
    last_token_headers: (Option<String>, Option<String>),
}

struct StoredOrb {
    id: String,
    /// version → source
    versions: BTreeMap<String, String>,
}

pub struct GraphQlTestServer {
    pub url: String,
    store: Arc<Mutex<Store>>,
}

impl GraphQlTestServer {
    /// Starts a server on a free port; it lives until the test process ends.
    pub fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let store = Arc::new(Mutex::new(Store {
            token: token.to_owned(),
            ..Store::default()
        }));
        let shared = Arc::clone(&store);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = Arc::clone(&shared);
                thread::spawn(move || serve_connection(stream, &store));
            }
        });
        Self { url, store }
    }

    /// Creates the orb (and its namespace); returns its id.
    pub fn create_orb(&self, namespace: &str, name: &str) -> String {
        let mut store = self.store.lock().unwrap();
        store.namespaces.insert(namespace.to_owned());
        let id = format!("00000000-0000-4000-8000-{:012}", store.orbs.len() + 1);
        store.orbs.insert(
            format!("{namespace}/{name}"),
            StoredOrb {
                id: id.clone(),
                versions: BTreeMap::new(),
            },
        );
        id
    }

    /// Stores a version without going through the API.
    pub fn seed(&self, namespace: &str, name: &str, version: &str, source: &str) {
        let mut store = self.store.lock().unwrap();
        let orb = store
            .orbs
            .get_mut(&format!("{namespace}/{name}"))
            .expect("create_orb first");
        orb.versions.insert(version.to_owned(), source.to_owned());
    }

    pub fn operations(&self) -> Vec<String> {
        self.store.lock().unwrap().operations.clone()
    }

    pub fn last_token_headers(&self) -> (Option<String>, Option<String>) {
        self.store.lock().unwrap().last_token_headers.clone()
    }
}

struct HttpRequest {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> Option<HttpRequest> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length = headers
        .get("content-length")
        .and_then(|length| length.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(HttpRequest {
        method,
        path,
        headers,
        body,
    })
}

fn serve_connection(mut stream: TcpStream, store: &Mutex<Store>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let (status, body) = answer(&request, &mut store.lock().unwrap());
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

fn answer(request: &HttpRequest, store: &mut Store) -> (u16, String) {
    if request.path != "/graphql-unstable" {
        return (404, "404 page not found".to_owned());
    }
    if request.method != "POST" {
        return (405, String::new());
    }
    let circle_token = request.headers.get("circle-token").cloned();
    let authorization = request.headers.get("authorization").cloned();
    store.last_token_headers = (circle_token.clone(), authorization.clone());
    let token = circle_token.or(authorization);
    let logged_in = match token.as_deref() {
        None => false,
        Some(EXPIRED_TOKEN) => return errors(&["You must log in first."]),
        Some(token) if token == store.token => true,
        Some(_) => {
            return (
                401,
                json!({"message": "Invalid token provided."}).to_string(),
            )
        }
    };

    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return errors(&["Unable to parse the request body as JSON"]);
    };
    let query = body["query"].as_str().unwrap_or_default();
    let variables = &body["variables"];
    let text = |name: &str| variables[name].as_str().unwrap_or_default().to_owned();

    if query.contains("publishOrb(") {
        store.operations.push("publishOrb".into());
        if !logged_in {
            return errors(&["You must log in first."]);
        }
        return publish(store, &text("orbId"), &text("version"), &text("config"));
    }
    if query.contains("orbVersion(") {
        store.operations.push("orbVersion".into());
        let reference = text("orbVersionRef");
        if reference.starts_with(&format!("{BROKEN_NAMESPACE}/")) {
            return errors(&["Internal server error"]);
        }
        let found = reference.split_once('@').and_then(|(orb_name, version)| {
            let orb = store.orbs.get(orb_name)?;
            let source = orb.versions.get(version)?;
            Some(json!({
                "id": format!("{}-{version}", orb.id),
                "version": version,
                "orb": { "id": orb.id },
                "source": source,
            }))
        });
        return data(json!({ "orbVersion": found }));
    }
    if query.contains("registryNamespace(") {
        store.operations.push("orbId".into());
        let orb = store
            .orbs
            .get(&text("name"))
            .map(|orb| json!({ "id": orb.id }));
        let namespace = store
            .namespaces
            .contains(&text("namespace"))
            .then(|| json!({ "id": format!("ns-{}", text("namespace")) }));
        return data(json!({ "orb": orb, "registryNamespace": namespace }));
    }
    if query.contains("orb(name: $name)") && query.contains("versions(") {
        store.operations.push("orbVersions".into());
        if text("name").starts_with(&format!("{BROKEN_NAMESPACE}/")) {
            return errors(&["Internal server error"]);
        }
        let orb = store.orbs.get(&text("name")).map(|orb| {
            // Like CircleCI: newest first, dev versions not listed.
            let mut versions: Vec<&String> = orb
                .versions
                .keys()
                .filter(|version| !version.starts_with("dev:"))
                .collect();
            versions.sort_by_key(|version| std::cmp::Reverse(numeric(version)));
            json!({ "versions": versions.iter().map(|v| json!({ "version": v })).collect::<Vec<_>>() })
        });
        return data(json!({ "orb": orb }));
    }
    errors(&["Unknown operation"])
}

fn publish(store: &mut Store, orb_id: &str, version: &str, source: &str) -> (u16, String) {
    let payload_error = |message: &str| {
        data(json!({ "publishOrb": { "orb": null, "errors": [{ "message": message }] } }))
    };
    let Some(orb) = store.orbs.values_mut().find(|orb| orb.id == orb_id) else {
        return payload_error("Orb not found");
    };
    if source.trim().is_empty() {
        return payload_error("Cannot publish an empty orb");
    }
    if !version.starts_with("dev:") && orb.versions.contains_key(version) {
        return payload_error(&format!(
            "Cannot publish orb version {version}: this version already exists"
        ));
    }
    orb.versions.insert(version.to_owned(), source.to_owned());
    data(json!({ "publishOrb": { "orb": { "version": version }, "errors": [] } }))
}

fn numeric(version: &str) -> Vec<u64> {
    version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

fn data(value: Value) -> (u16, String) {
    (200, json!({ "data": value }).to_string())
}

fn errors(messages: &[&str]) -> (u16, String) {
    let errors: Vec<Value> = messages
        .iter()
        .map(|message| json!({ "message": message, "locations": [{ "line": 2, "column": 3 }] }))
        .collect();
    (200, json!({ "data": null, "errors": errors }).to_string())
}
