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
