//! One verdict (issue 12, item 4): over every corpus config and every golden input, a config
//! that `config process` accepts gets no error-level finding from `config validate` whose code
//! comes from the compiler or the schema (`E0…`), and a config it refuses gets at least one.
//! Lint findings (`L…`) are the rules' opinion, not a verdict, and are left aside.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{orrery, shared, stage_orbs, text};

/// The codes of `validate`'s error-level findings that come from the compiler or the schema.
fn verdict_errors(json: &str) -> Result<Vec<String>, String> {
    let report: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("validate printed no JSON: {e}"))?;
    let errors = report["errors"]
        .as_array()
        .ok_or("validate's JSON has no `errors` list")?;
    Ok(errors
        .iter()
        .filter(|e| e["severity"] == "error")
        .filter_map(|e| e["code"].as_str())
        .filter(|code| code.starts_with("E0"))
        .map(|code| code.to_string())
        .collect())
}

/// `None` when both commands agree; otherwise what they said.
fn disagreement(input: &Path, orb_path: &Path) -> Option<String> {
    let (input, orb_path) = (input.to_str().unwrap(), orb_path.to_str().unwrap());
    let process = orrery(&["config", "process", "--orb-path", orb_path, input]);
    let accepted = match process.status.code() {
        Some(0) => true,
        Some(1) => false,
        other => {
            return Some(format!(
                "process exited {other:?}\n{}",
                text(&process.stderr)
            ))
        }
    };
    let validate = orrery(&[
        "config",
        "validate",
        "--format",
        "json",
        "--no-shellcheck",
        "--orb-path",
        orb_path,
        input,
    ]);
    let errors = match verdict_errors(&text(&validate.stdout)) {
        Ok(errors) => errors,
        Err(e) => return Some(format!("{e}\n{}", text(&validate.stderr))),
    };
    match (accepted, errors.is_empty()) {
        (true, false) => Some(format!(
            "process accepts it, validate reports {errors:?}:\n{}",
            text(&validate.stdout)
        )),
        (false, true) => Some(format!(
            "process refuses it, validate reports no compiler or schema error:\n{}",
            text(&process.stderr)
        )),
        _ => None,
    }
}

fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| keep(p))
        .collect();
    files.sort();
    files
}

#[test]
fn process_and_validate_give_one_verdict() {
    let Some(shared) = shared() else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    let corpus = shared.join("corpus");
    let configs = files_in(&corpus.join("configs"), |p| {
        p.extension().is_some_and(|e| e == "yml")
    });
    for config in &configs {
        checked += 1;
        if let Some(why) = disagreement(config, &corpus.join("orbs")) {
            failures.push(format!("{}: {why}", config.display()));
        }
    }
    let cases = files_in(&shared.join("conformance/golden"), |p| {
        p.join("input.yml").is_file()
    });
    for case in &cases {
        let orbs = tempfile::tempdir().unwrap();
        stage_orbs(case, orbs.path());
        checked += 1;
        if let Some(why) = disagreement(&case.join("input.yml"), orbs.path()) {
            failures.push(format!("{}: {why}", case.display()));
        }
    }
    assert!(checked >= 190, "only {checked} inputs found");
    assert!(
        failures.is_empty(),
        "{} of {checked} inputs get two verdicts:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
