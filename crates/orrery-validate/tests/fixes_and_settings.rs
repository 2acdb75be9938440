//! Fixes as data (applied with `apply_fixes`) and severity settings.

mod common;

use common::{run, run_with};
use orrery_diagnostics::{Applicability, FileId, Severity};
use orrery_validate::{apply_fixes, Level, Settings};

const CONFIG: &str = "version: 2.1
jobs:
  build:
    docker:
      - image: circleci/golang:1.16
      - image: \"circleci/buildpack-deps:stretch\"
      - image: circleci/mongo:4.2
    steps: [checkout]
workflows:
  main:
    jobs: [build]
";

#[test]
fn deprecated_images_carry_an_unsafe_fix_that_applies() {
    let r = run("config.yml", CONFIG);
    let fixes: Vec<_> = r.findings.iter().filter_map(|d| d.fix.as_ref()).collect();
    assert_eq!(fixes.len(), 2, "mongo has no cimg successor");
    assert!(fixes
        .iter()
        .all(|f| f.applicability == Applicability::Unsafe));
    let (safe_only, n) = apply_fixes(FileId(0), CONFIG, &r.findings, false);
    assert_eq!((safe_only.as_str(), n), (CONFIG, 0));
    let (fixed, n) = apply_fixes(FileId(0), CONFIG, &r.findings, true);
    assert_eq!(n, 2);
    assert!(fixed.contains("- image: cimg/go:1.16\n"));
    assert!(fixed.contains("- image: \"cimg/base:stretch\"\n"));
    assert!(fixed.contains("- image: circleci/mongo:4.2\n"));
    // Fixing twice changes nothing more.
    let again = run("config.yml", &fixed);
    let (twice, _) = apply_fixes(FileId(0), &fixed, &again.findings, true);
    assert_eq!(twice, fixed);
}

#[test]
fn settings_turn_rules_off_or_change_their_severity() {
    let mut settings = Settings::new();
    assert!(settings.set("deprecated-image", Level::Error));
    assert!(settings.set("L1102", Level::Off));
    assert!(!settings.set("no-such-rule", Level::Off));
    let text = "version: 2.1\njobs:\n  build:\n    docker:\n      - image: circleci/node\n    steps: [checkout]\nworkflows:\n  main:\n    jobs: [build]\n";
    let default = run("c.yml", text);
    let codes: Vec<_> = default
        .findings
        .iter()
        .map(|d| (d.code, d.severity))
        .collect();
    assert_eq!(
        codes,
        [("L1101", Severity::Warning), ("L1102", Severity::Warning)]
    );
    let r = run_with("c.yml", text, &settings, &common::FakeHost::project());
    let codes: Vec<_> = r.findings.iter().map(|d| (d.code, d.severity)).collect();
    assert_eq!(codes, [("L1101", Severity::Error)]);
}

#[test]
fn editor_rule_levels_lie_over_the_project_settings() {
    let (mut project, _) = Settings::from_toml(
        FileId(0),
        "[rules]\ndeprecated-image = \"error\"\nL1102 = \"off\"\n",
    );
    let (editor, problems) = Settings::from_pairs([
        ("L1102", "note"),
        ("deprecated-imag", "off"),
        ("L1101", "loud"),
    ]);
    assert_eq!(
        problems,
        [
            "unknown rule `deprecated-imag`: did you mean `deprecated-image`?",
            "`L1101` is set to `loud`, which is not a level: use off, note, warning or error",
        ]
    );
    project.overlay(&editor);
    let text = "version: 2.1\njobs:\n  build:\n    docker:\n      - image: circleci/node\n    steps: [checkout]\nworkflows:\n  main:\n    jobs: [build]\n";
    let r = run_with("c.yml", text, &project, &common::FakeHost::project());
    let codes: Vec<_> = r.findings.iter().map(|d| (d.code, d.severity)).collect();
    assert_eq!(
        codes,
        [("L1101", Severity::Error), ("L1102", Severity::Note)]
    );
}

const OUTDATED: &str = "version: 2.1
orbs:
executors: {}
jobs:
  build:
    machine: true
    type: build
    parallelism: 1 # one is enough
    steps:
      - checkout
      - deploy:
          command: ./deploy.sh
  notify:
    docker:
      - image: cimg/base:2024.01
    steps:
      - run: ./notify.sh
workflows:
  version: 2
  main:
    jobs:
      - build
      - notify:
          requires:
            - build: [success, failed, canceled, not_run, unauthorized]
";

#[test]
fn outdated_syntax_is_fixed_safely_and_the_rest_on_request() {
    let r = run("config.yml", OUTDATED);
    let codes: Vec<_> = r.findings.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        ["L1606", "L1606", "L1602", "L1605", "L1701", "L1603", "L1601", "L1801"]
    );
    let (safe, n) = apply_fixes(FileId(0), OUTDATED, &r.findings, false);
    assert_eq!(n, 6, "{safe}");
    assert_eq!(
        safe,
        "version: 2.1
jobs:
  build:
    machine: true
    steps:
      - checkout
      - deploy:
          command: ./deploy.sh
  notify:
    docker:
      - image: cimg/base:2024.01
    steps:
      - run: ./notify.sh
workflows:
  main:
    jobs:
      - build
      - notify:
          requires:
            - build: terminal
"
    );
    let (all, n) = apply_fixes(FileId(0), OUTDATED, &r.findings, true);
    assert_eq!(n, 8);
    assert!(all.contains("    machine: { image: ubuntu-2404:current }\n"));
    assert!(all.contains("      - run:\n          command: ./deploy.sh\n"));
    // The fixed config has none of these findings left, and fixing again changes nothing.
    let again = run("config.yml", &all);
    assert!(!orrery_diagnostics::has_errors(&again.parse));
    assert!(again.findings.is_empty(), "{:?}", again.findings);
    let (twice, n) = apply_fixes(FileId(0), &all, &again.findings, true);
    assert_eq!((twice.as_str(), n), (all.as_str(), 0));
}
