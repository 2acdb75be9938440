//! Cross-check with SchemaStore's CircleCI schema (as vendored by `check-jsonschema`, builtin
//! `vendor.circle-ci`): over every corpus config, Orrery's verdict (parses? fits the schema?)
//! must equal SchemaStore's, except for the disagreements listed with their reason in
//! `tests/schemastore-disagreements.txt`. A listed disagreement that no longer happens fails
//! too, so the list stays true.
//!
//! `check-jsonschema` runs once over all files (`scripts/setup` installs it). Under CI (`CI`
//! set) a missing tool fails the test; outside CI it is reported as skipped.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

use common::{check, corpus_configs};
use serde_json::Value as Json;

const TOOL: &str = "check-jsonschema";

fn tool_runs() -> bool {
    Command::new(TOOL)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the tool runs; when it does not, reported by `missing` (which fails under CI).
fn ensure_tool() -> bool {
    if tool_runs() {
        return true;
    }
    orrery_testkit::missing(
        TOOL,
        "scripts/setup installs it: python3 -m pip install --break-system-packages check-jsonschema",
    );
    false
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Valid,
    Invalid,
    Unparsed,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unparsed => "unparsed",
        }
    }
}

/// SchemaStore's verdict for each file, and its first message for invalid ones.
fn schemastore_verdicts(files: &[std::path::PathBuf]) -> BTreeMap<String, (Verdict, String)> {
    let output = Command::new(TOOL)
        .args(["--builtin-schema", "vendor.circle-ci", "-o", "json"])
        .args(files)
        .output()
        .expect("check-jsonschema runs");
    let report: Json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{TOOL} printed no JSON report ({e}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let name = |entry: &Json| {
        let path = entry["filename"].as_str().unwrap_or_default();
        Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    let mut verdicts = BTreeMap::new();
    for file in files {
        let file = file.file_name().unwrap().to_string_lossy().to_string();
        verdicts.insert(file, (Verdict::Valid, String::new()));
    }
    for entry in report["errors"].as_array().into_iter().flatten() {
        let message = format!(
            "{}: {}",
            entry["path"].as_str().unwrap_or(""),
            entry["message"].as_str().unwrap_or("")
        );
        verdicts
            .entry(name(entry))
            .and_modify(|v| {
                if v.0 == Verdict::Valid {
                    *v = (Verdict::Invalid, message.chars().take(200).collect())
                }
            })
            .or_insert((Verdict::Invalid, message));
    }
    for entry in report["parse_errors"].as_array().into_iter().flatten() {
        let message = entry["message"].as_str().unwrap_or("").to_string();
        verdicts.insert(name(entry), (Verdict::Unparsed, message));
    }
    verdicts
}

/// Orrery's verdict and first error. An empty document is invalid: the schema wants a map.
fn orrery_verdict(name: &str, text: &str) -> (Verdict, String) {
    let checked = check(name, text, false);
    if !checked.parsed() {
        let first = checked.parse.iter().find(|d| d.is_error());
        return (
            Verdict::Unparsed,
            first.map(|d| d.message.clone()).unwrap_or_default(),
        );
    }
    let empty = orrery_yaml::parse(orrery_diagnostics::FileId(0), text, Default::default())
        .root
        .is_none();
    if empty {
        return (Verdict::Invalid, "the document is empty".into());
    }
    match checked.errors().first() {
        Some(d) => (Verdict::Invalid, d.message.clone()),
        None => (Verdict::Valid, String::new()),
    }
}

/// `FILE | orrery VERDICT | schemastore VERDICT | right: WHO | why`, `#` comments.
fn listed_disagreements() -> BTreeMap<String, (String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemastore-disagreements.txt");
    let text = fs::read_to_string(&path).unwrap();
    let mut listed = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let [file, orrery, schemastore, right, why] = fields[..] else {
            panic!(
                "{}:{}: not `FILE | orrery V | schemastore V | right: WHO | why`",
                path.display(),
                i + 1
            );
        };
        assert!(
            right.starts_with("right: ") && !why.is_empty(),
            "{}:{}: every entry says who is right and why",
            path.display(),
            i + 1
        );
        listed.insert(
            file.to_string(),
            (format!("{orrery} | {schemastore}"), why.to_string()),
        );
    }
    listed
}

#[test]
fn verdicts_agree_with_schemastore_apart_from_documented_cases() {
    if !ensure_tool() {
        return;
    }
    let Some(files) = corpus_configs() else {
        return;
    };
    let theirs = schemastore_verdicts(&files);
    let listed = listed_disagreements();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut agreed = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(path).unwrap();
        let (ours, our_message) = orrery_verdict(&name, &text);
        let (their, their_message) = theirs
            .get(&name)
            .cloned()
            .unwrap_or((Verdict::Unparsed, "no verdict".into()));
        if ours == their {
            agreed += 1;
            if listed.contains_key(&name) {
                problems.push(format!(
                    "{name}: listed as a disagreement, but both say {}",
                    ours.name()
                ));
            }
            continue;
        }
        seen.insert(name.clone());
        let pair = format!("orrery {} | schemastore {}", ours.name(), their.name());
        match listed.get(&name) {
            Some((listed_pair, _)) if *listed_pair == pair => {}
            Some((listed_pair, _)) => problems.push(format!(
                "{name}: listed as `{listed_pair}`, now `{pair}`"
            )),
            None => problems.push(format!(
                "{name} | {pair} | right: ? | orrery: {our_message:?}; schemastore: {their_message:?}"
            )),
        }
    }
    for name in listed.keys() {
        if !files
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n.to_string_lossy() == *name))
        {
            problems.push(format!("{name}: listed, but not in the corpus"));
        }
    }
    println!(
        "schemastore cross-check: {} configs, {agreed} same verdict, {} documented disagreements",
        files.len(),
        seen.len()
    );
    assert!(
        problems.is_empty(),
        "undocumented or stale disagreements with SchemaStore:\n{}",
        problems.join("\n")
    );
}

/// ajv (a reference JSON Schema implementation) compiles Orrery's own schemas, and its verdict
/// with them on every corpus config is Orrery's evaluator's verdict: the evaluator implements
/// the keywords as JSON Schema defines them. Needs node and `npm ci --prefix bench/ajv`; under
/// CI their absence fails the test.
#[test]
fn ajv_gives_the_same_verdicts_with_our_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let installed = root.join("bench/ajv/node_modules/ajv").is_dir()
        && Command::new("node").arg("--version").output().is_ok();
    if !installed {
        orrery_testkit::missing(
            "node or bench/ajv/node_modules",
            "scripts/setup installs them: apt-get install nodejs npm; npm ci --prefix bench/ajv",
        );
        return;
    }
    let Some(shared) = orrery_testkit::shared() else {
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut differences = Vec::new();
    let mut compared = 0;
    for dir in [shared.join("corpus/configs"), fixtures] {
        let output = Command::new("node")
            .arg(root.join("bench/ajv/validate.mjs"))
            .arg("-")
            .arg(&dir)
            .arg("--own")
            .arg(root.join("schema/circleci-config.schema.json"))
            .arg(root.join("schema/circleci-orb.schema.json"))
            .arg("--verdicts")
            .output()
            .expect("node runs");
        assert!(
            output.status.success(),
            "ajv could not compile or run our schemas:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Some((file, ajv_verdict)) = line.split_once('\t') else {
                continue;
            };
            // ajv's YAML parser differs from CircleCI's: only files both parse are compared;
            // packed-orb fixtures are not configs.
            if ajv_verdict == "unparsed" || file.starts_with("orb-source-") {
                continue;
            }
            let text = fs::read_to_string(dir.join(file)).unwrap();
            let (ours, message) = orrery_verdict(file, &text);
            if ours == Verdict::Unparsed {
                continue;
            }
            compared += 1;
            if ours.name() != ajv_verdict {
                differences.push(format!(
                    "{file}: ajv {ajv_verdict}, orrery {} {message:?}",
                    ours.name()
                ));
            }
        }
    }
    println!("ajv with our schemas: {compared} configs compared");
    assert!(compared >= 100, "only {compared} configs compared");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
