//! Every rule over every corpus config (`/work/shared/corpus/configs`): no error-level finding
//! on any config that parses, and a summary of what the rules find (run with `--nocapture`).
//! The configs are compiled without registry orbs (those that import some are validated from
//! the source); the host knows no project files (the corpus holds configs only) and runs the
//! real shellcheck when it is installed.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::{run_with, shellcheck_required, FakeHost};
use orrery_testkit::annotations::describe;
use orrery_testkit::shared;
use orrery_validate::Settings;

#[test]
fn corpus_configs_get_no_error_level_finding() {
    let Some(files) = orrery_testkit::corpus::configs() else {
        return;
    };
    assert!(files.len() >= 50, "only {} corpus configs", files.len());
    let mut checked = 0;
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_message: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut total = 0;
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let r = corpus_run(&name, &text);
        if orrery_diagnostics::has_errors(&r.parse) {
            continue;
        }
        checked += 1;
        for d in &r.findings {
            total += 1;
            *by_code.entry(d.code).or_default() += 1;
            let shape: String = d
                .message
                .split('`')
                .enumerate()
                .map(|(i, p)| if i % 2 == 1 { "…" } else { p })
                .collect::<Vec<_>>()
                .join("`");
            *by_message.entry(format!("{} {shape}", d.code)).or_default() += 1;
            if d.is_error() {
                errors.push(describe(&r.db, d));
            }
        }
    }
    println!(
        "corpus: {} configs, {checked} parsed and checked, {total} findings",
        files.len()
    );
    for (code, n) in &by_code {
        let name = orrery_validate::rule(code).map_or("", |r| r.name);
        println!("  {code} {name}: {n}");
    }
    let mut frequent: Vec<(&String, &usize)> = by_message.iter().collect();
    frequent.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("most frequent:");
    for (message, n) in frequent.iter().take(12) {
        println!("  {n:4} {message}");
    }
    assert!(checked >= 50, "only {checked} corpus configs parsed");
    assert!(
        errors.is_empty(),
        "error-level findings on corpus configs:\n  {}",
        errors.join("\n  ")
    );
}

/// Prints every finding of the given codes (`ORRERY_SHOW=L1001,L1005`), for reviewing rules
/// against real configs.
#[test]
fn show_corpus_findings() {
    let Ok(show) = std::env::var("ORRERY_SHOW") else {
        return;
    };
    let Some(shared) = shared() else {
        return;
    };
    let dir = shared.join("corpus/configs");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let r = corpus_run(&name, &text);
        for d in r
            .findings
            .iter()
            .filter(|d| show.split(',').any(|c| c == d.code))
        {
            println!("{}", describe(&r.db, d));
        }
    }
}

fn corpus_run(name: &str, text: &str) -> common::Run {
    let host = FakeHost {
        real_shellcheck: shellcheck_required(),
        ..FakeHost::default()
    };
    run_with(name, text, &Settings::default(), &host)
}
