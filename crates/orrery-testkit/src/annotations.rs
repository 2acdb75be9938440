//! Caret annotations: fixture files say in comment lines which diagnostics they must produce.
//!
//! ```text
//!       - greet: { too: x }
//! #              ^^^ E0203 Unexpected argument(s): too
//! ```
//!
//! asserts a diagnostic with that code whose primary span starts at the caret's column on the
//! nearest non-annotation line above, and whose message contains the text. `~~~` instead of
//! `^^^` asserts a secondary label there whose label text contains the text.

use std::fmt::Write as _;

use orrery_diagnostics::{Diagnostic, SourceDb, Span};

/// One annotation.
#[derive(Clone, Debug)]
pub struct Expect {
    /// The file the annotation is in, as named in the `SourceDb`.
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub secondary: bool,
    pub code: String,
    pub text: String,
    /// Where the annotation itself is written (`file:line`), for failure messages.
    pub written: String,
}

/// Reads the annotations of `text`, a file named `file` in the `SourceDb`. Panics on an
/// annotation above every line: the fixture itself is wrong.
pub fn read(file: &str, text: &str) -> Vec<Expect> {
    let mut out = Vec::new();
    let mut target = 0;
    for (i, line) in text.lines().enumerate() {
        let marker = line
            .trim_start()
            .strip_prefix('#')
            .map(str::trim_start)
            .filter(|r| r.starts_with('^') || r.starts_with('~'));
        let Some(rest) = marker else {
            target = i + 1;
            continue;
        };
        assert!(target > 0, "{file}:{}: annotation above any line", i + 1);
        let secondary = rest.starts_with('~');
        let mark = if secondary { '~' } else { '^' };
        let column = line.chars().position(|c| c == mark).unwrap_or(0) + 1;
        let rest = rest.trim_start_matches(mark).trim();
        let (code, text) = rest.split_once(' ').unwrap_or((rest, ""));
        out.push(Expect {
            file: file.to_string(),
            line: target,
            column,
            secondary,
            code: code.to_string(),
            text: text.trim().to_string(),
            written: format!("{file}:{}", i + 1),
        });
    }
    out
}

/// `file:line:column` of a span, or `?`.
pub fn place(db: &SourceDb, span: Span) -> String {
    db.line_col(span).map_or_else(
        || "?".to_string(),
        |(f, lc)| format!("{}:{}:{}", f.name, lc.line, lc.column),
    )
}

/// `severity CODE "message" at file:line:col ("label")`, with secondary labels below.
pub fn describe(db: &SourceDb, d: &Diagnostic) -> String {
    let mut s = format!("{} {} {:?}", d.severity.as_str(), d.code, d.message);
    if let Some(p) = &d.primary {
        let _ = write!(s, " at {} ({:?})", place(db, p.span), p.message);
    }
    for l in &d.secondary {
        let _ = write!(
            s,
            "\n      secondary {} ({:?})",
            place(db, l.span),
            l.message
        );
    }
    s
}

/// Matches `diagnostics` against `expects`. Returns one line per problem: an annotation no
/// diagnostic satisfies, or a diagnostic that `must_be_annotated` but no primary annotation
/// names. Empty means the fixture holds.
pub fn check(
    db: &SourceDb,
    diagnostics: &[Diagnostic],
    expects: &[Expect],
    must_be_annotated: impl Fn(&Diagnostic) -> bool,
) -> Vec<String> {
    let at = |span: Span, e: &Expect| {
        db.line_col(span)
            .is_some_and(|(f, lc)| f.name == e.file && lc.line == e.line && lc.column == e.column)
    };
    let mut problems = Vec::new();
    let mut used = vec![false; diagnostics.len()];
    for e in expects {
        let hit = diagnostics.iter().position(|d| {
            d.code == e.code
                && if e.secondary {
                    d.secondary
                        .iter()
                        .any(|l| l.message.contains(&e.text) && at(l.span, e))
                } else {
                    d.message.contains(&e.text) && d.primary.as_ref().is_some_and(|p| at(p.span, e))
                }
        });
        match hit {
            Some(i) => used[i] |= !e.secondary,
            None => problems.push(format!(
                "{}: expected {}{} {:?} at line {} column {}, not reported",
                e.written,
                if e.secondary {
                    "a secondary label of "
                } else {
                    ""
                },
                e.code,
                e.text,
                e.line,
                e.column
            )),
        }
    }
    for (d, used) in diagnostics.iter().zip(used) {
        if !used && must_be_annotated(d) {
            problems.push(format!("unexpected {}", describe(db, d)));
        }
    }
    problems
}
