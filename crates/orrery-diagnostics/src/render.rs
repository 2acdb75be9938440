use std::fmt::Write;

use serde::Serialize;

use crate::{Diagnostic, Label, SourceDb};

/// Renders diagnostics for a terminal: the message, `file:line:column`, the source line with the
/// offending text underlined, related places, and the suggested fix.
pub fn render_human(db: &SourceDb, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let _ = writeln!(out, "{}[{}]: {}", d.severity.as_str(), d.code, d.message);
        for frame in &d.context {
            let _ = writeln!(out, "  = in: {frame}");
        }
        if let Some(primary) = &d.primary {
            snippet(&mut out, db, primary, '^');
        }
        for label in &d.secondary {
            snippet(&mut out, db, label, '-');
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  = help: {help}");
        }
        out.push('\n');
    }
    out
}

fn snippet(out: &mut String, db: &SourceDb, label: &Label, marker: char) {
    let Some((file, pos)) = db.line_col(label.span) else {
        return;
    };
    let line_text = file.line_text(pos.line);
    let gutter = pos.line.to_string().len();
    let _ = writeln!(
        out,
        "{:gutter$}--> {}:{}:{}",
        "", file.name, pos.line, pos.column
    );
    let _ = writeln!(out, "{:gutter$} |", "");
    let _ = writeln!(out, "{} | {}", pos.line, line_text.replace('\t', " "));
    let line_chars = line_text.chars().count();
    let start_col = pos.column.saturating_sub(1).min(line_chars);
    let span_chars = file
        .slice(label.span)
        .lines()
        .next()
        .map_or(0, |s| s.chars().count());
    let width = span_chars.min(line_chars.saturating_sub(start_col)).max(1);
    let underline: String = std::iter::repeat_n(marker, width).collect();
    let _ = writeln!(
        out,
        "{:gutter$} | {:start_col$}{} {}",
        "", "", underline, label.message
    );
}

/// The stable machine-readable form of one diagnostic (`--format json`).
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
}

#[derive(Debug, Serialize)]
pub struct JsonRelated {
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

pub fn render_json(db: &SourceDb, diagnostics: &[Diagnostic]) -> Vec<JsonDiagnostic> {
    diagnostics
        .iter()
        .map(|d| {
            let primary = d.primary.as_ref().and_then(|l| {
                let (file, start) = db.line_col(l.span)?;
                let end = file.line_col(l.span.end as usize);
                Some((file.name.clone(), start, end))
            });
            JsonDiagnostic {
                code: d.code,
                severity: d.severity.as_str(),
                message: d.message.clone(),
                file: primary.as_ref().map(|p| p.0.clone()),
                line: primary.as_ref().map(|p| p.1.line),
                column: primary.as_ref().map(|p| p.1.column),
                end_line: primary.as_ref().map(|p| p.2.line),
                end_column: primary.as_ref().map(|p| p.2.column),
                context: d.context.clone(),
                help: d.help.clone(),
                related: d
                    .secondary
                    .iter()
                    .filter_map(|l| {
                        let (file, pos) = db.line_col(l.span)?;
                        Some(JsonRelated {
                            message: l.message.clone(),
                            file: file.name.clone(),
                            line: pos.line,
                            column: pos.column,
                        })
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Diagnostic, Span};

    #[test]
    fn human_rendering_underlines_the_span() {
        let mut db = SourceDb::new();
        let f = db.add(
            "config.yml",
            "version: 2.1\njobs:\n  build:\n    dockr: []\n",
        );
        let start = db.file(f).unwrap().text.find("dockr").unwrap();
        let d = Diagnostic::error("E0103", "unknown key `dockr`")
            .at(Span::new(f, start, start + 5), "not a job key")
            .with_help("did you mean `docker`?");
        let text = render_human(&db, &[d]);
        assert_eq!(
            text,
            "error[E0103]: unknown key `dockr`\n --> config.yml:4:5\n  |\n4 |     dockr: []\n  |     ^^^^^ not a job key\n  = help: did you mean `docker`?\n\n"
        );
    }
}
