//! Invalid configs with caret annotations: `tests/fixtures/NAME.yml`.
//!
//! ```text
//!       - image: circleci/node:14
//! #              ^ L1101 deprecated legacy convenience image
//! ```
//!
//! asserts a finding with that code whose primary span starts at the caret's column on the
//! nearest non-annotation line above, and whose message contains the text; `~` instead of `^`
//! asserts a secondary label there whose label text contains the text. Every finding, of any
//! severity, must be annotated: a fixture says exactly what the rules report.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use common::{describe, run};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

struct Expect {
    line: usize,
    column: usize,
    secondary: bool,
    code: String,
    text: String,
    written: usize,
}

fn annotations(text: &str) -> Vec<Expect> {
    let mut out = Vec::new();
    let mut target = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = trimmed
            .strip_prefix('#')
            .map(str::trim_start)
            .filter(|r| r.starts_with('^') || r.starts_with('~'));
        let Some(rest) = marker else {
            target = i + 1;
            continue;
        };
        let secondary = rest.starts_with('~');
        let mark = if secondary { '~' } else { '^' };
        let column = line.chars().position(|c| c == mark).unwrap() + 1;
        let rest = rest.trim_start_matches(mark).trim();
        let (code, text) = rest.split_once(' ').unwrap_or((rest, ""));
        out.push(Expect {
            line: target,
            column,
            secondary,
            code: code.to_string(),
            text: text.trim().to_string(),
            written: i + 1,
        });
    }
    out
}

#[test]
fn fixtures_report_what_their_annotations_say() {
    let mut inputs: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 5, "only {} fixtures", inputs.len());
    let mut failures = String::new();
    for input in &inputs {
        let before = failures.len();
        let name = input.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(input).unwrap();
        let expects = annotations(&text);
        if expects.is_empty() {
            let _ = writeln!(failures, "{name}: no annotations");
            continue;
        }
        let r = run(&name, &text);
        assert!(
            !orrery_diagnostics::has_errors(&r.parse),
            "{name}: does not parse"
        );
        let at = |span, e: &Expect| {
            r.db.line_col(span)
                .is_some_and(|(_, lc)| lc.line == e.line && lc.column == e.column)
        };
        let mut used = vec![false; r.findings.len()];
        for e in &expects {
            let hit = r.findings.iter().position(|d| {
                d.code == e.code
                    && if e.secondary {
                        d.secondary
                            .iter()
                            .any(|l| l.message.contains(&e.text) && at(l.span, e))
                    } else {
                        d.message.contains(&e.text)
                            && d.primary.as_ref().is_some_and(|p| at(p.span, e))
                    }
            });
            match hit {
                Some(i) => used[i] |= !e.secondary,
                None => {
                    let _ = writeln!(
                        failures,
                        "{name}:{}: expected {}{} {:?} at line {} column {}, not reported",
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
                    );
                }
            }
        }
        for (i, d) in r.findings.iter().enumerate() {
            if !used[i] {
                let _ = writeln!(failures, "{name}: unexpected {}", describe(&r.db, d));
            }
        }
        if failures.len() > before {
            let all: Vec<String> = r.findings.iter().map(|d| describe(&r.db, d)).collect();
            let _ = writeln!(failures, "  all findings:\n  {}", all.join("\n  "));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}
