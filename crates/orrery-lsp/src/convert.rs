//! `orrery_ide` answers → LSP types.

use std::path::{Path, PathBuf};

use orrery_diagnostics::{Diagnostic, Severity, SourceDb, Span};
use orrery_ide::{code_tags, CodeTag};
use tower_lsp_server::ls_types::{
    self as lsp, CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag,
    Location, NumberOrString, Range, Uri,
};

use crate::documents::Snapshot;
use crate::position::{Encoding, LineMap};

/// The diagnostics' `source`.
pub const SOURCE: &str = "orrery";

/// Converts spans of any file the check read into locations: the document through its own
/// line map, other files (orb sources, settings) through one built on demand.
pub struct Locator<'a> {
    pub snapshot: &'a Snapshot,
    pub uri: &'a Uri,
    pub encoding: Encoding,
}

impl Locator<'_> {
    pub fn db(&self) -> &SourceDb {
        self.snapshot.analysis.db()
    }

    pub fn range(&self, span: Span) -> Option<Range> {
        if span.file == self.snapshot.analysis.file() {
            return Some(self.snapshot.lines.range(span.start, span.end));
        }
        let file = self.db().file(span.file)?;
        Some(LineMap::new(&file.text, self.encoding).range(span.start, span.end))
    }

    pub fn location(&self, span: Span) -> Option<Location> {
        let range = self.range(span)?;
        let uri = if span.file == self.snapshot.analysis.file() {
            self.uri.clone()
        } else {
            file_uri(Path::new(&self.db().file(span.file)?.name))?
        };
        Some(Location { uri, range })
    }

    pub fn in_document(&self, span: Span) -> bool {
        span.file == self.snapshot.analysis.file()
    }
}

/// The `file:` URI of a path (made absolute against the current directory).
pub fn file_uri(path: &Path) -> Option<Uri> {
    let absolute: PathBuf = std::path::absolute(path).ok()?;
    Uri::from_file_path(absolute)
}

/// Where a rule's documentation lives: under `docs_base` (from the client's
/// `initializationOptions.rulesDocs`), else in the source tree this binary was built from, when
/// it is still there.
pub fn rule_docs(code: &str, docs_base: Option<&str>) -> Option<Uri> {
    orrery_validate::rule(code)?;
    if let Some(base) = docs_base {
        return format!("{}/{code}.md", base.trim_end_matches('/'))
            .parse()
            .ok();
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../orrery-validate/docs/rules");
    let path = dir.join(format!("{code}.md"));
    if !path.is_file() {
        return None;
    }
    file_uri(&std::fs::canonicalize(path).ok()?)
}

pub fn diagnostic(
    d: &Diagnostic,
    locator: &Locator<'_>,
    docs_base: Option<&str>,
) -> lsp::Diagnostic {
    // A finding in another file (an orb source, `.orrery.toml`) is shown where the document
    // leads to it when a label says so, else at the top; the related information points there.
    let primary_here = d.primary.as_ref().filter(|p| locator.in_document(p.span));
    let anchor = primary_here
        .map(|p| p.span)
        .or_else(|| {
            d.secondary
                .iter()
                .find(|l| locator.in_document(l.span))
                .map(|l| l.span)
        })
        .unwrap_or(Span::new(locator.snapshot.analysis.file(), 0, 0));
    let range = locator.range(anchor).unwrap_or_default();
    let mut related: Vec<DiagnosticRelatedInformation> = Vec::new();
    if let Some(primary) = d.primary.as_ref().filter(|_| primary_here.is_none()) {
        if let Some(location) = locator.location(primary.span) {
            related.push(DiagnosticRelatedInformation {
                location,
                message: primary.message.clone(),
            });
        }
    }
    for label in &d.secondary {
        if Some(label.span) == Some(anchor) && primary_here.is_none() {
            continue;
        }
        if let Some(location) = locator.location(label.span) {
            related.push(DiagnosticRelatedInformation {
                location,
                message: label.message.clone(),
            });
        }
    }
    let tags: Vec<DiagnosticTag> = code_tags(d.code)
        .iter()
        .map(|t| match t {
            CodeTag::Unnecessary => DiagnosticTag::UNNECESSARY,
            CodeTag::Deprecated => DiagnosticTag::DEPRECATED,
        })
        .collect();
    lsp::Diagnostic {
        range,
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: rule_docs(d.code, docs_base).map(|href| CodeDescription { href }),
        source: Some(SOURCE.to_string()),
        message: message(d),
        related_information: (!related.is_empty()).then_some(related),
        tags: (!tags.is_empty()).then_some(tags),
        data: None,
    }
}

/// The message with the call path and the help, as `config validate` prints them.
fn message(d: &Diagnostic) -> String {
    let mut text = d.message.clone();
    for frame in &d.context {
        text.push_str("\nin: ");
        text.push_str(frame);
    }
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    text
}

pub fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Note => DiagnosticSeverity::INFORMATION,
    }
}

#[allow(deprecated)] // `DocumentSymbol.deprecated` must still be given
pub fn symbol(symbol: &orrery_ide::Symbol, lines: &LineMap) -> lsp::DocumentSymbol {
    use orrery_ide::Kind;
    let kind = match symbol.kind {
        None => lsp::SymbolKind::NAMESPACE,
        Some(Kind::Job) => lsp::SymbolKind::CLASS,
        Some(Kind::Command) => lsp::SymbolKind::FUNCTION,
        Some(Kind::Executor) => lsp::SymbolKind::STRUCT,
        Some(Kind::Parameter) => lsp::SymbolKind::FIELD,
        Some(Kind::PipelineParameter) => lsp::SymbolKind::VARIABLE,
        Some(Kind::Orb) => lsp::SymbolKind::MODULE,
        Some(Kind::Workflow) => lsp::SymbolKind::EVENT,
        Some(Kind::JobGroup) => lsp::SymbolKind::PACKAGE,
        Some(Kind::Anchor) => lsp::SymbolKind::CONSTANT,
    };
    lsp::DocumentSymbol {
        name: symbol.name.clone(),
        detail: symbol.kind.map(|k| k.word().to_string()),
        kind,
        tags: None,
        deprecated: None,
        range: lines.range(symbol.span.start, symbol.span.end),
        selection_range: lines.range(symbol.selection.start, symbol.selection.end),
        children: (!symbol.children.is_empty()).then(|| {
            symbol
                .children
                .iter()
                .map(|c| symbol_of(c, lines))
                .collect()
        }),
    }
}

fn symbol_of(symbol: &orrery_ide::Symbol, lines: &LineMap) -> lsp::DocumentSymbol {
    self::symbol(symbol, lines)
}

pub fn completion(item: orrery_ide::CompletionItem, lines: &LineMap) -> lsp::CompletionItem {
    use orrery_ide::CompletionKind as K;
    let kind = match item.kind {
        K::Key => lsp::CompletionItemKind::PROPERTY,
        K::Step => lsp::CompletionItemKind::FUNCTION,
        K::Job => lsp::CompletionItemKind::CLASS,
        K::Executor => lsp::CompletionItemKind::STRUCT,
        K::Parameter => lsp::CompletionItemKind::FIELD,
        K::Value => lsp::CompletionItemKind::ENUM_MEMBER,
        K::PipelineValue => lsp::CompletionItemKind::VARIABLE,
        K::Anchor => lsp::CompletionItemKind::REFERENCE,
    };
    lsp::CompletionItem {
        label: item.label.clone(),
        kind: Some(kind),
        detail: item.detail,
        documentation: item.documentation.map(|value| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value,
            })
        }),
        text_edit: Some(lsp::CompletionTextEdit::Edit(lsp::TextEdit {
            range: lines.range(item.replace.start, item.replace.end),
            new_text: item.label,
        })),
        ..lsp::CompletionItem::default()
    }
}

/// The semantic token types, in the legend's order.
pub const TOKEN_TYPES: &[lsp::SemanticTokenType] = &[
    lsp::SemanticTokenType::MACRO,
    lsp::SemanticTokenType::CLASS,
    lsp::SemanticTokenType::FUNCTION,
    lsp::SemanticTokenType::STRUCT,
    lsp::SemanticTokenType::PARAMETER,
    lsp::SemanticTokenType::VARIABLE,
    lsp::SemanticTokenType::NAMESPACE,
    lsp::SemanticTokenType::ENUM_MEMBER,
];

pub fn token_legend() -> lsp::SemanticTokensLegend {
    lsp::SemanticTokensLegend {
        token_types: TOKEN_TYPES.to_vec(),
        token_modifiers: vec![lsp::SemanticTokenModifier::DECLARATION],
    }
}

/// Tokens in the protocol's relative encoding.
pub fn tokens(tokens: &[orrery_ide::Token], lines: &LineMap) -> Vec<lsp::SemanticToken> {
    use orrery_ide::TokenKind as K;
    let mut out = Vec::with_capacity(tokens.len());
    let (mut line, mut start) = (0, 0);
    for token in tokens {
        let from = lines.position(token.span.start);
        let to = lines.position(token.span.end);
        if from.line != to.line || to.character <= from.character {
            continue;
        }
        let token_type = match token.kind {
            K::Template => 0,
            K::Job => 1,
            K::Command => 2,
            K::Executor => 3,
            K::Parameter => 4,
            K::PipelineParameter => 5,
            K::Orb => 6,
            K::Anchor => 7,
        };
        let delta_line = from.line - line;
        let delta_start = if delta_line == 0 {
            from.character - start
        } else {
            from.character
        };
        out.push(lsp::SemanticToken {
            delta_line,
            delta_start,
            length: to.character - from.character,
            token_type,
            token_modifiers_bitset: u32::from(token.definition),
        });
        line = from.line;
        start = from.character;
    }
    out
}
