//! On a real 3-node Docker Swarm (three dockerd in network namespaces on this host, brought up by
//! `scripts/swarm-cluster.sh` once and taken down at the end, also when a check fails): the
//! cluster recipe itself (`scripts/swarm-smoke.sh`: overlay aliases with dnsrr and no IPVS, tasks
//! on every node reaching the coordinator, nothing labelled left), `orrery swarm gc` removing
//! what a crashed run left on every node while leaving everything else alone, then
//! `orrery run --engine swarm` over the shared scenarios of `run_cases` (each run leaving
//! nothing labelled with it on any node), the job nodes of one run spread over the swarm, and
//! Ctrl-C. A few minutes; a lock file serializes concurrent runs on one machine, which share
//! the cluster's names.

mod common;
mod run_cases;

use run_cases::swarm_docker;

use std::fs::File;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{orrery, text};

const MANAGER: &str = "unix:///run/orrery-swarm/n1.sock";

fn usable() -> Result<(), String> {
    let output = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if output("id", &["-u"]).as_deref() != Some("0") {
        return Err("root (for network namespaces and dockerd)".into());
    }
    for program in ["dockerd", "ip", "docker"] {
        if output(program, &["--version"]).is_none() && output(program, &["-V"]).is_none() {
            return Err(program.to_string());
        }
    }
    if output("docker", &["image", "inspect", "orrery-test/busybox:1"]).is_none() {
        return Err("the test image orrery-test/busybox:1".into());
    }
    Ok(())
}

/// The cluster while the test holds it; taken down when dropped, also on a failed assertion.
struct Cluster {
    _lock: File,
}

impl Cluster {
    fn up() -> Cluster {
        let lock = File::create("/run/orrery-swarm.lock").expect("the cluster's lock file");
        lock.lock().expect("lock the cluster");
        let out = script(&["scripts/swarm-cluster.sh", "up"]);
        if !out.status.success() {
            let _ = script(&["scripts/swarm-cluster.sh", "down"]);
            panic!(
                "swarm-cluster.sh up failed:\n{}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        assert_eq!(
            text(&out.stdout).lines().last(),
            Some("/run/orrery-swarm/n1.sock")
        );
        Cluster { _lock: lock }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = script(&["scripts/swarm-cluster.sh", "down"]);
    }
}

fn script(args: &[&str]) -> Output {
    Command::new("bash")
        .args(args)
        .current_dir(orrery_testkit::outside::repo_root())
        .output()
        .expect("run bash")
}

fn lines(s: &str) -> usize {
    s.lines().filter(|l| !l.trim().is_empty()).count()
}

#[test]
fn on_a_three_node_swarm() {
    if let Err(what) = usable() {
        orrery_testkit::missing(
            &what,
            "scripts/setup starts the daemon and builds the test image",
        );
        return;
    }
    let _cluster = Cluster::up();

    let smoke = script(&["scripts/swarm-smoke.sh"]);
    let stdout = text(&smoke.stdout);
    assert!(smoke.status.success(), "{stdout}{}", text(&smoke.stderr));
    for check in [
        "ok: 3 nodes in the swarm",
        "ok: 6 tasks reached db by its alias and the coordinator at 198.18.0.1",
        "ok: the tasks ran on 3 nodes",
        "ok: nothing labelled",
    ] {
        assert!(stdout.contains(check), "missing `{check}`:\n{stdout}");
    }

    // What a crashed run leaves: a network, a secret and running services on every node; and
    // something of someone else's that gc must not touch.
    let label = "orrery.run=crashed-1";
    swarm_docker(
        1,
        &[
            "network",
            "create",
            "-d",
            "overlay",
            "--label",
            label,
            "crashed-1",
        ],
    );
    let secret = Command::new("docker")
        .env("DOCKER_API_VERSION", "1.41")
        .args([
            "-H",
            MANAGER,
            "secret",
            "create",
            "--label",
            label,
            "crashed-1-token",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"token")?;
            c.wait()
        })
        .unwrap();
    assert!(secret.success());
    let service = |name: &str, labels: &[&str], network: &[&str], replicas: &str| {
        let mut args = vec![
            "service",
            "create",
            "-d",
            "--no-resolve-image",
            "--name",
            name,
        ];
        for l in labels {
            args.extend(["--label", l]);
        }
        args.extend(network);
        args.extend([
            "--restart-condition",
            "none",
            "--stop-grace-period",
            "1s",
            "--endpoint-mode",
            "dnsrr",
            "--replicas",
            replicas,
            "--replicas-max-per-node",
            "1",
            "orrery-test/busybox:1",
            "sleep",
            "600",
        ]);
        swarm_docker(1, &args);
    };
    service("crashed-1-job", &[label], &["--network", "crashed-1"], "3");
    service("someone-else", &[], &[], "1");
    let running = || {
        (1..=3)
            .map(|n| {
                lines(&swarm_docker(
                    n,
                    &[
                        "ps",
                        "-q",
                        "--filter",
                        "label=com.docker.swarm.service.name=crashed-1-job",
                    ],
                ))
            })
            .sum::<usize>()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while running() < 3 {
        assert!(
            Instant::now() < deadline,
            "the crashed run's tasks did not start"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let gc = orrery(&["swarm", "gc", "--swarm-host", MANAGER]);
    let out = text(&gc.stdout);
    assert_eq!(gc.status.code(), Some(0), "{out}{}", text(&gc.stderr));
    assert_eq!(
        out.trim(),
        "removed 1 services, 1 networks, 1 secrets of runs crashed-1"
    );
    assert_eq!(running(), 0, "containers of the crashed run are left");
    assert_eq!(
        lines(&swarm_docker(
            1,
            &["service", "ls", "-q", "--filter", &format!("label={label}")]
        )),
        0
    );
    assert_eq!(
        lines(&swarm_docker(
            1,
            &["network", "ls", "-q", "--filter", &format!("label={label}")]
        )),
        0
    );
    assert_eq!(
        lines(&swarm_docker(
            1,
            &["secret", "ls", "-q", "--filter", &format!("label={label}")]
        )),
        0
    );
    // Not labelled: left alone.
    assert_eq!(
        lines(&swarm_docker(
            1,
            &["service", "ls", "-q", "--filter", "name=someone-else"]
        )),
        1
    );

    let again = orrery(&["swarm", "gc", "--swarm-host", MANAGER]);
    assert_eq!(
        text(&again.stdout).trim(),
        "removed 0 services, 0 networks, 0 secrets"
    );
    swarm_docker(1, &["service", "rm", "someone-else"]);

    // `orrery run --engine swarm`: the shared scenarios (each run checks that nothing labelled
    // with it is left on the swarm or on any node).
    use run_cases::Exec::Swarm;
    let scenario = |name: &str, run: &dyn Fn()| {
        let started = Instant::now();
        run();
        eprintln!(
            "swarm: {name} passed in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    };
    scenario("fan-out/fan-in", &|| {
        run_cases::fan_out_fan_in_failure_blocks_dependents(Swarm)
    });
    scenario("spread over nodes", &jobs_spread_over_the_swarm);
    scenario("workspaces, artifacts, tests, parallelism", &|| {
        run_cases::workspaces_artifacts_tests_parallelism_background_and_halt(Swarm)
    });
    scenario("caches", &|| {
        run_cases::caches_survive_runs_and_keys_are_immutable(Swarm)
    });
    scenario("approvals and masked secrets", &|| {
        run_cases::approval_holds_until_approved_and_secrets_are_masked(Swarm)
    });
    scenario("no_output_timeout", &|| {
        run_cases::no_output_timeout_kills_the_step_and_its_children(Swarm)
    });
    scenario("job groups", &|| {
        run_cases::job_groups_run_between_their_joints_and_serial_groups_wait(Swarm)
    });
    scenario(
        "services by name and on localhost, the primary's entrypoint",
        &|| run_cases::services_answer_on_localhost_and_by_name(Swarm),
    );
    scenario("placement constraints", &placed_as_the_constraints_say);
    scenario("Ctrl-C", &|| {
        run_cases::ctrl_c_stops_the_run_and_leaves_nothing(Swarm)
    });
    scenario(
        "coordinator killed",
        &a_killed_coordinators_agents_stop_within_their_dead_man_interval,
    );
    // Last: it stops a node's daemon.
    scenario(
        "a node's daemon stopped mid-job",
        &a_stopped_node_fails_its_job_as_infrastructure,
    );
}

/// `--constraint node.role!=manager`: every job node (primary and service container) lands on a
/// worker; a constraint swarm would not read is refused before anything runs.
fn placed_as_the_constraints_say() {
    let p = run_cases::project("fan.yml");
    let jobs: String = (0..3)
        .map(|i| {
            format!(
                "  j{i}:\n    docker: [{{image: {image}}}, {{image: {image}, command: [sleep, '30']}}]\n    steps: [{{run: sleep 1}}]\n",
                image = run_cases::IMAGE
            )
        })
        .collect();
    std::fs::write(
        p.path().join(".circleci/config.yml"),
        format!("version: 2.1\njobs:\n{jobs}workflows:\n  main:\n    jobs: [j0, j1, j2]\n"),
    )
    .unwrap();
    let refused = run_cases::run(
        p.path(),
        run_cases::Exec::Swarm,
        &["--constraint", "role=manager"],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("--constraint role=manager: expected KEY==VALUE"),
        "{}",
        text(&refused.stderr)
    );
    assert!(!p.path().join(".orrery/runs").exists());

    let mut child = run_cases::command(
        p.path(),
        run_cases::Exec::Swarm,
        &["--jobs", "3", "--constraint", "node.role!=manager"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // While the jobs run, which node has which of their tasks.
    let role = |r: &str| -> Vec<String> {
        swarm_docker(1, &["node", "ls", "-q", "--filter", &format!("role={r}")])
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let (workers, managers) = (role("worker"), role("manager"));
    assert_eq!((workers.len(), managers.len()), (2, 1));
    let tasks_on = |node: &str| -> Vec<String> {
        swarm_docker(1, &["node", "ps", node, "--format", "{{.Name}}"])
            .lines()
            .filter(|l| l.starts_with("orrery-"))
            .map(str::to_string)
            .collect()
    };
    let mut on_workers = std::collections::BTreeSet::new();
    while child.try_wait().unwrap().is_none() {
        assert_eq!(tasks_on(&managers[0]), Vec::<String>::new());
        for w in &workers {
            on_workers.extend(tasks_on(w));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    run_cases::assert_nothing_left_on_swarm(&run_cases::run_dir(p.path()));
    // Every task was seen on a worker: 3 primaries, 3 service containers.
    assert_eq!(
        on_workers.iter().filter(|t| t.contains("-s1.")).count(),
        3,
        "{on_workers:?}"
    );
    assert!(on_workers.len() >= 6, "{on_workers:?}");
    let events =
        std::fs::read_to_string(run_cases::run_dir(p.path()).join("events.jsonl")).unwrap();
    let placed: Vec<String> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "node_placed")
        .map(|e| e["swarm_node"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(placed.len(), 3, "{events}");
    for node in &placed {
        assert!(
            workers.iter().any(|w| node.starts_with(w.as_str())),
            "{node} is not a worker ({workers:?})"
        );
    }
}

/// SIGKILL of `orrery run` while a step sleeps: the services' specs hold no secret in clear;
/// nobody removes the services, but the agent,
/// hearing nothing from the store, stops its steps and leaves within its dead-man interval
/// (`--node-grace 20`, plus its 10 s to stop); `orrery swarm gc --run` then removes the rest.
fn a_killed_coordinators_agents_stop_within_their_dead_man_interval() {
    use std::io::BufRead;
    let p = run_cases::project("interrupt.yml");
    let secrets = run_cases::fixture("secrets.yml");
    let mut child = run_cases::command(
        p.path(),
        run_cases::Exec::Swarm,
        &["--secrets", secrets.to_str().unwrap()],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let started = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l == "[long] long started");
    assert!(started, "the step never started");
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    let dir = run_cases::run_dir(p.path());
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();
    let running_primaries = || {
        (1..=run_cases::SWARM_NODES)
            .map(|n| {
                lines(&swarm_docker(
                    n,
                    &[
                        "ps",
                        "-q",
                        "--filter",
                        &format!("label=orrery.run={id}"),
                        "--filter",
                        "label=orrery.role=primary",
                    ],
                ))
            })
            .sum::<usize>()
    };
    assert_eq!(running_primaries(), 1, "the job's container is not running");
    // The services' specs, left for gc: no project variable, and no token (64 hex digits: only
    // the name of the secret holding it), in clear.
    let services = swarm_docker(
        1,
        &[
            "service",
            "ls",
            "-q",
            "--filter",
            &format!("label=orrery.run={id}"),
        ],
    );
    let mut specs = vec!["service", "inspect"];
    specs.extend(services.split_whitespace());
    let specs = swarm_docker(1, &specs);
    assert!(specs.contains("orrery-token"), "{specs}");
    assert!(!specs.contains("proj-secret-1234"), "{specs}");
    let longest_hex = specs
        .split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_hex < 64, "a token in clear? {specs}");
    while running_primaries() > 0 {
        assert!(
            killed.elapsed() < Duration::from_secs(45),
            "the agent outlived its coordinator"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let gc = orrery(&["swarm", "gc", "--swarm-host", MANAGER, "--run", &id]);
    assert!(gc.status.success(), "{}", text(&gc.stderr));
    assert!(
        text(&gc.stdout).starts_with("removed 2 services, 1 networks, 3 secrets"),
        "{}",
        text(&gc.stdout)
    );
    run_cases::assert_nothing_left_on_swarm(&dir);
}

/// A job of three parallel nodes; once all three run, the daemon of a worker holding one of
/// them is stopped: that node fails as an infrastructure failure within the grace period
/// (`--node-grace 20`), the other two finish, and the run ends failed.
fn a_stopped_node_fails_its_job_as_infrastructure() {
    use std::io::Read;
    let p = run_cases::project("fan.yml");
    std::fs::write(
        p.path().join(".circleci/config.yml"),
        format!(
            "version: 2.1\njobs:\n  long:\n    docker: [{{image: {}}}]\n    parallelism: 3\n    steps:\n      - run: sleep 30; echo slept-$((6*7))\nworkflows:\n  main:\n    jobs: [long]\n",
            run_cases::IMAGE
        ),
    )
    .unwrap();
    let mut child = run_cases::command(p.path(), run_cases::Exec::Swarm, &["--jobs", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let events = |p: &std::path::Path| -> Vec<serde_json::Value> {
        let Ok(runs) = std::fs::read_dir(p.join(".orrery/runs")) else {
            return Vec::new();
        };
        let Some(dir) = runs.flatten().map(|e| e.path()).max() else {
            return Vec::new();
        };
        std::fs::read_to_string(dir.join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while events(p.path())
        .iter()
        .filter(|e| e["event"] == "node_started")
        .count()
        < 3
    {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the three nodes did not start: {:?}", events(p.path()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // A worker's node (the manager must stay to remove the rest).
    let (victim, daemon) = events(p.path())
        .iter()
        .filter(|e| e["event"] == "node_placed")
        .find_map(|e| {
            let id = e["swarm_node"].as_str()?;
            let addr = swarm_docker(1, &["node", "inspect", "-f", "{{.Status.Addr}}", id]);
            let n = addr.trim().strip_prefix("198.18.0.1")?.to_string();
            (n != "1").then(|| (e["node"].as_u64().unwrap(), n))
        })
        .expect("no node of the job on a worker");
    let pid = std::fs::read_to_string(format!("/run/orrery-swarm/n{daemon}.pid")).unwrap();
    let stopped_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(150);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end after node {daemon}'s daemon stopped");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert_eq!(run_cases::status_of(&stdout, "long"), "failed", "{stdout}");
    assert_eq!(stdout.matches("slept-42").count(), 2, "{stdout}");
    let lost = events(p.path())
        .into_iter()
        .find(|e| e["event"] == "node_finished" && e.get("infrastructure").is_some())
        .unwrap_or_else(|| panic!("no infrastructure failure: {stdout}"));
    assert_eq!(lost["node"].as_u64(), Some(victim), "{lost}");
    let after = lost["ts_ms"].as_u64().unwrap().saturating_sub(stopped_ms);
    assert!(after < 25_000, "found {after} ms after the daemon stopped");
    let log = std::fs::read_to_string(
        run_cases::run_dir(p.path()).join(format!("main/long/{victim}/log.txt")),
    )
    .unwrap();
    assert!(log.contains("infrastructure failure: "), "{log}");
}

/// Six independent jobs at once: their services land on at least two swarm nodes (the
/// `node_placed` events name the swarm node of each job node).
fn jobs_spread_over_the_swarm() {
    let p = run_cases::project("fan.yml");
    let jobs: String = (0..6)
        .map(|i| {
            format!(
                "  j{i}:\n    docker: [{{image: {}}}]\n    steps: [{{run: sleep 2}}]\n",
                run_cases::IMAGE
            )
        })
        .collect();
    let names: Vec<String> = (0..6).map(|i| format!("j{i}")).collect();
    std::fs::write(
        p.path().join(".circleci/config.yml"),
        format!(
            "version: 2.1\njobs:\n{jobs}workflows:\n  main:\n    jobs: [{}]\n",
            names.join(", ")
        ),
    )
    .unwrap();
    let out = run_cases::run(p.path(), run_cases::Exec::Swarm, &["--jobs", "6"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let events =
        std::fs::read_to_string(run_cases::run_dir(p.path()).join("events.jsonl")).unwrap();
    let placed: std::collections::BTreeMap<String, String> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "node_placed")
        .map(|e| {
            (
                e["job"].as_str().unwrap().to_string(),
                e["swarm_node"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(placed.len(), 6, "{events}");
    let nodes: std::collections::BTreeSet<&String> = placed.values().collect();
    assert!(nodes.len() >= 2, "every job on one node: {placed:?}");
    // The swarm's own record agrees: the nodes are the cluster's.
    let ids = swarm_docker(1, &["node", "ls", "-q"]);
    for n in &nodes {
        assert!(
            ids.lines().any(|id| n.starts_with(id.trim())),
            "{n} not in {ids}"
        );
    }
}
