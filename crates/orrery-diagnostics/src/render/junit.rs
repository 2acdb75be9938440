//! JUnit XML, for CI systems that show test reports: one `<testsuite>` per checked file, one
//! failing `<testcase>` per error or warning (notes are left out), and one passing
//! `<testcase>` for a file with nothing to report, so every checked file shows up.

use std::fmt::Write;

use super::Place;
use crate::{Diagnostic, Severity, SourceDb};

/// `files` are the checked files' names with their diagnostics.
pub fn render_junit(db: &SourceDb, files: &[(String, Vec<Diagnostic>)]) -> String {
    let mut suites = String::new();
    let (mut total_tests, mut total_failures) = (0, 0);
    for (name, diagnostics) in files {
        let reported: Vec<&Diagnostic> = diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .collect();
        let tests = reported.len().max(1);
        total_tests += tests;
        total_failures += reported.len();
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{}\" errors=\"0\">",
            escape(name),
            reported.len()
        );
        if reported.is_empty() {
            let _ = writeln!(
                suites,
                "    <testcase name=\"valid\" classname=\"{}\"/>",
                escape(name)
            );
        }
        for d in reported {
            let place = d.primary.as_ref().and_then(|l| Place::of(db, l.span));
            let at = place.as_ref().map_or(String::new(), |p| {
                format!(" {}:{}", p.start.line, p.start.column)
            });
            let _ = writeln!(
                suites,
                "    <testcase name=\"{}{}\" classname=\"{}\">",
                d.code,
                escape(&at),
                escape(name)
            );
            let mut body = String::new();
            if let Some(p) = &place {
                let _ = writeln!(body, "{}:{}:{}", p.file, p.start.line, p.start.column);
            }
            let _ = writeln!(body, "{}[{}]: {}", d.severity.as_str(), d.code, d.message);
            if let Some(help) = &d.help {
                let _ = writeln!(body, "help: {help}");
            }
            let _ = writeln!(
                suites,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                d.severity.as_str(),
                escape(&d.message),
                escape(&body)
            );
            let _ = writeln!(suites, "    </testcase>");
        }
        let _ = writeln!(suites, "  </testsuite>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"orrery\" tests=\"{total_tests}\" failures=\"{total_failures}\">\n{suites}</testsuites>\n"
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot hold other control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    #[test]
    fn a_suite_per_file_and_a_failure_per_finding() {
        let mut db = SourceDb::new();
        let f = db.add("a.yml", "version: 2.1\njobs: {}\n");
        db.add("b.yml", "version: 2.1\n");
        let d =
            Diagnostic::error("E0601", "no <workflows> & \"jobs\"").at(Span::new(f, 13, 17), "x");
        let xml = render_junit(
            &db,
            &[("a.yml".into(), vec![d]), ("b.yml".into(), Vec::new())],
        );
        assert!(xml.contains("<testsuites name=\"orrery\" tests=\"2\" failures=\"1\">"));
        assert!(xml.contains("<testcase name=\"E0601 2:1\" classname=\"a.yml\">"));
        assert!(xml.contains("message=\"no &lt;workflows&gt; &amp; &quot;jobs&quot;\""));
        assert!(xml.contains("<testcase name=\"valid\" classname=\"b.yml\"/>"));
    }
}
