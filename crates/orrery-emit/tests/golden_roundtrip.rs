//! Round-trips the official outputs: parse each golden `expected.yml`, emit it again, and
//! require the very same bytes (minus the `# Orb …` header lines).

use std::fs;
use std::path::{Path, PathBuf};

use orrery_diagnostics::FileId;
use orrery_emit::EmitOptions;
use orrery_yaml::{parse, Limits};

/// The official outputs in the shared data; `None` (reported) without it.
fn golden_dir() -> Option<PathBuf> {
    Some(orrery_testkit::shared()?.join("conformance/golden"))
}

struct Case {
    name: String,
    date: String,
    body: String,
    /// The test harness that recorded this output rewrote its `command: "npx …"` lines
    /// (meta.txt caveat); those lines are not the compiler's bytes and are not compared.
    harness_rewritten: bool,
}

fn cases(golden_dir: &Path) -> Vec<Case> {
    let dir = fs::read_dir(golden_dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", golden_dir.display()));
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        let Ok(expected) = fs::read_to_string(path.join("expected.yml")) else {
            continue;
        };
        let meta = fs::read_to_string(path.join("meta.txt")).unwrap_or_default();
        let date = meta
            .lines()
            .find_map(|l| l.strip_prefix("date:"))
            .map(|d| d.trim().to_string())
            .unwrap_or_default();
        let body: String = expected
            .split_inclusive('\n')
            .skip_while(|l| l.starts_with("# "))
            .collect();
        out.push(Case {
            name: entry.file_name().to_string_lossy().into_owned(),
            date,
            body,
            harness_rewritten: meta.contains("expected.yml contains such a rewritten line"),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn is_rewritten_line(line: &str) -> bool {
    line.trim_start().starts_with("command: \"npx ") && line.ends_with('"')
}

fn same_except_rewritten_lines(got: &str, expected: &str) -> bool {
    got.lines().count() == expected.lines().count()
        && got
            .lines()
            .zip(expected.lines())
            .all(|(g, e)| g == e || is_rewritten_line(e))
        && got.ends_with('\n') == expected.ends_with('\n')
}

/// Emits the parsed body; `Err` carries a short first-difference report.
fn round_trip(case: &Case) -> Result<(), String> {
    let parsed = parse(FileId(0), &case.body, Limits::default());
    let Some(root) = parsed.root else {
        return Err(format!("{}: does not parse", case.name));
    };
    // From about 2018-10-10 through 2019 the official emitter folded long scalars at 80 columns.
    let options = EmitOptions {
        fold_width: ("2018-10-10".."2020")
            .contains(&case.date.as_str())
            .then_some(80),
    };
    let got = orrery_emit::emit_yaml_with(&root, &options);
    if got == case.body {
        return Ok(());
    }
    if case.harness_rewritten && same_except_rewritten_lines(&got, &case.body) {
        return Ok(());
    }
    let line = got
        .lines()
        .zip(case.body.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| got.lines().count().min(case.body.lines().count()));
    Err(format!(
        "{}: line {}\n  expected: {:?}\n  emitted:  {:?}",
        case.name,
        line + 1,
        case.body.lines().nth(line).unwrap_or("<eof>"),
        got.lines().nth(line).unwrap_or("<eof>"),
    ))
}

/// Round-trips the cases whose date passes `filter`: `None` (reported) without the shared data.
fn run(filter: impl Fn(&str) -> bool, label: &str) -> Option<(usize, Vec<String>)> {
    let cases: Vec<Case> = cases(&golden_dir()?)
        .into_iter()
        .filter(|c| filter(&c.date))
        .collect();
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = round_trip(case) {
            failures.push(e);
        }
    }
    let rewritten = cases.iter().filter(|c| c.harness_rewritten).count();
    eprintln!(
        "{label}: {} of {} golden outputs round-trip byte-identically \
         ({rewritten} of them compared without their harness-rewritten `command: \"npx …\"` lines)",
        cases.len() - failures.len(),
        cases.len()
    );
    for f in &failures {
        eprintln!("{f}");
    }
    Some((cases.len(), failures))
}

/// Outputs from 2020 on: no line folding, so every one must round-trip exactly.
#[test]
fn golden_2020_and_later_round_trip() {
    let Some((total, failures)) = run(|d| d >= "2020", "2020+") else {
        return;
    };
    assert!(total > 0, "no golden case from 2020 on");
    assert!(
        failures.is_empty(),
        "{} round-trip failures",
        failures.len()
    );
}

/// 2018-10-18 to 2019: stable layout, long scalars folded at 80 columns.
#[test]
fn golden_2018_10_18_to_2019_round_trip() {
    let Some((_, failures)) = run(|d| ("2018-10-18".."2020").contains(&d), "2018-10-18..2019")
    else {
        return;
    };
    assert!(
        failures.is_empty(),
        "{} round-trip failures",
        failures.len()
    );
}

/// Preview-era outputs (before 2018-10-18): folding from 2018-10-10, `version: 2.1` in Sep 2018,
/// a hash-ordered top level on 2018-10-17. The emitter reproduces their text from their tree.
#[test]
fn golden_before_2018_10_18_round_trip() {
    let Some((_, failures)) = run(|d| d < "2018-10-18", "before 2018-10-18") else {
        return;
    };
    assert!(
        failures.is_empty(),
        "{} round-trip failures",
        failures.len()
    );
}

/// A raw official output kept whole, trailer included (a hashicorp/vault fork's generated config,
/// 2020; its Makefile prepends four `###` lines): the body must round-trip and the trailer must be rebuilt exactly from
/// the source it quotes.
#[test]
fn vault_2020_output_with_trailer() {
    let Some(shared) = orrery_testkit::shared() else {
        return;
    };
    let path = shared.join("corpus/configs/maniankara__vault__af22af4__packed-output.yml");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let marker = "\n# Original config.yml file:\n";
    let at = text.find(marker).expect("trailer present");
    let start = text
        .find("version:")
        .expect("document start after the `###` banner");
    let body = &text[start..at];
    let root = parse(FileId(0), body, Limits::default())
        .root
        .expect("parses");
    assert_eq!(orrery_emit::emit_yaml(&root), body);
    // Undo the trailer's `# ` prefixes and JSON escapes to get the source back.
    let quoted = &text[at + marker.len()..];
    let mut source = String::new();
    for line in quoted.split('\n') {
        let line = line
            .strip_prefix("# ")
            .expect("every trailer line starts with '# '");
        source.push_str(&line.replace("\\\"", "\"").replace("\\\\", "\\"));
        source.push('\n');
    }
    assert_eq!(orrery_emit::trailer(&source), &text[at..]);
}
