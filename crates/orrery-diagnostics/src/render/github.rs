//! GitHub Actions workflow commands: one `::error` / `::warning` / `::notice` line per
//! diagnostic, which the runner turns into annotations on the pull request.

use std::fmt::Write;

use super::Place;
use crate::{Diagnostic, Severity, SourceDb};

pub fn render_github(db: &SourceDb, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let mut properties = Vec::new();
        if let Some(place) = d.primary.as_ref().and_then(|l| Place::of(db, l.span)) {
            properties.push(format!("file={}", property(place.file)));
            properties.push(format!("line={}", place.start.line));
            properties.push(format!("col={}", place.start.column));
            properties.push(format!("endLine={}", place.end.line));
            properties.push(format!("endColumn={}", place.end.column));
        }
        properties.push(format!("title={}", property(d.code)));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            properties.join(","),
            data(&message)
        );
    }
    out
}

/// The escaping the runner undoes in a command's message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Property values also escape the separators `:` and `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    #[test]
    fn one_escaped_command_per_diagnostic() {
        let mut db = SourceDb::new();
        let f = db.add(".circleci/config.yml", "version: 2.1\njobs:\n  a, b: {}\n");
        let d = Diagnostic::warning("L1001", "job `a, b` is never used: 100%")
            .at(Span::new(f, 21, 25), "here")
            .with_help("delete it");
        assert_eq!(
            render_github(&db, &[d]),
            "::warning file=.circleci/config.yml,line=3,col=3,endLine=3,endColumn=7,title=L1001::job `a, b` is never used: 100%25%0Ahelp: delete it\n"
        );
    }
}
