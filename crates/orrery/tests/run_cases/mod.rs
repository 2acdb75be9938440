//! The `orrery run` scenarios both executors must pass: the real binary over the workflows of
//! `tests/run/*.yml` in a throwaway git project, with the machine executor (`run.rs`) and with
//! the Docker executor against the real daemon (`run_docker.rs`). Docker runs also check that
//! nothing the run created is left on the daemon.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::text;

/// The image the fixtures name, built locally by `scripts/build-test-images.sh`.
pub const IMAGE: &str = "orrery-test/busybox:1";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Exec {
    Machine,
    Docker,
    /// `--engine swarm` on the test swarm of `scripts/swarm-cluster.sh` (machine jobs still on
    /// the host).
    Swarm,
}

/// The test swarm's manager, and the store's address on its bridge.
pub const SWARM_MANAGER: &str = "unix:///run/orrery-swarm/n1.sock";
pub const SWARM_NODES: u32 = 3;

impl Exec {
    fn args(self) -> &'static [&'static str] {
        match self {
            Exec::Machine => &["--executor", "machine"],
            Exec::Docker => &["--executor", "docker"],
            // Every test node reports the whole host: reserve a tenth of each class.
            Exec::Swarm => &[
                "--engine",
                "swarm",
                "--swarm-host",
                SWARM_MANAGER,
                "--store-listen",
                "198.18.0.1:0",
                "--reserve-scale",
                "0.1",
                "--node-grace",
                "20",
            ],
        }
    }
}

/// Whether the Docker tests can run: a daemon answers and the test image exists. In CI
/// (`CI` set) a missing daemon or image fails the test instead of skipping it.
pub fn docker_ready() -> bool {
    let image = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", IMAGE])
        .output();
    let problem = match image {
        Err(e) => format!("cannot run the docker CLI: {e}"),
        Ok(o) if !o.status.success() => text(&o.stderr),
        Ok(_) => return true,
    };
    orrery_testkit::missing(
        &format!("a Docker daemon with {IMAGE} ({})", problem.trim()),
        "scripts/setup starts them: scripts/start-dockerd.sh, scripts/build-test-images.sh",
    );
    false
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/run")
        .join(name)
}

/// A git project holding `config` as `.circleci/config.yml`.
pub fn project(config: &str) -> tempfile::TempDir {
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

pub fn command(project: &Path, exec: Exec, args: &[&str]) -> Command {
    adopt_orphans();
    let mut c = Command::new(env!("CARGO_BIN_EXE_orrery"));
    c.current_dir(project)
        .arg("run")
        .args(["--color", "never"])
        .args(exec.args())
        .args(args)
        .env("ORRERY_CACHE_DIR", project.join(".orb-cache"));
    c
}

/// Runs `orrery run`; after a Docker run, checks that the run left nothing on the daemon.
pub fn run(project: &Path, exec: Exec, args: &[&str]) -> Output {
    let out = command(project, exec, args).output().expect("run orrery");
    if exec != Exec::Machine && project.join(".orrery/runs").is_dir() {
        assert_nothing_left_by(exec, &run_dir(project));
    }
    out
}

/// Nothing of the run is left where `exec` runs jobs (the daemon, or every swarm node).
pub fn assert_nothing_left_by(exec: Exec, run_dir: &Path) {
    match exec {
        Exec::Machine => {}
        Exec::Docker => assert_nothing_left(run_dir),
        Exec::Swarm => assert_nothing_left_on_swarm(run_dir),
    }
}

/// `docker` against swarm node `n` (1 is the manager).
pub fn swarm_docker(n: u32, args: &[&str]) -> String {
    let out = Command::new("docker")
        .env("DOCKER_API_VERSION", "1.41")
        .args(["-H", &format!("unix:///run/orrery-swarm/n{n}.sock")])
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// No service, network or secret labelled with the run on the swarm, and no container of it on
/// any node. A worker removes a task's container just after the manager forgot the task (the
/// coordinator only talks to the manager), so containers get a few seconds to go.
pub fn assert_nothing_left_on_swarm(run_dir: &Path) {
    let id = run_dir.file_name().unwrap().to_str().unwrap();
    let filter = format!("label=orrery.run={id}");
    for what in ["service", "network", "secret"] {
        let left = swarm_docker(1, &[what, "ls", "-q", "--filter", &filter]);
        assert_eq!(left.trim(), "", "{what}s left by run {id}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 1..=SWARM_NODES {
        loop {
            let left = swarm_docker(n, &["ps", "-aq", "--filter", &filter]);
            if left.trim().is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "containers left on node {n} by run {id}: {left}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// The run folder of the latest run (the newest under `.orrery/runs`).
pub fn run_dir(project: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = fs::read_dir(project.join(".orrery/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs.pop().unwrap()
}

/// No container, network or volume labelled with the run's id is left on the daemon.
pub fn assert_nothing_left(run_dir: &Path) {
    let id = run_dir.file_name().unwrap().to_str().unwrap();
    let filter = format!("label=orrery.run={id}");
    for what in [
        vec!["ps", "-aq"],
        vec!["network", "ls", "-q"],
        vec!["volume", "ls", "-q"],
    ] {
        let out = Command::new("docker")
            .args(&what)
            .args(["--filter", &filter])
            .output()
            .expect("docker CLI");
        assert!(
            out.status.success(),
            "docker {what:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(
            text(&out.stdout).trim(),
            "",
            "docker {what:?} left by run {id}"
        );
    }
}

pub fn status_of(stdout: &str, job: &str) -> String {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(job))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no row for {job} in:\n{stdout}"))
        .to_string()
}

/// Runs the fixture `config` in a fresh project and checks the run's exit code; the project
/// and the run's stdout.
pub fn run_fixture(
    config: &str,
    exec: Exec,
    args: &[&str],
    code: i32,
) -> (tempfile::TempDir, String) {
    let p = project(config);
    let out = run(p.path(), exec, args);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    (p, stdout)
}

/// Each job's row in the final table has its status.
pub fn assert_statuses(stdout: &str, expected: &[(&str, &str)]) {
    for (job, status) in expected {
        assert_eq!(status_of(stdout, job), *status, "{job}\n{stdout}");
    }
}

/// The events of the run in `run_dir`, in order.
pub fn events(run_dir: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(run_dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Makes this test process the reaper of orphans in its tree: a process a run fails to stop
/// then stays below this process (where [`processes`] finds it) instead of moving to init.
pub fn adopt_orphans() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    });
}

/// The command lines of this test process's living descendants.
pub fn processes() -> Vec<String> {
    process_tree()
        .into_iter()
        .map(|(_, cmdline)| cmdline)
        .collect()
}

/// This test process's living descendants (its own process tree, never the rest of the
/// machine's processes) as `(pid, command line)`, from `/proc`.
pub fn process_tree() -> Vec<(u32, String)> {
    let mut parent_of = std::collections::HashMap::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces, so read after its closing `)`.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if let (Some(state), Some(ppid)) = (state, ppid) {
            if state != "Z" {
                parent_of.insert(pid, ppid);
            }
        }
    }
    let me = std::process::id();
    let in_tree = |mut pid: u32| {
        for _ in 0..parent_of.len() {
            match parent_of.get(&pid) {
                Some(&parent) if parent == me => return true,
                Some(&parent) if parent > 1 => pid = parent,
                _ => return false,
            }
        }
        false
    };
    parent_of
        .keys()
        .filter(|&&pid| in_tree(pid))
        .filter_map(|&pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            Some((pid, cmdline.trim().to_string()))
        })
        .collect()
}

pub fn fan_out_fan_in_failure_blocks_dependents(exec: Exec) {
    let (p, stdout) = run_fixture("fan.yml", exec, &["--jobs", "3"], 1);
    assert_statuses(
        &stdout,
        &[
            ("build", "success"),
            ("left", "success"),
            ("right", "success"),
            ("join", "success"),
            ("broken", "failed"),
            ("after-broken", "not_run"),
            ("rollback", "success"),
        ],
    );
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
    let finished: Vec<serde_json::Value> = events(&dir)
        .into_iter()
        .filter(|e| e["event"] == "job_finished")
        .collect();
    assert_eq!(finished.len(), 7);
    assert!(finished
        .iter()
        .any(|e| e["job"] == "after-broken" && e["status"] == "not_run"));
    // Nothing left of the jobs' working directories.
    assert!(!dir.join(".work").exists());
}

pub fn job_groups_run_between_their_joints_and_serial_groups_wait(exec: Exec) {
    // `flaky` failed: the run fails.
    let (p, stdout) = run_fixture("groups.yml", exec, &["--jobs", "4"], 1);
    assert_statuses(
        &stdout,
        &[
            ("build", "success"),
            ("first-lock", "success"),
            ("first/deploy", "success"),
            ("first/smoke", "success"),
            ("first-group-end", "success"),
            ("first-unlock", "success"),
            ("second-lock", "success"),
            ("second/smoke", "success"),
            ("second-unlock", "success"),
            ("checks-group-start", "success"),
            ("flaky", "failed"),
            ("checks-group-end", "not_run"),
            ("after", "success"),
            ("cleanup", "success"),
            ("never", "not_run"),
        ],
    );
    assert!(
        stdout.contains("[first/deploy] deploying to production"),
        "{stdout}"
    );
    assert!(!stdout.contains("NEVER MUST NOT RUN"), "{stdout}");
    let events = events(&run_dir(p.path()));
    let at = |event: &str, job: &str| {
        events
            .iter()
            .position(|e| e["event"] == event && e["job"] == job)
            .unwrap_or_else(|| panic!("no {event} of {job} in\n{events:?}"))
    };
    // One serial group: the second invocation took the lock only once the first gave it back,
    // so their deploys never overlapped.
    assert!(at("job_started", "second-lock") > at("job_finished", "first-unlock"));
    assert!(at("job_started", "second/deploy") > at("job_finished", "first/deploy"));
    // What requires a group waits for its end, which waits for every member.
    assert!(at("job_started", "after") > at("job_finished", "second-group-end"));
    assert!(at("job_started", "second-group-end") > at("job_finished", "second/smoke"));
}

pub fn caches_survive_runs_and_keys_are_immutable(exec: Exec) {
    let p = project("cache.yml");
    let mark = |m: &str| format!("mark: {m}");
    fs::write(p.path().join("lock.txt"), "v1").unwrap();
    let first = run(p.path(), exec, &["--pipeline-parameters", &mark("first")]);
    let s1 = text(&first.stdout);
    assert!(first.status.success(), "{s1}{}", text(&first.stderr));
    assert!(s1.contains("cold cache"), "{s1}");
    assert!(s1.contains("Stored cache deps-"), "{s1}");
    // Same key again: restored, and the save does not overwrite it.
    let second = run(p.path(), exec, &["--pipeline-parameters", &mark("second")]);
    let s2 = text(&second.stdout);
    assert!(s2.contains("restored: run-first"), "{s2}");
    assert!(
        s2.contains("Skipping cache generation, cache already exists"),
        "{s2}"
    );
    let third = run(p.path(), exec, &["--pipeline-parameters", &mark("third")]);
    assert!(text(&third.stdout).contains("restored: run-first"));
    // A new lock file: the exact key misses, the prefix finds the newest cache.
    fs::write(p.path().join("lock.txt"), "v2").unwrap();
    let fourth = run(p.path(), exec, &["--pipeline-parameters", &mark("fourth")]);
    let s4 = text(&fourth.stdout);
    assert!(s4.contains("restored: run-first"), "{s4}");
    assert!(s4.contains("Stored cache deps-"), "{s4}");
    let fifth = run(p.path(), exec, &["--pipeline-parameters", &mark("fifth")]);
    assert!(text(&fifth.stdout).contains("restored: run-fourth"));
}

pub fn workspaces_artifacts_tests_parallelism_background_and_halt(exec: Exec) {
    let p = project("results.yml");
    let out = run(p.path(), exec, &[]);
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

pub fn no_output_timeout_kills_the_step_and_its_children(exec: Exec) {
    let p = project("timeout.yml");
    let started = Instant::now();
    let out = run(p.path(), exec, &[]);
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

pub fn approval_holds_until_approved_and_secrets_are_masked(exec: Exec) {
    let p = project("approval.yml");
    let secrets = fixture("secrets.yml");
    let secrets = secrets.to_str().unwrap();
    let held = run(p.path(), exec, &["--secrets", secrets]);
    let s = text(&held.stdout);
    assert!(held.status.success(), "{s}{}", text(&held.stderr));
    assert_eq!(status_of(&s, "hold"), "on_hold");
    assert_eq!(status_of(&s, "deploy"), "not_run");
    assert!(
        s.contains("token is ******** and key is ******** and short abc"),
        "{s}"
    );
    let approved = run(p.path(), exec, &["--secrets", secrets, "--approve", "hold"]);
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
    let none = run(p.path(), exec, &["--secrets", "/dev/null"]);
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(status_of(&text(&none.stdout), "build"), "unauthorized");
}

/// Ctrl-C (SIGINT to `orrery run`) in the middle of a long step: the run ends at once with 130,
/// the job is canceled, no later step runs, and no process (nor, with Docker, container) of it
/// is left.
/// `orrery run` started in `project` with its stdout piped, its steps recording their pids in
/// `pids` (`$ORRERY_TEST_PIDS`).
pub fn spawn_recording_pids(
    project: &Path,
    exec: Exec,
    pids: &Path,
    stderr: Stdio,
) -> std::process::Child {
    command(project, exec, &[])
        .env("ORRERY_TEST_PIDS", pids)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start orrery run")
}

/// Whether process `pid` still runs (a zombie waiting for its reaper counts as gone).
pub fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

/// The pids a fixture's steps wrote to `$ORRERY_TEST_PIDS` (machine executor only: a container
/// does not see the variable).
pub fn recorded_pids(file: &Path) -> Vec<u32> {
    fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

pub fn ctrl_c_stops_the_run_and_leaves_nothing(exec: Exec) {
    signal_stops_the_run_and_leaves_nothing(exec, "INT", 130);
}

/// SIGINT, SIGTERM and SIGHUP: the run stops at once with 128 + the signal's number, cancels
/// the job, kills every process the step started (on Docker: removes the containers) and
/// removes the node's work directory.
pub fn signal_stops_the_run_and_leaves_nothing(exec: Exec, signal: &str, code: i32) {
    let p = project("interrupt.yml");
    let pids = p.path().join("pids.txt");
    let mut child = spawn_recording_pids(p.path(), exec, &pids, Stdio::null());
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("long started") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Generous: the daemon is shared and may be slow to start containers.
    if rx.recv_timeout(Duration::from_secs(180)).is_err() {
        let _ = child.kill();
        panic!("the step never started: {}", reader.join().unwrap());
    }
    // Let the step settle into its sleep.
    std::thread::sleep(Duration::from_millis(300));
    let interrupted = Instant::now();
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = wait_or_fail(
        &mut child,
        Duration::from_secs(30),
        &format!("orrery run did not stop after SIG{signal}"),
    );
    let took = interrupted.elapsed();
    let out = reader.join().unwrap();
    assert_eq!(status.code(), Some(code), "SIG{signal}: {out}");
    // A bound against waiting for the step's 420 s sleep, not a timing: removing containers on
    // a shared, loaded daemon can take tens of seconds.
    assert!(took < Duration::from_secs(90), "took {took:?}");
    assert_eq!(status_of(&out, "long"), "canceled", "{out}");
    assert!(!out.contains("MUST NOT RUN"), "{out}");
    if exec == Exec::Machine {
        let started = recorded_pids(&pids);
        assert_eq!(started.len(), 2, "the step records its shell and sleep");
        let left: Vec<u32> = started.into_iter().filter(|&pid| alive(pid)).collect();
        assert!(
            left.is_empty(),
            "SIG{signal} left processes {left:?} running"
        );
    }
    let nodes = run_dir(p.path()).join(".work/nodes");
    let kept: Vec<_> = fs::read_dir(&nodes)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(kept.is_empty(), "node directories left: {kept:?}");
    assert_nothing_left_by(exec, &run_dir(p.path()));
}

/// A step's daemons (`setsid`, double fork, one holding the step's output) neither hold the
/// job up nor outlive it.
pub fn daemons_end_with_their_job(exec: Exec) {
    if exec == Exec::Machine && !cgroups_ready() {
        return;
    }
    let p = project("daemons.yml");
    let pids = p.path().join("pids.txt");
    let mut child = spawn_recording_pids(p.path(), exec, &pids, Stdio::piped());
    // The daemons sleep for minutes: a run still going after this waits on them.
    wait_or_fail(
        &mut child,
        Duration::from_secs(120),
        "the run waited on the daemons its step left",
    );
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("[daemons] daemons started"), "{stdout}");
    assert!(stdout.contains("[daemons] second step ran"), "{stdout}");
    if exec == Exec::Machine {
        let started = recorded_pids(&pids);
        assert_eq!(started.len(), 2, "both daemons record their pid");
        let left: Vec<u32> = started.into_iter().filter(|&pid| alive(pid)).collect();
        assert!(left.is_empty(), "daemons outlived the job: {left:?}");
        let run = run_dir(p.path());
        let group = Path::new(FREEZER)
            .join("orrery")
            .join(run.file_name().unwrap());
        assert!(!group.exists(), "{} left", group.display());
    } else {
        assert_nothing_left_by(exec, &run_dir(p.path()));
    }
}

/// Waits for `child` to end and returns how it ended; past `within` it is killed and the test
/// fails with `why`.
pub fn wait_or_fail(child: &mut Child, within: Duration, why: &str) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{why}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The cgroup v1 freezer hierarchy the machine executor puts each job node in.
pub const FREEZER: &str = "/sys/fs/cgroup/freezer";

/// Whether this host lets the machine executor make cgroups (root, cgroup v1 freezer); when
/// not, the skip is reported (a failure under CI).
pub fn cgroups_ready() -> bool {
    let probe = Path::new(FREEZER).join(format!("orrery-probe-{}", std::process::id()));
    if fs::create_dir(&probe).is_ok() {
        let _ = fs::remove_dir(&probe);
        return true;
    }
    orrery_testkit::missing(
        &format!("a writable cgroup v1 freezer at {FREEZER}"),
        "run as root on a host with the cgroup v1 freezer mounted",
    );
    false
}

/// Whether any container of the run in `run_dir` is on the daemon.
fn containers_of(run_dir: &Path) -> usize {
    let id = run_dir.file_name().unwrap().to_str().unwrap();
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=orrery.run={id}")])
        .output()
        .expect("docker CLI");
    text(&out.stdout).lines().count()
}

/// Who sweeps what a killed run left.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sweeper {
    /// `orrery run --gc` in the killed run's project.
    Gc,
    /// The project's next run.
    NextRun,
    /// `orrery run --gc` in another project, after the killed run's project folder was
    /// deleted: its cgroups and containers are found on the machine, by name and label.
    GcAfterFolderGone,
}

/// A run killed with SIGKILL cannot clean up: its step keeps running (machine) or its
/// containers do (Docker). `orrery run --gc` sweeps them, and so does the project's next run,
/// and so does any later run on the machine once the project itself is gone.
pub fn killed_runs_are_swept(exec: Exec, sweeper: Sweeper) {
    let p = project("interrupt.yml");
    // Outside the project, which may be deleted.
    let pids_dir = tempfile::tempdir().unwrap();
    let pids = pids_dir.path().join("pids.txt");
    let mut child = spawn_recording_pids(p.path(), exec, &pids, Stdio::null());
    let stdout = child.stdout.take().unwrap();
    let started = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        // The output line, not the echo of the command.
        .any(|l| l == "[long] long started");
    assert!(started, "the step never started");
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = run_dir(p.path());
    let id = killed.file_name().unwrap().to_str().unwrap().to_string();
    // What the killed run left.
    match exec {
        Exec::Machine => {
            let left = recorded_pids(&pids)
                .into_iter()
                .filter(|&p| alive(p))
                .count();
            assert!(left > 0, "nothing was left to sweep");
        }
        Exec::Docker => assert!(containers_of(&killed) > 0, "no container was left"),
        Exec::Swarm => panic!("killed swarm runs are swept by `orrery swarm gc`"),
    }
    let elsewhere = project("interrupt.yml");
    let (out, sweeping) = match sweeper {
        Sweeper::Gc => (
            command(p.path(), exec, &["--gc"]).output().unwrap(),
            p.path(),
        ),
        Sweeper::NextRun => {
            fs::write(
                p.path().join(".circleci/config.yml"),
                format!(
                    "version: 2.1\njobs:\n  quick:\n    docker: [{{image: {IMAGE}}}]\n    steps: [{{run: echo quick}}]\nworkflows:\n  main:\n    jobs: [quick]\n"
                ),
            )
            .unwrap();
            (run(p.path(), exec, &[]), p.path())
        }
        Sweeper::GcAfterFolderGone => {
            fs::remove_dir_all(p.path()).unwrap();
            let out = command(elsewhere.path(), exec, &["--gc"]).output().unwrap();
            (out, elsewhere.path())
        }
    };
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report = format!("swept the leftovers of killed run {id}: ");
    if sweeper == Sweeper::GcAfterFolderGone {
        // Any other run on the machine may have swept it first (tests run side by side):
        // what counts is that nothing is left, which only the machine-wide sweep can do here.
        if let Some(line) = stderr.lines().find(|l| l.starts_with(&report)) {
            assert!(line.ends_with("no run folder"), "{line}");
        }
    } else {
        assert!(stderr.contains(&report), "{stderr}");
    }
    let left: Vec<u32> = recorded_pids(&pids)
        .into_iter()
        .filter(|&p| alive(p))
        .collect();
    assert!(left.is_empty(), "still running after the sweep: {left:?}");
    assert!(!killed.join(".work").exists(), "working files left");
    if exec == Exec::Docker {
        assert_nothing_left(&killed);
    }
    // Swept once: the next sweep has nothing to say about it.
    let again = command(sweeping, exec, &["--gc"]).output().unwrap();
    assert!(
        !text(&again.stderr).contains(&id),
        "{}",
        text(&again.stderr)
    );
}
