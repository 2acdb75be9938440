//! The schemas over the shared corpus. Every corpus config that Orrery's compiler compiles (with
//! the corpus orbs at hand), or that fails only because an orb is missing from the corpus, gets
//! no schema error; every corpus orb version that packs gets no orb-schema error. Nothing panics.
//! Run with `--nocapture` for the counts and the warnings.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::{check, corpus_configs, packed_orbs, CorpusOrbs};
use orrery_compiler::{compile, CompileOptions};
use orrery_diagnostics::{codes, SourceDb};
use orrery_testkit::annotations::describe;

/// The message with backticked parts elided, to count kinds of findings.
fn shape(message: &str) -> String {
    message
        .split('`')
        .enumerate()
        .map(|(i, p)| if i % 2 == 1 { "…" } else { p })
        .collect::<Vec<_>>()
        .join("`")
}

#[test]
fn configs_the_compiler_accepts_get_no_schema_error() {
    let (Some(files), Some(orbs)) = (corpus_configs(), packed_orbs()) else {
        return;
    };
    assert!(files.len() >= 100, "only {} corpus configs", files.len());
    let source = CorpusOrbs::new(&orbs);
    let (mut accepted, mut rejected_both, mut rejected_compiler_only, mut unparsed) =
        (0, 0, Vec::new(), 0);
    let mut failures = Vec::new();
    let mut warnings: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(path).unwrap();
        let checked = check(&name, &text, false);
        if !checked.parsed() {
            unparsed += 1;
            continue;
        }
        for d in checked.findings.iter().filter(|d| !d.is_error()) {
            *warnings
                .entry(format!("{} {}", d.code, shape(&d.message)))
                .or_default() += 1;
        }
        let mut db = SourceDb::new();
        let file = db.add(&name, &text);
        let compiled = compile(&mut db, file, &CompileOptions::default(), &source);
        let compile_errors: Vec<&str> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        // A missing orb says nothing about the config's own structure.
        let structurally_fine = compile_errors.iter().all(|c| *c == codes::ORB_NOT_FOUND);
        let errors = checked.errors();
        if structurally_fine {
            accepted += 1;
            for d in errors {
                failures.push(format!("{name}: {}", describe(&checked.db, d)));
            }
        } else if errors.is_empty() {
            rejected_compiler_only.push(format!("{name} {compile_errors:?}"));
        } else {
            rejected_both += 1;
        }
    }
    println!(
        "corpus configs: {} files, {unparsed} do not parse, {accepted} accepted by the compiler \
         (schema errors on them: {}), {rejected_both} rejected by both, {} rejected by the \
         compiler only: {rejected_compiler_only:?}",
        files.len(),
        failures.len(),
        rejected_compiler_only.len()
    );
    for (message, n) in &warnings {
        println!("  warning {n:3} {message}");
    }
    assert!(accepted >= 80, "only {accepted} configs compiled");
    assert!(
        failures.is_empty(),
        "schema errors on configs the compiler accepts:\n  {}",
        failures.join("\n  ")
    );
}

#[test]
fn corpus_orbs_fit_the_orb_schema() {
    let Some(orbs) = packed_orbs() else {
        return;
    };
    assert!(orbs.len() >= 140, "only {} orb versions", orbs.len());
    let (mut checked_count, mut unpackable, mut warned) = (0, Vec::new(), 0);
    let mut failures = Vec::new();
    for orb in &orbs {
        let text = match &orb.text {
            Ok(text) => text,
            Err(reason) => {
                unpackable.push(format!("{} ({reason})", orb.label));
                continue;
            }
        };
        let checked = check(&orb.label, text, true);
        assert!(
            checked.parsed(),
            "{}: packed output does not parse",
            orb.label
        );
        checked_count += 1;
        if checked.findings.iter().any(|d| !d.is_error()) {
            warned += 1;
        }
        for d in &checked.findings {
            if d.is_error() {
                failures.push(format!("{}: {}", orb.label, describe(&checked.db, d)));
            } else {
                println!("  {}: {}", orb.label, describe(&checked.db, d));
            }
        }
    }
    println!(
        "corpus orbs: {} versions, {checked_count} packed and checked ({} schema errors, {warned} \
         with warnings), {} do not pack: {unpackable:?}",
        orbs.len(),
        failures.len(),
        unpackable.len()
    );
    assert!(checked_count >= 130, "only {checked_count} orbs checked");
    assert!(
        failures.is_empty(),
        "schema errors on corpus orbs:\n  {}",
        failures.join("\n  ")
    );
}
