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

use common::run;
use orrery_testkit::annotations::{self, describe};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
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
        let name = input.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("shellcheck") && !common::shellcheck_or_skip() {
            continue;
        }
        let text = fs::read_to_string(input).unwrap();
        let expects = annotations::read(&name, &text);
        if expects.is_empty() {
            let _ = writeln!(failures, "{name}: no annotations");
            continue;
        }
        let r = run(&name, &text);
        assert!(
            !orrery_diagnostics::has_errors(&r.parse),
            "{name}: does not parse"
        );
        // A fixture says exactly what the rules report: every finding is annotated.
        let problems = annotations::check(&r.db, &r.findings, &expects, |_| true);
        if !problems.is_empty() {
            let all: Vec<String> = r.findings.iter().map(|d| describe(&r.db, d)).collect();
            let _ = writeln!(
                failures,
                "{name}:\n  {}\n  all findings:\n  {}",
                problems.join("\n  "),
                all.join("\n  ")
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}
