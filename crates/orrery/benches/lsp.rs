//! Time from `didChange` to the published diagnostics, and the server's peak memory, for
//! `orrery lsp` and — side by side, on the same files and edits — Red Hat's
//! yaml-language-server with SchemaStore's CircleCI schema.
//!
//! Files: the largest corpus config, and a generated config of 10,000 lines. Each edit changes
//! one character of a value in the middle of the file (alternating, so every version differs).
//!
//! `cargo bench -p orrery --bench lsp` (`scripts/bench-lsp.sh` installs yaml-language-server
//! from `bench/lsp` and finds the schema). `ORRERY_BENCH_EDITS` sets the number of edits
//! (default 30). yaml-language-server is left out, with the reason printed, when
//! `bench/lsp/node_modules` or the schema is missing. `ORRERY_BENCH_BASELINE=PATH` also
//! measures another `orrery` binary (say, a release build of `main`) in the same run, for a
//! before/after ratio. `ORRERY_BENCH_CALLGRIND=1` also counts the instructions per edit of each
//! `orrery` (valgrind's callgrind; the opening check left out): a figure that the machine's load
//! does not move.

#[path = "../tests/lsp_client/mod.rs"]
mod lsp_client;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lsp_client::{file_uri, position, Server};
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A config of at least `lines` lines: jobs with parameters, a command, a workflow chaining
/// them.
fn generated_config(lines: usize) -> String {
    let mut jobs = String::new();
    let mut entries = String::new();
    // Each job is 9 lines under `jobs:` and one entry in the workflow; the rest is 11 lines.
    let (per_job, fixed) = (9 + 1, 11);
    let count = lines.saturating_sub(fixed).div_ceil(per_job);
    for i in 0..count {
        jobs.push_str(&format!(
            "  job-{i}:\n    docker:\n      - image: cimg/base:2024.01\n    parameters:\n      flag: {{ type: boolean, default: false }}\n    steps:\n      - checkout\n      - greet: {{ who: \"n{i}\" }}\n      - run: echo << parameters.flag >> {i}\n"
        ));
        let requires = if i == 0 {
            String::new()
        } else {
            format!(", requires: [job-{}]", i - 1)
        };
        entries.push_str(&format!("      - job-{i}: {{ flag: true{requires} }}\n"));
    }
    let mut text = String::from(
        "version: 2.1\ncommands:\n  greet:\n    parameters:\n      who: { type: string, default: world }\n    steps:\n      - run: echo hello << parameters.who >>\njobs:\n",
    );
    text.push_str(&jobs);
    text.push_str("workflows:\n  main:\n    jobs:\n");
    text.push_str(&entries);
    assert!(
        text.lines().count() >= lines,
        "the generated config is too short"
    );
    text
}

/// A place in the middle of `text` to edit: the first character of a value (after `: `) of a
/// line near the middle that holds a plain word.
fn edit_place(text: &str) -> usize {
    let middle = text.len() / 2;
    let mut offset = text[..middle].rfind('\n').map_or(0, |i| i + 1);
    for line in text[offset..].split_inclusive('\n') {
        if let Some(colon) = line.find(": ") {
            let value = &line[colon + 2..];
            if value
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
                && !line.trim_start().starts_with('#')
            {
                return offset + colon + 2;
            }
        }
        offset += line.len();
    }
    0
}

struct Measured {
    median: Duration,
    p90: Duration,
    peak_kib: Option<u64>,
}

fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Opens `path` with `text` and times `edits` edits to the diagnostics that answer each.
fn measure(server: Server, path: &Path, text: &str, edits: usize, versioned: bool) -> Measured {
    measure_after(server, path, text, edits, versioned, |_| ())
}

/// [`measure`], calling `opened` with the server's process id once the opened text's
/// diagnostics are in (before the first edit).
fn measure_after(
    mut server: Server,
    path: &Path,
    text: &str,
    edits: usize,
    versioned: bool,
    opened: impl FnOnce(u32),
) -> Measured {
    let uri = file_uri(path);
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
    );
    let accept =
        |p: &Value, version: i64| p["uri"] == uri && (!versioned || p["version"] == version);
    server.wait_notification("textDocument/publishDiagnostics", |p| accept(p, 1));
    opened(server.pid());
    let at = edit_place(text);
    let mut current = text.to_string();
    let mut times = Vec::new();
    for i in 0..edits {
        let version = i as i64 + 2;
        let replacement = if i % 2 == 0 { "Z" } else { "Y" };
        let old_end = at + current[at..].chars().next().map_or(0, char::len_utf8);
        let range = json!({"start": position(&current, at, false), "end": position(&current, old_end, false)});
        current.replace_range(at..old_end, replacement);
        let started = Instant::now();
        server.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": replacement}]}),
        );
        server.wait_notification("textDocument/publishDiagnostics", |p| accept(p, version));
        times.push(started.elapsed());
    }
    times.sort();
    let peak_kib = peak_memory_kib(server.pid());
    server.stop();
    Measured {
        median: times[times.len() / 2],
        p90: times[(times.len() * 9 / 10).min(times.len() - 1)],
        peak_kib,
    }
}

fn orrery(dir: &Path) -> Server {
    let mut server = Server::start(dir, &[]);
    server.initialize(json!({}), Value::Null);
    server
}

/// Another `orrery` binary, started as `Server::start` starts the one under test.
fn orrery_baseline(binary: &Path, dir: &Path) -> Server {
    orrery_command(Command::new(binary), dir)
}

/// `command` (an `orrery` binary, or a tool running one) with `lsp` and the environment
/// `Server::start` gives, started and initialized.
fn orrery_command(mut command: Command, dir: &Path) -> Server {
    command
        .arg("lsp")
        .current_dir(dir)
        .env("ORRERY_CACHE_DIR", dir.join(".no-cache"))
        .env_remove("ORRERY_ORB_PATH");
    let mut server = Server::spawn(command);
    server.initialize(json!({}), Value::Null);
    server
}

/// Instructions the server executes per edit, counted by callgrind from the first edit to
/// the end (the opening check left out), for `binary`. Edits are timed as in [`measure`],
/// so each waits for its diagnostics and none is skipped.
fn instructions_per_edit(
    binary: &Path,
    dir: &Path,
    path: &Path,
    text: &str,
    edits: usize,
) -> Result<u64, String> {
    let out = dir.join(format!("callgrind.{}.out", std::process::id()));
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(binary);
    let server = orrery_command(command, dir);
    measure_after(server, path, text, edits, true, |pid| {
        let _ = Command::new("callgrind_control")
            .args(["--zero", &pid.to_string()])
            .output();
    });
    let profile = std::fs::read_to_string(&out).map_err(|e| format!("no profile: {e}"))?;
    let _ = std::fs::remove_file(&out);
    let total: u64 = profile
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|n| n.trim().parse().ok())
        .ok_or("the profile has no totals")?;
    Ok(total / edits as u64)
}

fn valgrind_missing() -> Option<String> {
    let found = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    (!found("valgrind") || !found("callgrind_control"))
        .then(|| "valgrind (callgrind, callgrind_control) is missing".to_string())
}

/// Red Hat's yaml-language-server with SchemaStore's CircleCI schema, when installed.
fn yaml_language_server(dir: &Path) -> Result<Server, String> {
    let bin = repo().join("bench/lsp/node_modules/yaml-language-server/bin/yaml-language-server");
    if !bin.exists() {
        return Err(format!(
            "{} is missing (npm ci --prefix bench/lsp)",
            bin.display()
        ));
    }
    let schema = std::env::var("ORRERY_BENCH_CIRCLECI_SCHEMA").map_err(|_| {
        "ORRERY_BENCH_CIRCLECI_SCHEMA (SchemaStore's CircleCI schema) is not set".to_string()
    })?;
    let mut command = Command::new("node");
    command.arg(bin).arg("--stdio").current_dir(dir);
    let mut server = Server::spawn(command);
    server.initialize(
        json!({"textDocument": {"publishDiagnostics": {"versionSupport": true}}}),
        Value::Null,
    );
    server.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"yaml": {
            "validate": true,
            "schemaStore": {"enable": false},
            "schemas": { file_uri(Path::new(&schema)): "*.yml" },
        }}}),
    );
    Ok(server)
}

/// Edits counted under callgrind (each takes seconds there).
const CALLGRIND_EDITS: usize = 6;

fn kib(k: Option<u64>) -> String {
    k.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let edits: usize = std::env::var("ORRERY_BENCH_EDITS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let baseline = std::env::var_os("ORRERY_BENCH_BASELINE").map(PathBuf::from);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    let mut files: Vec<(String, PathBuf, String)> = Vec::new();
    if let Some(configs) = orrery_testkit::corpus::configs() {
        if let Some(largest) = configs
            .iter()
            .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        {
            let text = std::fs::read_to_string(largest).expect("read");
            let path = dir.path().join("largest-corpus.yml");
            std::fs::write(&path, &text).expect("write");
            files.push((
                format!(
                    "largest corpus config ({}, {} lines)",
                    largest.file_name().unwrap_or_default().to_string_lossy(),
                    text.lines().count()
                ),
                path,
                text,
            ));
        }
    }
    let generated = generated_config(10_000);
    let path = dir.path().join("generated-10k.yml");
    std::fs::write(&path, &generated).expect("write");
    files.push((
        format!("generated config ({} lines)", generated.lines().count()),
        path,
        generated,
    ));
    println!("didChange -> publishDiagnostics, {edits} edits each (median / p90, peak RSS)");
    for (label, path, text) in &files {
        let ours = measure(orrery(dir.path()), path, text, edits, true);
        println!(
            "{label}\n  orrery lsp:           {:>9.2?} / {:>9.2?}  peak {}",
            ours.median,
            ours.p90,
            kib(ours.peak_kib)
        );
        if let Some(binary) = &baseline {
            let before = measure(orrery_baseline(binary, dir.path()), path, text, edits, true);
            println!(
                "  baseline orrery lsp:  {:>9.2?} / {:>9.2?}  peak {}\n  ratio (median): {:.1}x the baseline's speed",
                before.median,
                before.p90,
                kib(before.peak_kib),
                before.median.as_secs_f64() / ours.median.as_secs_f64().max(1e-9)
            );
        }
        if std::env::var_os("ORRERY_BENCH_CALLGRIND").is_some() {
            let ours = PathBuf::from(env!("CARGO_BIN_EXE_orrery"));
            let binaries = std::iter::once(("orrery lsp", ours))
                .chain(baseline.clone().map(|b| ("baseline orrery lsp", b)));
            for (name, binary) in binaries {
                let counted = match valgrind_missing() {
                    Some(reason) => Err(reason),
                    None => instructions_per_edit(&binary, dir.path(), path, text, CALLGRIND_EDITS),
                };
                match counted {
                    Ok(n) => println!(
                        "  {name}: {:.1}M instructions per edit (callgrind, {CALLGRIND_EDITS} edits)",
                        n as f64 / 1e6
                    ),
                    Err(reason) => println!("  {name}: instructions skipped: {reason}"),
                }
            }
        }
        match yaml_language_server(dir.path()) {
            Ok(server) => {
                let theirs = measure(server, path, text, edits, false);
                println!(
                    "  yaml-language-server: {:>9.2?} / {:>9.2?}  peak {}\n  ratio (median): orrery is {:.0}x faster",
                    theirs.median,
                    theirs.p90,
                    kib(theirs.peak_kib),
                    theirs.median.as_secs_f64() / ours.median.as_secs_f64().max(1e-9)
                );
            }
            Err(reason) => println!("  yaml-language-server: skipped: {reason}"),
        }
    }
}
