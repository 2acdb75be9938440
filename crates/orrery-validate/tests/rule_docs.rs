//! Every rule's documentation (`docs/rules/CODE.md`) is checked: it names the rule, and its
//! examples run. A ```` ```yaml invalid ```` block must produce exactly one finding, of that
//! rule; a ```` ```yaml valid ```` block none at all. Examples that import no registry orb must
//! also compile without errors, so they show real configs, except an invalid one of a rule
//! the compiler checks too (```` ```yaml invalid E0105 ````): the compiler must refuse it with
//! exactly that code.

mod common;

use std::fmt::Write as _;

use common::run;
use orrery_compiler::{compile, CompileOptions, NoOrbs};
use orrery_diagnostics::SourceDb;
use orrery_testkit::annotations::describe;

/// `(info string, body)` of each fenced block.
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

#[test]
fn every_rule_is_documented_with_examples_that_run() {
    let mut failures = String::new();
    let rules = orrery_validate::rules();
    assert!(rules.len() >= 6, "only {} rules", rules.len());
    for rule in rules {
        if rule.code == "L1501" && !common::shellcheck_or_skip() {
            continue;
        }
        let title = format!("# {} `{}`", rule.code, rule.name);
        if !rule.docs.starts_with(&title) {
            let _ = writeln!(failures, "{}: docs do not start with {title:?}", rule.code);
        }
        let blocks = blocks(rule.docs);
        let valid: Vec<&String> = blocks
            .iter()
            .filter(|(i, _)| i == "yaml valid")
            .map(|(_, b)| b)
            .collect();
        // `(example, the compiler code that refuses it too)`.
        let invalid: Vec<(&String, Option<&str>)> = blocks
            .iter()
            .filter_map(|(i, b)| {
                let rest = i.strip_prefix("yaml invalid")?;
                Some((b, Some(rest.trim()).filter(|c| !c.is_empty())))
            })
            .collect();
        let valid: Vec<(&String, Option<&str>)> = valid.into_iter().map(|b| (b, None)).collect();
        if valid.is_empty() || invalid.is_empty() {
            let _ = writeln!(
                failures,
                "{}: needs a valid and an invalid example",
                rule.code
            );
        }
        for (kind, examples) in [("invalid", &invalid), ("valid", &valid)] {
            for (i, (text, refused_by)) in examples.iter().enumerate() {
                let name = format!("{}-{kind}-{}.yml", rule.code, i + 1);
                let r = run(&name, text);
                let all: Vec<String> = r.findings.iter().map(|d| describe(&r.db, d)).collect();
                let ok = if kind == "invalid" {
                    r.findings.len() == 1 && r.findings[0].code == rule.code
                } else {
                    r.findings.is_empty()
                };
                if !ok {
                    let _ = writeln!(
                        failures,
                        "{name}: expected {}, got:\n  {}",
                        if kind == "invalid" {
                            format!("exactly one {}", rule.code)
                        } else {
                            "nothing".to_string()
                        },
                        all.join("\n  ")
                    );
                }
                if !text.contains("\norbs:") {
                    let mut db = SourceDb::new();
                    let file = db.add(name.clone(), text.to_string());
                    let compiled = compile(&mut db, file, &CompileOptions::default(), &NoOrbs);
                    let refused: Vec<&str> = compiled
                        .diagnostics
                        .iter()
                        .filter(|d| d.is_error())
                        .map(|d| d.code)
                        .collect();
                    let errors: Vec<String> = compiled
                        .diagnostics
                        .iter()
                        .filter(|d| d.is_error())
                        .map(|d| describe(&db, d))
                        .collect();
                    if let Some(code) = refused_by {
                        if refused != [*code] {
                            let _ = writeln!(
                                failures,
                                "{name}: the compiler must refuse it with one {code}, got:\n  {}",
                                errors.join("\n  ")
                            );
                        }
                    } else if !errors.is_empty() {
                        let _ = writeln!(
                            failures,
                            "{name}: does not compile:\n  {}",
                            errors.join("\n  ")
                        );
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn codes_and_names_are_unique_and_well_formed() {
    let rules = orrery_validate::rules();
    for (i, a) in rules.iter().enumerate() {
        assert!(
            a.code.len() == 5
                && a.code.starts_with('L')
                && a.code[1..].bytes().all(|b| b.is_ascii_digit()),
            "{a:?}: code is not L + four digits"
        );
        assert!(
            a.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{a:?}: name is not kebab-case"
        );
        for b in &rules[i + 1..] {
            assert!(
                a.code != b.code && a.name != b.name,
                "{a:?} and {b:?} clash"
            );
        }
        assert_eq!(orrery_validate::rule(a.code).map(|r| r.code), Some(a.code));
        assert_eq!(orrery_validate::rule(a.name).map(|r| r.code), Some(a.code));
    }
}
