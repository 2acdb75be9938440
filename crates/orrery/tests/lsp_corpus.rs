//! `orrery lsp` over the shared corpus of real configs: opening each gives the diagnostics
//! `orrery config validate` prints for it, and seeded random edits (delete a line, duplicate a
//! line, type a character) never crash or hang the server.

#[path = "lsp_client/mod.rs"]
mod lsp_client;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lsp_client::{file_uri, position, Server};
use serde_json::{json, Value};

fn corpus() -> Option<Vec<PathBuf>> {
    orrery_testkit::corpus::configs()
}

/// One finding as both sides can say it: code, severity, 1-based line and column, message.
type Finding = (String, String, u64, u64, String);

/// `config validate --format json` over every file at once, per file.
fn validate(files: &[PathBuf], cwd: &Path) -> BTreeMap<String, Vec<Finding>> {
    let output = Command::new(env!("CARGO_BIN_EXE_orrery"))
        .args(["config", "validate", "--format", "json"])
        .args(files)
        .current_dir(cwd)
        .env("ORRERY_CACHE_DIR", cwd.join(".no-cache"))
        .env_remove("ORRERY_ORB_PATH")
        .output()
        .expect("run orrery config validate");
    let report: Value = serde_json::from_slice(&output.stdout).expect("validate JSON");
    let mut out: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for file in files {
        out.insert(file.display().to_string(), Vec::new());
    }
    for key in ["errors", "warnings", "notes"] {
        for d in report[key].as_array().expect("list") {
            let file = d["file"].as_str().unwrap_or_default().to_string();
            // Findings in other files (orb sources, settings) are shown at the top of the
            // document by the server; compare them by code and message only.
            let (line, column) = if out.contains_key(&file) {
                (
                    d["line"].as_u64().unwrap_or(1),
                    d["column"].as_u64().unwrap_or(1),
                )
            } else {
                (0, 0)
            };
            let target = if out.contains_key(&file) {
                file
            } else {
                // validate names the file it checked in the finding's context; the server
                // files it under the document, which for one open document is the same.
                continue;
            };
            out.entry(target).or_default().push((
                d["code"].as_str().unwrap_or_default().to_string(),
                d["severity"].as_str().unwrap_or_default().to_string(),
                line,
                column,
                d["message"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    for findings in out.values_mut() {
        findings.sort();
    }
    out
}

fn severity(number: &Value) -> String {
    match number.as_u64() {
        Some(1) => "error",
        Some(2) => "warning",
        _ => "note",
    }
    .to_string()
}

/// The server's diagnostics as findings; columns converted from UTF-16 units to characters.
fn findings(text: &str, diagnostics: &Value) -> Vec<Finding> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<Finding> = diagnostics
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| {
            // Findings from other files sit at the top with the place in related information.
            d["relatedInformation"].as_array().is_none_or(|r| {
                r.is_empty() || d["range"]["start"] != json!({"line": 0, "character": 0})
            })
        })
        .map(|d| {
            let line = d["range"]["start"]["line"].as_u64().unwrap_or(0);
            let units = d["range"]["start"]["character"].as_u64().unwrap_or(0) as usize;
            let line_text = lines.get(line as usize).copied().unwrap_or("");
            let mut seen = 0;
            let mut chars = 0;
            for c in line_text.chars() {
                if seen >= units {
                    break;
                }
                seen += c.len_utf16();
                chars += 1;
            }
            let message = d["message"].as_str().unwrap_or_default();
            let message = message.split("\nin: ").next().unwrap_or_default();
            let message = message.split("\nhelp: ").next().unwrap_or_default();
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                severity(&d["severity"]),
                line + 1,
                chars as u64 + 1,
                message.to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn opening_each_corpus_config_gives_what_validate_reports() {
    let Some(files) = corpus() else {
        return;
    };
    let cwd = tempfile::tempdir().expect("temp dir");
    let expected = validate(&files, cwd.path());
    let mut server = Server::start(cwd.path(), &[]);
    server.initialize(json!({}), Value::Null);
    let mut differ = Vec::new();
    let mut compared = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read corpus config");
        let uri = file_uri(file);
        server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        let published = server.diagnostics(&uri, 1);
        let got = findings(&text, &published["diagnostics"]);
        let want = expected[&file.display().to_string()]
            .iter()
            .filter(|f| f.2 != 0)
            .cloned()
            .collect::<Vec<_>>();
        compared += want.len();
        if got != want {
            differ.push(format!(
                "{}:\n  validate: {want:?}\n  server:   {got:?}",
                file.display()
            ));
        }
        server.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        );
    }
    server.stop();
    // The corpus has hundreds of findings; far fewer means the comparison lost them.
    assert!(compared > 200, "only {compared} findings compared");
    assert!(
        differ.is_empty(),
        "{} of {} configs differ:\n{}",
        differ.len(),
        files.len(),
        differ.join("\n")
    );
}

/// xorshift64*: a seeded generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Line starts of `text` (byte offsets), with the end of the text last.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    if *starts.last().expect("one") != text.len() {
        starts.push(text.len());
    }
    starts
}

/// One random edit of `text`: the replaced byte range and the new text.
fn random_edit(rng: &mut Rng, text: &str) -> (usize, usize, String) {
    let starts = line_starts(text);
    let line = rng.below(starts.len().saturating_sub(1));
    let (start, end) = (starts[line], starts[(line + 1).min(starts.len() - 1)]);
    match rng.below(3) {
        0 => (start, end, String::new()),
        1 => (end, end, text[start..end].to_string()),
        _ => {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let typed = ['-', ':', ' ', '\n', 'x', '"', '<', '{', '&', '*', 'é', '#'];
            (at, at, typed[rng.below(typed.len())].to_string())
        }
    }
}

#[test]
fn random_edits_never_crash_or_hang_the_server() {
    let Some(files) = corpus() else {
        return;
    };
    let seed: u64 = std::env::var("ORRERY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0ee0_1234_5678_9abc);
    let edits_per_config: usize = std::env::var("ORRERY_FUZZ_EDITS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let mut rng = Rng(seed);
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(cwd.path(), &[]);
    server.initialize(json!({}), Value::Null);
    for file in &files {
        let mut text = std::fs::read_to_string(file).expect("read corpus config");
        let uri = file_uri(file);
        server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        let mut version = 1;
        for _ in 0..edits_per_config {
            let (start, end, new_text) = random_edit(&mut rng, &text);
            let range =
                json!({"start": position(&text, start, false), "end": position(&text, end, false)});
            text.replace_range(start..end, &new_text);
            version += 1;
            server.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": new_text}]}),
            );
        }
        // Only the newest version is checked; it must come, and requests must be answered.
        let published = server.diagnostics(&uri, version);
        assert!(published["diagnostics"].is_array(), "{}", file.display());
        let mut at = rng.below(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let here = json!({"textDocument": {"uri": uri}, "position": position(&text, at, false)});
        for method in [
            "textDocument/hover",
            "textDocument/definition",
            "textDocument/documentHighlight",
        ] {
            let answer = server.request(method, here.clone());
            assert!(
                answer.get("error").is_none(),
                "{method} on {}: {answer}",
                file.display()
            );
        }
        let symbols = server.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        );
        assert!(
            symbols.get("error").is_none(),
            "{}: {symbols}",
            file.display()
        );
        server.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        );
    }
    server.stop();
}

/// After each of a few seeded edits (each version checked before the next edit, so whatever a
/// check keeps from the one before is used), the diagnostics are what `config validate` reports
/// for the edited text.
#[test]
fn diagnostics_after_edits_match_validate_on_the_edited_text() {
    let Some(files) = corpus() else {
        return;
    };
    let mut rng = Rng(0x005e_ed0f_ed17);
    let cwd = tempfile::tempdir().expect("temp dir");
    // Outside the working directory, so validate names the files as the server does.
    let edited_root = tempfile::tempdir().expect("temp dir");
    let edited_dir = edited_root.path();
    let mut server = Server::start(cwd.path(), &[]);
    server.initialize(json!({}), Value::Null);
    let mut edited = Vec::new();
    let mut got = BTreeMap::new();
    for file in &files {
        let mut text = std::fs::read_to_string(file).expect("read corpus config");
        let path = edited_dir.join(file.file_name().expect("file name"));
        let uri = file_uri(&path);
        server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        let mut published = server.diagnostics(&uri, 1);
        for version in 2..5 {
            let (start, end, new_text) = random_edit(&mut rng, &text);
            let range =
                json!({"start": position(&text, start, false), "end": position(&text, end, false)});
            text.replace_range(start..end, &new_text);
            server.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": new_text}]}),
            );
            published = server.diagnostics(&uri, version);
        }
        got.insert(
            path.display().to_string(),
            findings(&text, &published["diagnostics"]),
        );
        std::fs::write(&path, &text).expect("write edited config");
        edited.push(path);
        server.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        );
    }
    server.stop();
    let expected = validate(&edited, cwd.path());
    let mut differ = Vec::new();
    for path in &edited {
        let name = path.display().to_string();
        let want: Vec<Finding> = expected[&name]
            .iter()
            .filter(|f| f.2 != 0)
            .cloned()
            .collect();
        if got[&name] != want {
            differ.push(format!(
                "{name}:\n  validate: {want:?}\n  server:   {:?}",
                got[&name]
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} edited configs differ:\n{}",
        differ.len(),
        edited.len(),
        differ.join("\n")
    );
}

/// A config whose parts depend on each other: an inline orb, an anchor merged into a job,
/// jobs that require others.
const LINKED: &str = "\
version: 2.1
orbs:
  tools:
    commands:
      hello:
        parameters:
          who: { type: string }
        steps:
          - run: echo << parameters.who >>
defaults: &defaults
  docker:
    - image: cimg/base:2024.01
jobs:
  build:
    <<: *defaults
    steps:
      - checkout
      - tools/hello: { who: me }
  test:
    docker:
      - image: cimg/base:2024.01
    steps:
      - run: make test
  deploy:
    docker:
      - image: cimg/base:2024.01
    steps:
      - tools/hello: { who: prod }
workflows:
  main:
    jobs:
      - build
      - test: { requires: [build] }
      - deploy: { requires: [test] }
";

/// Edits where what a check keeps from the version before (the parse of unchanged entries)
/// would be wrong if it were kept stale: after each, the diagnostics are what `config validate`
/// reports for the text.
#[test]
fn diagnostics_follow_edits_that_other_parts_depend_on() {
    let edits: &[(&str, &str)] = &[
        // Inside a job.
        ("make test", "make tests"),
        // Rename a job that another requires, and back.
        ("  test:\n    docker", "  unit:\n    docker"),
        ("  unit:\n    docker", "  test:\n    docker"),
        // The orb's command takes another parameter now, then the orb is gone.
        ("who: { type: string }", "whom: { type: string }"),
        ("orbs:\n  tools:\n", "orbs:\n  tool:\n"),
        ("orbs:\n  tool:\n", "orbs:\n  tools:\n"),
        ("whom: { type: string }", "who: { type: string }"),
        // The anchor merged into `build` changes.
        (
            "    - image: cimg/base:2024.01\njobs:",
            "    - imag: cimg/base:2024.01\njobs:",
        ),
        (
            "    - imag: cimg/base:2024.01\njobs:",
            "    - image: cimg/base:2024.01\njobs:",
        ),
        // Everything moves down a line; then a job breaks, and a duplicate appears.
        ("version: 2.1\n", "version: 2.1\n# moved\n"),
        (
            "      - tools/hello: { who: prod }",
            "      - tools/helo: { who: prod }",
        ),
        (
            "  deploy:\n",
            "  build:\n    steps: [checkout]\n  deploy:\n",
        ),
    ];
    let cwd = tempfile::tempdir().expect("temp dir");
    let edited_root = tempfile::tempdir().expect("temp dir");
    let edited_dir = edited_root.path();
    let mut server = Server::start(cwd.path(), &[]);
    server.initialize(json!({}), Value::Null);
    let uri = file_uri(&edited_dir.join("linked.yml"));
    let mut text = LINKED.to_string();
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
    );
    server.diagnostics(&uri, 1);
    let mut versions = Vec::new();
    for (version, (from, to)) in (2..).zip(edits) {
        let start = text
            .find(from)
            .unwrap_or_else(|| panic!("`{from}` is not in the text"));
        let end = start + from.len();
        let range =
            json!({"start": position(&text, start, false), "end": position(&text, end, false)});
        text.replace_range(start..end, to);
        server.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": to}]}),
        );
        let published = server.diagnostics(&uri, version);
        let path = edited_dir.join(format!("linked-{version}.yml"));
        std::fs::write(&path, &text).expect("write version");
        versions.push((path, findings(&text, &published["diagnostics"]), *from));
    }
    server.stop();
    let paths: Vec<PathBuf> = versions.iter().map(|(p, _, _)| p.clone()).collect();
    let expected = validate(&paths, cwd.path());
    for (path, got, edit) in &versions {
        let want: Vec<Finding> = expected[&path.display().to_string()]
            .iter()
            .filter(|f| f.2 != 0)
            .cloned()
            .collect();
        assert_eq!(got, &want, "after replacing `{edit}`");
    }
    // The edits did reach the diagnostics (the renamed job, the missing orb).
    assert!(versions.iter().any(|(_, got, _)| got.len() > 1));
}
