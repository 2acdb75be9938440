//! Every corpus config that uses no registry orb compiles, or — for the few broken upstream —
//! fails with a located diagnostic. Nothing panics, hangs or prints partial output.

mod common;

use std::time::{Duration, Instant};

use common::{orrery, shared, text};

/// Configs that are broken upstream, with the reason recorded in the corpus manifest.
const BROKEN_UPSTREAM: &[&str] = &[
    "CircleCI-Public__docker-orb__9d84283.yml", // YAML does not parse
    "facebook__fresco__06e5358.yml",            // a shell script was concatenated into the YAML
    "pypa__cibuildwheel__068c1b4.yml",          // entirely commented out: an empty document
];

/// The corpus configs that use no registry orb, from the corpus manifest.
fn configs_without_registry_orbs(shared: &std::path::Path) -> Vec<&'static str> {
    let manifest = std::fs::read_to_string(shared.join("corpus/MANIFEST.tsv"))
        .expect("corpus manifest")
        .leak();
    let mut header = manifest.lines().next().unwrap_or("").split('\t');
    let orbs_column = header.position(|c| c == "orbs").expect("orbs column");
    manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            let uses_orbs = !columns.get(orbs_column).unwrap_or(&"").trim().is_empty();
            (!uses_orbs).then_some(columns[0])
        })
        .collect()
}

#[test]
fn corpus_configs_without_registry_orbs_compile() {
    let Some(shared) = shared() else {
        return;
    };
    let corpus = shared.join("corpus");
    let mut compiled = 0;
    let mut refused = 0;
    for file in configs_without_registry_orbs(&shared) {
        let path = corpus.join("configs").join(file);
        let started = Instant::now();
        let out = orrery(&["config", "process", path.to_str().unwrap()]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{file}: took {:?}",
            started.elapsed()
        );
        let code = out.status.code();
        if BROKEN_UPSTREAM.contains(&file) {
            assert_eq!(
                code,
                Some(1),
                "{file}: expected a config error, got {code:?}\n{}",
                text(&out.stderr)
            );
            assert!(out.stdout.is_empty(), "{file}: partial output on error");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&format!("{}:", path.display())) && stderr.contains("^"),
                "{file}: diagnostic without location:\n{stderr}"
            );
            refused += 1;
        } else {
            assert_eq!(code, Some(0), "{file} failed:\n{}", text(&out.stderr));
            let stdout = text(&out.stdout);
            assert!(
                stdout.contains("\njobs:\n") || stdout.starts_with("jobs:"),
                "{file}: no jobs in the output"
            );
            assert!(
                stdout.contains("\n# Original config.yml file:\n"),
                "{file}: no trailer"
            );
            compiled += 1;
        }
    }
    assert_eq!(refused, BROKEN_UPSTREAM.len());
    assert!(compiled >= 30, "only {compiled} corpus configs compiled");
}

/// `config validate` over every corpus config that compiles, in one run: CircleCI accepted
/// these configs, so nothing may be an error; warnings are counted by code for review.
#[test]
fn corpus_configs_that_compile_validate_without_errors() {
    let Some(shared) = shared() else {
        return;
    };
    let configs = shared.join("corpus/configs");
    let paths: Vec<String> = configs_without_registry_orbs(&shared)
        .into_iter()
        .filter(|f| !BROKEN_UPSTREAM.contains(f))
        .map(|f| configs.join(f).display().to_string())
        .collect();
    let mut args = vec!["config", "validate", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let out = orrery(&args);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(
        report["errors"].as_array().map(Vec::len),
        Some(0),
        "errors on configs CircleCI accepted: {:#}",
        report["errors"]
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report["files"].as_array().map(Vec::len), Some(paths.len()));
    let mut by_code = std::collections::BTreeMap::<String, usize>::new();
    for w in report["warnings"].as_array().into_iter().flatten() {
        *by_code
            .entry(w["code"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
    }
    println!(
        "{} configs validated; warnings by code: {by_code:?}",
        paths.len()
    );
}
