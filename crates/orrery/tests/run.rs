//! `orrery run` end to end: the real binary runs the real workflows of `tests/run/*.yml` with
//! the machine executor in a throwaway git project, and the tests check output, exit codes and
//! the run folder.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::text;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/run")
        .join(name)
}

/// A git project holding `config` as `.circleci/config.yml`.
fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".circleci")).unwrap();
    fs::copy(fixture(config), dir.path().join(".circleci/config.yml")).unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "init",
    ]);
    dir
}

fn run(project: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orrery"))
        .current_dir(project)
        .arg("run")
        .args(["--color", "never"])
        .args(args)
        .envs(envs.iter().copied())
        .env("ORRERY_CACHE_DIR", project.join(".orb-cache"))
        .output()
        .expect("run orrery")
}

/// The run folder of the latest run (the newest under `.orrery/runs`).
fn run_dir(project: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = fs::read_dir(project.join(".orrery/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs.pop().unwrap()
}

fn status_of(stdout: &str, job: &str) -> String {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(job))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no row for {job} in:\n{stdout}"))
        .to_string()
}

#[test]
fn fan_out_fan_in_failure_blocks_dependents() {
    let p = project("fan.yml");
    let out = run(p.path(), &["--jobs", "3"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for (job, status) in [
        ("build", "success"),
        ("left", "success"),
        ("right", "success"),
        ("join", "success"),
        ("broken", "failed"),
        ("after-broken", "not_run"),
        ("rollback", "success"),
    ] {
        assert_eq!(status_of(&stdout, job), status, "{job}");
    }
    assert!(stdout.contains("[join] join ran"));
    assert!(stdout.contains("[broken] on_fail ran"));
    assert!(stdout.contains("[broken] always ran"));
    assert!(stdout.contains("Exited with code exit status 3"));
    assert!(!stdout.contains("MUST NOT RUN"), "{stdout}");
    // join started only after both of its requirements ended.
    let pos = |s: &str| stdout.find(s).unwrap();
    assert!(pos("[join] join ran") > pos("[left] left ran"));
    assert!(pos("[join] join ran") > pos("[right] right ran"));
    let dir = run_dir(p.path());
    assert_eq!(
        fs::read_to_string(dir.join("main/broken/artifacts/evidence/e.txt")).unwrap(),
        "evidence\n"
    );
    assert!(fs::read_to_string(dir.join("main/join/log.txt"))
        .unwrap()
        .contains("join ran"));
    let events = fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let finished: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["event"] == "job_finished")
        .collect();
    assert_eq!(finished.len(), 7);
    assert!(finished
        .iter()
        .any(|e| e["job"] == "after-broken" && e["status"] == "not_run"));
    // Nothing left of the jobs' working directories.
    assert!(!dir.join(".work").exists());
}

#[test]
fn dry_run_prints_the_plan() {
    let p = project("fan.yml");
    let out = run(p.path(), &["--dry-run"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("join (machine, 1 steps) requires left, right"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rollback (machine, 1 steps) requires broken: failed"),
        "{stdout}"
    );
    assert!(!p.path().join(".orrery/runs").exists());
}

#[test]
fn caches_survive_runs_and_keys_are_immutable() {
    let p = project("cache.yml");
    fs::write(p.path().join("lock.txt"), "v1").unwrap();
    let first = run(p.path(), &[], &[("RUN_MARK", "first")]);
    let s1 = text(&first.stdout);
    assert!(first.status.success(), "{s1}{}", text(&first.stderr));
    assert!(s1.contains("cold cache"), "{s1}");
    assert!(s1.contains("Stored cache deps-"), "{s1}");
    // Same key again: restored, and the save does not overwrite it.
    let second = run(p.path(), &[], &[("RUN_MARK", "second")]);
    let s2 = text(&second.stdout);
    assert!(s2.contains("restored: run-first"), "{s2}");
    assert!(
        s2.contains("Skipping cache generation, cache already exists"),
        "{s2}"
    );
    let third = run(p.path(), &[], &[("RUN_MARK", "third")]);
    assert!(text(&third.stdout).contains("restored: run-first"));
    // A new lock file: the exact key misses, the prefix finds the newest cache.
    fs::write(p.path().join("lock.txt"), "v2").unwrap();
    let fourth = run(p.path(), &[], &[("RUN_MARK", "fourth")]);
    let s4 = text(&fourth.stdout);
    assert!(s4.contains("restored: run-first"), "{s4}");
    assert!(s4.contains("Stored cache deps-"), "{s4}");
    let fifth = run(p.path(), &[], &[("RUN_MARK", "fifth")]);
    assert!(text(&fifth.stdout).contains("restored: run-fourth"));
}

#[test]
fn workspaces_artifacts_tests_parallelism_background_and_halt() {
    let p = project("results.yml");
    let out = run(p.path(), &[], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("[consume/0] one"), "{stdout}");
    assert!(stdout.contains("[consume/1] two"), "{stdout}");
    assert!(
        stdout.contains("[consume/0] (background) bg tick 1"),
        "{stdout}"
    );
    // Name split: the four files alternate between the two nodes.
    assert!(
        stdout.contains("[consume/0] node 0: tests/test_alpha.py tests/test_delta.py"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[consume/1] node 1: tests/test_beta.py tests/test_gamma.py"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 tests, 1 failures, 0 errors, 0 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("halted by `circleci-agent step halt`"));
    assert!(!stdout.contains("MUST NOT RUN"));
    let dir = run_dir(p.path());
    for node in 0..2 {
        let n = dir.join(format!("main/consume/{node}"));
        assert!(n.join("test-results/reports/junit.xml").is_file());
        assert!(n.join("artifacts/mine.txt").is_file());
        let tests: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(n.join("tests.json")).unwrap()).unwrap();
        assert_eq!(tests["tests"], 3);
        assert_eq!(tests["failing"][0], format!("c{node}.broken"));
    }
    // The background step was stopped with its job.
    assert!(!processes().iter().any(|c| c.contains("sleep 300")));
    // Timings of the successful job were recorded for the next split.
    let timings: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(p.path().join(".orrery/timings.json")).unwrap())
            .unwrap();
    assert_eq!(timings["filename"]["tests/test_alpha.py"], 0.5);
}

fn processes() -> Vec<String> {
    let out = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    text(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn no_output_timeout_kills_the_step_and_its_children() {
    let p = project("timeout.yml");
    let started = std::time::Instant::now();
    let out = run(p.path(), &[], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(started.elapsed().as_secs() < 30);
    assert!(
        stdout.contains("Too long with no output (exceeded 2s)"),
        "{stdout}"
    );
    assert!(stdout.contains("[quiet] always after timeout"));
    let left = processes();
    assert!(
        !left
            .iter()
            .any(|c| c.contains("sleep 417") || c.contains("sleep 418")),
        "{left:?}"
    );
}

#[test]
fn approval_holds_until_approved_and_secrets_are_masked() {
    let p = project("approval.yml");
    let secrets = fixture("secrets.yml");
    let secrets = secrets.to_str().unwrap();
    let held = run(p.path(), &["--secrets", secrets], &[]);
    let s = text(&held.stdout);
    assert!(held.status.success(), "{s}{}", text(&held.stderr));
    assert_eq!(status_of(&s, "hold"), "on_hold");
    assert_eq!(status_of(&s, "deploy"), "not_run");
    assert!(
        s.contains("token is ******** and key is ******** and short abc"),
        "{s}"
    );
    let approved = run(p.path(), &["--secrets", secrets, "--approve", "hold"], &[]);
    let s = text(&approved.stdout);
    assert_eq!(status_of(&s, "deploy"), "success");
    assert!(s.contains("deploying with ********"));
    // Masked in the log files and the event stream as well.
    let dir = run_dir(p.path());
    for f in ["main/build/log.txt", "main/deploy/log.txt", "events.jsonl"] {
        let content = fs::read_to_string(dir.join(f)).unwrap();
        assert!(!content.contains("secret-"), "{f}: {content}");
    }
    // Without the context the jobs that need it are unauthorized.
    let none = run(p.path(), &["--secrets", "/dev/null"], &[]);
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(status_of(&text(&none.stdout), "build"), "unauthorized");
}

#[test]
fn checkout_copies_uncommitted_work_or_head_only() {
    let p = project("cache.yml");
    fs::write(p.path().join(".gitignore"), "ignored.txt\n").unwrap();
    fs::write(p.path().join("ignored.txt"), "x").unwrap();
    fs::write(p.path().join("lock.txt"), "uncommitted").unwrap();
    let cfg = "version: 2.1\njobs:\n  look:\n    machine: true\n    steps:\n      - checkout\n      - run: ls -a; git status --short | head -5\nworkflows:\n  w:\n    jobs: [look]\n";
    fs::write(p.path().join(".circleci/config.yml"), cfg).unwrap();
    let out = run(p.path(), &[], &[]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}");
    assert!(s.contains("[look] lock.txt"), "{s}");
    assert!(!s.contains("[look] ignored.txt"), "{s}");
    assert!(s.contains("[look] .git"), "{s}");
    let head = run(p.path(), &["--checkout", "head"], &[]);
    let s = text(&head.stdout);
    assert!(head.status.success(), "{s}");
    assert!(!s.contains("[look] lock.txt"), "{s}");
}
