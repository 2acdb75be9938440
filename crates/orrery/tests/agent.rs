//! `orrery agent task` as a real process against the coordinator's store, on loopback without a
//! cluster: the store runs in this test over a run's stores (as `orrery run` keeps them), the
//! agent runs a job node's steps on this machine and everything it sends must arrive there.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orrery_compiler::{compile, CompileOptions, NoOrbs};
use orrery_diagnostics::SourceDb;
use orrery_runtime::cache::CacheStore;
use orrery_runtime::checkout::CheckoutMode;
use orrery_runtime::env::RunInfo;
use orrery_runtime::run::{Console, RunOptions, RunStores};
use orrery_runtime::secrets::Secrets;
use orrery_runtime::store::{NodeTicket, Store};
use orrery_runtime::{plan, Selection, Status};

mod agent_command;
use agent_command::{agent_task, loopback};

const SECRET: &str = "s3cr3t-agent-value";

const CONFIG: &str = r#"
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - checkout
      - restore_cache:
          keys: [deps-v1-]
      - run: |
          echo "secret is $SECRET_TOKEN"
          if [ -z "$ORRERY_STORE_TOKEN$ORRERY_STORE" ]; then echo "no agent variables in steps"; fi
          echo "node $CIRCLE_NODE_INDEX of $CIRCLE_NODE_TOTAL, build $CIRCLE_BUILD_NUM"
          mkdir -p deps out reports
          echo "stamp-1" > deps/stamp
          cp README.txt out/readme-copy.txt
          echo '<testsuite name="s"><testcase classname="c" name="ok" time="0.5"/><testcase classname="c" name="bad"><failure message="no"/></testcase></testsuite>' > reports/junit.xml
      - run:
          name: server
          command: for i in 1 2 3; do echo "bg tick $i"; sleep 0.1; done; sleep 300
          background: true
      - save_cache:
          key: deps-v1-{{ checksum "README.txt" }}
          paths: [deps]
      - persist_to_workspace:
          root: out
          paths: [readme-copy.txt]
      - store_artifacts:
          path: out
          destination: built
      - store_test_results:
          path: reports
  use:
    machine: true
    steps:
      - attach_workspace:
          at: ~/ws
      - run: 'echo "attached: $(cat ~/ws/readme-copy.txt)"'
      - restore_cache:
          keys: [deps-v1-]
      - run: 'echo "restored: $(cat ~/project/deps/stamp)"'
  wait:
    machine: true
    steps:
      - run:
          name: sleeper
          command: echo $$ > ~/step.pid && echo "waiting $$" && sleep 120
  served:
    docker:
      - image: orrery-test/busybox:1
      - image: orrery-test/busybox:1
        command: [httpd, -f, -p, "8080"]
    steps:
      - run: "true"
workflows:
  main:
    jobs:
      - build
      - use:
          requires: [build]
      - wait
      - served
"#;

struct Quiet;

impl Console for Quiet {
    fn job_line(&self, _: &str, _: usize, _: &str) {}
    fn note(&self, _: &str) {}
}

/// A run's stores over a scratch project, as `orrery run` would keep them.
fn stores(dir: &Path) -> Arc<RunStores> {
    let mut db = SourceDb::new();
    let file = db.add("config.yml", CONFIG);
    let compiled = compile(&mut db, file, &CompileOptions::default(), &NoOrbs);
    let (Some(config), Some(graph)) = (compiled.config, compiled.graph) else {
        panic!("{:?}", compiled.diagnostics);
    };
    let (plan, diagnostics) = plan(&config, &graph, &Selection::default());
    assert!(
        !orrery_diagnostics::has_errors(&diagnostics),
        "{diagnostics:?}"
    );
    let project = dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("README.txt"), "the project's readme\n").unwrap();
    let options = RunOptions {
        run_dir: dir.join("run"),
        project_root: project,
        checkout: CheckoutMode::WorkTree,
        cache_dir: dir.join("cache"),
        timings_file: dir.join("timings.json"),
        helper_dir: None,
        max_parallel: 1,
        info: RunInfo::default(),
        secrets: Secrets {
            project: vec![("SECRET_TOKEN".into(), SECRET.into())],
            ..Secrets::default()
        },
        first_build_num: 7,
    };
    Arc::new(RunStores::new(&plan, &options, Arc::new(Quiet)).unwrap())
}

fn job(stores: &RunStores, name: &str) -> usize {
    stores
        .plan
        .jobs
        .iter()
        .position(|j| j.name == name)
        .unwrap()
}

fn agent(store: &Store, ticket: &NodeTicket, dir: &Path, extra: &[&str]) -> Command {
    let home = dir.join(format!("home-{}", ticket.id));
    let mut command = agent_task(store, ticket, &home, dir);
    command.args(extra);
    command
}

/// An agent running the `wait` job's long step, once the step has started, and the step's
/// pid (its shell's).
fn agent_in_the_long_step(
    dir: &Path,
    stores: &Arc<RunStores>,
    store: &Store,
    extra: &[&str],
) -> (Child, i32) {
    let wait = job(stores, "wait");
    let ticket = store.register(wait, 0).unwrap();
    let mut child = agent(store, &ticket, dir, extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = stores.job_dir(wait, 0).join("log.txt");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("waiting")) {
        assert!(Instant::now() < deadline, "the step never started");
        assert!(child.try_wait().unwrap().is_none(), "the agent ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid_file = dir.join(format!("home-{}", ticket.id)).join("step.pid");
    let step: i32 = read(pid_file).trim().parse().unwrap();
    (child, step)
}

/// The step's shell ends within 5 s (a zombie waiting for its reaper counts as ended).
fn assert_step_ends(step: i32, when: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let running =
        || std::fs::read_to_string(format!("/proc/{step}/stat")).is_ok_and(|s| !s.contains(") Z "));
    while running() {
        assert!(Instant::now() < deadline, "step {step} still runs {when}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn finished(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

#[test]
fn agent_runs_a_node_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores(dir.path());
    let store = Store::start(stores.clone(), &loopback(false)).unwrap();
    assert!(
        store.url().starts_with("http://127.0.0.1:"),
        "{}",
        store.url()
    );

    let build = job(&stores, "build");
    let ticket = store.register(build, 0).unwrap();
    let output = agent(&store, &ticket, dir.path(), &["--dead-man", "20"])
        .output()
        .unwrap();
    let report = finished(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    // The log is echoed, masked, on the agent's stdout and arrives in the node's log.txt.
    let stdout = text(&output.stdout);
    assert!(stdout.contains("secret is ********"), "{report}");
    let log = read(stores.job_dir(build, 0).join("log.txt"));
    for line in [
        "secret is ********",
        "no agent variables in steps",
        "node 0 of 1, build 7",
        "No cache is found for key: deps-v1-",
        "(background) bg tick 1",
        "Stored cache deps-v1-",
        "Persisted 1 entries",
        "Stored 1 artifact file",
        "Test results: 2 tests, 1 failures, 0 errors, 0 skipped",
        "job success",
    ] {
        assert!(
            log.contains(line),
            "`{line}` not in log.txt:\n{log}\n{report}"
        );
    }
    assert!(!log.contains(SECRET) && !stdout.contains(SECRET), "{log}");

    // What the store received: the cache, the workspace layer, the artifact, the test results.
    let caches = CacheStore::new(dir.path().join("cache")).entries();
    assert_eq!(caches.len(), 1, "{caches:?}");
    assert!(caches[0].key.starts_with("deps-v1-"), "{caches:?}");
    let layers: Vec<_> = std::fs::read_dir(dir.path().join("run/.work/workspace/main"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(layers, ["00000-0000-0.tar.gz"]);
    let node_dir = stores.job_dir(build, 0);
    assert_eq!(
        read(node_dir.join("artifacts/built/readme-copy.txt")),
        "the project's readme\n"
    );
    assert!(read(node_dir.join("test-results/reports/junit.xml")).contains("testsuite"));
    let tests: serde_json::Value =
        serde_json::from_str(&read(node_dir.join("tests.json"))).unwrap();
    assert_eq!(
        (tests["tests"].as_u64(), tests["failures"].as_u64()),
        (Some(2), Some(1))
    );
    let outcome = store.outcome(&ticket.id).expect("the agent reported");
    assert_eq!(outcome.status, Status::Success);
    assert_eq!(outcome.artifacts, 1);
    assert_eq!(
        outcome.tests.map(|t| t.failing),
        Some(vec!["c.bad".to_string()])
    );
    let events = read(dir.path().join("run/events.jsonl"));
    for event in [
        r#""event":"node_started""#,
        r#""event":"step_finished""#,
        r#""name":"server""#,
        r#""event":"node_finished""#,
    ] {
        assert!(
            events.contains(event),
            "{event} not in events.jsonl:\n{events}"
        );
    }
    assert!(!events.contains(SECRET));

    // The next job attaches the workspace and restores the cache, through the store.
    let using = job(&stores, "use");
    let ticket = store.register(using, 0).unwrap();
    let output = agent(&store, &ticket, dir.path(), &[]).output().unwrap();
    let report = finished(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    let log = read(stores.job_dir(using, 0).join("log.txt"));
    for line in [
        "Attached 1 layers (1 entries)",
        "attached: the project's readme",
        "Found a cache with key deps-v1-",
        "restored: stamp-1",
    ] {
        assert!(
            log.contains(line),
            "`{line}` not in log.txt:\n{log}\n{report}"
        );
    }
}

#[test]
fn a_wrong_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores(dir.path());
    let store = Store::start(stores.clone(), &loopback(false)).unwrap();
    let build = job(&stores, "build");
    let ticket = store.register(build, 0).unwrap();
    let wrong = NodeTicket {
        id: ticket.id.clone(),
        token: "0".repeat(64),
        service_token: String::new(),
    };
    let output = agent(&store, &wrong, dir.path(), &[]).output().unwrap();
    let report = finished(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(report.contains("401"), "{report}");
    // Another node's token does not open this node either.
    let other = store.register(job(&stores, "wait"), 0).unwrap();
    let crossed = NodeTicket {
        id: ticket.id.clone(),
        token: other.token,
        service_token: String::new(),
    };
    let output = agent(&store, &crossed, dir.path(), &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", finished(&output));
    let log = read(stores.job_dir(build, 0).join("log.txt"));
    assert!(!log.contains("==>"), "a step ran:\n{log}");
    assert!(store.outcome(&ticket.id).is_none());
}

/// `orrery agent ports` (a cluster's service containers run it as their health check) reports
/// the ports this machine listens on for other hosts, with the node's service token, which
/// opens nothing else; the node's agent reads them with its own token.
#[test]
fn service_containers_report_their_ports_with_a_token_of_their_own() {
    use orrery_runtime::store::client::{StoreAddress, StoreClient};
    let dir = tempfile::tempdir().unwrap();
    let stores = stores(dir.path());
    let store = Store::start(stores.clone(), &loopback(false)).unwrap();
    let ticket = store.register(job(&stores, "served"), 0).unwrap();
    let open = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    let loopback_only = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let loopback_port = loopback_only.local_addr().unwrap().port();
    let token_file = |name: &str, token: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, format!("{token}\n")).unwrap();
        file
    };
    let service_token = token_file("service-token", &ticket.service_token);
    let node_token = token_file("node-token", &ticket.token);
    let report = |service: &str, token: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_orrery"))
            .args([
                "agent",
                "ports",
                "--store",
                store.url(),
                "--node",
                &ticket.id,
            ])
            .args(["--service", service, "--token-file"])
            .arg(token)
            .output()
            .unwrap();
        // A health check: it always passes, whatever the store says.
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let client = |token: &str| {
        StoreClient::new(
            &StoreAddress {
                url: store.url().to_string(),
                node: ticket.id.clone(),
                token: token.to_string(),
                ca_pem: None,
            },
            Duration::from_secs(5),
        )
        .unwrap()
    };
    let agent = client(&ticket.token);

    assert_eq!(report("service-1", &service_token), "");
    let ports = agent.service_ports(0).unwrap();
    assert_eq!(ports.version, 1);
    let reported = &ports.services["service-1"];
    assert!(reported.contains(&open_port), "{reported:?}");
    assert!(!reported.contains(&loopback_port), "{reported:?}");
    // The same report again is no change.
    assert_eq!(report("service-1", &service_token), "");
    assert_eq!(agent.service_ports(0).unwrap().version, 1);

    // A service the node does not have; the node's own token: refused, still exit 0.
    assert!(report("service-2", &service_token).contains("404"));
    assert!(report("service-1", &node_token).contains("401"));
    // The service token opens nothing of the node's.
    let service = client(&ticket.service_token);
    assert!(service.task().unwrap_err().contains("401"));
    assert!(service.service_ports(0).unwrap_err().contains("401"));
    drop((open, loopback_only));
}

#[test]
fn tls_store_with_the_runs_ca() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores(dir.path());
    let store = Store::start(stores.clone(), &loopback(true)).unwrap();
    assert!(
        store.url().starts_with("https://127.0.0.1:"),
        "{}",
        store.url()
    );
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, store.ca_pem().expect("a CA")).unwrap();
    let wait = job(&stores, "use");
    // Without the run's CA the agent does not trust the store.
    let ticket = store.register(wait, 0).unwrap();
    let output = agent(&store, &ticket, dir.path(), &[]).output().unwrap();
    let report = finished(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    let output = agent(&store, &ticket, dir.path(), &["--ca", ca.to_str().unwrap()])
        .output()
        .unwrap();
    let report = finished(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(
        store.outcome(&ticket.id).map(|o| o.status),
        Some(Status::Success)
    );
    assert!(read(stores.job_dir(wait, 0).join("log.txt")).contains("Attached 0 layers"));
}

/// Waits for `child` up to `limit`; its exit code, or `None` (then it is killed).
fn wait_for(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn the_agent_stops_when_the_store_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores(dir.path());
    let store = Store::start(stores.clone(), &loopback(false)).unwrap();
    let (mut child, step) =
        agent_in_the_long_step(dir.path(), &stores, &store, &["--dead-man", "2"]);
    // The coordinator goes away: its store stops answering and every connection is cut.
    let gone = Instant::now();
    drop(store);
    // Dead-man interval 2 s (+ a heartbeat period, + the step's stop): well inside 15 s.
    let code = wait_for(&mut child, Duration::from_secs(15));
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert_eq!(
        code,
        Some(3),
        "agent exit after {:?}: {stderr}",
        gone.elapsed()
    );
    assert!(stderr.contains("has not answered"), "{stderr}");
    // The step's shell went with it.
    assert_step_ends(step, "after the store went away");
}

#[test]
fn sigterm_cancels_the_steps_and_the_agent_ends() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores(dir.path());
    let store = Store::start(stores.clone(), &loopback(false)).unwrap();
    let (mut child, step) = agent_in_the_long_step(dir.path(), &stores, &store, &[]);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = wait_for(&mut child, Duration::from_secs(15));
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert_eq!(code, Some(130), "{stderr}");
    assert_step_ends(step, "after SIGTERM");
}
