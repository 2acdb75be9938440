//! Corpus configs that use orbs (registry or inline), against a registry directory built by packing every
//! corpus orb source with `orrery orb pack`. Each config compiles, or fails with a located
//! diagnostic: either an orb the corpus has no source for (E0501), or a config that is
//! genuinely invalid on its own (listed below with the reason).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use common::{orrery, shared, text};
use orrery_testkit::corpus::{label, orb_versions, source_dir};

/// Configs that do not compile even with every orb at hand, and why.
const GENUINELY_INVALID: &[(&str, &str)] = &[(
    "CircleCI-Public__orb-tools-orb__9c6ecbd__test-deploy.yml",
    "`orb-tools-alpha: {}` is an empty inline orb that the project's setup workflow replaces",
)];

/// Packs every corpus orb version into `registry/NAMESPACE/NAME/VERSION.yml` with `orrery orb
/// pack`. `HEAD` checkouts have no version and are left out. Returns the orbs that failed to
/// pack.
fn build_registry(registry: &Path, versions: Vec<PathBuf>) -> Vec<String> {
    let mut failed = Vec::new();
    for version_dir in versions {
        let label = label(&version_dir);
        let [namespace, name, version] = label.split('/').collect::<Vec<_>>()[..] else {
            panic!("{label}: not NAMESPACE/NAME/VERSION");
        };
        if version == "HEAD" {
            continue;
        }
        let out = orrery(&["orb", "pack", source_dir(&version_dir).to_str().unwrap()]);
        if !out.status.success() {
            failed.push(label.clone());
            continue;
        }
        let target = registry.join(namespace).join(name);
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join(format!("{version}.yml")), &out.stdout).unwrap();
    }
    failed
}

#[test]
fn corpus_configs_with_registry_orbs_compile_or_say_why() {
    let (Some(shared), Some(versions)) = (shared(), orb_versions()) else {
        return;
    };
    let registry = tempfile::tempdir().unwrap();
    let unpackable = build_registry(registry.path(), versions);
    let corpus = shared.join("corpus");
    let manifest = fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let orbs_column = manifest
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .position(|c| c == "orbs")
        .unwrap();
    let (mut compiled, mut lacking, mut invalid) = (Vec::new(), Vec::new(), Vec::new());
    let mut missing_orbs = BTreeSet::new();
    let mut failures = String::new();
    for line in manifest.lines().skip(1) {
        let columns: Vec<&str> = line.split('\t').collect();
        let file = columns[0];
        // Configs without orbs are covered by `corpus.rs`; inline orbs are checked here too.
        if columns.get(orbs_column).unwrap_or(&"").trim().is_empty() {
            continue;
        }
        let path = corpus.join("configs").join(file);
        let out = orrery(&[
            "config",
            "process",
            "--orb-path",
            registry.path().to_str().unwrap(),
            path.to_str().unwrap(),
        ]);
        let stderr = text(&out.stderr);
        match out.status.code() {
            Some(0) => compiled.push(file),
            Some(1) => {
                if !out.stdout.is_empty() {
                    failures.push_str(&format!("{file}: partial output on error\n"));
                }
                if !stderr.contains(&format!("{}:", path.display())) || !stderr.contains('^') {
                    failures.push_str(&format!("{file}: diagnostic without location:\n{stderr}\n"));
                }
                if stderr.contains("error[E0501]") {
                    for orb in stderr.split("cannot resolve orb `").skip(1) {
                        missing_orbs.insert(orb.split('`').next().unwrap_or("").to_string());
                    }
                    lacking.push(file);
                } else if GENUINELY_INVALID.iter().any(|(f, _)| *f == file) {
                    invalid.push(file);
                } else {
                    failures.push_str(&format!("{file}: unexpected failure:\n{stderr}\n"));
                }
            }
            code => failures.push_str(&format!("{file}: exit {code:?}\n{stderr}\n")),
        }
    }
    println!("compiled: {}", compiled.join(" "));
    println!(
        "corpus configs with orbs: {} compile, {} lack orb sources, {} genuinely invalid; \
         orb versions that failed to pack: {:?}; orbs without a source: {}",
        compiled.len(),
        lacking.len(),
        invalid.len(),
        unpackable,
        missing_orbs.into_iter().collect::<Vec<_>>().join(" ")
    );
    assert!(failures.is_empty(), "{failures}");
    assert_eq!(
        invalid.len(),
        GENUINELY_INVALID.len(),
        "a listed invalid config now compiles: update the list"
    );
    assert!(
        compiled.len() >= 9,
        "only {} compiled: {compiled:?}",
        compiled.len()
    );
}
