//! The protocol handlers.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::convert::{self, Locator};
use crate::documents::{Documents, NotReady, Pending, Snapshot};
use crate::position::{Encoding, LineMap};
use crate::Workspace;

pub async fn serve<I, O>(input: I, output: O, workspace: Arc<dyn Workspace>)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let (service, socket) = LspService::new(|client| Backend {
        client,
        shared: Arc::new(Shared {
            workspace,
            documents: Documents::default(),
            encoding: OnceLock::new(),
            docs_base: OnceLock::new(),
            watch_files: OnceLock::new(),
        }),
    });
    Server::new(input, output, socket).serve(service).await;
}

struct Backend {
    client: Client,
    shared: Arc<Shared>,
}

/// What the handlers and the background checks share.
struct Shared {
    workspace: Arc<dyn Workspace>,
    documents: Documents,
    encoding: OnceLock<Encoding>,
    /// Where rule documentation lives (`initializationOptions.rulesDocs`).
    docs_base: OnceLock<Option<String>>,
    /// Whether the client lets the server register file watchers.
    watch_files: OnceLock<bool>,
}

impl Shared {
    fn encoding(&self) -> Encoding {
        self.encoding.get().copied().unwrap_or_default()
    }

    fn docs_base(&self) -> Option<&str> {
        self.docs_base.get().and_then(|b| b.as_deref())
    }
}

impl Backend {
    /// Checks a document version in the background and publishes its diagnostics, unless a
    /// newer version arrives first.
    fn schedule(&self, pending: Pending) {
        let shared = self.shared.clone();
        let client = self.client.clone();
        tokio::spawn(async move {
            let uri = pending.uri.clone();
            let version = pending.version;
            let checked = {
                let shared = shared.clone();
                tokio::task::spawn_blocking(move || check(&shared, pending)).await
            };
            let Ok(Some(snapshot)) = checked else {
                return;
            };
            let diagnostics = diagnostics_of(&shared, &uri, &snapshot);
            if shared.documents.finish(&uri, snapshot) {
                client
                    .publish_diagnostics(uri, diagnostics, Some(version))
                    .await;
            }
        });
    }

    async fn snapshot(&self, uri: &Uri) -> Result<Option<Arc<Snapshot>>> {
        match self.shared.documents.current(uri).await {
            Ok(snapshot) => Ok(Some(snapshot)),
            Err(NotReady::Closed) => Ok(None),
            Err(NotReady::Modified) => Err(Error::content_modified()),
        }
    }
}

/// Runs the workspace's check of `pending`, unless the document has already moved on.
fn check(shared: &Shared, pending: Pending) -> Option<Snapshot> {
    if !shared
        .documents
        .is_current(&pending.uri, pending.generation)
    {
        return None;
    }
    let analysis = shared.workspace.analyze(&pending.path, &pending.text);
    let lines = LineMap::new(analysis.text(), shared.encoding());
    Some(Snapshot {
        generation: pending.generation,
        analysis,
        lines,
    })
}

fn diagnostics_of(shared: &Shared, uri: &Uri, snapshot: &Snapshot) -> Vec<Diagnostic> {
    let locator = Locator {
        snapshot,
        uri,
        encoding: shared.encoding(),
    };
    snapshot
        .analysis
        .diagnostics()
        .iter()
        .map(|d| convert::diagnostic(d, &locator, shared.docs_base()))
        .collect()
}

/// The path a document stands for: its file path, or for unsaved documents a made-up path
/// in the current directory (so the project around it is the current one).
fn document_path(uri: &Uri) -> PathBuf {
    match uri.to_file_path() {
        Some(path) if uri.scheme().as_str() == "file" => path.into_owned(),
        _ => {
            let name = uri
                .path()
                .as_str()
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .unwrap_or("config.yml")
                .to_string();
            std::env::current_dir().unwrap_or_default().join(name)
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_deref());
        let encoding = Encoding::negotiate(offered);
        let _ = self.shared.encoding.set(encoding);
        let docs_base = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("rulesDocs"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let _ = self.shared.docs_base.set(docs_base);
        let watch_files = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|w| w.dynamic_registration)
            .unwrap_or(false);
        let _ = self.shared.watch_files.set(watch_files);
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "orrery".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: ServerCapabilities {
                position_encoding: Some(encoding.kind()),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                diagnostic_provider: Some(DiagnosticServerCapabilities::Options(
                    DiagnosticOptions {
                        identifier: Some(convert::SOURCE.into()),
                        inter_file_dependencies: true,
                        workspace_diagnostics: false,
                        work_done_progress_options: WorkDoneProgressOptions::default(),
                    },
                )),
                ..ServerCapabilities::default()
            },
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if !self.shared.watch_files.get().copied().unwrap_or(false) {
            return;
        }
        // What a check reads besides the document: settings, the lockfile, vendored orbs.
        let watchers = ["**/.orrery.toml", "**/orbs.lock", "**/.circleci/orbs/**"]
            .into_iter()
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String(glob.into()),
                kind: None,
            })
            .collect();
        let options = DidChangeWatchedFilesRegistrationOptions { watchers };
        let registration = Registration {
            id: "orrery-project-files".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: serde_json::to_value(options).ok(),
        };
        let _ = self.client.register_capability(vec![registration]).await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let paths: Vec<PathBuf> = params
            .changes
            .iter()
            .filter_map(|c| c.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        let paths: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
        self.shared.workspace.files_changed(&paths);
        for pending in self.shared.documents.touch_all() {
            self.schedule(pending);
        }
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let path = document_path(&doc.uri);
        let pending = self
            .shared
            .documents
            .open(&doc.uri, path, doc.text, doc.version);
        self.schedule(pending);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let doc = params.text_document;
        if let Some(pending) = self.shared.documents.change(
            &doc.uri,
            doc.version,
            params.content_changes,
            self.shared.encoding(),
        ) {
            self.schedule(pending);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        self.shared.documents.close(&uri);
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    async fn diagnostic(
        &self,
        params: DocumentDiagnosticParams,
    ) -> Result<DocumentDiagnosticReportResult> {
        let uri = params.text_document.uri;
        let items = match self.snapshot(&uri).await? {
            Some(snapshot) => diagnostics_of(&self.shared, &uri, &snapshot),
            None => Vec::new(),
        };
        Ok(DocumentDiagnosticReportResult::Report(
            DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
                related_documents: None,
                full_document_diagnostic_report: FullDocumentDiagnosticReport {
                    result_id: None,
                    items,
                },
            }),
        ))
    }
}
