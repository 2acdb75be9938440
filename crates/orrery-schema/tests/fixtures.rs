//! Data-driven schema fixtures in `tests/fixtures/`:
//!
//! * `NAME.yml`: a config whose every finding is written as a caret annotation on the line below
//!   the place it points at, e.g.
//!   ```text
//!       stepz:
//!   #   ^ E0110 unknown key `stepz` in job `build`
//!   ```
//!   (code, line, column and a part of the message). A finding without an annotation fails.
//! * `valid-NAME.yml`: a config with no finding at all.
//! * `orb-*.yml` are configs too; `orb-source-NAME.yml` are packed orbs, checked with the orb
//!   schema.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use common::check;
use orrery_testkit::annotations::{self, describe};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut inputs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn fixtures_report_what_their_annotations_say() {
    let inputs = fixtures();
    assert!(inputs.len() >= 8, "only {} fixtures", inputs.len());
    let mut failures = String::new();
    for input in &inputs {
        let name = input.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(input).unwrap();
        let checked = check(&name, &text, name.starts_with("orb-source-"));
        assert!(checked.parsed(), "{name}: does not parse");
        let expects = annotations::read(&name, &text);
        let valid = name.starts_with("valid-");
        let mut problems = annotations::check(&checked.db, &checked.findings, &expects, |_| true);
        if valid != expects.is_empty() {
            problems.push("a `valid-` fixture has no annotations, any other has some".into());
        }
        if !problems.is_empty() {
            let all: Vec<String> = checked
                .findings
                .iter()
                .map(|d| describe(&checked.db, d))
                .collect();
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

/// The help and the fix of a finding, for the first finding whose message contains `text`.
fn help_and_fix(config: &str, text: &str) -> (Option<String>, Option<(String, String)>) {
    let checked = check("inline.yml", config, false);
    let d = checked
        .findings
        .iter()
        .find(|d| d.message.contains(text))
        .unwrap_or_else(|| panic!("no finding with {text:?}: {:?}", checked.findings));
    let fix = d.fix.as_ref().map(|fix| {
        assert_eq!(fix.edits.len(), 1);
        let edit = &fix.edits[0];
        (
            checked
                .db
                .file(edit.span.file)
                .map_or("", |f| f.slice(edit.span))
                .to_string(),
            edit.replacement.clone(),
        )
    });
    (d.help.clone(), fix)
}

#[test]
fn mistyped_keys_and_values_get_a_suggestion_and_a_rename() {
    let config = "version: 2.1\njobs:\n  build:\n    docker: [{image: x}]\n    stepz: [checkout]\n";
    let (help, fix) = help_and_fix(config, "unknown key `stepz` in job `build`");
    assert_eq!(help.as_deref(), Some("did you mean `steps`?"));
    assert_eq!(fix, Some(("stepz".into(), "steps".into())));

    let config = "version: 2.1\njobs:\n  b:\n    docker: [{image: x}]\n    steps:\n      - run:\n          comand: make\n";
    let (help, fix) = help_and_fix(config, "missing required key `command`");
    assert_eq!(help.as_deref(), Some("did you mean `command`?"));
    assert_eq!(fix, Some(("comand".into(), "command".into())));

    let config = "version: 2.1\nworkflows:\n  w:\n    jobs:\n      - b:\n          requires: [{a: sucess}]\n";
    let (help, fix) = help_and_fix(config, "found `sucess`");
    assert_eq!(help.as_deref(), Some("did you mean `success`?"));
    assert_eq!(fix, None);

    let config = "version: 2.1\njobs:\n  b:\n    docker: [{image: x}]\n    working_directory: 7\n    steps: []\n";
    let (help, _) = help_and_fix(config, "`working_directory` must be a string");
    assert_eq!(help.as_deref(), Some("quote the value to make it a string"));
}
