//! `orrery run` end to end with the Docker executor against the real daemon and the locally
//! built test image (`scripts/start-dockerd.sh`, `scripts/build-test-images.sh`): the shared
//! scenarios of `run_cases` (service containers and entrypoint/command/user/environment among
//! them), a missing image, crafted cache archives, and after every run no container, network or volume left. In
//! CI (`CI` set) a missing daemon fails these tests instead of skipping them.

mod common;
mod run_cases;

use std::fs;
use std::io::Write;

use common::text;
use run_cases::{docker_ready, project, run, status_of, Exec, Sweeper};

#[test]
fn fan_out_fan_in_failure_blocks_dependents() {
    if docker_ready() {
        run_cases::fan_out_fan_in_failure_blocks_dependents(Exec::Docker);
    }
}

#[test]
fn job_groups_run_between_their_joints_and_serial_groups_wait() {
    if docker_ready() {
        run_cases::job_groups_run_between_their_joints_and_serial_groups_wait(Exec::Docker);
    }
}

#[test]
fn caches_survive_runs_and_keys_are_immutable() {
    if docker_ready() {
        run_cases::caches_survive_runs_and_keys_are_immutable(Exec::Docker);
    }
}

#[test]
fn workspaces_artifacts_tests_parallelism_background_and_halt() {
    if docker_ready() {
        run_cases::workspaces_artifacts_tests_parallelism_background_and_halt(Exec::Docker);
    }
}

#[test]
fn no_output_timeout_kills_the_step_and_its_children() {
    if docker_ready() {
        run_cases::no_output_timeout_kills_the_step_and_its_children(Exec::Docker);
    }
}

#[test]
fn approval_holds_until_approved_and_secrets_are_masked() {
    if docker_ready() {
        run_cases::approval_holds_until_approved_and_secrets_are_masked(Exec::Docker);
    }
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_nothing() {
    if docker_ready() {
        run_cases::ctrl_c_stops_the_run_and_leaves_nothing(Exec::Docker);
    }
}

#[test]
fn sigterm_and_sighup_clean_up_as_ctrl_c_does() {
    if docker_ready() {
        run_cases::signal_stops_the_run_and_leaves_nothing(Exec::Docker, "TERM", 143);
        run_cases::signal_stops_the_run_and_leaves_nothing(Exec::Docker, "HUP", 129);
    }
}

#[test]
fn daemons_end_with_their_job() {
    if docker_ready() {
        run_cases::daemons_end_with_their_job(Exec::Docker);
    }
}

#[test]
fn killed_runs_are_swept_by_gc_and_by_the_next_run() {
    if docker_ready() {
        run_cases::killed_runs_are_swept(Exec::Docker, Sweeper::Gc);
        run_cases::killed_runs_are_swept(Exec::Docker, Sweeper::NextRun);
    }
}

#[test]
fn killed_runs_are_swept_when_their_project_is_gone() {
    if docker_ready() {
        run_cases::killed_runs_are_swept(Exec::Docker, Sweeper::GcAfterFolderGone);
    }
}

#[test]
fn services_answer_on_localhost_and_by_name() {
    if docker_ready() {
        run_cases::services_answer_on_localhost_and_by_name(Exec::Docker);
    }
}

#[test]
fn a_missing_image_is_a_clear_failure() {
    if !docker_ready() {
        return;
    }
    let p = project("services.yml");
    let cfg = "version: 2.1\njobs:\n  nope:\n    docker:\n      - image: orrery-test/not-built:1\n    steps:\n      - run: echo MUST NOT RUN\nworkflows:\n  w:\n    jobs: [nope]\n";
    fs::write(p.path().join(".circleci/config.yml"), cfg).unwrap();
    let out = run(p.path(), Exec::Docker, &["--pull", "never"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert_eq!(status_of(&s, "nope"), "failed");
    assert!(
        s.contains("image orrery-test/not-built:1 is not on this Docker daemon"),
        "{s}"
    );
    assert!(!s.contains("MUST NOT RUN"));
}

/// A tar entry whose name and link are written into the header as is.
fn raw_entry(b: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, link: &str) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_mode(0o644);
    let data: &[u8] = if kind.is_file() { b"pwned\n" } else { b"" };
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn crafted_cache(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(&mut b, "deps/ok.txt", tar::EntryType::Regular, "");
    for (name, kind, link) in entries {
        raw_entry(&mut b, name, *kind, link);
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// Crafted caches (an entry climbing out with `..`, a symlink then a write through it, a hard
/// link out) are refused before anything reaches the container, with either executor; the job
/// fails and nothing appears outside the cache's target.
#[test]
fn crafted_cache_archives_never_write_outside_their_target() {
    let docker = docker_ready();
    let p = project("services.yml");
    let cfg = r#"version: 2.1
jobs:
  restore:
    docker:
      - image: orrery-test/busybox:1
    parameters:
      key: {type: string}
    steps:
      - restore_cache:
          key: << parameters.key >>
      - run:
          when: always
          command: |
            if [ -e /tmp/pwned ] || [ -e ~/pwned ] || [ -e ~/project/pwned ]; then echo "ESCAPED"; else echo "nothing outside"; fi
workflows:
  w:
    jobs:
      - restore: {name: dotdot, key: dotdot-}
      - restore: {name: link, key: link-}
      - restore: {name: hard, key: hard-}
"#;
    fs::write(p.path().join(".circleci/config.yml"), cfg).unwrap();
    let store = orrery_runtime::cache::CacheStore::new(p.path().join(".orrery/caches"));
    let tmp = std::env::temp_dir().join("pwned");
    let tmp = tmp.to_str().unwrap();
    for (key, entries) in [
        (
            "dotdot-1",
            vec![(
                "deps/../../../../../../tmp/pwned",
                tar::EntryType::Regular,
                "",
            )],
        ),
        (
            "link-1",
            vec![
                ("deps/evil", tar::EntryType::Symlink, "/tmp"),
                ("deps/evil/pwned", tar::EntryType::Regular, ""),
            ],
        ),
        (
            "hard-1",
            vec![(
                "deps/h",
                tar::EntryType::Link,
                "../../../../../../../../etc/passwd",
            )],
        ),
    ] {
        let gz = crafted_cache(&entries);
        store
            .save(key, &mut |w| w.write_all(&gz).map_err(|e| e.to_string()))
            .unwrap();
    }
    let mut execs = vec![Exec::Machine];
    if docker {
        execs.push(Exec::Docker);
    }
    for exec in execs {
        let out = run(p.path(), exec, &[]);
        let s = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{exec:?}: {s}");
        for job in ["dotdot", "link", "hard"] {
            assert_eq!(status_of(&s, job), "failed", "{exec:?} {job}: {s}");
            assert!(
                s.contains(&format!("[{job}] nothing outside")),
                "{exec:?} {job}: {s}"
            );
        }
        assert!(s.contains("refusing archive entry"), "{exec:?}: {s}");
        assert!(
            !s.lines().any(|l| l.ends_with("] ESCAPED")),
            "{exec:?}: {s}"
        );
        assert!(
            fs::read(tmp).map(|b| b != b"pwned\n").unwrap_or(true),
            "{exec:?} wrote {tmp}"
        );
    }
}

/// Docker jobs without a daemon: a clear error naming the way out, nothing run.
#[test]
fn docker_jobs_without_a_daemon_stop_before_running() {
    let p = project("fan.yml");
    let out = run_cases::command(p.path(), Exec::Docker, &[])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no Docker daemon answers"), "{err}");
    assert!(err.contains("--executor machine"), "{err}");
    assert!(!text(&out.stdout).contains("build ok"));
}
