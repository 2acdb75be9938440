//! Orrery's own orb (`orbs/orrery/`): it packs with `orrery orb pack`, `orrery orb validate`
//! accepts it, its install command pins this release, and its example pipeline runs with
//! `orrery run` (machine executor) with the binary under test on PATH instead of a download.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{orrery, text};
use orrery_diagnostics::FileId;
use orrery_yaml::{Limits, Node};

fn orb_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../orbs/orrery/src")
}

fn packed() -> String {
    let out = orrery(&["orb", "pack", orb_src().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn parse(text: &str) -> Node {
    let parsed = orrery_yaml::parse(FileId(0), text, Limits::default());
    parsed.root.expect("the packed orb parses")
}

#[test]
fn the_orb_packs_and_validates() {
    let out = orrery(&[
        "orb",
        "validate",
        orb_src().to_str().unwrap(),
        "--name",
        "orrery/orrery",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("is valid (checked 3 commands, 1 jobs, 1 executors, 2 examples)"),
        "{stdout}"
    );
    let orb = parse(&packed());
    for (kind, names) in [
        ("commands", &["install", "validate", "process"][..]),
        ("jobs", &["validate"][..]),
        ("executors", &["default"][..]),
        ("examples", &["validate-config", "process-config"][..]),
    ] {
        for name in names {
            assert!(
                orb.get(kind).and_then(|k| k.get(name)).is_some(),
                "no {kind}.{name}"
            );
        }
    }
}

#[test]
fn the_install_command_pins_this_release() {
    let orb = parse(&packed());
    let version = orb
        .get("commands")
        .and_then(|c| c.get("install"))
        .and_then(|c| c.get("parameters"))
        .and_then(|p| p.get("version"))
        .and_then(|v| v.get("default"))
        .and_then(Node::as_str)
        .map(str::to_string);
    assert_eq!(version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@e"])
        .args(args)
        .status()
        .expect("git")
        .success();
    assert!(ok, "git {args:?}");
}

/// Every file named `name` under `dir`.
fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(find(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
    found
}

#[test]
fn the_example_pipeline_runs_with_the_binary_under_test() {
    let packed = packed();
    let orb = parse(&packed);
    let usage = orb
        .get("examples")
        .and_then(|e| e.get("validate-config"))
        .and_then(|e| e.get("usage"))
        .expect("examples.validate-config.usage");
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    let registry = root.join(".circleci/orbs/orrery/orrery");
    fs::create_dir_all(&registry).unwrap();
    fs::write(registry.join("1.0.0.yml"), &packed).unwrap();
    fs::write(
        root.join(".circleci/config.yml"),
        orrery_emit::emit_yaml(usage),
    )
    .unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "init"]);
    // The binary under test first on PATH: the install step finds this release, downloads nothing.
    let bin = Path::new(env!("CARGO_BIN_EXE_orrery")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_orrery"))
        .current_dir(root)
        .args(["run", "--color", "never", "--executor", "machine"])
        .args(["--orb-path", ".circleci/orbs"])
        .env("PATH", path)
        .env("ORRERY_CACHE_DIR", root.join(".orb-cache"))
        .env_remove("ORRERY_ORB_PATH")
        .output()
        .expect("orrery run");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!(
            "orrery {} is already installed",
            env!("CARGO_PKG_VERSION")
        )),
        "{stdout}"
    );
    let runs = root.join(".orrery/runs");
    let junit = find(&runs, "orrery.xml");
    assert_eq!(junit.len(), 1, "{stdout}");
    assert!(fs::read_to_string(&junit[0])
        .unwrap()
        .contains("<testsuite"));
    let sarif = find(&runs, "orrery.sarif");
    assert_eq!(sarif.len(), 1, "stored as an artifact: {stdout}");
    let sarif: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&sarif[0]).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}
