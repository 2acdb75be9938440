//! `parse_reusing` gives exactly what `parse` gives, whatever the edit: over the corpus with
//! seeded random edits, and over hand-made edits where a stale reuse would be wrong.

use orrery_diagnostics::FileId;
use orrery_testkit::edits::{edit, Seeded};
use orrery_yaml::{parse, parse_reusing, Limits, Parsed, Previous};

/// Parses `new` reusing `old`'s parse, checks it against a full parse, and returns it (so a
/// chain of edits also reuses reused trees).
fn check(old: &str, old_parsed: &Parsed, new: &str, what: &str) -> Parsed {
    let file = FileId(0);
    let reused = parse_reusing(
        file,
        new,
        Limits::default(),
        Some(Previous {
            text: old,
            parsed: old_parsed,
        }),
    );
    let full = parse(file, new, Limits::default());
    // Debug text, so a NaN compares equal to itself.
    assert_eq!(
        format!("{:?}", reused.root),
        format!("{:?}", full.root),
        "tree after {what}"
    );
    assert_eq!(
        reused.diagnostics, full.diagnostics,
        "diagnostics after {what}"
    );
    assert_eq!(reused.anchors, full.anchors, "anchors after {what}");
    reused
}

/// Applies each edit in turn to `text`, checking every version.
fn check_edits(text: &str, edits: &[(&str, &str)]) {
    let mut old = text.to_string();
    let mut old_parsed = parse(FileId(0), &old, Limits::default());
    for (from, to) in edits {
        assert!(old.contains(from), "`{from}` is not in the text");
        let new = old.replacen(from, to, 1);
        old_parsed = check(&old, &old_parsed, &new, &format!("`{from}` → `{to}`"));
        old = new;
    }
}

const CONFIG: &str = "\
version: 2.1
commands:
  greet:
    parameters:
      who: { type: string, default: world }
    steps:
      - run: echo hello << parameters.who >>
jobs:
  build:
    docker:
      - image: cimg/base:2024.01
    steps:
      - checkout
      - greet: { who: a }
  test:
    docker:
      - image: cimg/base:2024.01
    steps:
      - run: |+
          make test

  # the last job
  deploy:
    docker:
      - image: cimg/base:2024.01
    steps: [checkout]
workflows:
  main:
    jobs:
      - build
      - test: { requires: [build] }
      - deploy: { requires: [test] }
";

#[test]
fn edits_inside_and_around_chunks() {
    check_edits(
        CONFIG,
        &[
            ("make test", "make tests"),
            (
                "cimg/base:2024.01\n    steps:\n      - checkout",
                "cimg/base:2024.02\n    steps:\n      - checkout",
            ),
            ("  test:\n", "  unit-test:\n"),
            ("{ requires: [test] }", "{ requires: [unit-test] }"),
            ("  # the last job\n", ""),
            (
                "      - greet: { who: a }\n",
                "      - greet: { who: a }\n    resource_class: large\n",
            ),
            (
                "version: 2.1\n",
                "version: 2.1\n# a comment that moves everything\n",
            ),
            ("make tests\n", "make tests\n  odd: indentation\n"),
            ("  odd: indentation\n", ""),
            (
                "  deploy:\n",
                "  deploy:\n  # between the key and its value\n",
            ),
            ("    steps: [checkout]\n", "    steps: [checkout\n"),
            ("    steps: [checkout\n", "    steps: [checkout]\n"),
            ("workflows:\n", "workflows:\n  other: { jobs: [build] }\n"),
            ("  main:\n", "  main: &main\n"),
            ("  main: &main\n", "  main:\n"),
            ("version: 2.1\n", "version: 2.1\n---\n"),
            ("version: 2.1\n---\n", "version: 2.1\n"),
            ("make tests", "\"make tests\nmore\""),
        ],
    );
}

#[test]
fn anchors_and_aliases_are_never_reused_stale() {
    let text = "\
version: 2.1
defaults: &defaults
  docker:
    - image: cimg/base:2024.01
jobs:
  build:
    <<: *defaults
    steps: [checkout]
  test:
    docker:
      - image: &img cimg/base:2024.01
    steps: [checkout]
  lint:
    docker:
      - image: *img
    steps: [checkout]
workflows:
  main:
    jobs: [build, test, lint]
";
    check_edits(
        text,
        &[
            (
                "    - image: cimg/base:2024.01\njobs",
                "    - image: cimg/base:2024.02\njobs",
            ),
            ("&img cimg/base:2024.01", "&img cimg/base:2024.03"),
            ("&img", "&image"),
            ("*img", "*image"),
            ("jobs:\n", "jobs: &all\n"),
            ("workflows:\n", "copy: *all\nworkflows:\n"),
            ("steps: [checkout]\n  test", "steps: [checkout, x]\n  test"),
            ("copy: *all\n", ""),
            ("jobs: &all\n", "jobs:\n"),
            ("    <<: *defaults\n", "    <<: *nothing\n"),
            ("    <<: *nothing\n", ""),
        ],
    );
}

#[test]
fn duplicate_keys_and_block_scalars() {
    let text = "\
jobs:
  a:
    steps: [x]
  b:
    script: |
      echo b
  a:
    steps: [y]
";
    check_edits(
        text,
        &[
            ("[y]", "[z]"),
            ("  a:\n    steps: [z]\n", "  c:\n    steps: [z]\n"),
            ("echo b", "echo c"),
            ("    script: |\n", "    script: |-\n"),
            ("      echo c\n", "      echo c\n    \n"),
            ("  c:\n", "  a:\n"),
            (
                "  a:\n    steps: [x]",
                "  a:\n    steps: [x]\n    steps: [w]",
            ),
        ],
    );
}

#[test]
fn random_edits_over_the_corpus() {
    // Without the shared data, `configs` has reported it.
    let Some(configs) = orrery_testkit::corpus::configs() else {
        return;
    };
    let mut rng = Seeded(0x5eed_1234_abcd_0001);
    for path in configs {
        let text = std::fs::read_to_string(&path).expect("read");
        let mut old = text;
        let mut old_parsed = parse(FileId(0), &old, Limits::default());
        for step in 0..6 {
            let new = edit(&old, &mut rng);
            let what = format!("edit {step} of {}", path.display());
            old_parsed = check(&old, &old_parsed, &new, &what);
            old = new;
        }
    }
}
