//! The coordinator's store: an HTTP service over a run's [`RunStores`] for `orrery agent task`
//! running a job node somewhere else. Each node registered with [`Store::register`] gets its own
//! token; every request names its node in the path and carries that node's token, and is
//! answered with the node's [`LocalServices`], so an agent's node reads and writes exactly what
//! a local node would (checkout, caches, workspace layers, the node's folder, `events.jsonl`).
//! On loopback the store speaks plain HTTP; anywhere else only HTTPS, with a CA made for the run
//! ([`tls`]). Requests are documented in `docs/distributed.md`.
//!
//! axum routes on hyper's HTTP/1 connections, on a small tokio runtime of the store's own; the
//! stores are blocking file work, done on tokio's blocking threads.

pub mod client;
mod tls;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{
    DefaultBodyLimit, FromRequestParts, Path as UrlPath, Query, RawPathParams, State,
};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::cache::Saved;
use crate::junit::{Summary, TestCase};
use crate::plan::Status;
use crate::run::{safe, NodeReport, RunStores};
use crate::services::{admit, node_task, LocalServices, NodeServices, NodeTask};

/// The path every request starts with, followed by the node's id.
pub const NODES: &str = "/v1/nodes";

/// Where the store listens. TLS is used whenever the address is not a loopback address (and on
/// loopback too with `tls`).
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub listen: SocketAddr,
    pub tls: bool,
    /// Extra DNS names the certificate holds (besides the listen address).
    pub names: Vec<String>,
}

/// How an agent's node ended, as it reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentOutcome {
    pub status: Status,
    pub tests: Option<Summary>,
    pub artifacts: usize,
}

/// What an agent needs to reach its node in the store.
#[derive(Clone, Debug)]
pub struct NodeTicket {
    pub id: String,
    pub token: String,
}

/// Test results of one `store_test_results` step.
#[derive(Serialize, Deserialize)]
pub struct TestResults {
    pub summary: Summary,
    pub cases: Vec<TestCase>,
}

struct Entry {
    token: String,
    task: NodeTask,
    services: LocalServices,
    last_seen: Mutex<Option<Instant>>,
    outcome: Mutex<Option<AgentOutcome>>,
}

struct Inner {
    stores: Arc<RunStores>,
    nodes: Mutex<BTreeMap<String, Arc<Entry>>>,
    canceled: AtomicBool,
    uploads: PathBuf,
}

/// A running store; dropping it stops it (every connection is cut).
pub struct Store {
    inner: Arc<Inner>,
    url: String,
    ca_pem: Option<String>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Store {
    /// Listens on `config.listen` (port 0 picks one) and serves `stores`.
    pub fn start(stores: Arc<RunStores>, config: &StoreConfig) -> Result<Store, String> {
        let use_tls = config.tls || !config.listen.ip().is_loopback();
        let tls = if use_tls {
            Some(tls::for_address(config.listen.ip(), &config.names)?)
        } else {
            None
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("orrery-store")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the store: {e}"))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(config.listen))
            .map_err(|e| format!("the store cannot listen on {}: {e}", config.listen))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let uploads = stores.run_dir.join(".work").join("uploads");
        std::fs::create_dir_all(&uploads)
            .map_err(|e| format!("cannot create {}: {e}", uploads.display()))?;
        let inner = Arc::new(Inner {
            stores,
            nodes: Mutex::new(BTreeMap::new()),
            canceled: AtomicBool::new(false),
            uploads,
        });
        let acceptor = tls
            .as_ref()
            .map(|t| tokio_rustls::TlsAcceptor::from(t.server.clone()));
        runtime.spawn(serve(listener, router(inner.clone()), acceptor));
        let scheme = if use_tls { "https" } else { "http" };
        Ok(Store {
            inner,
            url: format!("{scheme}://{address}"),
            ca_pem: tls.map(|t| t.ca_pem),
            runtime: Some(runtime),
        })
    }

    /// `http://ADDRESS:PORT` or `https://…`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The run's CA certificate (PEM) agents must trust, when the store uses TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Admits node `node` of job `job` (its contexts, its executor), gives it the next build
    /// number and a token. Refused: the status the node ends with and the line its log gets.
    pub fn register(&self, job: usize, node: u32) -> Result<NodeTicket, (Status, String)> {
        let stores = &self.inner.stores;
        let planned = &stores.plan.jobs[job];
        let id = format!("{}-{}-{node}", safe(&planned.workflow), safe(&planned.name));
        let services = LocalServices::new(stores.clone(), job, node);
        if let Err((status, line)) = admit(stores, job) {
            services.log.write(&stores.masker.mask(&line));
            return Err((status, line));
        }
        let build_num = stores.build_num.fetch_add(1, Ordering::SeqCst);
        let task = node_task(stores, job, node, build_num)
            .ok_or((Status::Success, "an approval has no steps".to_string()))?;
        let token = random_token().map_err(|e| (Status::Failed, e))?;
        let entry = Arc::new(Entry {
            token: token.clone(),
            task,
            services,
            last_seen: Mutex::new(None),
            outcome: Mutex::new(None),
        });
        if let Ok(mut nodes) = self.inner.nodes.lock() {
            nodes.insert(id.clone(), entry);
        }
        Ok(NodeTicket { id, token })
    }

    /// When the node's agent last reached the store.
    pub fn last_seen(&self, id: &str) -> Option<Instant> {
        let entry = self.inner.nodes.lock().ok()?.get(id).cloned()?;
        let seen = *entry.last_seen.lock().ok()?;
        seen
    }

    /// The node's end as its agent reported it.
    pub fn outcome(&self, id: &str) -> Option<AgentOutcome> {
        let entry = self.inner.nodes.lock().ok()?.get(id).cloned()?;
        let outcome = entry.outcome.lock().ok()?.clone();
        outcome
    }

    /// Writes a line of the coordinator's own into the node's log (and the console).
    pub fn note(&self, id: &str, line: &str) {
        let entry = self
            .inner
            .nodes
            .lock()
            .ok()
            .and_then(|n| n.get(id).cloned());
        if let Some(entry) = entry {
            entry
                .services
                .log
                .write(&self.inner.stores.masker.mask(line));
        }
    }

    /// Tells every agent (at its next heartbeat) to stop its steps.
    pub fn cancel(&self) {
        self.inner.canceled.store(true, Ordering::SeqCst);
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Small answers written in pieces must not wait for the agent's delayed ACK (Nagle).
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
            }
        });
    }
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route(&format!("{NODES}/{{id}}/task"), get(task))
        .route(&format!("{NODES}/{{id}}/heartbeat"), post(heartbeat))
        .route(&format!("{NODES}/{{id}}/log"), post(log))
        .route(&format!("{NODES}/{{id}}/event"), post(event))
        .route(&format!("{NODES}/{{id}}/checkout"), get(checkout_parts))
        .route(
            &format!("{NODES}/{{id}}/checkout/{{part}}"),
            get(checkout_part),
        )
        .route(
            &format!("{NODES}/{{id}}/cache"),
            get(cache_get).put(cache_put),
        )
        .route(&format!("{NODES}/{{id}}/cache/exists"), get(cache_exists))
        .route(&format!("{NODES}/{{id}}/cache/find"), post(cache_find))
        .route(
            &format!("{NODES}/{{id}}/workspace"),
            get(layers).put(layer_put),
        )
        .route(
            &format!("{NODES}/{{id}}/workspace/{{name}}"),
            get(layer_get),
        )
        .route(&format!("{NODES}/{{id}}/files"), put(files))
        .route(&format!("{NODES}/{{id}}/tests"), post(test_results))
        .route(&format!("{NODES}/{{id}}/timings"), get(timings))
        .route(&format!("{NODES}/{{id}}/finished"), post(finished))
        // Log batches and test results can exceed axum's 2 MB default; uploads stream to disk.
        .layer(DefaultBodyLimit::max(64 << 20))
        .with_state(inner)
}

type Refusal = (StatusCode, String);
type Answer<T> = Result<T, Refusal>;

/// The node `id` when the request carries its token.
fn node(inner: &Inner, id: &str, headers: &HeaderMap) -> Answer<Arc<Entry>> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let entry = inner.nodes.lock().ok().and_then(|n| n.get(id).cloned());
    match (entry, given) {
        (Some(entry), Some(token)) if same(entry.token.as_bytes(), token.as_bytes()) => {
            if let Ok(mut seen) = entry.last_seen.lock() {
                *seen = Some(Instant::now());
            }
            Ok(entry)
        }
        _ => Err((
            StatusCode::UNAUTHORIZED,
            "unknown node or wrong token".to_string(),
        )),
    }
}

/// Compares tokens in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot make a token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs blocking store work off the async threads; its error is the agent's step error.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Answer<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err((StatusCode::UNPROCESSABLE_ENTITY, e)),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// An upload spooled to a file of its own, removed when dropped.
struct Spooled(PathBuf);

impl Spooled {
    /// Writes the spooled body into `w`; how many bytes.
    fn copy_to(&self, w: &mut dyn std::io::Write) -> Result<u64, String> {
        let mut file = std::fs::File::open(&self.0).map_err(|e| e.to_string())?;
        std::io::copy(&mut file, w).map_err(|e| e.to_string())
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn spool(inner: &Inner, body: Body) -> Answer<Spooled> {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = inner
        .uploads
        .join(N.fetch_add(1, Ordering::SeqCst).to_string());
    let failed = |e: std::io::Error| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let spooled = Spooled(path.clone());
    let mut file = tokio::fs::File::create(&path).await.map_err(failed)?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
        file.write_all(&chunk).await.map_err(failed)?;
    }
    file.flush().await.map_err(failed)?;
    Ok(spooled)
}

async fn send_file(path: PathBuf) -> Answer<Response> {
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| (StatusCode::NOT_FOUND, e.to_string()))?;
    Ok(Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response())
}

/// The node a request names (`…/nodes/{id}/…`), once the request showed that node's token:
/// every handler starts from it, before anything else of the request is read.
struct Node(Arc<Entry>);

impl FromRequestParts<Arc<Inner>> for Node {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, inner: &Arc<Inner>) -> Answer<Node> {
        let params = RawPathParams::from_request_parts(parts, inner)
            .await
            .map_err(|e| (StatusCode::BAD_REQUEST, e.body_text()))?;
        let id = params
            .iter()
            .find_map(|(name, value)| (name == "id").then_some(value))
            .ok_or((StatusCode::BAD_REQUEST, "no node in the path".to_string()))?;
        node(inner, id, &parts.headers).map(Node)
    }
}

async fn task(Node(entry): Node) -> Answer<Json<NodeTask>> {
    Ok(Json(entry.task.clone()))
}

async fn heartbeat(State(inner): State<Arc<Inner>>, _: Node) -> Answer<Json<serde_json::Value>> {
    Ok(Json(
        serde_json::json!({"cancel": inner.canceled.load(Ordering::SeqCst)}),
    ))
}

/// Lines of the node's log (masked again here: the agent's masking is not trusted alone).
async fn log(
    State(inner): State<Arc<Inner>>,
    Node(entry): Node,
    text: String,
) -> Answer<StatusCode> {
    for line in text.lines() {
        entry.services.log.write(&inner.stores.masker.mask(line));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn event(Node(entry): Node, Json(event): Json<serde_json::Value>) -> Answer<StatusCode> {
    entry.services.event(event);
    Ok(StatusCode::NO_CONTENT)
}

async fn checkout_parts(
    State(inner): State<Arc<Inner>>,
    _: Node,
) -> Answer<Json<serde_json::Value>> {
    let stores = inner.stores.clone();
    let parts = blocking(move || stores.checkout_tars()).await?;
    Ok(Json(serde_json::json!({"parts": parts.len()})))
}

async fn checkout_part(
    State(inner): State<Arc<Inner>>,
    _: Node,
    UrlPath((_, part)): UrlPath<(String, usize)>,
) -> Answer<Response> {
    let stores = inner.stores.clone();
    let parts = blocking(move || stores.checkout_tars()).await?;
    let path = parts
        .get(part)
        .cloned()
        .ok_or((StatusCode::NOT_FOUND, format!("no checkout part {part}")))?;
    send_file(path).await
}

#[derive(Deserialize)]
struct KeyQuery {
    key: String,
}

async fn cache_exists(
    Node(entry): Node,
    Query(q): Query<KeyQuery>,
) -> Answer<Json<serde_json::Value>> {
    let exists = blocking(move || entry.services.cache_exists(&q.key)).await?;
    Ok(Json(serde_json::json!({"exists": exists})))
}

#[derive(Deserialize)]
struct Keys {
    keys: Vec<String>,
}

async fn cache_find(
    State(inner): State<Arc<Inner>>,
    _: Node,
    Json(keys): Json<Keys>,
) -> Answer<Json<serde_json::Value>> {
    let stores = inner.stores.clone();
    let found = blocking(move || Ok(stores.caches.find(&keys.keys).map(|e| e.key))).await?;
    Ok(Json(serde_json::json!({"key": found})))
}

async fn cache_get(
    State(inner): State<Arc<Inner>>,
    _: Node,
    Query(q): Query<KeyQuery>,
) -> Answer<Response> {
    let stores = inner.stores.clone();
    let archive = blocking(move || {
        stores
            .caches
            .entries()
            .into_iter()
            .find(|e| e.key == q.key)
            .map(|e| e.archive)
            .ok_or(format!("no cache with key {}", q.key))
    })
    .await?;
    send_file(archive).await
}

async fn cache_put(
    State(inner): State<Arc<Inner>>,
    Node(entry): Node,
    Query(q): Query<KeyQuery>,
    body: Body,
) -> Answer<Json<serde_json::Value>> {
    let upload = spool(&inner, body).await?;
    let saved = blocking(move || {
        entry
            .services
            .cache_save(&q.key, &mut |w| upload.copy_to(w).map(|_| ()))
    })
    .await?;
    Ok(Json(match saved {
        Saved::Saved(size) => serde_json::json!({"saved": size}),
        Saved::Exists => serde_json::json!({"exists": true}),
    }))
}

async fn layers(Node(entry): Node) -> Answer<Json<serde_json::Value>> {
    let names = blocking(move || upstream_names(&entry)).await?;
    Ok(Json(serde_json::json!({"layers": names})))
}

fn upstream_names(entry: &Entry) -> Result<Vec<String>, String> {
    Ok(entry
        .services
        .upstream_layers()?
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect())
}

async fn layer_get(
    Node(entry): Node,
    UrlPath((_, name)): UrlPath<(String, String)>,
) -> Answer<Response> {
    let path = blocking(move || {
        // Only a layer this node attaches, never a path the request makes up.
        let layers = entry.services.upstream_layers()?;
        layers
            .into_iter()
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == name))
            .ok_or(format!("no upstream workspace layer {name}"))
    })
    .await?;
    send_file(path).await
}

async fn layer_put(
    State(inner): State<Arc<Inner>>,
    Node(entry): Node,
    body: Body,
) -> Answer<StatusCode> {
    let upload = spool(&inner, body).await?;
    blocking(move || {
        entry
            .services
            .persist_layer(&mut |w| upload.copy_to(w).map(|_| 0))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct FilesQuery {
    dest: String,
    name: String,
}

/// `dest` under `artifacts/` or `test-results/`, and `name` one plain file name.
fn files_target(q: &FilesQuery) -> Answer<(PathBuf, PathBuf)> {
    let dest = Path::new(&q.dest);
    let plain = dest.components().all(|c| matches!(c, Component::Normal(_)));
    let first = dest.components().next().map(|c| c.as_os_str().to_owned());
    let kind_ok = first.is_some_and(|f| f == "artifacts" || f == "test-results");
    let name = Path::new(&q.name);
    let name_ok = name.components().count() == 1
        && matches!(name.components().next(), Some(Component::Normal(_)));
    if plain && kind_ok && dest.components().count() > 1 && name_ok {
        Ok((dest.to_path_buf(), name.to_path_buf()))
    } else {
        Err((
            StatusCode::BAD_REQUEST,
            format!("refused destination {} / {}", q.dest, q.name),
        ))
    }
}

async fn files(
    State(inner): State<Arc<Inner>>,
    Node(entry): Node,
    Query(q): Query<FilesQuery>,
    body: Body,
) -> Answer<Json<serde_json::Value>> {
    let (dest, name) = files_target(&q)?;
    let upload = spool(&inner, body).await?;
    let stored = blocking(move || {
        let mut file = std::fs::File::open(&upload.0).map_err(|e| e.to_string())?;
        entry.services.store_files(&dest, &name, &mut file)
    })
    .await?;
    Ok(Json(serde_json::json!({"files": stored})))
}

async fn test_results(Node(entry): Node, Json(results): Json<TestResults>) -> Answer<StatusCode> {
    blocking(move || {
        entry
            .services
            .test_results(&results.summary, &results.cases);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn timings(State(inner): State<Arc<Inner>>, _: Node) -> Answer<Response> {
    let text = inner
        .stores
        .timings
        .lock()
        .map(|t| t.to_json().to_string())
        .unwrap_or_else(|_| "{}".into());
    Ok(text.into_response())
}

async fn finished(
    State(inner): State<Arc<Inner>>,
    Node(entry): Node,
    Json(outcome): Json<AgentOutcome>,
) -> Answer<StatusCode> {
    if let Ok(mut reports) = inner.stores.reports.lock() {
        reports.insert(
            (entry.services.job, entry.services.node),
            NodeReport {
                tests: outcome.tests.clone(),
                artifacts: outcome.artifacts,
            },
        );
    }
    if let Ok(mut o) = entry.outcome.lock() {
        *o = Some(outcome);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_stay_in_the_node_folder() {
        let q = |dest: &str, name: &str| FilesQuery {
            dest: dest.into(),
            name: name.into(),
        };
        assert!(files_target(&q("artifacts/out", "out")).is_ok());
        assert!(files_target(&q("test-results/reports", "reports")).is_ok());
        for (dest, name) in [
            ("artifacts", "x"),
            ("artifacts/../../x", "x"),
            ("/etc", "x"),
            ("logs/x", "x"),
            ("artifacts/x", "../x"),
            ("artifacts/x", "a/b"),
        ] {
            assert!(files_target(&q(dest, name)).is_err(), "{dest} {name}");
        }
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
