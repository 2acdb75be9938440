//! The stable machine-readable form of one diagnostic (`--format json`), documented in
//! `docs/output-formats.md`. Fields are only ever added.

use serde::Serialize;

use super::Place;
use crate::{Diagnostic, SourceDb};

#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub context: Vec<String>,
    pub help: Option<String>,
    pub related: Vec<JsonRelated>,
    pub fix: Option<JsonFix>,
}

#[derive(Debug, Serialize)]
pub struct JsonRelated {
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// A fix: replace each edit's range (1-based, end exclusive) with its text.
#[derive(Debug, Serialize)]
pub struct JsonFix {
    pub title: String,
    /// `safe` (applied by `orrery config fix`) or `unsafe` (only with `--unsafe`).
    pub applicability: &'static str,
    pub edits: Vec<JsonEdit>,
}

#[derive(Debug, Serialize)]
pub struct JsonEdit {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// Byte offsets into the file, for tools that prefer them.
    pub start_offset: u32,
    pub end_offset: u32,
    pub replacement: String,
}

pub fn render_json(db: &SourceDb, diagnostics: &[Diagnostic]) -> Vec<JsonDiagnostic> {
    diagnostics.iter().map(|d| json_diagnostic(db, d)).collect()
}

fn json_diagnostic(db: &SourceDb, d: &Diagnostic) -> JsonDiagnostic {
    let primary = d.primary.as_ref().and_then(|l| Place::of(db, l.span));
    JsonDiagnostic {
        code: d.code,
        severity: d.severity.as_str(),
        message: d.message.clone(),
        file: primary.as_ref().map(|p| p.file.to_string()),
        line: primary.as_ref().map(|p| p.start.line),
        column: primary.as_ref().map(|p| p.start.column),
        end_line: primary.as_ref().map(|p| p.end.line),
        end_column: primary.as_ref().map(|p| p.end.column),
        context: d.context.clone(),
        help: d.help.clone(),
        related: d
            .secondary
            .iter()
            .filter_map(|l| {
                let place = Place::of(db, l.span)?;
                Some(JsonRelated {
                    message: l.message.clone(),
                    file: place.file.to_string(),
                    line: place.start.line,
                    column: place.start.column,
                })
            })
            .collect(),
        fix: d.fix.as_ref().map(|fix| JsonFix {
            title: fix.title.clone(),
            applicability: match fix.applicability {
                crate::Applicability::Safe => "safe",
                crate::Applicability::Unsafe => "unsafe",
            },
            edits: fix
                .edits
                .iter()
                .filter_map(|e| {
                    let place = Place::of(db, e.span)?;
                    Some(JsonEdit {
                        file: place.file.to_string(),
                        line: place.start.line,
                        column: place.start.column,
                        end_line: place.end.line,
                        end_column: place.end.column,
                        start_offset: e.span.start,
                        end_offset: e.span.end,
                        replacement: e.replacement.clone(),
                    })
                })
                .collect(),
        }),
    }
}
