//! The terminal form, drawn by `annotate-snippets` (rustc's renderer): `severity[CODE]: message`,
//! then per file the `--> file:line:column` header and the source lines with the offending text
//! underlined (`^`) and related places (`-`), then the call path (`= in: …`), `= help:` and
//! `= fix:`. Colour is optional and never changes the text.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::{Diagnostic, FileId, Label, Severity, SourceDb};

/// How to draw for a terminal.
#[derive(Clone, Copy, Debug, Default)]
pub struct HumanOptions {
    /// ANSI colours (the caller decides: a terminal, and `NO_COLOR` unset).
    pub color: bool,
}

/// Renders diagnostics without colour (logs, tests, pipes).
pub fn render_human(db: &SourceDb, diagnostics: &[Diagnostic]) -> String {
    render_human_with(db, diagnostics, HumanOptions::default())
}

/// Renders diagnostics for a terminal.
pub fn render_human_with(
    db: &SourceDb,
    diagnostics: &[Diagnostic],
    options: HumanOptions,
) -> String {
    let renderer = if options.color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&renderer.render(&[report(db, d)]));
        out.push_str("\n\n");
    }
    out
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    }
}

/// One diagnostic as one group: its title, a snippet per file its labels are in (the
/// primary's file first), then the call path, help and fix.
fn report<'a>(db: &'a SourceDb, d: &'a Diagnostic) -> Group<'a> {
    let title = level(d.severity)
        .primary_title(d.message.as_str())
        .id(d.code);
    let labels: Vec<(&Label, AnnotationKind)> = d
        .primary
        .iter()
        .map(|l| (l, AnnotationKind::Primary))
        .chain(d.secondary.iter().map(|l| (l, AnnotationKind::Context)))
        .filter(|(l, _)| db.file(l.span.file).is_some())
        .collect();
    let mut files: Vec<FileId> = Vec::new();
    for (label, _) in &labels {
        if !files.contains(&label.span.file) {
            files.push(label.span.file);
        }
    }
    let mut group = Group::with_title(title);
    for file in files {
        let in_file = labels.iter().copied().filter(|(l, _)| l.span.file == file);
        if let Some(snippet) = snippet(db, file, in_file) {
            group = group.element(snippet);
        }
    }
    let in_level = Level::NOTE.with_name("in");
    for frame in &d.context {
        group = group.element(in_level.clone().message(frame.as_str()));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    if let Some(fix) = &d.fix {
        group = group.element(Level::HELP.with_name("fix").message(fix.title.as_str()));
    }
    group
}

/// The lines of `file` from the first label's to the last one's, each label underlining its
/// span's first line (a value spanning many lines, such as a whole job, is marked where it
/// starts rather than drawn in full); lines far from every label are folded away.
fn snippet<'a>(
    db: &'a SourceDb,
    file: FileId,
    labels: impl Iterator<Item = (&'a Label, AnnotationKind)>,
) -> Option<Snippet<'a, annotate_snippets::Annotation<'a>>> {
    let source = db.file(file)?;
    let marks: Vec<(usize, std::ops::Range<usize>, &str, AnnotationKind)> = labels
        .map(|(label, kind)| {
            let start = (label.span.start as usize).min(source.text.len());
            let line = source.line_col(start).line;
            let end =
                (label.span.end as usize).clamp(start, source.line_range(line).end.max(start));
            (line, start..end, label.message.as_str(), kind)
        })
        .collect();
    let first = marks.iter().map(|m| m.0).min()?;
    let last = marks.iter().map(|m| m.0).max()?;
    let offset = source.line_range(first).start;
    let text = source.text.get(offset..source.line_range(last).end)?;
    let mut snippet = Snippet::source(text)
        .line_start(first)
        .path(source.name.as_str())
        .fold(true);
    for (_, range, message, kind) in marks {
        let span = range.start - offset..range.end - offset;
        let annotation = kind.span(span);
        snippet = snippet.annotation(if message.is_empty() {
            annotation
        } else {
            annotation.label(message)
        });
    }
    Some(snippet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    fn config_db() -> (SourceDb, FileId) {
        let mut db = SourceDb::new();
        let f = db.add(
            "config.yml",
            "version: 2.1\njobs:\n  build:\n    dockr: []\n",
        );
        (db, f)
    }

    #[test]
    fn human_rendering_underlines_the_span() {
        let (db, f) = config_db();
        let start = db.file(f).unwrap().text.find("dockr").unwrap();
        let d = Diagnostic::error("E0103", "unknown key `dockr`")
            .at(Span::new(f, start, start + 5), "not a job key")
            .with_help("did you mean `docker`?");
        let text = render_human(&db, &[d]);
        assert_eq!(
            text,
            "error[E0103]: unknown key `dockr`\n --> config.yml:4:5\n  |\n4 |     dockr: []\n  |     ^^^^^ not a job key\n  |\n  = help: did you mean `docker`?\n\n"
        );
    }

    #[test]
    fn related_places_share_the_snippet_and_the_call_path_follows_it() {
        let (db, f) = config_db();
        let text = &db.file(f).unwrap().text;
        let key = text.find("dockr").unwrap();
        let job = text.find("build").unwrap();
        let d = Diagnostic::error("E0103", "unknown key `dockr`")
            .at(Span::new(f, key, key + 5), "not a job key")
            .also(Span::new(f, job, job + 5), "in this job")
            .in_context(&["Error calling job: 'build'".to_string()]);
        let rendered = render_human(&db, &[d]);
        assert_eq!(
            rendered,
            "error[E0103]: unknown key `dockr`\n --> config.yml:4:5\n  |\n3 |   build:\n  |   ----- in this job\n4 |     dockr: []\n  |     ^^^^^ not a job key\n  |\n  = in: Error calling job: 'build'\n\n"
        );
    }

    #[test]
    fn a_span_over_many_lines_is_marked_on_its_first() {
        let (db, f) = config_db();
        let text = &db.file(f).unwrap().text;
        let job = text.find("build").unwrap();
        let d = Diagnostic::error("E0105", "job `build` has no `steps`")
            .at(Span::new(f, job, text.len()), "this job");
        let rendered = render_human(&db, &[d]);
        assert!(
            rendered.contains("3 |   build:\n  |   ^^^^^^ this job\n"),
            "{rendered}"
        );
    }

    #[test]
    fn colour_changes_no_text() {
        let (db, f) = config_db();
        let start = db.file(f).unwrap().text.find("dockr").unwrap();
        let d = Diagnostic::warning("W0111", "ignored key")
            .at(Span::new(f, start, start + 5), "ignored")
            .with_help("delete it");
        let plain = render_human(&db, std::slice::from_ref(&d));
        let coloured = render_human_with(&db, &[d], HumanOptions { color: true });
        assert_ne!(plain, coloured);
        let mut stripped = String::new();
        let mut rest = coloured.as_str();
        while let Some(at) = rest.find('\x1b') {
            stripped.push_str(&rest[..at]);
            rest = &rest[at..];
            let end = rest.find('m').map_or(rest.len(), |m| m + 1);
            rest = &rest[end..];
        }
        stripped.push_str(rest);
        assert_eq!(stripped, plain);
    }

    #[test]
    fn a_diagnostic_without_a_place_is_its_title() {
        let db = SourceDb::new();
        let d = Diagnostic::error("E0901", "no such file: `x.yml`").with_help("check the path");
        assert_eq!(
            render_human(&db, &[d]),
            "error[E0901]: no such file: `x.yml`\n |\n = help: check the path\n\n"
        );
    }
}
