//! `orrery run --engine swarm`: the scheduler's node runner for a Docker Swarm. Each docker job
//! node becomes one service (restart `none`) running `orrery agent task` in the job's primary
//! image, with its own overlay network, a service per CircleCI service container, its token as
//! a swarm secret; the agent does the steps and talks to this process's store. Completion is
//! read by polling the task; a node whose agent falls silent for the grace period, or whose task
//! vanishes, fails as an infrastructure failure. Every object carries `orrery.run` and is
//! removed when its node ends (in the background), and the run's are swept at the end.
//! Machine jobs run on this machine, as in a local run.
//!
//! The agent reaches the container as the Docker executor's helper bundle (this binary, its
//! libraries and loader), bound read-only from the coordinator's disk: every node of the test
//! cluster shares this host's file system. A real cluster needs the bundle on each node (an
//! image copied into a volume, DISTRIBUTED.md §2), which is not done here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bollard::models::{NetworkCreateRequest, SecretSpec, TaskState};
use bollard::query_parameters::ListTasksOptions;

use super::gc::{remove_labelled, Removed};
use super::spec::{self, Primary, Reporter, SecretRef, LABEL_NODE};
use crate::docker::client::{describe, Client};
use crate::docker::helper::{self, Helper};
use crate::docker::LABEL_RUN;
use crate::plan::{JobKind, Status};
use crate::run::{RunStores, Shared};
use crate::schedule::NodeRunner;
use crate::spec::ExecutorKind;
use crate::store::{Store, StoreConfig};

#[derive(Clone, Debug)]
pub struct SwarmOptions {
    /// The swarm manager's unix socket.
    pub socket: PathBuf,
    /// Where the store listens: an address the cluster's tasks reach (port 0 picks one).
    pub store_listen: SocketAddr,
    /// Reservations are this fraction of each resource class (limits stay whole).
    pub reserve_scale: f64,
    /// A node whose agent has not reached the store for this long fails as infrastructure;
    /// it is also the agents' dead-man interval.
    pub grace: Duration,
    /// Placement constraints of the user's (`node.labels.disk==ssd`, …) for every service of
    /// every job node.
    pub constraints: Vec<String>,
    /// Whether the manager may pull a primary image it lacks to read its configuration (the
    /// image's own process; the nodes pull for themselves).
    pub pull: crate::docker::PullPolicy,
}

/// How often the tasks are read.
const POLL: Duration = Duration::from_millis(400);
/// How long a task may wait for a node before the job fails (no node fits, image missing…).
const START_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a node's teardown waits for its tasks to stop.
const TEARDOWN_WAIT: Duration = Duration::from_secs(120);

pub(crate) struct SwarmEngine {
    client: Arc<Client>,
    store: Store,
    stores: Arc<RunStores>,
    helper: Helper,
    options: SwarmOptions,
    run_id: String,
    ca: Option<SecretRef>,
    next: AtomicUsize,
    teardowns: Mutex<Vec<tokio::task::JoinHandle<Result<Removed, String>>>>,
    finished: AtomicBool,
}

impl SwarmEngine {
    /// Connects to the manager, prepares the agent bundle and starts the store.
    pub fn start(
        options: &SwarmOptions,
        stores: Arc<RunStores>,
        run_id: &str,
    ) -> Result<SwarmEngine, String> {
        let client = Client::connect(&options.socket)?;
        let info = client
            .block_on(client.docker.info())
            .map_err(|e| format!("cannot ask the swarm manager: {}", describe(&e)))?;
        if !info
            .swarm
            .as_ref()
            .and_then(|s| s.control_available)
            .unwrap_or(false)
        {
            return Err(format!(
                "the Docker daemon on {} is not a swarm manager",
                options.socket.display()
            ));
        }
        let work = stores.run_dir.join(".work").join("swarm");
        let helper = Helper::prepare(&work.join("helper"), stores.timings_file())
            .map_err(|e| format!("cannot prepare the agent for the swarm: {e}"))?;
        let store = Store::start(
            stores.clone(),
            &StoreConfig {
                listen: options.store_listen,
                tls: false,
                names: Vec::new(),
            },
        )?;
        let mut engine = SwarmEngine {
            client: Arc::new(client),
            store,
            stores,
            helper,
            options: options.clone(),
            run_id: run_id.to_string(),
            ca: None,
            next: AtomicUsize::new(0),
            teardowns: Mutex::new(Vec::new()),
            finished: AtomicBool::new(false),
        };
        if let Some(pem) = engine.store.ca_pem().map(str::to_string) {
            let name = format!("orrery-{run_id}-ca");
            let mut labels = std::collections::HashMap::new();
            labels.insert(LABEL_RUN.to_string(), run_id.to_string());
            let id = engine.secret(&name, labels, pem.as_bytes())?;
            engine.ca = Some(SecretRef {
                id,
                name,
                file: "orrery-ca".into(),
            });
        }
        Ok(engine)
    }

    fn secret(
        &self,
        name: &str,
        labels: std::collections::HashMap<String, String>,
        data: &[u8],
    ) -> Result<String, String> {
        let created = self
            .client
            .block_on(self.client.docker.create_secret(SecretSpec {
                name: Some(name.to_string()),
                labels: Some(labels),
                data: Some(base64::engine::general_purpose::STANDARD.encode(data)),
                ..Default::default()
            }));
        created
            .map(|r| r.id)
            .map_err(|e| format!("cannot create the secret {name}: {}", describe(&e)))
    }

    /// Waits for every node's teardown, then removes whatever of the run is still on the
    /// swarm; returns what could not be removed.
    pub fn finish(&self) -> Vec<String> {
        if self.finished.swap(true, Ordering::SeqCst) {
            return Vec::new();
        }
        let pending: Vec<_> = self
            .teardowns
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        let mut problems = Vec::new();
        for handle in pending {
            match self.client.block_on(handle) {
                Ok(Ok(removed)) => problems.extend(removed.problems),
                Ok(Err(e)) => problems.push(e),
                Err(e) => problems.push(e.to_string()),
            }
        }
        let label = format!("{LABEL_RUN}={}", self.run_id);
        match self
            .client
            .block_on(remove_labelled(&self.client.docker, &label, TEARDOWN_WAIT))
        {
            Ok(removed) => problems.extend(removed.problems),
            Err(e) => problems.push(e),
        }
        problems
    }

    /// Removes node `label`'s objects in the background.
    fn tear_down(&self, node_label: &str) {
        let client = self.client.clone();
        let label = format!("{LABEL_NODE}={node_label}");
        let handle = self
            .client
            .spawn(async move { remove_labelled(&client.docker, &label, TEARDOWN_WAIT).await });
        if let Ok(mut t) = self.teardowns.lock() {
            t.push(handle);
        }
    }

    /// Runs node `node` of docker job `job` on the swarm.
    fn run_remote(&self, job: usize, node: u32, cancel: &AtomicBool) -> Status {
        let planned = &self.stores.plan.jobs[job];
        let JobKind::Run(job_spec) = &planned.kind else {
            return Status::Success;
        };
        let ExecutorKind::Docker { images } = &job_spec.executor else {
            return Status::Failed;
        };
        let event = |fields: serde_json::Value| {
            let mut e = serde_json::json!({"workflow": planned.workflow, "job": planned.name, "node": node});
            if let (Some(e), Some(f)) = (e.as_object_mut(), fields.as_object()) {
                e.extend(f.clone());
            }
            self.stores.events.emit(e);
        };
        let ticket = match self.store.register(job, node) {
            Ok(t) => t,
            Err((status, _)) => {
                event(
                    serde_json::json!({"event": "node_finished", "status": status.as_str(), "duration_ms": 0}),
                );
                return status;
            }
        };
        let started = Instant::now();
        let infrastructure = |reason: String| {
            self.store
                .note(&ticket.id, &format!("infrastructure failure: {reason}"));
            event(serde_json::json!({
                "event": "node_finished", "status": "failed", "infrastructure": reason,
                "duration_ms": started.elapsed().as_millis() as u64,
            }));
            Status::Failed
        };
        if images.is_empty() {
            return infrastructure("the job's `docker:` list is empty".into());
        }
        if let Some(class) = &job_spec.resource_class {
            if spec::resources_of(class, 1.0).is_none() {
                self.store.note(
                    &ticket.id,
                    &format!(
                        "warning: resource class `{class}` is not a docker class; the job gets `{}`'s resources",
                        crate::resources::DEFAULT_CLASS
                    ),
                );
            }
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let base = format!("orrery-{}-{n}", self.run_id);
        let node_label = format!("{}/{n}", self.run_id);
        let labels = |role: &str| spec::labels(&self.run_id, &node_label, &planned.name, role);
        let process = match self.primary_process(&images[0]) {
            Ok((process, note)) => {
                if let Some(note) = note {
                    self.store.note(&ticket.id, &note);
                }
                process
            }
            Err(e) => return infrastructure(e),
        };
        let launched = self.launch(&base, &ticket, images, job_spec, process, &labels);
        let primary = match launched {
            Ok(id) => id,
            Err(e) => {
                self.tear_down(&node_label);
                return infrastructure(e);
            }
        };
        let status = self.watch(&primary, &ticket.id, &base, cancel, &event);
        self.tear_down(&node_label);
        match status {
            // Only the run cancels a node: an agent stopped otherwise lost its container.
            Watched::Ended(Status::Canceled) if !cancel.load(Ordering::SeqCst) => infrastructure(
                "the agent was stopped from outside the run (its container or its node's daemon stopped)"
                    .into(),
            ),
            Watched::Ended(status) => status,
            Watched::Canceled => Status::Canceled,
            Watched::Lost(reason) => infrastructure(reason),
        }
    }

    /// The primary image's own process when the job keeps it (as the local Docker executor
    /// decides, from the image's configuration on the manager), and a note for the log when the
    /// manager cannot say.
    fn primary_process(
        &self,
        image: &crate::spec::DockerImage,
    ) -> Result<(Option<Vec<String>>, Option<String>), String> {
        match crate::docker::ensure_image(&self.client, &image.image, self.options.pull) {
            Ok(inspected) => {
                let keeps = crate::docker::keeps_own_process(image, &inspected);
                Ok((
                    spec::primary_process(image, inspected.config.as_ref(), keeps),
                    None,
                ))
            }
            // The job's own entrypoint needs nothing from the image.
            Err(_) if image.entrypoint.is_some() => {
                Ok((spec::primary_process(image, None, true), None))
            }
            Err(e) if image.command.is_some() => Err(format!(
                "the job's `command:` runs after image {}'s entrypoint, which the swarm manager cannot read: {e}",
                image.image
            )),
            Err(e) => Ok((
                None,
                Some(format!(
                    "note: the swarm manager cannot read image {}, so whether it keeps its own entrypoint (label com.circleci.preserve-entrypoint) is not known; it does not run: {e}",
                    image.image
                )),
            )),
        }
    }

    /// Creates the node's secrets, network, service containers and primary; the primary's id.
    fn launch(
        &self,
        base: &str,
        ticket: &crate::store::NodeTicket,
        images: &[crate::spec::DockerImage],
        job_spec: &crate::spec::JobSpec,
        process: Option<Vec<String>>,
        labels: &dyn Fn(&str) -> std::collections::HashMap<String, String>,
    ) -> Result<String, String> {
        let docker = &self.client.docker;
        let token_name = format!("{base}-token");
        let token_id = self.secret(&token_name, labels("token"), ticket.token.as_bytes())?;
        let network = base.to_string();
        let created = self
            .client
            .block_on(docker.create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("overlay".into()),
                labels: Some(labels("network")),
                ..Default::default()
            }));
        if let Err(e) = created {
            // An answer bollard cannot read still made the network.
            let exists = self
                .client
                .block_on(docker.inspect_network(&network, None))
                .is_ok();
            if !exists {
                return Err(format!(
                    "cannot create the network {network}: {}",
                    describe(&e)
                ));
            }
        }
        // Each service container reports the ports it listens on (its health check, with a
        // token good for nothing else); the agent relays them from `localhost`.
        let mut relayed = Vec::new();
        if images.len() > 1 {
            let service_token_name = format!("{base}-service-token");
            let service_token_id = self.secret(
                &service_token_name,
                labels("token"),
                ticket.service_token.as_bytes(),
            )?;
            let mut secrets = vec![SecretRef {
                id: service_token_id,
                name: service_token_name,
                file: "orrery-service-token".into(),
            }];
            secrets.extend(self.ca.clone());
            for (i, image) in images.iter().enumerate().skip(1) {
                let name = format!("{base}-s{i}");
                let own = format!("service-{i}");
                let mut aliases: Vec<String> = image.name.iter().cloned().collect();
                aliases.push(own.clone());
                let mut args: Vec<String> = [
                    "agent",
                    "ports",
                    "--store",
                    self.store.url(),
                    "--node",
                    &ticket.id,
                    "--service",
                    &own,
                    "--token-file",
                    spec::SERVICE_TOKEN_FILE,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                if self.ca.is_some() {
                    args.extend(["--ca".to_string(), spec::CA_FILE.to_string()]);
                }
                let reporter = Reporter {
                    command: self.helper.exe_command(&args),
                    binds: self.helper_binds(),
                    secrets: secrets.clone(),
                };
                let service = spec::sidecar(
                    name.clone(),
                    image,
                    labels("service"),
                    &network,
                    aliases,
                    Some(&reporter),
                    &self.options.constraints,
                );
                self.client
                    .block_on(docker.create_service(service, None))
                    .map_err(|e| format!("cannot create the service {name}: {}", describe(&e)))?;
                relayed.push(own);
            }
        }
        let mut secrets = vec![SecretRef {
            id: token_id,
            name: token_name,
            file: "orrery-token".into(),
        }];
        let mut args: Vec<String> = [
            "agent",
            "task",
            "--store",
            self.store.url(),
            "--node",
            &ticket.id,
            "--token-file",
            spec::TOKEN_FILE,
            "--helpers",
            &format!("{}/bin", helper::MOUNT),
            "--dead-man",
            &self.options.grace.as_secs().max(1).to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for host in relayed {
            args.extend(["--relay-service".to_string(), host]);
        }
        if let Some(ca) = &self.ca {
            secrets.push(ca.clone());
            args.extend(["--ca".to_string(), spec::CA_FILE.to_string()]);
        }
        // The image's own process, after `--`, with its `environment:` in the container (as
        // the local Docker executor gives it).
        let env = process
            .as_ref()
            .map(|_| spec::env_list(&images[0].environment));
        if let Some(process) = process {
            args.push("--".to_string());
            args.extend(process);
        }
        let primary = spec::primary(&Primary {
            name: base.to_string(),
            image: &images[0],
            labels: labels("primary"),
            command: self.helper.exe_command(&args),
            binds: self.helper_binds(),
            secrets,
            network,
            resource_class: job_spec.resource_class.as_deref(),
            reserve_scale: self.options.reserve_scale,
            env,
            constraints: &self.options.constraints,
        });
        let created = self
            .client
            .block_on(docker.create_service(primary, None))
            .map_err(|e| format!("cannot create the service {base}: {}", describe(&e)))?;
        created
            .id
            .ok_or_else(|| format!("the swarm gave the service {base} no id"))
    }

    /// The helper bundle (the agent), bound read-only into a container: (host path, target).
    fn helper_binds(&self) -> Vec<(String, String)> {
        vec![
            (
                self.helper.dir.display().to_string(),
                helper::MOUNT.to_string(),
            ),
            (
                self.helper.exe.display().to_string(),
                helper::EXE.to_string(),
            ),
        ]
    }

    /// Follows the primary's task until the agent reports, the task ends, the node is lost or
    /// the run is canceled.
    fn watch(
        &self,
        service: &str,
        node_id: &str,
        base: &str,
        cancel: &AtomicBool,
        event: &dyn Fn(serde_json::Value),
    ) -> Watched {
        let started = Instant::now();
        let grace = self.options.grace;
        let mut placed = false;
        let mut running_since: Option<Instant> = None;
        let mut unanswered_since: Option<Instant> = None;
        let filters =
            std::collections::HashMap::from([("service".to_string(), vec![service.to_string()])]);
        loop {
            if cancel.load(Ordering::SeqCst) {
                // Agents see it at their next heartbeat; removing the service stops the rest.
                self.store.cancel();
                return Watched::Canceled;
            }
            if let Some(outcome) = self.store.outcome(node_id) {
                return Watched::Ended(outcome.status);
            }
            let listed =
                self.client
                    .block_on(self.client.docker.list_tasks(Some(ListTasksOptions {
                        filters: Some(filters.clone()),
                    })));
            let tasks = match listed {
                Ok(tasks) => {
                    unanswered_since = None;
                    tasks
                }
                Err(e) => {
                    let since = *unanswered_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > grace {
                        return Watched::Lost(format!(
                            "the swarm manager has not answered for {}s: {}",
                            grace.as_secs(),
                            describe(&e)
                        ));
                    }
                    std::thread::sleep(POLL);
                    continue;
                }
            };
            let task = tasks.into_iter().next();
            let Some(task) = task else {
                if placed {
                    return Watched::Lost("the node's task is gone from the swarm".into());
                }
                if started.elapsed() > START_TIMEOUT {
                    return Watched::Lost(format!(
                        "the swarm made no task in {}s",
                        START_TIMEOUT.as_secs()
                    ));
                }
                std::thread::sleep(POLL);
                continue;
            };
            let status = task.status.clone().unwrap_or_default();
            let state = status.state.unwrap_or(TaskState::NEW);
            let swarm_node = task.node_id.clone().filter(|n| !n.is_empty());
            if let (false, Some(swarm_node)) = (placed, &swarm_node) {
                placed = true;
                event(
                    serde_json::json!({"event": "node_placed", "swarm_node": swarm_node, "service": base}),
                );
            }
            let said = || {
                [status.err.clone(), status.message.clone()]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(": ")
            };
            match state {
                TaskState::RUNNING => {
                    let since = *running_since.get_or_insert_with(Instant::now);
                    let heard = self
                        .store
                        .last_seen(node_id)
                        .map_or(since, |seen| seen.max(since));
                    if heard.elapsed() > grace {
                        return Watched::Lost(format!(
                            "no word from the agent for {}s (swarm node {})",
                            grace.as_secs(),
                            swarm_node.unwrap_or_default()
                        ));
                    }
                }
                TaskState::COMPLETE
                | TaskState::FAILED
                | TaskState::SHUTDOWN
                | TaskState::REJECTED
                | TaskState::ORPHANED
                | TaskState::REMOVE => {
                    // The agent reports before it exits; a report racing the exit is taken.
                    if let Some(outcome) = self.store.outcome(node_id) {
                        return Watched::Ended(outcome.status);
                    }
                    let exit = status
                        .container_status
                        .as_ref()
                        .and_then(|c| c.exit_code)
                        .map(|c| format!(" (exit code {c})"))
                        .unwrap_or_default();
                    return Watched::Lost(format!(
                        "the task ended as {state:?} without the agent's report{exit}: {}",
                        said()
                    ));
                }
                _ => {
                    if started.elapsed() > START_TIMEOUT {
                        return Watched::Lost(format!(
                            "the task did not start in {}s ({state:?}): {}",
                            START_TIMEOUT.as_secs(),
                            said()
                        ));
                    }
                }
            }
            std::thread::sleep(POLL);
        }
    }
}

enum Watched {
    /// The agent reported the node's status.
    Ended(Status),
    Canceled,
    /// An infrastructure failure, and why.
    Lost(String),
}

impl Drop for SwarmEngine {
    /// Dropping the client's runtime would cancel removals under way.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The scheduler's node runner: docker jobs on the swarm, the rest on this machine.
pub(crate) struct SwarmRunner<'a, 'b> {
    pub engine: &'b SwarmEngine,
    pub local: &'b Shared<'a>,
}

impl NodeRunner for SwarmRunner<'_, '_> {
    fn run_node(&self, job: usize, node: u32) -> Status {
        let planned = &self.engine.stores.plan.jobs[job];
        match &planned.kind {
            JobKind::Run(spec) if matches!(spec.executor, ExecutorKind::Docker { .. }) => {
                self.engine.run_remote(job, node, self.local.cancel)
            }
            _ => crate::job::run_node(self.local, job, node),
        }
    }
}
