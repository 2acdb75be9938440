//! `orrery run` end to end with the machine executor: the shared scenarios of `run_cases` with
//! `--executor machine` (docker jobs' steps on the host), plus the plan printout and checkout
//! modes.

mod common;
mod run_cases;

use std::fs;
use std::process::Stdio;

use common::text;
use run_cases::{project, run, Exec, Sweeper};

#[test]
fn fan_out_fan_in_failure_blocks_dependents() {
    run_cases::fan_out_fan_in_failure_blocks_dependents(Exec::Machine);
}

#[test]
fn job_groups_run_between_their_joints_and_serial_groups_wait() {
    run_cases::job_groups_run_between_their_joints_and_serial_groups_wait(Exec::Machine);
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

/// Four runs started at once in one project: each takes its own build number (the counter is
/// read and written under a file lock) and exactly one of them stores the cache key they all
/// save, which a later run restores.
#[test]
fn concurrent_runs_take_distinct_build_numbers_and_the_first_cache_wins() {
    let p = project("cache.yml");
    fs::write(p.path().join("lock.txt"), "v1").unwrap();
    let children: Vec<_> = (0..4)
        .map(|i| {
            run_cases::command(
                p.path(),
                Exec::Machine,
                &["--pipeline-parameters", &format!("mark: c{i}")],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start orrery run")
        })
        .collect();
    let outs: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let stdout = text(&out.stdout);
            assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
            stdout
        })
        .collect();
    let mut numbers: Vec<u64> = outs
        .iter()
        .map(|o| {
            let line = o
                .lines()
                .find(|l| l.starts_with("[cache] build number "))
                .unwrap();
            line.rsplit(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3, 4], "{outs:#?}");
    let winners: Vec<usize> = (0..4)
        .filter(|&i| outs[i].contains("Stored cache deps-"))
        .collect();
    assert_eq!(winners.len(), 1, "{outs:#?}");
    let losers = outs
        .iter()
        .filter(|o| o.contains("Skipping cache generation, cache already exists"))
        .count();
    assert_eq!(losers, 3, "{outs:#?}");
    let later = run(
        p.path(),
        Exec::Machine,
        &["--pipeline-parameters", "mark: later"],
    );
    let later = text(&later.stdout);
    assert!(
        later.contains(&format!("restored: run-c{}", winners[0])),
        "{later}"
    );
    assert!(later.contains("build number 5"), "{later}");
}

#[test]
fn daemons_end_with_their_job() {
    run_cases::daemons_end_with_their_job(Exec::Machine);
}

#[test]
fn killed_runs_are_swept_by_gc_and_by_the_next_run() {
    if run_cases::cgroups_ready() {
        run_cases::killed_runs_are_swept(Exec::Machine, Sweeper::Gc);
        run_cases::killed_runs_are_swept(Exec::Machine, Sweeper::NextRun);
    }
}

#[test]
fn killed_runs_are_swept_when_their_project_is_gone() {
    if run_cases::cgroups_ready() {
        run_cases::killed_runs_are_swept(Exec::Machine, Sweeper::GcAfterFolderGone);
    }
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

/// `--job` may name a job no workflow uses (it runs on its own), and an unknown name is
/// matched against every job the config defines.
#[test]
fn a_job_no_workflow_uses_can_be_named() {
    let p = project("fan.yml");
    fs::write(
        p.path().join(".circleci/config.yml"),
        "version: 2.1\njobs:\n  used:\n    machine: true\n    steps: [{run: echo used ran}]\n  spare-job:\n    machine: true\n    steps: [{run: echo spare ran}]\nworkflows:\n  main:\n    jobs: [used]\n",
    )
    .unwrap();
    let out = run(p.path(), Exec::Machine, &["--job", "spare-job"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("[spare-job] spare ran"), "{stdout}");
    assert!(!stdout.contains("used ran"), "{stdout}");
    let out = run(p.path(), Exec::Machine, &["--job", "spare-jb"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did you mean `spare-job`?"), "{stderr}");
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

/// The process check the scenarios rely on finds an orphan of this test's tree (a background
/// process whose shell has exited), and only processes of this tree.
#[test]
fn the_process_check_sees_orphans_of_this_test() {
    run_cases::adopt_orphans();
    let marker = format!("sleep {}.5", 9000 + std::process::id() % 1000);
    let shell = std::process::Command::new("sh")
        .args(["-c", &format!("{marker} >/dev/null 2>&1 &")])
        .status()
        .unwrap();
    assert!(shell.success());
    // The forked child may not have become `sleep` yet when its shell returns: look a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (seen, orphan) = loop {
        let seen = run_cases::process_tree();
        let orphan = seen.iter().find(|(_, c)| c == &marker).map(|&(pid, _)| pid);
        if orphan.is_some() || std::time::Instant::now() > deadline {
            break (seen, orphan);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    if let Some(pid) = orphan {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
    assert!(orphan.is_some(), "{marker} not found among {seen:?}");
    assert!(
        !seen.iter().any(|(pid, _)| *pid == 1),
        "init is not in this test's tree: {seen:?}"
    );
}

/// On a terminal `orrery run` shows `N/M jobs done` below the logs; piped (as here) never.
#[test]
fn progress_shows_on_a_terminal_only() {
    let p = project("fan.yml");
    let piped = run(p.path(), Exec::Machine, &["--jobs", "3"]);
    let all = format!("{}{}", text(&piped.stdout), text(&piped.stderr));
    assert!(!all.contains("jobs done") && !all.contains('\r'), "{all}");
    if !orrery_testkit::outside::on_path("script") {
        orrery_testkit::missing(
            "script",
            "scripts/setup installs it: apt-get install bsdutils",
        );
        return;
    }
    // `script` gives the run a pseudo-terminal and copies what it shows to our pipe.
    let command = run_cases::command(p.path(), Exec::Machine, &["--jobs", "3"]);
    let line: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let shown = std::process::Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .current_dir(p.path())
        .env("TERM", "xterm")
        .env("ORRERY_CACHE_DIR", p.path().join(".orb-cache"))
        .output()
        .expect("script");
    let screen = text(&shown.stdout);
    assert!(screen.contains("jobs done"), "{screen}");
    assert!(screen.contains("[join] join ran"), "{screen}");
}

/// Output without newlines reaches the log whole and masked: a 3 MiB line passed on in pieces
/// of at most 1 MiB, with a secret straddling the first cut, and a progress bar of 20,000 `\r`
/// redraws.
#[test]
fn long_lines_and_progress_bars_are_complete_and_masked() {
    let p = project("long-output.yml");
    let secrets = run_cases::fixture("secrets.yml");
    let out = run(
        p.path(),
        Exec::Machine,
        &["--secrets", secrets.to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(run_cases::status_of(&stdout, "long"), "success");
    let pieces: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[long] "))
        .collect();
    let line: Vec<&str> = pieces
        .iter()
        .copied()
        .skip_while(|p| !p.starts_with('a'))
        .take_while(|p| !p.starts_with("==>"))
        .collect();
    assert!(
        line.iter()
            .all(|p| p.len() <= orrery_runtime::mask::MAX_LINE),
        "a piece is over the bound"
    );
    let whole = line.concat();
    assert_eq!(whole.len(), 1_048_570 + 8 + 2_097_152);
    assert!(
        whole == "a".repeat(1_048_570) + "********" + &"b".repeat(2_097_152),
        "the long line is not whole, or not masked"
    );
    let bar: String = (0..20_000).map(|i| format!("\rprogress {i:5}")).collect();
    assert!(
        pieces.contains(&(bar + " done").as_str()),
        "the progress bar is not whole"
    );
    let log = fs::read_to_string(run_cases::run_dir(p.path()).join("main/long/log.txt")).unwrap();
    assert!(!stdout.contains("proj-secret") && !log.contains("proj-secret"));
    assert!(log.contains("\rprogress 19999 done"));
}
