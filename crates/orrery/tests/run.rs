//! `orrery run` end to end with the machine executor: the shared scenarios of `run_cases` with
//! `--executor machine` (docker jobs' steps on the host), plus the plan printout and checkout
//! modes.

mod common;
mod run_cases;

use std::fs;

use common::text;
use run_cases::{project, run, Exec};

#[test]
fn fan_out_fan_in_failure_blocks_dependents() {
    run_cases::fan_out_fan_in_failure_blocks_dependents(Exec::Machine);
}

#[test]
fn caches_survive_runs_and_keys_are_immutable() {
    run_cases::caches_survive_runs_and_keys_are_immutable(Exec::Machine);
}

#[test]
fn workspaces_artifacts_tests_parallelism_background_and_halt() {
    run_cases::workspaces_artifacts_tests_parallelism_background_and_halt(Exec::Machine);
}

#[test]
fn no_output_timeout_kills_the_step_and_its_children() {
    run_cases::no_output_timeout_kills_the_step_and_its_children(Exec::Machine);
}

#[test]
fn approval_holds_until_approved_and_secrets_are_masked() {
    run_cases::approval_holds_until_approved_and_secrets_are_masked(Exec::Machine);
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_nothing() {
    run_cases::ctrl_c_stops_the_run_and_leaves_nothing(Exec::Machine);
}

#[test]
fn sigterm_and_sighup_clean_up_as_ctrl_c_does() {
    run_cases::signal_stops_the_run_and_leaves_nothing(Exec::Machine, "TERM", 143);
    run_cases::signal_stops_the_run_and_leaves_nothing(Exec::Machine, "HUP", 129);
}

#[test]
fn an_unknown_job_is_refused_with_the_near_name() {
    let p = project("fan.yml");
    let out = run(p.path(), Exec::Machine, &["--job", "jion"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error[E0801]: there is no job `jion` to run"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `join`?"), "{stderr}");
    assert!(
        !p.path().join(".orrery/runs").exists(),
        "a run folder for nothing"
    );
}

#[test]
fn dry_run_prints_the_plan() {
    let p = project("fan.yml");
    let out = run(p.path(), Exec::Machine, &["--dry-run"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("join (docker, 1 steps) requires left, right"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rollback (machine, 1 steps) requires broken: failed"),
        "{stdout}"
    );
    assert!(!p.path().join(".orrery/runs").exists());
}

#[test]
fn checkout_copies_uncommitted_work_or_head_only() {
    let p = project("cache.yml");
    fs::write(p.path().join(".gitignore"), "ignored.txt\n").unwrap();
    fs::write(p.path().join("ignored.txt"), "x").unwrap();
    fs::write(p.path().join("lock.txt"), "uncommitted").unwrap();
    let cfg = "version: 2.1\njobs:\n  look:\n    machine: true\n    steps:\n      - checkout\n      - run: ls -a; git status --short | head -5\nworkflows:\n  w:\n    jobs: [look]\n";
    fs::write(p.path().join(".circleci/config.yml"), cfg).unwrap();
    let out = run(p.path(), Exec::Machine, &[]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}");
    assert!(s.contains("[look] lock.txt"), "{s}");
    assert!(!s.contains("[look] ignored.txt"), "{s}");
    assert!(s.contains("[look] .git"), "{s}");
    let head = run(p.path(), Exec::Machine, &["--checkout", "head"]);
    let s = text(&head.stdout);
    assert!(head.status.success(), "{s}");
    assert!(!s.contains("[look] lock.txt"), "{s}");
}
