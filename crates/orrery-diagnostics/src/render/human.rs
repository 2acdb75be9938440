//! The terminal form: message, `file:line:column`, the source line with the offending text
//! underlined, related places, help. Colour is optional and never changes the text.

use std::fmt::Write;

use crate::{Diagnostic, Label, Severity, SourceDb};

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
    let paint = Paint(options.color);
    let mut out = String::new();
    for d in diagnostics {
        let severity = paint.severity(d.severity, d.severity.as_str());
        let code = paint.severity(d.severity, &format!("[{}]", d.code));
        let _ = writeln!(out, "{severity}{code}: {}", paint.bold(&d.message));
        for frame in &d.context {
            let _ = writeln!(out, "  = in: {frame}");
        }
        // One gutter width for all of a diagnostic's snippets keeps their bars aligned.
        let gutter = d
            .primary
            .iter()
            .chain(&d.secondary)
            .filter_map(|l| db.line_col(l.span))
            .map(|(_, pos)| pos.line.to_string().len())
            .max()
            .unwrap_or(1);
        if let Some(primary) = &d.primary {
            snippet(&mut out, db, primary, gutter, '^', paint, Some(d.severity));
        }
        for label in &d.secondary {
            snippet(&mut out, db, label, gutter, '-', paint, None);
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  = {}: {help}", paint.help("help"));
        }
        if let Some(fix) = &d.fix {
            let _ = writeln!(out, "  = {}: {}", paint.help("fix"), fix.title);
        }
        out.push('\n');
    }
    out
}

fn snippet(
    out: &mut String,
    db: &SourceDb,
    label: &Label,
    gutter: usize,
    marker: char,
    paint: Paint,
    severity: Option<Severity>,
) {
    let Some((file, pos)) = db.line_col(label.span) else {
        return;
    };
    let line_text = file.line_text(pos.line);
    let _ = writeln!(
        out,
        "{:gutter$}{} {}:{}:{}",
        "",
        paint.frame("-->"),
        file.name,
        pos.line,
        pos.column
    );
    let bar = paint.frame("|");
    let _ = writeln!(out, "{:gutter$} {bar}", "");
    let _ = writeln!(
        out,
        "{} {bar} {}",
        paint.frame(&format!("{:>gutter$}", pos.line)),
        line_text.replace('\t', " ")
    );
    let line_chars = line_text.chars().count();
    let start_col = pos.column.saturating_sub(1).min(line_chars);
    let span_chars = file
        .slice(label.span)
        .lines()
        .next()
        .map_or(0, |s| s.chars().count());
    let width = span_chars.min(line_chars.saturating_sub(start_col)).max(1);
    let underline: String = std::iter::repeat_n(marker, width).collect();
    let marked = format!("{underline} {}", label.message);
    let marked = match severity {
        Some(s) => paint.severity(s, &marked),
        None => paint.frame(&marked),
    };
    let _ = writeln!(out, "{:gutter$} {bar} {:start_col$}{marked}", "", "");
}

/// ANSI styling, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn wrap(self, codes: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{codes}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(self, severity: Severity, text: &str) -> String {
        let codes = match severity {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Note => "1;36",
        };
        self.wrap(codes, text)
    }

    fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    fn frame(self, text: &str) -> String {
        self.wrap("1;34", text)
    }

    fn help(self, text: &str) -> String {
        self.wrap("1;32", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

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
