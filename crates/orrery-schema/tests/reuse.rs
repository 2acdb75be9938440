//! `check_config_reusing` finds exactly what `check_config` finds, whatever the edit: over the
//! corpus with seeded random edits (chained, so findings reused once are reused again), and over
//! hand-made edits that move, rename and change the entries under top-level keys.

use orrery_diagnostics::FileId;
use orrery_schema::{check_config, check_config_reusing, Memo};
use orrery_testkit::edits::{edit, Seeded};
use orrery_yaml::{parse, Limits, Node};

/// Checks `text` reusing `previous`, compares with a full check, and returns the parse and
/// the memo for the next version.
fn check(text: &str, previous: Option<&(Node, Memo)>, what: &str) -> Option<(Node, Memo)> {
    let root = parse(FileId(0), text, Limits::default()).root?;
    let (reused, memo) =
        check_config_reusing(FileId(0), &root, previous.map(|(root, memo)| (root, memo)));
    assert_eq!(
        reused,
        check_config(FileId(0), &root),
        "findings after {what}"
    );
    Some((root, memo))
}

const CONFIG: &str = "\
version: 2.1
jobs:
  build:
    docker:
      - image: cimg/base:2024.01
    resource_class: huge
    steps:
      - checkout
  test:
    docker:
      - image: cimg/base:2024.01
    parallelism: many
    steps: [checkout]
  deploy:
    machine: true
    steps: [checkout]
    unknown: 1
workflows:
  main:
    jobs: [build, test, deploy]
";

#[test]
fn edits_that_move_rename_and_change_entries() {
    let edits = [
        ("version: 2.1\n", "version: 2.1\n# moves every entry\n"),
        ("parallelism: many", "parallelism: 2"),
        ("parallelism: 2", "parallelism: many"),
        ("  test:\n", "  unit:\n"),
        ("    unknown: 1\n", ""),
        ("  deploy:\n", "  build:\n"),
        ("jobs:\n  build:", "jobs:\n  other: 3\n  build:"),
        (
            "    steps:\n      - checkout\n",
            "    steps:\n\n      - checkout\n",
        ),
        ("huge", "\"huge\""),
    ];
    let mut text = CONFIG.to_string();
    let mut previous = check(&text, None, "opening");
    for (from, to) in edits {
        assert!(text.contains(from), "`{from}` is not in the text");
        text = text.replacen(from, to, 1);
        let now = check(&text, previous.as_ref(), &format!("`{from}` → `{to}`"));
        previous = now.or(previous);
    }
}

#[test]
fn random_edits_over_the_corpus() {
    // Without the shared data, `configs` has reported it.
    let Some(configs) = orrery_testkit::corpus::configs() else {
        return;
    };
    let mut rng = Seeded(0x5c4e_3a00_0000_0001);
    for path in configs {
        let mut text = std::fs::read_to_string(&path).expect("read");
        let mut previous = check(&text, None, &format!("opening {}", path.display()));
        for step in 0..8 {
            text = edit(&text, &mut rng);
            let what = format!("edit {step} of {}", path.display());
            // A version that does not parse keeps the last one that did, as the server does.
            previous = check(&text, previous.as_ref(), &what).or(previous);
        }
    }
}
