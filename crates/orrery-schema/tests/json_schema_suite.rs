//! The evaluator against the official JSON-Schema-Test-Suite, draft 2020-12
//! (`conformance/json-schema-test-suite/draft2020-12/*.json` in the shared data): every
//! test group whose schema uses only keywords the evaluator implements is run, and each test's
//! verdict must be the suite's, except the cases listed with their reason in
//! `tests/json-schema-suite-known.txt` (a listed case that passes fails too, so the list stays
//! true; `ORRERY_BLESS=1` rewrites it, keeping the reasons). Groups whose schema the evaluator
//! refuses (keywords it does not implement, remote references) are counted as not implemented.
//! Prints the passed/failed figure per keyword file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use orrery_diagnostics::FileId;
use orrery_yaml::Limits;
use serde_json::Value as Json;

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    groups_not_implemented: usize,
}

fn known_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/json-schema-suite-known.txt")
}

/// `case → reason` from the known list (`CASE<TAB>REASON`, `#` comments).
fn known() -> BTreeMap<String, String> {
    fs::read_to_string(known_file())
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (case, reason) = l.split_once('\t').unwrap_or((l, ""));
            (case.to_string(), reason.to_string())
        })
        .collect()
}

/// The instance as a YAML node (JSON text is YAML), or why it cannot be one.
fn instance(data: &Json) -> Result<orrery_yaml::Node, String> {
    let text = serde_json::to_string(data).map_err(|e| e.to_string())?;
    let parsed = orrery_yaml::parse(FileId(0), &text, Limits::default());
    match parsed.root {
        Some(root) if !orrery_diagnostics::has_errors(&parsed.diagnostics) => Ok(root),
        _ => Err(format!("{text} does not parse as YAML")),
    }
}

#[test]
fn the_evaluator_passes_the_official_suite_for_the_keywords_it_implements() {
    let Some(shared) = orrery_testkit::shared() else {
        return;
    };
    let dir = shared.join("conformance/json-schema-test-suite/draft2020-12");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "only {} suite files", files.len());
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failing = BTreeSet::new();
    for file in &files {
        let keyword = file.file_stem().unwrap().to_string_lossy().into_owned();
        let groups: Vec<Json> = serde_json::from_str(&fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let tally = tallies.entry(keyword.clone()).or_default();
        for group in &groups {
            let schema = group["schema"].to_string();
            let description = group["description"].as_str().unwrap_or("");
            for test in group["tests"].as_array().into_iter().flatten() {
                let case = format!(
                    "{keyword}: {description}: {}",
                    test["description"].as_str().unwrap_or("")
                );
                let expected = test["valid"].as_bool().unwrap();
                // An instance YAML cannot hold (none so far) counts as a failure.
                let verdict = match instance(&test["data"]) {
                    Ok(node) => orrery_schema::conforms(&schema, &node).map(Some),
                    Err(_) => Ok(None),
                };
                match verdict {
                    Err(_) => {
                        tally.groups_not_implemented += 1;
                        break;
                    }
                    Ok(Some(valid)) if valid == expected => tally.passed += 1,
                    Ok(_) => {
                        tally.failed += 1;
                        failing.insert(case);
                    }
                }
            }
        }
    }
    let mut table = String::from("keyword file: passed, failed (test groups not implemented)\n");
    let (mut passed, mut failed) = (0, 0);
    for (keyword, t) in &tallies {
        if t.passed + t.failed == 0 {
            continue;
        }
        passed += t.passed;
        failed += t.failed;
        table += &format!(
            "  {keyword}: {} passed, {} failed ({} of its groups not implemented)\n",
            t.passed, t.failed, t.groups_not_implemented
        );
    }
    let not_run: Vec<&str> = tallies
        .iter()
        .filter(|(_, t)| t.passed + t.failed == 0)
        .map(|(k, _)| k.as_str())
        .collect();
    table += &format!(
        "  total: {passed} passed, {failed} failed; not implemented at all: {}\n",
        not_run.join(", ")
    );
    println!("{table}");
    // The suite holds over 400 cases for the keywords implemented today: a drop means groups
    // stopped compiling, not that they pass.
    assert!(
        passed + failed >= 400,
        "only {} cases ran\n{table}",
        passed + failed
    );

    let known = known();
    if std::env::var_os("ORRERY_BLESS").is_some() {
        let mut text = String::from(
            "# JSON-Schema-Test-Suite (draft 2020-12) cases the evaluator does not pass, with why.\n\
             # CASE<TAB>REASON; written by ORRERY_BLESS=1 (reasons kept), read by tests/json_schema_suite.rs.\n",
        );
        for case in &failing {
            let reason = known.get(case).map_or("(to explain)", String::as_str);
            text += &format!("{case}\t{reason}\n");
        }
        fs::write(known_file(), text).unwrap();
        return;
    }
    let unexpected: Vec<&String> = failing.iter().filter(|c| !known.contains_key(*c)).collect();
    let stale: Vec<&String> = known.keys().filter(|c| !failing.contains(*c)).collect();
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "{table}\nfailing, not in tests/json-schema-suite-known.txt: {unexpected:#?}\n\
         listed but passing now: {stale:#?}"
    );
}
