//! The protocol handlers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::convert::{self, Locator};
use crate::documents::{Documents, NotReady, Pending, Snapshot};
use crate::position::{Encoding, LineMap};
use crate::{ClientSettings, Workspace};

pub async fn serve<I, O>(input: I, output: O, workspace: Arc<dyn Workspace>)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let (service, socket) = LspService::build(|client| Backend {
        client,
        shared: Arc::new(Shared {
            workspace,
            documents: Documents::default(),
            encoding: OnceLock::new(),
            docs_base: OnceLock::new(),
            watch_files: OnceLock::new(),
            pull_configuration: OnceLock::new(),
            settings: Mutex::new(None),
            settings_problems: Mutex::new(Vec::new()),
        }),
    })
    .custom_method("orrery/compiledConfig", Backend::compiled_config)
    .finish();
    Server::new(input, output, socket).serve(service).await;
}

struct Backend {
    client: Client,
    shared: Arc<Shared>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompiledConfigParams {
    text_document: TextDocumentIdentifier,
}

/// The answer to `orrery/compiledConfig`.
#[derive(serde::Serialize)]
struct CompiledConfig {
    /// The compiled config; `null` when the document has errors.
    yaml: Option<String>,
    /// How many errors keep it from compiling (for a file of a split config or orb source
    /// tree, in every file of it).
    errors: usize,
}

/// How long a document stays unedited before the semantic model of its newest check is built.
const MODEL_AFTER_QUIET: std::time::Duration = std::time::Duration::from_millis(150);

/// What the handlers and the background checks share.
struct Shared {
    workspace: Arc<dyn Workspace>,
    documents: Documents,
    encoding: OnceLock<Encoding>,
    /// Where rule documentation lives (`initializationOptions.rulesDocs`).
    docs_base: OnceLock<Option<String>>,
    /// Whether the client lets the server register file watchers.
    watch_files: OnceLock<bool>,
    /// Whether the client answers `workspace/configuration`.
    pull_configuration: OnceLock<bool>,
    /// The editor settings the workspace has now.
    settings: Mutex<Option<ClientSettings>>,
    /// What was wrong with the settings sent with `initialize`, shown once initialized.
    settings_problems: Mutex<Vec<String>>,
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
            let snapshot = Arc::new(snapshot);
            if let Some(replaced) = shared.documents.finish(&uri, snapshot.clone()) {
                client
                    .publish_diagnostics(uri.clone(), diagnostics, Some(version))
                    .await;
                // Freeing the older checks waits until the diagnostics are out. The semantic
                // model that the other features read is built once the document has been
                // quiet for a moment: while the user types, it would only take the processor
                // from the next version's check (a request that comes first builds it).
                let _ = tokio::task::spawn_blocking(move || drop(replaced)).await;
                tokio::time::sleep(MODEL_AFTER_QUIET).await;
                if shared.documents.is_current(&uri, snapshot.generation) {
                    let _ = tokio::task::spawn_blocking(move || {
                        snapshot.analysis.model();
                    })
                    .await;
                }
            }
        });
    }

    /// The check of the document at `uri` and the byte offset of `position` in it.
    async fn at(&self, uri: &Uri, position: Position) -> Result<Option<(Arc<Snapshot>, u32)>> {
        let Some(snapshot) = self.snapshot(uri).await? else {
            return Ok(None);
        };
        let offset = snapshot.offset(position);
        Ok(Some((snapshot, offset)))
    }

    /// The places an `orrery-ide` answer names for the position, as locations (in the
    /// document, in orb sources, in the other files of a source tree).
    async fn locations_at(
        &self,
        uri: &Uri,
        position: Position,
        answer: impl FnOnce(&orrery_ide::Analysis, u32) -> Vec<orrery_ide::Span>,
    ) -> Result<Option<Vec<Location>>> {
        let Some((snapshot, offset)) = self.at(uri, position).await? else {
            return Ok(None);
        };
        let locator = self.locator(&snapshot, uri);
        Ok(Some(
            answer(&snapshot.analysis, offset)
                .into_iter()
                .filter_map(|span| locator.location(span))
                .collect(),
        ))
    }

    fn locator<'a>(&self, snapshot: &'a Snapshot, uri: &'a Uri) -> Locator<'a> {
        Locator {
            snapshot,
            uri,
            encoding: self.shared.encoding(),
        }
    }

    /// `orrery/compiledConfig`: the compiled YAML of a document, as `config process` prints
    /// it, or why there is none.
    async fn compiled_config(&self, params: CompiledConfigParams) -> Result<CompiledConfig> {
        let Some(snapshot) = self.snapshot(&params.text_document.uri).await? else {
            return Err(Error::invalid_params("the document is not open"));
        };
        // For a file of a split config, the errors of every file of it.
        Ok(CompiledConfig {
            yaml: snapshot.analysis.compiled_yaml(),
            errors: snapshot.analysis.errors(),
        })
    }

    /// Hands the editor's settings to the workspace; `true` when they differ from those it
    /// had (documents are then checked again). What is wrong with them is returned.
    fn configure(&self, section: &serde_json::Value) -> (bool, Vec<String>) {
        let (settings, mut problems) = ClientSettings::from_json(section);
        let mut current = self
            .shared
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if current.as_ref() == Some(&settings) {
            return (false, problems);
        }
        problems.extend(self.shared.workspace.configure(&settings));
        *current = Some(settings);
        (true, problems)
    }

    /// Shows what is wrong with the editor's settings, all in one message.
    async fn show_settings_problems(&self, problems: Vec<String>) {
        if problems.is_empty() {
            return;
        }
        let message = format!("orrery: the editor's settings: {}", problems.join("; "));
        self.client
            .show_message(MessageType::WARNING, message)
            .await;
    }

    /// Checks every open document again (project files or settings changed).
    fn recheck_all(&self) {
        for pending in self.shared.documents.touch_all() {
            self.schedule(pending);
        }
    }

    /// Checks the other open files of `whole` again: the file at `path` now reads differently
    /// to them.
    fn recheck_others(&self, whole: Option<&std::path::Path>, path: &std::path::Path) {
        let Some(whole) = whole else {
            return;
        };
        for pending in self.shared.documents.touch_others(whole, path) {
            self.schedule(pending);
        }
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
    // The other open files of the whole as they are now: if one changes after this, this
    // document is checked again.
    let others = match &pending.whole {
        Some(whole) => shared.documents.others(whole, &pending.path),
        None => Vec::new(),
    };
    let analysis = shared
        .workspace
        .analyze(&pending.path, &pending.text, &others);
    let lines = LineMap::new(analysis.text(), shared.encoding());
    Some(Snapshot {
        generation: pending.generation,
        edited: pending.edited,
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

/// Whether the file at `path` holds `text` (a document opened or closed without unsaved
/// edits changes nothing for the other files of its whole).
fn same_as_on_disk(path: &std::path::Path, text: &str) -> bool {
    std::fs::read(path).is_ok_and(|disk| disk == text.as_bytes())
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
        let pull_configuration = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.configuration)
            .unwrap_or(false);
        let _ = self.shared.pull_configuration.set(pull_configuration);
        if let Some(options) = &params.initialization_options {
            let (_, problems) = self.configure(options);
            *self
                .shared
                .settings_problems
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = problems;
        }
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
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![".".into(), "/".into(), "*".into()]),
                    ..CompletionOptions::default()
                }),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                document_highlight_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                })),
                document_symbol_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                selection_range_provider: Some(SelectionRangeProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        ..CodeActionOptions::default()
                    },
                )),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: convert::token_legend(),
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            range: None,
                            work_done_progress_options: WorkDoneProgressOptions::default(),
                        },
                    ),
                ),
                document_link_provider: Some(DocumentLinkOptions {
                    resolve_provider: Some(false),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
                inlay_hint_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: crate::COMMANDS.iter().map(|c| c.to_string()).collect(),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
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
        let problems = std::mem::take(
            &mut *self
                .shared
                .settings_problems
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        self.show_settings_problems(problems).await;
        if !self.shared.watch_files.get().copied().unwrap_or(false) {
            return;
        }
        // What a check reads besides the document: settings, the lockfile, vendored orbs, and
        // the git checkout that gives `pipeline.git.*`.
        let watchers = [
            "**/.orrery.toml",
            "**/orbs.lock",
            "**/.circleci/orbs/**",
            "**/.git/HEAD",
            "**/.git/refs/heads/**",
        ]
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
        self.recheck_all();
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let section = match ClientSettings::section(&params.settings) {
            Some(section) => section.clone(),
            None if self.shared.pull_configuration.get() == Some(&true) => {
                let item = ConfigurationItem {
                    scope_uri: None,
                    section: Some("orrery".into()),
                };
                match self.client.configuration(vec![item]).await {
                    Ok(mut values) if !values.is_empty() => values.swap_remove(0),
                    _ => return,
                }
            }
            None => return,
        };
        let (changed, problems) = self.configure(&section);
        self.show_settings_problems(problems).await;
        if changed {
            self.recheck_all();
        }
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let path = document_path(&doc.uri);
        let whole = self.shared.workspace.whole_of(&path);
        // The other files of the whole read this one from disk until now.
        let unsaved = whole.is_some() && !same_as_on_disk(&path, &doc.text);
        let pending = self
            .shared
            .documents
            .open(&doc.uri, path, whole, doc.text, doc.version);
        let (whole, path) = (pending.whole.clone(), pending.path.clone());
        self.schedule(pending);
        if unsaved {
            self.recheck_others(whole.as_deref(), &path);
        }
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let doc = params.text_document;
        if let Some(pending) = self.shared.documents.change(
            &doc.uri,
            doc.version,
            params.content_changes,
            self.shared.encoding(),
        ) {
            let (whole, path) = (pending.whole.clone(), pending.path.clone());
            self.schedule(pending);
            self.recheck_others(whole.as_deref(), &path);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Some(closed) = self.shared.documents.close(&uri) {
            // The other files of the whole read this one from disk again.
            if closed.whole.is_some() && !same_as_on_disk(&closed.path, &closed.text) {
                self.recheck_others(closed.whole.as_deref(), &closed.path);
            }
        }
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

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let at = params.text_document_position;
        let uri = at.text_document.uri;
        // A check of the current text is waited for when one runs; completion then still
        // answers from the text as typed.
        let _ = self.shared.documents.current(&uri).await;
        let Some((text, names)) = self.shared.documents.for_completion(&uri) else {
            return Ok(None);
        };
        let lines = LineMap::new(&text, self.shared.encoding());
        let offset = lines.offset(at.position);
        let items = names
            .analysis
            .complete(&text, offset)
            .into_iter()
            .map(|item| convert::completion(item, &lines))
            .collect();
        Ok(Some(CompletionResponse::Array(items)))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let Some(snapshot) = self.snapshot(&params.text_document.uri).await? else {
            return Ok(None);
        };
        let data = convert::tokens(&snapshot.analysis.tokens(), &snapshot.lines);
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    }

    async fn document_link(&self, params: DocumentLinkParams) -> Result<Option<Vec<DocumentLink>>> {
        let uri = params.text_document.uri;
        let Some(snapshot) = self.snapshot(&uri).await? else {
            return Ok(None);
        };
        let base = document_path(&uri);
        let dir = base.parent().unwrap_or(std::path::Path::new("/"));
        let links = snapshot
            .analysis
            .links()
            .into_iter()
            .filter_map(|link| {
                let target = dir.join(&link.target);
                Some(DocumentLink {
                    range: snapshot.lines.range(link.span.start, link.span.end),
                    target: Some(convert::file_uri(&target)?),
                    tooltip: None,
                    data: None,
                })
            })
            .collect();
        Ok(Some(links))
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        let Some(snapshot) = self.snapshot(&params.text_document.uri).await? else {
            return Ok(None);
        };
        let hints = snapshot
            .analysis
            .hints()
            .into_iter()
            .map(|hint| InlayHint {
                position: snapshot.lines.position(hint.offset),
                label: InlayHintLabel::String(hint.label),
                kind: None,
                text_edits: None,
                tooltip: None,
                padding_left: Some(true),
                padding_right: None,
                data: None,
            })
            .filter(|h| h.position >= params.range.start && h.position <= params.range.end)
            .collect();
        Ok(Some(hints))
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        let query = params.query.to_lowercase();
        let mut symbols = Vec::new();
        for (uri, snapshot) in self.shared.documents.checked() {
            let analysis = &snapshot.analysis;
            for d in &analysis.model().defs {
                if d.span.file != analysis.file()
                    || d.kind == orrery_ide::Kind::Parameter
                    || !d.name.to_lowercase().contains(&query)
                {
                    continue;
                }
                let symbol = orrery_ide::Symbol {
                    name: d.name.clone(),
                    kind: Some(d.kind),
                    span: d.span,
                    selection: d.span,
                    children: Vec::new(),
                };
                let kind = convert::symbol(&symbol, &snapshot.lines).kind;
                symbols.push(WorkspaceSymbol {
                    name: d.name.clone(),
                    kind,
                    tags: None,
                    container_name: Some(d.kind.word().into()),
                    location: OneOf::Left(Location {
                        uri: uri.clone(),
                        range: snapshot.lines.range(d.span.start, d.span.end),
                    }),
                    data: None,
                });
            }
        }
        Ok(Some(WorkspaceSymbolResponse::Nested(symbols)))
    }

    async fn execute_command(
        &self,
        params: ExecuteCommandParams,
    ) -> Result<Option<serde_json::Value>> {
        let uri: Option<Uri> = params
            .arguments
            .first()
            .and_then(|a| a.as_str())
            .and_then(|s| s.parse().ok());
        let Some(uri) = uri else {
            return Err(Error::invalid_params(
                "the first argument is the config's URI",
            ));
        };
        if !crate::COMMANDS.contains(&params.command.as_str()) {
            return Err(Error::invalid_params(format!(
                "unknown command `{}`",
                params.command
            )));
        }
        let argument = params
            .arguments
            .get(1)
            .and_then(|a| a.as_str())
            .map(str::to_string);
        let path = document_path(&uri);
        let shared = self.shared.clone();
        let command = params.command.clone();
        let result = tokio::task::spawn_blocking(move || {
            shared
                .workspace
                .run_command(&command, &path, argument.as_deref())
        })
        .await
        .map_err(|_| Error::internal_error())?;
        // What the command changed (orbs, the lockfile) is checked again.
        self.shared.workspace.files_changed(&[]);
        self.recheck_all();
        match result {
            Ok(output) => Ok(Some(serde_json::Value::String(output))),
            // LSP's RequestFailed: the request was right, what it ran failed.
            Err(message) => Err(Error {
                code: tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32803),
                message: message.into(),
                data: None,
            }),
        }
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let at = params.text_document_position_params;
        let Some((snapshot, offset)) = self.at(&at.text_document.uri, at.position).await? else {
            return Ok(None);
        };
        Ok(snapshot.analysis.hover(offset).map(|info| Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: info.markdown,
            }),
            range: Some(snapshot.lines.range(info.span.start, info.span.end)),
        }))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let at = params.text_document_position_params;
        let locations = self
            .locations_at(&at.text_document.uri, at.position, |analysis, offset| {
                analysis.definition(offset)
            })
            .await?;
        Ok(locations
            .filter(|l| !l.is_empty())
            .map(GotoDefinitionResponse::Array))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let at = params.text_document_position;
        let declaration = params.context.include_declaration;
        self.locations_at(&at.text_document.uri, at.position, |analysis, offset| {
            analysis.references(offset, declaration)
        })
        .await
    }

    async fn document_highlight(
        &self,
        params: DocumentHighlightParams,
    ) -> Result<Option<Vec<DocumentHighlight>>> {
        let at = params.text_document_position_params;
        let Some((snapshot, offset)) = self.at(&at.text_document.uri, at.position).await? else {
            return Ok(None);
        };
        Ok(Some(
            snapshot
                .analysis
                .highlights(offset)
                .into_iter()
                .map(|(span, write)| DocumentHighlight {
                    range: snapshot.lines.range(span.start, span.end),
                    kind: Some(if write {
                        DocumentHighlightKind::WRITE
                    } else {
                        DocumentHighlightKind::READ
                    }),
                })
                .collect(),
        ))
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let Some((snapshot, offset)) = self.at(&params.text_document.uri, params.position).await?
        else {
            return Ok(None);
        };
        match snapshot.analysis.prepare_rename(offset) {
            Ok(span) => Ok(Some(PrepareRenameResponse::Range(
                snapshot.lines.range(span.start, span.end),
            ))),
            Err(reason) => Err(Error::invalid_params(reason)),
        }
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let at = params.text_document_position;
        let uri = at.text_document.uri;
        let Some((snapshot, offset)) = self.at(&uri, at.position).await? else {
            return Ok(None);
        };
        let edits = snapshot
            .analysis
            .rename(offset, &params.new_name)
            .map_err(Error::invalid_params)?;
        Ok(Some(workspace_edit(&self.locator(&snapshot, &uri), &edits)))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let Some(snapshot) = self.snapshot(&params.text_document.uri).await? else {
            return Ok(None);
        };
        let symbols = snapshot
            .analysis
            .symbols()
            .iter()
            .map(|s| convert::symbol(s, &snapshot.lines))
            .collect();
        Ok(Some(DocumentSymbolResponse::Nested(symbols)))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        let Some(snapshot) = self.snapshot(&params.text_document.uri).await? else {
            return Ok(None);
        };
        let mut ranges: Vec<FoldingRange> = Vec::new();
        for span in snapshot.analysis.folding_ranges() {
            let range = snapshot.lines.range(span.start, span.end);
            // The fold ends on the last line with text (a span may end at the next line's
            // start).
            let end_line = if range.end.character == 0 && range.end.line > range.start.line {
                range.end.line - 1
            } else {
                range.end.line
            };
            if end_line > range.start.line
                && !ranges
                    .iter()
                    .any(|r| r.start_line == range.start.line && r.end_line == end_line)
            {
                ranges.push(FoldingRange {
                    start_line: range.start.line,
                    end_line,
                    ..FoldingRange::default()
                });
            }
        }
        Ok(Some(ranges))
    }

    async fn selection_range(
        &self,
        params: SelectionRangeParams,
    ) -> Result<Option<Vec<SelectionRange>>> {
        let Some(snapshot) = self.snapshot(&params.text_document.uri).await? else {
            return Ok(None);
        };
        let ranges = params
            .positions
            .into_iter()
            .map(|position| {
                let offset = snapshot.offset(position);
                let spans = snapshot.analysis.selection_ranges(offset);
                let mut selection: Option<SelectionRange> = None;
                for span in spans.iter().rev() {
                    selection = Some(SelectionRange {
                        range: snapshot.lines.range(span.start, span.end),
                        parent: selection.map(Box::new),
                    });
                }
                selection.unwrap_or(SelectionRange {
                    range: Range::new(position, position),
                    parent: None,
                })
            })
            .collect();
        Ok(Some(ranges))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let Some(snapshot) = self.snapshot(&uri).await? else {
            return Ok(None);
        };
        let start = snapshot.offset(params.range.start);
        let end = snapshot.offset(params.range.end);
        let locator = self.locator(&snapshot, &uri);
        let mut actions: Vec<CodeActionOrCommand> = snapshot
            .analysis
            .actions(start, end)
            .into_iter()
            .map(|action| {
                let diagnostic = snapshot
                    .analysis
                    .diagnostics()
                    .get(action.diagnostic)
                    .map(|d| convert::diagnostic(d, &locator, self.shared.docs_base()));
                CodeActionOrCommand::CodeAction(CodeAction {
                    title: action.title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: diagnostic.map(|d| vec![d]),
                    edit: Some(workspace_edit(&locator, &action.edits)),
                    is_preferred: action.preferred.then_some(true),
                    ..CodeAction::default()
                })
            })
            .collect();
        // Orbs the store lacks are fetched, and unpinned ones pinned, only when asked.
        for d in snapshot.analysis.diagnostics() {
            let Some(primary) = d.primary.as_ref().filter(|p| locator.in_document(p.span)) else {
                continue;
            };
            if primary.span.end < start || primary.span.start > end {
                continue;
            }
            let converted = convert::diagnostic(d, &locator, self.shared.docs_base());
            match d.code {
                "E0501" => actions.push(command_action(
                    "fetch the config's orbs (orrery orb fetch)",
                    "orrery.fetchOrbs",
                    &uri,
                    converted,
                )),
                "W0506" => actions.push(command_action(
                    "pin the config's orbs (orrery orb lock)",
                    "orrery.lockOrbs",
                    &uri,
                    converted,
                )),
                _ => {}
            }
        }
        Ok(Some(actions))
    }
}

/// A code action running a server command for the config at `uri`.
fn command_action(
    title: &str,
    command: &str,
    uri: &Uri,
    diagnostic: Diagnostic,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.into(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic]),
        command: Some(Command {
            title: title.into(),
            command: command.into(),
            arguments: Some(vec![serde_json::Value::String(uri.as_str().to_string())]),
        }),
        ..CodeAction::default()
    })
}

/// Edits as a workspace edit, grouped by file.
fn workspace_edit(locator: &Locator<'_>, edits: &[orrery_ide::TextEdit]) -> WorkspaceEdit {
    let mut changes: std::collections::HashMap<Uri, Vec<TextEdit>> =
        std::collections::HashMap::new();
    for edit in edits {
        let Some(location) = locator.location(edit.span) else {
            continue;
        };
        changes.entry(location.uri).or_default().push(TextEdit {
            range: location.range,
            new_text: edit.text.clone(),
        });
    }
    WorkspaceEdit {
        changes: Some(changes),
        ..WorkspaceEdit::default()
    }
}
