//! `L1501 shellcheck`: findings placed on the config's lines, templates neutralised, shells
//! chosen. With canned findings (a host that records the scripts it is given), and with the
//! real shellcheck (`tests/fixtures/shellcheck.yml` runs it too).

mod common;

use std::cell::RefCell;

use common::run_with;
use orrery_diagnostics::Severity;
use orrery_validate::{Host, Settings, ShellFinding};

/// Answers every script with the same findings and remembers what it was asked.
struct Recorder {
    findings: Vec<ShellFinding>,
    asked: RefCell<Vec<(String, String)>>,
}

impl Host for Recorder {
    fn shellcheck(&self, script: &str, shell: &str) -> Option<Vec<ShellFinding>> {
        self.asked
            .borrow_mut()
            .push((script.to_string(), shell.to_string()));
        // Only findings on lines the script has.
        let lines = script.lines().count() as u32;
        Some(
            self.findings
                .iter()
                .filter(|f| f.line <= lines)
                .cloned()
                .collect(),
        )
    }
}

fn finding(level: &str, line: u32, column: u32, end_column: u32) -> ShellFinding {
    ShellFinding {
        code: "SC2086".into(),
        level: level.into(),
        message: "Double quote to prevent globbing and word splitting.".into(),
        line,
        column,
        end_line: line,
        end_column,
    }
}

const CONFIG: &str = r#"version: 2.1
commands:
  greet:
    parameters:
      who:
        type: string
        default: world
    steps:
      - run: echo << parameters.who >> $HOME
jobs:
  build:
    docker:
      - image: cimg/base:2024.01
    steps:
      - run: "ls $DIR"
      - run:
          name: block
          command: |
            set -x

            cat $FILE | wc -l
      - run:
          command: >
            echo $A
            echo $B
      - run:
          shell: /usr/bin/python3
          command: print(1)
      - run: "tab\tseparated $X"
      - greet
workflows:
  main:
    jobs: [build]
"#;

/// `(line, column, first characters under the span)` of each L1501 finding, 1-based.
fn places(host: &Recorder, text: &str) -> Vec<(u32, u32, String)> {
    let r = run_with("c.yml", text, &Settings::default(), host);
    r.findings
        .iter()
        .filter(|d| d.code == "L1501")
        .map(|d| {
            let span = d.primary.as_ref().unwrap().span;
            let (_, lc) = r.db.line_col(span).unwrap();
            let under: String = text[span.start as usize..span.end as usize]
                .chars()
                .take(5)
                .collect();
            (lc.line as u32, lc.column as u32, under)
        })
        .collect()
}

#[test]
fn findings_point_at_their_characters_in_the_config() {
    // Every script gets "line 1, columns 1-2" and, when it has a third line, "line 3, 5-9".
    let host = Recorder {
        findings: vec![finding("warning", 3, 5, 10), finding("info", 1, 1, 3)],
        asked: RefCell::new(Vec::new()),
    };
    let got = places(&host, CONFIG);
    let asked = host.asked.borrow();
    let scripts: Vec<&str> = asked.iter().map(|(s, _)| s.as_str()).collect();
    // Jobs first, then commands; the python step is not linted; the template became
    // underscores of its width.
    assert_eq!(
        scripts,
        [
            "ls $DIR",
            "set -x\n\ncat $FILE | wc -l\n",
            "echo $A echo $B\n",
            "tab\tseparated $X",
            "echo ____________________ $HOME",
        ]
    );
    assert!(asked
        .iter()
        .all(|(_, shell)| shell == "/bin/bash -eo pipefail"));
    let got: Vec<(u32, u32, &str)> = got.iter().map(|(l, c, t)| (*l, *c, t.as_str())).collect();
    assert_eq!(
        got,
        [
            (9, 14, "ec"),       // plain: its own characters
            (15, 15, "ls"),      // quoted: after the quote
            (19, 13, "se"),      // literal block, line 1
            (21, 17, "$FILE"),   // literal block, line 3 (after an empty line)
            (24, 13, "echo "),   // folded: the whole command
            (29, 14, "\"tab\\"), // escapes: the whole command
        ]
    );
}

#[test]
fn levels_map_to_severities_and_sourcing_noise_is_dropped() {
    let mut error = finding("error", 1, 1, 2);
    error.code = "SC2045".into();
    let mut style = finding("style", 1, 1, 2);
    style.code = "SC2006".into();
    let mut sourced = finding("info", 1, 1, 2);
    sourced.code = "SC1091".into();
    let mut cd = finding("warning", 1, 1, 2);
    cd.code = "SC2164".into();
    let host = Recorder {
        findings: vec![error, style, sourced, cd],
        asked: RefCell::new(Vec::new()),
    };
    let text = "version: 2.1\njobs:\n  build:\n    docker:\n      - image: cimg/base:2024.01\n    steps:\n      - run: cd x\n      - run:\n          shell: /bin/sh\n          command: cd y\nworkflows:\n  main:\n    jobs: [build]\n";
    let r = run_with("c.yml", text, &Settings::default(), &host);
    let got: Vec<(Severity, &str, u32)> = r
        .findings
        .iter()
        .map(|d| {
            let (_, lc) = r.db.line_col(d.primary.as_ref().unwrap().span).unwrap();
            (d.severity, &d.message[..17], lc.line as u32)
        })
        .collect();
    // SC2164 is dropped under `bash -e` only; SC1091 always; style and info are notes.
    assert_eq!(
        got,
        [
            (Severity::Warning, "shellcheck SC2045", 7),
            (Severity::Note, "shellcheck SC2006", 7),
            (Severity::Warning, "shellcheck SC2045", 10),
            (Severity::Note, "shellcheck SC2006", 10),
            (Severity::Warning, "shellcheck SC2164", 10),
        ]
    );
}

#[test]
fn windows_jobs_and_whole_template_commands_are_not_linted() {
    let host = Recorder {
        findings: vec![finding("warning", 1, 1, 2)],
        asked: RefCell::new(Vec::new()),
    };
    let text = r#"version: 2.1
jobs:
  win:
    machine:
      image: windows-server-2022-gui:current
    resource_class: windows.medium
    steps:
      - run: Write-Host $env:PATH
      - run:
          shell: bash.exe
          command: echo $PATH
  any:
    parameters:
      script:
        type: string
        default: make
    docker:
      - image: cimg/base:2024.01
    steps:
      - run: << parameters.script >>
workflows:
  main:
    jobs: [win, any]
"#;
    let r = run_with("c.yml", text, &Settings::default(), &host);
    let asked = host.asked.borrow();
    assert_eq!(
        asked.as_slice(),
        [("echo $PATH".to_string(), "bash.exe".to_string())]
    );
    let linted = r.findings.iter().filter(|d| d.code == "L1501").count();
    assert_eq!(linted, 1, "{:?}", r.findings);
}

#[test]
fn the_real_shellcheck_runs_where_tests_need_it() {
    if !common::shellcheck_or_skip() {
        return;
    }
    let text = "version: 2.1\njobs:\n  build:\n    docker:\n      - image: cimg/base:2024.01\n    steps:\n      - run: |\n          echo ok\n          rm -rf $DIR/<< parameters.sub >>\n    parameters:\n      sub:\n        type: string\n        default: x\nworkflows:\n  main:\n    jobs: [build]\n";
    let r = run_with(
        "c.yml",
        text,
        &Settings::default(),
        &common::FakeHost {
            real_shellcheck: true,
            ..common::FakeHost::default()
        },
    );
    let got: Vec<(String, u32, u32)> = r
        .findings
        .iter()
        .map(|d| {
            let (_, lc) = r.db.line_col(d.primary.as_ref().unwrap().span).unwrap();
            (d.message.clone(), lc.line as u32, lc.column as u32)
        })
        .collect();
    assert_eq!(
        got,
        [(
            "shellcheck SC2086: Double quote to prevent globbing and word splitting.".to_string(),
            9,
            18
        )],
        "the template must make no noise, and `$DIR` is on line 9, column 18"
    );
}
