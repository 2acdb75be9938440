//! Renderers: the same diagnostics as text for a terminal, JSON, SARIF, GitHub workflow
//! commands and JUnit XML. Each is a pure function of the diagnostics and the sources; the
//! formats are documented in `docs/output-formats.md`.

mod github;
mod human;
mod json;
mod junit;
mod sarif;

pub use github::render_github;
pub use human::{render_human, render_human_with, HumanOptions};
pub use json::{render_json, JsonDiagnostic, JsonEdit, JsonFix, JsonRelated};
pub use junit::render_junit;
pub use sarif::{render_sarif, RuleInfo, ToolInfo};

use crate::{LineCol, SourceDb, Span};

/// A span as a reader sees it: file name, 1-based start and end.
pub(crate) struct Place<'a> {
    pub(crate) file: &'a str,
    pub(crate) start: LineCol,
    pub(crate) end: LineCol,
}

impl<'a> Place<'a> {
    pub(crate) fn of(db: &'a SourceDb, span: Span) -> Option<Place<'a>> {
        let (file, start) = db.line_col(span)?;
        Some(Place {
            file: &file.name,
            start,
            end: file.line_col(span.end as usize),
        })
    }
}
