//! Per-node overhead of a job node run by `orrery agent task` through the coordinator's store,
//! against the same node run by the local machine executor, side by side in one run.
//!
//! The job: a checkout, one step, a 10 kB cache save and a workspace layer. Local:
//! `orrery_runtime::run::execute` in this process (one run per node). Agent: the store (plain
//! HTTP on loopback, and HTTPS) runs in this process; per node `Store::register` and one
//! `orrery agent task` process until it exits. Prints the median and the ratio to local.
//!
//! `cargo bench -p orrery --bench agent`; `ORRERY_BENCH_NODES` sets the nodes per variant
//! (default 15).

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orrery_compiler::{compile, CompileOptions, NoOrbs};
use orrery_diagnostics::SourceDb;
use orrery_runtime::checkout::CheckoutMode;
use orrery_runtime::env::RunInfo;
use orrery_runtime::machine::MachineExecutor;
use orrery_runtime::run::{execute, Console, RunOptions, RunStores};
use orrery_runtime::schedule::ApprovedNames;
use orrery_runtime::secrets::Secrets;
use orrery_runtime::store::Store;
use orrery_runtime::{plan, Plan, Selection};

#[path = "../tests/agent_command/mod.rs"]
mod agent_command;
use agent_command::{agent_task, loopback};

const CONFIG: &str = r#"
version: 2.1
jobs:
  node:
    machine: true
    steps:
      - checkout
      - run: head -c 10000 /dev/urandom > blob
      - save_cache:
          key: blob-{{ epoch }}-{{ .BuildNum }}
          paths: [blob]
      - persist_to_workspace:
          root: .
          paths: [blob]
workflows:
  main:
    jobs: [node]
"#;

struct Quiet;

impl Console for Quiet {
    fn job_line(&self, _: &str, _: usize, _: &str) {}
    fn note(&self, _: &str) {}
}

fn the_plan() -> Plan {
    let mut db = SourceDb::new();
    let file = db.add("config.yml", CONFIG);
    let compiled = compile(&mut db, file, &CompileOptions::default(), &NoOrbs);
    let (config, graph) = (compiled.config.unwrap(), compiled.graph.unwrap());
    plan(&config, &graph, &Selection::default()).0
}

fn options(dir: &Path, run: &str) -> RunOptions {
    RunOptions {
        run_dir: dir.join(run),
        project_root: dir.join("project"),
        checkout: CheckoutMode::WorkTree,
        cache_dir: dir.join("cache"),
        timings_file: dir.join("timings.json"),
        helper_dir: None,
        max_parallel: 1,
        info: RunInfo::default(),
        secrets: Secrets::default(),
        first_build_num: 1,
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn agent_nodes(plan: &Plan, dir: &Path, tls: bool, nodes: usize) -> Duration {
    let stores = Arc::new(
        RunStores::new(
            plan,
            &options(dir, if tls { "agent-tls" } else { "agent" }),
            Arc::new(Quiet),
        )
        .unwrap(),
    );
    let store = Store::start(stores, &loopback(tls)).unwrap();
    let ca = dir.join("ca.pem");
    if let Some(pem) = store.ca_pem() {
        std::fs::write(&ca, pem).unwrap();
    }
    let mut times = Vec::new();
    for _ in 0..nodes {
        let started = Instant::now();
        let ticket = store.register(0, 0).unwrap();
        let mut command = agent_task(&store, &ticket, &dir.join("home"), dir);
        command.stdout(Stdio::null());
        if tls {
            command.arg("--ca").arg(&ca);
        }
        let status = command.status().unwrap();
        assert!(status.success(), "agent: {status}");
        times.push(started.elapsed());
        let _ = std::fs::remove_dir_all(dir.join("home"));
    }
    median(times)
}

fn main() {
    let nodes: usize = std::env::var("ORRERY_BENCH_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(15);
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("README.txt"), "bench\n").unwrap();
    let plan = the_plan();

    let mut local = Vec::new();
    for i in 0..nodes {
        let started = Instant::now();
        let report = execute(
            &plan,
            &options(dir.path(), &format!("local-{i}")),
            &MachineExecutor::default(),
            &ApprovedNames(Vec::new()),
            Arc::new(Quiet),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(report.results[0].status, orrery_runtime::Status::Success);
        local.push(started.elapsed());
    }
    let local = median(local);
    let http = agent_nodes(&plan, dir.path(), false, nodes);
    let https = agent_nodes(&plan, dir.path(), true, nodes);
    println!("per node, median of {nodes} (checkout, 1 step, 10 kB cache save, workspace layer):");
    println!(
        "  local machine executor      {:>8.1} ms",
        local.as_secs_f64() * 1e3
    );
    for (name, t) in [
        ("agent over HTTP (loopback)", http),
        ("agent over HTTPS", https),
    ] {
        println!(
            "  {name:<27} {:>8.1} ms  ({:.2}x local, +{:.1} ms)",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / local.as_secs_f64(),
            (t.as_secs_f64() - local.as_secs_f64()) * 1e3
        );
    }
}
