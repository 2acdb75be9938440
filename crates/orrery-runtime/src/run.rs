//! One run of a plan: the per-run folder (`events.jsonl`, a folder per job with its log,
//! artifacts and test results), the shared stores, and the [`NodeRunner`] the scheduler calls.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cache::CacheStore;
use crate::checkout::{self, CheckoutMode};
use crate::env::{uuid, RunInfo};
use crate::executor::Executor;
use crate::junit::Summary;
use crate::mask::Masker;
use crate::plan::{Plan, Status};
use crate::schedule::{run_plan, Approver, JobResult, NodeRunner, ScheduleEvent};
use crate::secrets::Secrets;
use crate::split::Timings;
use crate::swarm::{SwarmEngine, SwarmOptions, SwarmRunner};

/// Where output goes as it happens. Lines arrive already masked.
pub trait Console: Send + Sync {
    /// One line of a job's output; `job` is the plan index (for a stable colour).
    fn job_line(&self, label: &str, job: usize, line: &str);
    /// A line about the run itself.
    fn note(&self, line: &str);
    /// A job started (for a progress display; nothing by default).
    fn job_started(&self, _name: &str) {}
    /// A job ended with `status` (for a progress display; nothing by default).
    fn job_finished(&self, _name: &str, _status: Status) {}
}

pub struct RunOptions {
    /// This run's folder (created).
    pub run_dir: PathBuf,
    pub project_root: PathBuf,
    pub checkout: CheckoutMode,
    pub cache_dir: PathBuf,
    /// Recorded test timings, read by `circleci tests split --split-by=timings`.
    pub timings_file: PathBuf,
    /// A directory holding the `circleci` and `circleci-agent` helpers, put first on PATH.
    pub helper_dir: Option<PathBuf>,
    pub max_parallel: usize,
    pub info: RunInfo,
    pub secrets: Secrets,
    /// The first `CIRCLE_BUILD_NUM` of this run.
    pub first_build_num: u64,
}

/// What happened to one node beyond its status.
#[derive(Clone, Debug, Default)]
pub struct NodeReport {
    pub tests: Option<Summary>,
    pub artifacts: usize,
}

pub struct RunReport {
    pub results: Vec<JobResult>,
    pub nodes: BTreeMap<(usize, u32), NodeReport>,
    pub last_build_num: u64,
}

/// `events.jsonl`: one JSON object per line, masked like every other output.
pub struct EventLog {
    file: Mutex<Option<fs::File>>,
    masker: Masker,
}

impl EventLog {
    pub fn emit(&self, mut event: serde_json::Value) {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        if let Some(obj) = event.as_object_mut() {
            obj.insert("ts_ms".into(), ms.into());
        }
        let line = self.masker.mask(&event.to_string());
        if let Ok(mut guard) = self.file.lock() {
            if let Some(f) = guard.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
    }
}

/// A run's stores and records, owned (not borrowed from the caller) so that the coordinator's
/// HTTP store (`crate::store`) can serve them to agents from its own threads.
pub struct RunStores {
    pub plan: Plan,
    pub run_dir: PathBuf,
    project_root: PathBuf,
    checkout_mode: CheckoutMode,
    timings_file: PathBuf,
    helper_dir: Option<PathBuf>,
    pub info: RunInfo,
    pub secrets: Secrets,
    pub console: Arc<dyn Console>,
    pub events: EventLog,
    pub build_num: AtomicU64,
    pub workflow_ids: BTreeMap<String, String>,
    pub caches: CacheStore,
    checkout_tars: Mutex<Option<Result<Vec<PathBuf>, String>>>,
    pub timings: Mutex<Timings>,
    pub reports: Mutex<BTreeMap<(usize, u32), NodeReport>>,
    /// Test cases per job, recorded as timings only when the whole job succeeds.
    pub cases: Mutex<BTreeMap<usize, Vec<crate::junit::TestCase>>>,
    /// Masks project variables (every job sees them) plus every context's values.
    pub masker: Masker,
}

impl RunStores {
    /// Creates the run folder and its `events.jsonl`, and reads the recorded test timings.
    pub fn new(
        plan: &Plan,
        options: &RunOptions,
        console: Arc<dyn Console>,
    ) -> Result<RunStores, String> {
        fs::create_dir_all(&options.run_dir)
            .map_err(|e| format!("cannot create {}: {e}", options.run_dir.display()))?;
        let masker = Masker::new(options.secrets.values());
        let events_file = fs::File::create(options.run_dir.join("events.jsonl"))
            .map_err(|e| format!("cannot write events.jsonl: {e}"))?;
        let timings = fs::read(&options.timings_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .map(|v| Timings::from_json(&v))
            .unwrap_or_default();
        Ok(RunStores {
            plan: plan.clone(),
            run_dir: options.run_dir.clone(),
            project_root: options.project_root.clone(),
            checkout_mode: options.checkout,
            timings_file: options.timings_file.clone(),
            helper_dir: options.helper_dir.clone(),
            info: options.info.clone(),
            secrets: options.secrets.clone(),
            console,
            events: EventLog {
                file: Mutex::new(Some(events_file)),
                masker: masker.clone(),
            },
            build_num: AtomicU64::new(options.first_build_num),
            workflow_ids: plan.workflows.iter().map(|w| (w.clone(), uuid())).collect(),
            caches: CacheStore::new(&options.cache_dir),
            checkout_tars: Mutex::new(None),
            timings: Mutex::new(timings),
            reports: Mutex::new(BTreeMap::new()),
            cases: Mutex::new(BTreeMap::new()),
            masker,
        })
    }

    /// The folder of one job (node) in the run folder.
    pub fn job_dir(&self, job: usize, node: u32) -> PathBuf {
        let j = &self.plan.jobs[job];
        let dir = self.run_dir.join(safe(&j.workflow)).join(safe(&j.name));
        if j.nodes() > 1 {
            dir.join(node.to_string())
        } else {
            dir
        }
    }

    /// A fresh host directory for one node (the machine executor's home and task files).
    pub fn scratch_dir(&self, job: usize, node: u32) -> PathBuf {
        let j = &self.plan.jobs[job];
        self.run_dir.join(".work").join("nodes").join(format!(
            "{}-{}-{node}",
            safe(&j.workflow),
            safe(&j.name)
        ))
    }

    pub fn project_root(&self) -> &Path {
        &self.project_root
    }

    pub fn helper_dir(&self) -> Option<&Path> {
        self.helper_dir.as_deref()
    }

    pub fn timings_file(&self) -> &Path {
        &self.timings_file
    }

    pub fn checkout_tars(&self) -> Result<Vec<PathBuf>, String> {
        let mut guard = self
            .checkout_tars
            .lock()
            .map_err(|_| "checkout lock poisoned")?;
        if guard.is_none() {
            *guard = Some(checkout::prepare(
                &self.project_root,
                self.checkout_mode,
                &self.run_dir.join(".work").join("checkout"),
            ));
        }
        guard.clone().unwrap_or_else(|| Err("no checkout".into()))
    }

    pub fn workspace_dir(&self, workflow: &str) -> PathBuf {
        self.run_dir
            .join(".work")
            .join("workspace")
            .join(safe(workflow))
    }
}

/// What the local node runner borrows for one run.
pub(crate) struct Shared<'a> {
    pub stores: Arc<RunStores>,
    pub executor: &'a dyn Executor,
    pub cancel: &'a AtomicBool,
}

/// A name usable as one path segment.
pub fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s == "." || s == ".." {
        format!("_{s}")
    } else {
        s
    }
}

struct Runner<'a, 'b>(&'b Shared<'a>);

impl NodeRunner for Runner<'_, '_> {
    fn run_node(&self, job: usize, node: u32) -> Status {
        crate::job::run_node(self.0, job, node)
    }
}

/// Reserves `count` consecutive build numbers in the project's counter file (which holds the
/// last number given out) and returns the first. The file is read and rewritten under an
/// exclusive lock, so runs started at once never share a number.
pub fn reserve_build_numbers(counter: &Path, count: u64) -> Result<u64, String> {
    use std::io::{Read, Seek};
    let err = |e: std::io::Error| format!("build number counter {}: {e}", counter.display());
    if let Some(parent) = counter.parent() {
        fs::create_dir_all(parent).map_err(err)?;
    }
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(counter)
        .map_err(err)?;
    file.lock().map_err(err)?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(err)?;
    let last = text.trim().parse::<u64>().unwrap_or(0);
    file.rewind().map_err(err)?;
    file.set_len(0).map_err(err)?;
    write!(file, "{}", last + count).map_err(err)?;
    file.sync_data().map_err(err)?;
    // Closing the file releases the lock.
    Ok(last + 1)
}

/// Runs `plan` with `executor`; everything the run writes goes under `options.run_dir`.
pub fn execute(
    plan: &Plan,
    options: &RunOptions,
    executor: &dyn Executor,
    approver: &dyn Approver,
    console: Arc<dyn Console>,
    cancel: &AtomicBool,
) -> Result<RunReport, String> {
    execute_on(plan, options, executor, None, approver, console, cancel)
}

/// As [`execute`], with docker jobs on a Docker Swarm when `swarm` is given (the other jobs
/// still run here with `executor`).
pub fn execute_on(
    plan: &Plan,
    options: &RunOptions,
    executor: &dyn Executor,
    swarm: Option<&SwarmOptions>,
    approver: &dyn Approver,
    console: Arc<dyn Console>,
    cancel: &AtomicBool,
) -> Result<RunReport, String> {
    let stores = Arc::new(RunStores::new(plan, options, console)?);
    let shared = Shared {
        stores: stores.clone(),
        executor,
        cancel,
    };
    let shared = &shared;
    let run_id = options
        .run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let engine = match swarm {
        Some(o) => Some(SwarmEngine::start(o, stores.clone(), &run_id)?),
        None => None,
    };
    let local = Runner(shared);
    let on_swarm = engine.as_ref().map(|engine| SwarmRunner {
        engine,
        local: shared,
    });
    let runner: &dyn NodeRunner = match &on_swarm {
        Some(r) => r,
        None => &local,
    };
    let stores = &*stores;
    stores.events.emit(serde_json::json!({
        "event": "run_started",
        "pipeline_id": options.info.pipeline_id,
        "workflows": plan.workflows.iter().map(|w| serde_json::json!({"name": w, "id": stores.workflow_ids.get(w)})).collect::<Vec<_>>(),
        "jobs": plan.jobs.iter().map(|j| serde_json::json!({"workflow": j.workflow, "name": j.name, "nodes": j.nodes()})).collect::<Vec<_>>(),
    }));
    let on_event = |e: ScheduleEvent| {
        let job_json = |j: usize| {
            let job = &plan.jobs[j];
            (job.workflow.clone(), job.name.clone())
        };
        match e {
            ScheduleEvent::JobStarted { job } => {
                let (w, n) = job_json(job);
                stores.console.job_started(&n);
                stores
                    .events
                    .emit(serde_json::json!({"event": "job_started", "workflow": w, "job": n}));
            }
            ScheduleEvent::JobFinished {
                job,
                status,
                duration,
            } => {
                let (w, n) = job_json(job);
                stores.console.job_finished(&n, status);
                stores.events.emit(serde_json::json!({"event": "job_finished", "workflow": w, "job": n, "status": status.as_str(), "duration_ms": duration.as_millis() as u64}));
                if status == Status::Success {
                    record_timings(stores, job);
                }
            }
            ScheduleEvent::Approval { job, decision } => {
                let (w, n) = job_json(job);
                let d = format!("{decision:?}").to_lowercase();
                stores.events.emit(serde_json::json!({"event": "approval", "workflow": w, "job": n, "decision": d}));
                stores.console.note(&format!("approval `{n}`: {d}"));
            }
        }
    };
    let results = run_plan(
        plan,
        options.max_parallel,
        runner,
        approver,
        cancel,
        &on_event,
    );
    if let Some(engine) = &engine {
        for problem in engine.finish() {
            stores
                .console
                .note(&format!("warning: not removed from the swarm: {problem}"));
        }
    }
    for (j, r) in results.iter().enumerate() {
        if !r.ran {
            let job = &plan.jobs[j];
            stores.events.emit(serde_json::json!({"event": "job_finished", "workflow": job.workflow, "job": job.name, "status": r.status.as_str(), "duration_ms": 0}));
        }
    }
    stores.events.emit(
        serde_json::json!({"event": "run_finished", "canceled": cancel.load(Ordering::SeqCst)}),
    );
    let _ = fs::remove_dir_all(options.run_dir.join(".work"));
    let reports = stores.reports.lock().map(|r| r.clone()).unwrap_or_default();
    Ok(RunReport {
        results,
        nodes: reports,
        last_build_num: stores.build_num.load(Ordering::SeqCst),
    })
}

fn record_timings(stores: &RunStores, job: usize) {
    let cases = stores
        .cases
        .lock()
        .ok()
        .and_then(|mut c| c.remove(&job))
        .unwrap_or_default();
    if cases.is_empty() {
        return;
    }
    if let Ok(mut t) = stores.timings.lock() {
        t.record(&cases);
        let path: &Path = &stores.timings_file;
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        if fs::write(&tmp, t.to_json().to_string()).is_ok() {
            let _ = fs::rename(&tmp, path);
        }
    }
}
