//! The official compiler's outputs (shared/conformance/golden): cases from 2019 on must be
//! reproduced byte for byte, preview-era (2018) cases as data; a refused case must be refused
//! with the official error first.

mod common;

use std::fs;
use std::path::Path;

use common::{orrery, same_data, shared, stage_orbs, text, yaml};

/// Cases we cannot reproduce, with the reason: `tests/golden-known.txt`.
fn known() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden-known.txt");
    let text = fs::read_to_string(path).expect("tests/golden-known.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .collect()
}

fn date(case: &Path) -> (u32, u32, u32) {
    let meta = fs::read_to_string(case.join("meta.txt")).unwrap_or_default();
    let line = meta
        .lines()
        .find(|l| l.starts_with("date:"))
        .unwrap_or("date: 9999-01-01");
    let digits: Vec<u32> = line[5..]
        .trim()
        .splitn(3, '-')
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(1)
        })
        .collect();
    (
        digits[0],
        *digits.get(1).unwrap_or(&1),
        *digits.get(2).unwrap_or(&1),
    )
}

#[test]
fn golden_cases_match_the_official_compiler() {
    let Some(shared) = shared() else {
        return;
    };
    let root = shared.join("conformance/golden");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .expect("golden cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let known_cases = known();
    let (mut identical, mut data_equal, mut refused, mut known) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if known_cases
            .iter()
            .any(|prefix| name.starts_with(prefix.as_str()))
        {
            known += 1;
            continue;
        }
        let orbs = tempfile::tempdir().unwrap();
        stage_orbs(case, orbs.path());
        let input = case.join("input.yml");
        let out = orrery(&[
            "config",
            "process",
            "--no-trailer",
            "--orb-path",
            orbs.path().to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        if let Ok(official) = fs::read_to_string(case.join("expected-error.txt")) {
            if out.status.code() != Some(1) || !out.stdout.is_empty() {
                failures.push(format!(
                    "{name}: accepted a config the official compiler refuses"
                ));
                continue;
            }
            // The compiler goes on to report every fault, but its first error is the
            // official one, in the official words.
            let stderr = text(&out.stderr);
            let first = stderr
                .lines()
                .find_map(|l| l.strip_prefix("error[").and_then(|l| l.split_once("]: ")))
                .map_or("", |(_, message)| message);
            if first.is_empty() || !official.contains(first) {
                failures.push(format!(
                    "{name}: the first error is not the official one\n--- official\n{official}\n--- first\n{first}"
                ));
                continue;
            }
            refused += 1;
            continue;
        }
        let Ok(expected) = fs::read_to_string(case.join("expected.yml")) else {
            continue;
        };
        if out.status.code() != Some(0) {
            failures.push(format!(
                "{name}: exit {:?}\n{}",
                out.status.code(),
                text(&out.stderr)
            ));
            continue;
        }
        let actual = text(&out.stdout);
        if case.join("expected-assertions.txt").exists() {
            continue;
        }
        let modern = date(case) >= (2019, 1, 1);
        if modern {
            if actual == expected {
                identical += 1;
            } else {
                failures.push(format!("{name}: text differs from the official output\n--- expected\n{expected}\n--- actual\n{actual}"));
            }
            continue;
        }
        let preview = date(case) < (2018, 10, 18);
        let (mut a, mut e) = (yaml(&actual), yaml(&expected));
        if preview {
            // The preview compiler printed `version: 2.1`; only the version differs by era.
            for doc in [&mut a, &mut e] {
                if let Some(m) = doc.as_map_mut() {
                    m.remove("version");
                }
            }
        }
        if same_data(&a, &e) {
            data_equal += 1;
        } else {
            failures.push(format!(
                "{name}: data differs\n--- expected\n{expected}\n--- actual\n{actual}"
            ));
        }
    }
    eprintln!("golden: {identical} byte-identical (2019+), {data_equal} data-equal (2018), {refused} refused as expected, {known} known differences");
    assert!(
        failures.is_empty(),
        "{} golden failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(identical >= 20, "too few modern cases checked: {identical}");
}
