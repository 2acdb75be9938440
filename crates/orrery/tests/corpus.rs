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

#[test]
fn corpus_configs_without_registry_orbs_compile() {
    let corpus = shared().join("corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).expect("corpus manifest");
    let mut header = manifest.lines().next().unwrap_or("").split('\t');
    let orbs_column = header.position(|c| c == "orbs").expect("orbs column");
    let mut compiled = 0;
    let mut refused = 0;
    for line in manifest.lines().skip(1) {
        let columns: Vec<&str> = line.split('\t').collect();
        let file = columns[0];
        if !columns.get(orbs_column).unwrap_or(&"").trim().is_empty() {
            continue;
        }
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
