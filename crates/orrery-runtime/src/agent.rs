//! `orrery agent task`: runs one job node where the agent itself runs (inside the job's primary
//! container on a cluster), with the same step runner as `orrery run` (`job.rs`) over
//! [`machine::in_container`]'s environment, and everything else through the coordinator's store
//! ([`crate::store`]): the node's task, the checkout, caches and workspace layers in; the
//! masked log (also echoed on stdout), events, caches, workspace layers, artifacts, test
//! results and the outcome out.
//!
//! A dead-man switch keeps the agent from outliving its coordinator: it sends a heartbeat every
//! quarter of the dead-man interval (which also carries the run's cancel), and when the store
//! has not answered for the whole interval it stops the steps and leaves.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::Saved;
use crate::executor::JobEnv;
use crate::job::{run_task, JobLog};
use crate::junit::{Summary, TestCase};
use crate::machine;
use crate::mask::Masker;
use crate::plan::Status;
use crate::services::{NodeServices, PutTar};
use crate::store::client::{StoreAddress, StoreClient};
use crate::store::{AgentOutcome, TestResults};

/// The agent's own variables: read by the agent, never passed to a step.
pub const AGENT_VARIABLES: &[&str] = &[
    "ORRERY_STORE",
    "ORRERY_STORE_TOKEN",
    "ORRERY_NODE",
    "ORRERY_STORE_CA",
];

/// How long steps get to stop after the store went away, before the agent leaves anyway.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long the steps wait for every relayed service's first report (a service's task may
/// start well after the primary's on a busy cluster).
const SERVICES_WAIT: Duration = Duration::from_secs(90);

#[derive(Clone, Debug)]
pub struct AgentOptions {
    pub address: StoreAddress,
    /// `~` for the steps.
    pub home: PathBuf,
    /// The runner's private files (step scripts, `BASH_ENV`), removed at the end.
    pub task_dir: PathBuf,
    /// Without an answer from the store for this long, the agent stops.
    pub dead_man: Duration,
    /// Set by the caller (its SIGINT/SIGTERM/SIGHUP handlers) to cancel the steps.
    pub stop: Arc<AtomicBool>,
    /// A directory already holding `circleci` and `circleci-agent` for the steps (a cluster
    /// engine's helper bundle); without it they are links to this binary in the task directory.
    pub helpers: Option<PathBuf>,
    /// Service containers on `localhost` (`crate::forward`), started before the steps.
    pub forwards: Vec<crate::forward::Forward>,
    /// Service containers (by host name) that report the ports they listen on to the store
    /// (`orrery agent ports`, their health check): each port they report is relayed from
    /// `localhost`, and the steps start once each has reported (as a local job's steps start
    /// once its service containers have).
    pub relay_services: Vec<String>,
    /// The primary image's own process (its entrypoint and command, when the job keeps them),
    /// started beside the steps as a local primary container runs it; empty for none.
    pub primary_process: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentEnd {
    /// The steps ran (or were canceled by the run) and the store has the outcome.
    Finished(Status),
    /// The store stopped answering for the dead-man interval; the steps were stopped.
    StoreLost,
}

/// Runs the node the store gives this agent. An error means nothing ran (the store refused or
/// could not be reached, or the node's environment could not be made).
pub fn run(options: &AgentOptions) -> Result<AgentEnd, String> {
    let beat = (options.dead_man / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
    let client = Arc::new(StoreClient::new(
        &options.address,
        beat.max(Duration::from_secs(1)),
    )?);
    let task = client.task()?;
    // First, so that it is under way before the steps, as a container's process would be.
    let primary = start_primary_process(&options.primary_process);
    let env = machine::in_container(&options.home, &options.task_dir, AGENT_VARIABLES)?;
    crate::forward::start(&options.forwards)?;

    let cancel = options.stop.clone();
    let lost = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (client, cancel, lost, done) =
            (client.clone(), cancel.clone(), lost.clone(), done.clone());
        let dead_man = options.dead_man;
        std::thread::spawn(move || watch(&client, beat, dead_man, &cancel, &lost, &done))
    };

    let (stream, sender) = LogStream::start(client.clone());
    let masker = Masker::new(task.masked.iter().map(String::as_str));
    let log = Arc::new(JobLog::new(masker, {
        let stream = stream.clone();
        Box::new(move |line| stream.line(line))
    }));
    let started = Instant::now();
    let node_event = |fields: serde_json::Value| {
        let mut event =
            serde_json::json!({"workflow": task.workflow, "job": task.job, "node": task.node});
        if let (Some(e), Some(f)) = (event.as_object_mut(), fields.as_object()) {
            e.extend(f.clone());
        }
        let _ = client.event(&event);
    };
    node_event(serde_json::json!({"event": "node_started"}));
    let services = HttpServices {
        client: client.clone(),
        scratch: options.task_dir.clone(),
        uploads: AtomicUsize::new(0),
        helpers: options.helpers.clone(),
    };
    if !options.relay_services.is_empty() {
        let missing = relay_reported_ports(&client, &options.relay_services, &cancel, &done);
        if !missing.is_empty() {
            log.line(&format!(
                "warning: service container {} did not start within {}s; the steps start without it on localhost",
                missing.join(", "),
                SERVICES_WAIT.as_secs()
            ));
        }
    }
    let (status, report) = match primary {
        Ok(()) => run_task(&task, env, &services, log.clone(), &cancel),
        Err(e) => {
            let mut env = env;
            env.finish();
            log.line(&e);
            (Status::Failed, Default::default())
        }
    };
    if lost.load(Ordering::SeqCst) {
        done.store(true, Ordering::SeqCst);
        stream.close();
        return Ok(AgentEnd::StoreLost);
    }
    log.line(&format!(
        "job {} ({:.2}s)",
        status.as_str(),
        started.elapsed().as_secs_f64()
    ));
    stream.close();
    let _ = sender.join();
    node_event(serde_json::json!({
        "event": "node_finished", "status": status.as_str(),
        "duration_ms": started.elapsed().as_millis() as u64,
    }));
    let outcome = AgentOutcome {
        status,
        tests: report.tests,
        artifacts: report.artifacts,
    };
    let reported = client.finished(&outcome);
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    if lost.load(Ordering::SeqCst) {
        return Ok(AgentEnd::StoreLost);
    }
    reported.map(|()| AgentEnd::Finished(status))
}

/// Starts the primary image's own process (`argv`, none when empty) in a process group of its
/// own with this process's environment (the image's and the job's primary `environment:`, not
/// the agent's variables) and output; it lives as long as the container.
fn start_primary_process(argv: &[String]) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .process_group(0);
    for variable in AGENT_VARIABLES {
        command.env_remove(variable);
    }
    let mut child = command.spawn().map_err(|e| {
        format!(
            "cannot start the primary image's process `{}`: {e}",
            argv.join(" ")
        )
    })?;
    // Reaped when it ends (the agent is its parent; the container's init reaps only orphans).
    std::thread::spawn(move || {
        if let Ok(status) = child.wait() {
            eprintln!("orrery agent: the primary image's process ended ({status})");
        }
    });
    Ok(())
}

/// Relays, from a thread of its own until `done`, each port the services `hosts` report (the
/// first service reporting a port has it) from `localhost`; returns once every one of them
/// reported, or after [`SERVICES_WAIT`] or a cancel, with the hosts that have not reported.
fn relay_reported_ports(
    client: &Arc<StoreClient>,
    hosts: &[String],
    cancel: &Arc<AtomicBool>,
    done: &Arc<AtomicBool>,
) -> Vec<String> {
    let reported = Arc::new((
        Mutex::new(std::collections::BTreeSet::<String>::new()),
        std::sync::Condvar::new(),
    ));
    {
        let (client, hosts, reported, done) = (
            client.clone(),
            hosts.to_vec(),
            reported.clone(),
            done.clone(),
        );
        std::thread::spawn(move || {
            let mut after = 0;
            let mut relayed = std::collections::BTreeSet::new();
            while !done.load(Ordering::SeqCst) {
                let Ok(ports) = client.service_ports(after) else {
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                };
                after = ports.version;
                for (host, ports) in ports.services {
                    if !hosts.contains(&host) {
                        continue;
                    }
                    for port in ports {
                        if !relayed.insert(port) {
                            continue;
                        }
                        let forward = crate::forward::Forward {
                            local: port,
                            host: host.clone(),
                            port,
                        };
                        match crate::forward::start(&[forward]) {
                            Ok(()) => eprintln!("orrery agent: localhost:{port} is {host}:{port}"),
                            Err(e) => {
                                eprintln!("orrery agent: {host}:{port} not on localhost: {e}")
                            }
                        }
                    }
                    if let Ok(mut seen) = reported.0.lock() {
                        seen.insert(host);
                    }
                }
                reported.1.notify_all();
            }
        });
    }
    let deadline = Instant::now() + SERVICES_WAIT;
    let missing = || -> Vec<String> {
        let seen = reported.0.lock().map(|s| s.clone()).unwrap_or_default();
        hosts
            .iter()
            .filter(|h| !seen.contains(*h))
            .cloned()
            .collect()
    };
    while Instant::now() < deadline && !cancel.load(Ordering::SeqCst) {
        if missing().is_empty() {
            break;
        }
        if let Ok(seen) = reported.0.lock() {
            let _ = reported.1.wait_timeout(seen, Duration::from_millis(200));
        }
    }
    missing()
}

/// The dead-man switch: heartbeats until `done`; passes the run's cancel on; after `dead_man`
/// without an answer it cancels the steps, gives them [`STOP_GRACE`] and ends the process.
fn watch(
    client: &StoreClient,
    beat: Duration,
    dead_man: Duration,
    cancel: &AtomicBool,
    lost: &AtomicBool,
    done: &AtomicBool,
) {
    let mut answered = Instant::now();
    while !done.load(Ordering::SeqCst) {
        if let Ok(canceled) = client.heartbeat() {
            answered = Instant::now();
            if canceled {
                cancel.store(true, Ordering::SeqCst);
            }
        }
        if answered.elapsed() >= dead_man {
            eprintln!(
                "orrery agent: the store has not answered for {}s: stopping the job",
                dead_man.as_secs()
            );
            lost.store(true, Ordering::SeqCst);
            cancel.store(true, Ordering::SeqCst);
            let deadline = Instant::now() + STOP_GRACE;
            while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if !done.load(Ordering::SeqCst) {
                // Stuck (e.g. in a transfer to the vanished store): leave; in a container the
                // steps go with the agent.
                std::process::exit(EXIT_STORE_LOST);
            }
            return;
        }
        let next = Instant::now() + beat;
        while !done.load(Ordering::SeqCst) && Instant::now() < next {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The exit code of an agent whose store went away.
pub const EXIT_STORE_LOST: i32 = 3;

/// The node's log on its way to the store: lines echo on stdout at once and go to the store in
/// batches from a thread of their own, in order.
struct LogStream {
    sender: Mutex<Option<mpsc::Sender<String>>>,
}

impl LogStream {
    fn start(client: Arc<StoreClient>) -> (Arc<LogStream>, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<String>();
        let thread = std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = first;
                while batch.len() < (1 << 20) {
                    match rx.try_recv() {
                        Ok(line) => {
                            batch.push('\n');
                            batch.push_str(&line);
                        }
                        Err(_) => break,
                    }
                }
                // A batch the store does not take is lost; a store gone for long stops the
                // whole agent (the dead-man switch).
                if client.log(batch.clone()).is_err() {
                    let _ = client.log(batch);
                }
            }
        });
        (
            Arc::new(LogStream {
                sender: Mutex::new(Some(tx)),
            }),
            thread,
        )
    }

    fn line(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        if let Ok(sender) = self.sender.lock() {
            if let Some(sender) = sender.as_ref() {
                let _ = sender.send(line.to_string());
            }
        }
    }

    /// No more lines: the thread sends what it has and ends.
    fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
    }
}

/// [`NodeServices`] through the store.
struct HttpServices {
    client: Arc<StoreClient>,
    /// Where uploads are spooled (the task directory).
    scratch: PathBuf,
    uploads: AtomicUsize,
    /// `AgentOptions::helpers`.
    helpers: Option<PathBuf>,
}

impl HttpServices {
    /// Runs `write` into a fresh file and hands it (reopened) to `send`.
    fn spooled<T, R>(
        &self,
        write: impl FnOnce(&mut fs::File) -> Result<R, String>,
        send: impl FnOnce(fs::File) -> Result<T, String>,
    ) -> Result<(R, T), String> {
        let n = self.uploads.fetch_add(1, Ordering::SeqCst);
        let path = self.scratch.join(format!("upload-{n}"));
        let result = (|| {
            let mut file = fs::File::create(&path).map_err(|e| e.to_string())?;
            let written = write(&mut file)?;
            drop(file);
            let file = fs::File::open(&path).map_err(|e| e.to_string())?;
            Ok((written, send(file)?))
        })();
        let _ = fs::remove_file(&path);
        result
    }
}

impl NodeServices for HttpServices {
    fn event(&self, event: serde_json::Value) {
        let _ = self.client.event(&event);
    }

    /// This binary as `circleci`/`circleci-agent` (links in the task directory) and the run's
    /// recorded timings, fetched once.
    fn helpers(&self, env: &dyn JobEnv) -> Option<(PathBuf, PathBuf)> {
        // Started through a loader, this process's executable is the loader: the engine then
        // gives the helpers' directory.
        let bin = match &self.helpers {
            Some(dir) => dir.clone(),
            None => {
                let exe = std::env::current_exe().ok()?;
                let bin = env.task_dir().join("bin");
                fs::create_dir_all(&bin).ok()?;
                for name in ["circleci", "circleci-agent"] {
                    let link = bin.join(name);
                    if fs::symlink_metadata(&link).is_err() {
                        std::os::unix::fs::symlink(&exe, &link).ok()?;
                    }
                }
                bin
            }
        };
        let timings = env.task_dir().join("timings.json");
        let recorded = self.client.timings().unwrap_or_else(|_| b"{}".to_vec());
        fs::write(&timings, recorded).ok()?;
        Some((bin, timings))
    }

    fn checkout(&self, put: &mut PutTar<'_>) -> Result<usize, String> {
        let mut files = 0;
        for part in 0..self.client.checkout_parts()? {
            let mut body = self.client.checkout_part(part)?;
            files += put(&mut body)?;
        }
        Ok(files)
    }

    fn cache_exists(&self, key: &str) -> Result<bool, String> {
        self.client.cache_exists(key)
    }

    fn cache_save(
        &self,
        key: &str,
        write: &mut dyn FnMut(&mut dyn Write) -> Result<(), String>,
    ) -> Result<Saved, String> {
        let ((), saved) = self.spooled(|f| write(f), |f| self.client.cache_put(key, f))?;
        Ok(match saved {
            Some(size) => Saved::Saved(size),
            None => Saved::Exists,
        })
    }

    fn cache_restore(
        &self,
        keys: &[String],
        restore: &mut dyn FnMut(&str, &mut dyn std::io::Read) -> Result<usize, String>,
    ) -> Result<Option<usize>, String> {
        let Some(key) = self.client.cache_find(keys)? else {
            return Ok(None);
        };
        let mut body = self.client.cache_get(&key)?;
        restore(&key, &mut body).map(Some)
    }

    fn persist_layer(
        &self,
        write: &mut dyn FnMut(&mut dyn Write) -> Result<usize, String>,
    ) -> Result<usize, String> {
        let (entries, ()) = self.spooled(|f| write(f), |f| self.client.layer_put(f))?;
        Ok(entries)
    }

    fn attach_layers(&self, put: &mut PutTar<'_>) -> Result<(usize, usize), String> {
        let layers = self.client.layers()?;
        let mut count = 0;
        for name in &layers {
            let mut body = self.client.layer(name)?;
            count += put(&mut body)?;
        }
        Ok((layers.len(), count))
    }

    fn store_files(
        &self,
        dest: &Path,
        name: &Path,
        tar: &mut dyn std::io::Read,
    ) -> Result<usize, String> {
        let mut bytes = Vec::new();
        tar.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        self.client
            .files(&dest.to_string_lossy(), &name.to_string_lossy(), bytes)
    }

    fn test_results(&self, summary: &Summary, cases: &[TestCase]) {
        let results = TestResults {
            summary: summary.clone(),
            cases: cases.to_vec(),
        };
        if let Err(e) = self.client.tests(&results) {
            eprintln!("orrery agent: test results not stored: {e}");
        }
    }
}
