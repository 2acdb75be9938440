//! The command line contract: exit codes, streams, formats.

mod common;

use std::fs;

use common::{orrery, text};

fn write(dir: &std::path::Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_string()
}

const OK: &str = "version: 2.1\nparameters:\n  deploy:\n    type: boolean\n    default: false\njobs:\n  build:\n    docker:\n      - image: cimg/base:stable\n    steps:\n      - run: echo deploy=<< pipeline.parameters.deploy >> on << pipeline.git.branch >>\nworkflows:\n  main:\n    jobs: [build]\n";

#[test]
fn process_prints_the_compiled_config_with_trailer() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "config.yml", OK);
    let out = orrery(&[
        "config",
        "process",
        &file,
        "--branch",
        "main",
        "--pipeline-parameters",
        "deploy: true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("version: 2\njobs:\n  build:\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("command: echo deploy=true on main\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n# Original config.yml file:\n# version: 2.1\n"),
        "{stdout}"
    );
}

#[test]
fn process_json_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "config.yml", OK);
    let out = orrery(&[
        "config", "process", &file, "--format", "json", "--branch", "dev",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 2);
    assert_eq!(
        json["jobs"]["build"]["steps"][0]["run"]["command"],
        "echo deploy=false on dev"
    );
    assert_eq!(json["workflows"]["main"]["jobs"][0], "build");
}

#[test]
fn config_error_exits_1_with_located_diagnostic_and_no_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "config.yml", "version: 2.1\njobs:\n  build:\n    docker: [{image: x}]\n    steps:\n      - chekout\nworkflows:\n  w:\n    jobs: [build]\n");
    let out = orrery(&["config", "process", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[E0402]: Cannot find a definition for command named chekout"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{file}:6:9")), "{stderr}");
    assert!(stderr.contains("^^^^^^^"), "{stderr}");
    assert!(stderr.contains("did you mean `checkout`?"), "{stderr}");
}

#[test]
fn undeclared_pipeline_parameter_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "config.yml", OK);
    let out = orrery(&[
        "config",
        "process",
        &file,
        "--pipeline-parameters",
        "deploi: true",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Unexpected argument(s): deploi"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("did you mean `deploy`?"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(orrery(&["config", "process"]).status.code(), Some(2));
    assert_eq!(
        orrery(&["config", "process", "/nonexistent/config.yml"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(orrery(&["config", "frobnicate"]).status.code(), Some(2));
}

#[test]
fn validate_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.yml", OK);
    let out = orrery(&["config", "validate", &good, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["errors"].as_array().unwrap().len(), 0);

    let bad = write(dir.path(), "bad.yml", "version: 2.1\njobs:\n  build:\n    docker: [{image: x}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs:\n      - build:\n          requires: [tset]\n");
    let out = orrery(&["config", "validate", &bad, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], false);
    let error = &json["errors"][0];
    assert_eq!(error["code"], "E0602");
    assert_eq!(error["file"], bad.as_str());
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(10), Some(22))
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("requires 'tset'"));
}

#[test]
fn validate_human_says_valid() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.yml", OK);
    let out = orrery(&["config", "validate", &good]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!("Config file at {good} is valid.\n")
    );
}

#[test]
fn duplicate_keys_warn_but_compile() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "config.yml", &format!("version: 2\n{}", OK));
    let out = orrery(&["config", "process", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning[W0003]: duplicate key `version`"),
        "{}",
        text(&out.stderr)
    );
}

/// Bytes that are not UTF-8 are located (byte offset, line) with exit 1, as any config error.
#[test]
fn a_file_that_is_not_utf8_text_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    fs::write(&path, b"version: 2.1\njobs:\n  a: \xff\xfe\n").unwrap();
    let out = orrery(&["config", "process", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(text(&out.stdout), "");
    assert!(stderr.contains("error[E0008]"), "{stderr}");
    assert!(
        stderr.contains("byte 0xff at offset 24 (line 3)"),
        "{stderr}"
    );
    assert!(stderr.contains("config.yml:3:6"), "{stderr}");
}

/// Binary input (NUL bytes, valid UTF-8) is a located YAML error, exit 1.
#[test]
fn binary_input_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "config.yml", "version: 2.1\n\0\0\0\u{1}\n");
    let out = orrery(&["config", "process", &file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("config.yml:2:"), "{stderr}");
}

/// A key that is a collection or null is an error, not `'<sequence>'` in the output.
#[test]
fn non_string_keys_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (body, kind) in [
        ("version: 2.1\njobs:\n  ? [a]\n  : b\n", "sequence"),
        ("version: 2.1\n~: z\n", "null"),
    ] {
        let file = write(dir.path(), "config.yml", body);
        let out = orrery(&["config", "process", &file]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(text(&out.stdout), "");
        assert!(
            stderr.contains(&format!(
                "error[E0009]: a map key must be a string, not a {kind}"
            )),
            "{stderr}"
        );
    }
}

/// A few hundred bytes asking for a million matrix instances are refused before any is built,
/// naming the limit.
#[test]
fn a_huge_matrix_is_refused_by_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let list = format!("[{}]", values.join(", "));
    let axes: String = (0..6)
        .map(|i| format!("              p{i}: {list}\n"))
        .collect();
    let params: String = (0..6)
        .map(|i| format!("      p{i}: {{type: integer, default: 0}}\n"))
        .collect();
    let body = format!(
        "version: 2.1\njobs:\n  t:\n    parameters:\n{params}    docker: [{{image: x}}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs:\n      - t:\n          matrix:\n            parameters:\n{axes}"
    );
    let file = write(dir.path(), "config.yml", &body);
    let started = std::time::Instant::now();
    let out = orrery(&["config", "process", &file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the matrix of `t` has 1000000 instances (10 × 10 × 10 × 10 × 10 × 10), more than the limit of 1000 per matrix"),
        "{stderr}"
    );
    // Not a timing test: a refusal that built the instances would take minutes.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// A document past the node limit without aliases is told so, not asked about alias bombs.
#[test]
fn the_node_limit_is_named_without_blaming_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("version: 2.1\nx:\n");
    for _ in 0..1_000_001 {
        body.push_str("- 1\n");
    }
    let file = write(dir.path(), "config.yml", &body);
    let out = orrery(&["config", "process", &file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("document has more than 1000000 nodes (the node limit)"),
        "{stderr}"
    );
    assert!(!stderr.contains("alias"), "{stderr}");
}

/// `config process -` compiles standard input.
#[test]
fn process_reads_standard_input_for_a_dash() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orrery"))
        .args(["config", "process", "-", "--branch", "main"])
        .env(
            "ORRERY_CACHE_DIR",
            std::env::temp_dir().join("orrery-tests-no-cache"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(OK.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("version: 2\njobs:\n  build:\n"));
}

/// `config fix` says how many fixes it left because they need `--unsafe`.
#[test]
fn fix_says_when_only_unsafe_fixes_exist() {
    let dir = tempfile::tempdir().unwrap();
    let body = "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n      - checkout\nworkflows:\n  main:\n    jobs: [build]\n";
    let file = write(dir.path(), "config.yml", body);
    let out = orrery(&["config", "fix", &file]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("1 fix not applied: they change behaviour (apply them with --unsafe)"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), body);
}

/// `config validate --format json` over the compiler's recovery fixtures (configs with many
/// faults, each annotated where it must be reported): every annotated error is in the report,
/// once, and no other error is.
#[test]
fn validate_json_reports_every_recovered_fault_once() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../orrery-compiler/tests/fixtures/errors");
    let mut configs: Vec<_> = fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("recover-") && name.ends_with(".yml")
        })
        .collect();
    configs.sort();
    assert!(configs.len() >= 3, "the recovery fixtures are missing");
    for config in configs {
        let source = fs::read_to_string(&config).unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(".git")).unwrap();
        let file = write(dir.path(), "config.yml", &source);
        let out = orrery(&["config", "validate", &file, "--format", "json"]);
        let name = config.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors = json["errors"].as_array().unwrap();
        let expected: Vec<_> = orrery_testkit::annotations::read(&name, &source)
            .into_iter()
            .filter(|e| !e.secondary)
            .collect();
        let place = |e: &serde_json::Value| {
            (
                e["code"].as_str().unwrap_or("").to_string(),
                e["line"].as_u64().unwrap_or(0) as usize,
                e["column"].as_u64().unwrap_or(0) as usize,
            )
        };
        let mut seen = std::collections::HashSet::new();
        for error in errors {
            let (code, line, column) = place(error);
            let message = error["message"].as_str().unwrap_or("");
            assert!(
                seen.insert((code.clone(), line, column, message.to_string())),
                "{name}: reported twice: {error}"
            );
            assert!(
                expected.iter().any(|e| e.code == code
                    && e.line == line
                    && e.column == column
                    && message.contains(&e.text)),
                "{name}: an error no annotation expects: {error}"
            );
        }
        for e in &expected {
            let hits = errors
                .iter()
                .filter(|error| {
                    place(error) == (e.code.clone(), e.line, e.column)
                        && error["message"].as_str().unwrap_or("").contains(&e.text)
                })
                .count();
            assert_eq!(
                hits, 1,
                "{}: expected {} {:?} once at {}:{}, reported {hits} times",
                e.written, e.code, e.text, e.line, e.column
            );
        }
    }
}

/// An integer past 64 bits is an integer (YAML 1.1 integers have no bound): an integer
/// parameter takes it, it is printed digit for digit in YAML and JSON, and a string parameter
/// refuses it as an integer, not as a float.
#[test]
fn a_29_digit_integer_stays_an_integer() {
    let dir = tempfile::tempdir().unwrap();
    let digits = "12345678901234567890123456789";
    let body = format!(
        "version: 2.1\njobs:\n  build:\n    parameters:\n      n: {{type: integer, default: {digits}}}\n    docker: [{{image: cimg/base:stable}}]\n    environment:\n      HEX: 0x1_0000_0000_0000_0000\n    steps:\n      - run: echo << parameters.n >>\nworkflows:\n  main:\n    jobs: [build]\n"
    );
    let file = write(dir.path(), "config.yml", &body);
    let out = orrery(&["config", "process", &file]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("command: echo {digits}\n")),
        "{stdout}"
    );
    assert!(stdout.contains("- HEX: 18446744073709551616\n"), "{stdout}");
    let json = orrery(&["config", "process", &file, "--format", "json"]);
    assert!(
        text(&json.stdout).contains("\"HEX\": 18446744073709551616\n"),
        "{}",
        text(&json.stdout)
    );

    let body = body.replace("type: integer", "type: string");
    let file = write(dir.path(), "config.yml", &body);
    let out = orrery(&["config", "process", &file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("actual value: {digits} (type integer)")),
        "{stderr}"
    );
    assert!(!stderr.contains("float"), "{stderr}");
}
