//! An authenticating front for the real test registry, to test `OciRegistry`'s credentials
//! without configuring the registry itself: a minimal HTTP/1.1 proxy on 127.0.0.1 (one request
//! per connection) that checks credentials and forwards what passes to the registry.
//!
//! - [`Gate::Basic`]: every request needs `Authorization: Basic` with the right credentials,
//!   else `401` with `WWW-Authenticate: Basic realm="orrery-test"`.
//! - [`Gate::Bearer`]: every request needs a bearer token whose scope covers the repository
//!   and action (`pull` for GET/HEAD, `pull,push` otherwise), else `401` with a `Bearer`
//!   challenge naming the scope; `GET /token?service=…&scope=…` issues tokens for requests
//!   that carry the right basic credentials, as registries' token services do.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Basic,
    Bearer,
}

struct State {
    upstream: String,
    address: String,
    gate: Gate,
    expected_basic: String,
    /// token → scope it was issued for
    tokens: BTreeMap<String, String>,
    /// The scopes tokens were asked for, in order.
    token_requests: Vec<String>,
}

pub struct AuthProxy {
    pub address: String,
    state: Arc<Mutex<State>>,
}

impl AuthProxy {
    pub fn start(upstream: &str, gate: Gate, username: &str, password: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(State {
            upstream: upstream.to_owned(),
            address: address.clone(),
            gate,
            expected_basic: format!(
                "Basic {}",
                base64(format!("{username}:{password}").as_bytes())
            ),
            tokens: BTreeMap::new(),
            token_requests: Vec::new(),
        }));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                thread::spawn(move || handle(stream, &state));
            }
        });
        Self { address, state }
    }

    pub fn token_requests(&self) -> Vec<String> {
        self.state.lock().unwrap().token_requests.clone()
    }
}

struct Request {
    head: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    reader.read_line(&mut head).ok()?;
    let mut parts = head.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        head: head.trim_end().to_owned(),
        method,
        target,
        headers,
        body,
    })
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let reply = {
        let mut state = state.lock().unwrap();
        if request.target.starts_with("/token") {
            Some(issue_token(&request, &mut state))
        } else {
            check(&request, &state)
        }
    };
    let response = match reply {
        Some(response) => response,
        None => forward(&request, state),
    };
    let _ = stream.write_all(&response);
}

/// `None` when the request may pass, else the `401` to answer.
fn check(request: &Request, state: &State) -> Option<Vec<u8>> {
    let authorization = request.header("authorization").unwrap_or_default();
    match state.gate {
        Gate::Basic if authorization == state.expected_basic => None,
        Gate::Basic => Some(unauthorized(r#"Basic realm="orrery-test""#)),
        Gate::Bearer => {
            let needed = needed_scope(request);
            let granted = authorization
                .strip_prefix("Bearer ")
                .and_then(|token| state.tokens.get(token));
            if granted.is_some_and(|granted| covers(granted, &needed)) {
                None
            } else {
                Some(unauthorized(&format!(
                    r#"Bearer realm="http://{}/token",service="orrery-test",scope="{needed}""#,
                    state.address
                )))
            }
        }
    }
}

/// `repository:NAME:pull` or `repository:NAME:pull,push` for a `/v2/NAME/…` request.
fn needed_scope(request: &Request) -> String {
    let path = request.target.split('?').next().unwrap_or_default();
    let name = path
        .strip_prefix("/v2/")
        .and_then(|rest| {
            ["/manifests/", "/blobs/", "/tags/"]
                .iter()
                .find_map(|marker| rest.find(marker).map(|end| &rest[..end]))
        })
        .unwrap_or_default();
    let actions = if matches!(request.method.as_str(), "GET" | "HEAD") {
        "pull"
    } else {
        "pull,push"
    };
    format!("repository:{name}:{actions}")
}

fn covers(granted: &str, needed: &str) -> bool {
    let split = |scope: &str| {
        let (resource, actions) = scope.rsplit_once(':').unwrap_or((scope, ""));
        (
            resource.to_owned(),
            actions.split(',').map(str::to_owned).collect::<Vec<_>>(),
        )
    };
    let (granted_resource, granted_actions) = split(granted);
    let (needed_resource, needed_actions) = split(needed);
    granted_resource == needed_resource
        && needed_actions
            .iter()
            .all(|action| granted_actions.contains(action))
}

fn issue_token(request: &Request, state: &mut State) -> Vec<u8> {
    let url = reqwest::Url::parse(&format!("http://proxy{}", request.target)).unwrap();
    let scope = url
        .query_pairs()
        .find(|(key, _)| key == "scope")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    state.token_requests.push(scope.clone());
    if request.header("authorization") != Some(state.expected_basic.as_str()) {
        return response(
            401,
            "Unauthorized",
            &[],
            br#"{"details":"incorrect username or password"}"#,
        );
    }
    let token = format!("token-{}", state.tokens.len() + 1);
    state.tokens.insert(token.clone(), scope);
    let body = format!(r#"{{"token":"{token}","expires_in":300}}"#);
    response(
        200,
        "OK",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

fn unauthorized(challenge: &str) -> Vec<u8> {
    response(
        401,
        "Unauthorized",
        &[
            ("WWW-Authenticate", challenge),
            ("Content-Type", "application/json"),
        ],
        br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
    )
}

fn response(status: u16, reason: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Passes the request on without its credentials, under the proxy's host name (so that the
/// registry's upload locations point back here), and returns the registry's whole answer.
fn forward(request: &Request, state: &Mutex<State>) -> Vec<u8> {
    let (upstream, address) = {
        let state = state.lock().unwrap();
        (state.upstream.clone(), state.address.clone())
    };
    let mut head = format!(
        "{}\r\nHost: {address}\r\nConnection: close\r\n",
        request.head
    );
    for (name, value) in &request.headers {
        let skip = ["host", "connection", "authorization", "content-length"];
        if !skip
            .iter()
            .any(|skipped| name.eq_ignore_ascii_case(skipped))
        {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body.len()));
    let mut connection = TcpStream::connect(&upstream).expect("connect to the test registry");
    connection.write_all(head.as_bytes()).unwrap();
    connection.write_all(&request.body).unwrap();
    let mut answer = Vec::new();
    connection.read_to_end(&mut answer).unwrap();
    answer
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                text.push('=');
            }
        }
    }
    text
}
