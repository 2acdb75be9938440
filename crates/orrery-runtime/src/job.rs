//! Runs the steps of one job node through a [`JobEnv`]: the environment chain, step conditions,
//! `run` steps, checkout, caches, workspaces, artifacts and test results, halting.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::archive;
use crate::duration::format_go;
use crate::env::{builtins, chain, uuid, NodeInfo};
use crate::executor::{ExecOutcome, ExecRequest, JobEnv, NodeSetup};
use crate::junit;
use crate::keys::{host_arch, render_key, KeyContext};
use crate::mask::{LineSplitter, Masker};
use crate::plan::{JobKind, Status};
use crate::run::{NodeReport, Shared};
use crate::services::{admit, node_task, LocalServices, NodeServices, NodeTask};
use crate::spec::{JobSpec, RunStep, Step, StepKind};

/// A node's log: every line masked first, then handed to the node's sink (the run's log file
/// and console, or the agent's stream to the store).
pub(crate) struct JobLog {
    masker: Masker,
    sink: Box<dyn Fn(&str) + Send + Sync>,
}

impl JobLog {
    pub fn new(masker: Masker, sink: Box<dyn Fn(&str) + Send + Sync>) -> JobLog {
        JobLog { masker, sink }
    }

    pub fn line(&self, text: &str) {
        (self.sink)(&self.masker.mask(text));
    }
}

enum StepResult {
    Success,
    Failed(String),
    Canceled,
}

struct Node<'s> {
    task: &'s NodeTask,
    services: &'s dyn NodeServices,
    cancel: &'s AtomicBool,
    spec: &'s JobSpec,
    env: Box<dyn JobEnv>,
    log: Arc<JobLog>,
    /// The job's environment chain without the step layer.
    vars: Vec<(String, String)>,
    working_dir: PathBuf,
    report: NodeReport,
}

/// Runs one job node on this machine: its executor's [`JobEnv`] over the run's own stores.
pub(crate) fn run_node(shared: &Shared<'_>, job: usize, node: u32) -> Status {
    let stores = &shared.stores;
    let planned = &stores.plan.jobs[job];
    if !matches!(planned.kind, JobKind::Run(_)) {
        return Status::Success;
    }
    let services = Arc::new(LocalServices::new(stores.clone(), job, node));
    let started = Instant::now();
    let emit_node = |status: Status| {
        stores.events.emit(serde_json::json!({
            "event": "node_finished", "workflow": planned.workflow, "job": planned.name,
            "node": node, "status": status.as_str(), "duration_ms": started.elapsed().as_millis() as u64,
        }));
        status
    };
    stores.events.emit(serde_json::json!({"event": "node_started", "workflow": planned.workflow, "job": planned.name, "node": node}));
    let log = Arc::new(JobLog::new(stores.masker.clone(), {
        let services = services.clone();
        Box::new(move |line| services.log.write(line))
    }));
    if let Err((status, message)) = admit(stores, job) {
        log.line(&message);
        return emit_node(status);
    }
    let JobKind::Run(spec) = &planned.kind else {
        return Status::Success;
    };
    let setup = NodeSetup {
        spec,
        label: services.log.label().to_string(),
        scratch: stores.scratch_dir(job, node),
    };
    let env = match shared.executor.start(&setup) {
        Ok(env) => env,
        Err(e) => {
            log.line(&format!("cannot start the job: {e}"));
            return emit_node(Status::Failed);
        }
    };
    let build_num = stores.build_num.fetch_add(1, Ordering::SeqCst);
    let Some(task) = node_task(stores, job, node, build_num) else {
        return Status::Success;
    };
    let (status, report) = run_task(&task, env, services.as_ref(), log.clone(), shared.cancel);
    if let Ok(mut r) = stores.reports.lock() {
        r.insert((job, node), report);
    }
    log.line(&format!(
        "job {} ({})",
        status.as_str(),
        fmt_secs(started.elapsed().as_secs_f64())
    ));
    emit_node(status)
}

/// Runs the steps of `task` in `env`, with what they need from outside through `services`:
/// the step runner shared by the local executors and `orrery agent task`. Ends the
/// environment ([`JobEnv::finish`]) before it returns.
pub(crate) fn run_task(
    task: &NodeTask,
    mut env: Box<dyn JobEnv>,
    services: &dyn NodeServices,
    log: Arc<JobLog>,
    cancel: &AtomicBool,
) -> (Status, NodeReport) {
    let spec = &task.spec;
    let home = env.home();
    let working_dir = resolve(&home, &home, &spec.working_directory);
    let task_dir = env.task_dir();
    let info = NodeInfo {
        job: &task.job,
        node: task.node,
        total: task.total,
        build_num: task.build_num,
        build_url: task.build_url.clone(),
        workflow_id: &task.workflow_id,
        job_id: uuid(),
        working_directory: &spec.working_directory,
        task_dir: task_dir.display().to_string(),
        bash_env: task_dir.join("bash_env").display().to_string(),
    };
    let mut base = env.base_env();
    if let Some((bin, timings)) = services.helpers(env.as_ref()) {
        let path = base
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        base.push(("PATH".into(), format!("{}:{path}", bin.display())));
        base.push(("ORRERY_TIMINGS".into(), timings.display().to_string()));
    }
    let vars = chain(&[
        &base,
        &task.secrets,
        &builtins(&task.info, &info),
        &spec.environment,
    ]);
    let bash_env = task_dir.join("bash_env");
    if !env.exists(&bash_env) {
        if let Err(e) = env.write_file(&bash_env, b"") {
            log.line(&format!("cannot create BASH_ENV: {e}"));
        }
    }
    let mut n = Node {
        task,
        services,
        cancel,
        spec,
        env,
        log,
        vars,
        working_dir,
        report: NodeReport::default(),
    };
    let status = n.steps();
    n.env.finish();
    (status, n.report)
}

fn fmt_secs(s: f64) -> String {
    format!("{s:.2}s")
}

/// `~`, `~/x`, absolute, or relative to `base`; the machine image's `/home/circleci` is `~`.
pub(crate) fn resolve(home: &Path, base: &Path, path: &str) -> PathBuf {
    if path == "~" {
        return home.to_path_buf();
    }
    if let Some(rest) = path.strip_prefix("~/") {
        return home.join(rest);
    }
    if path == "/home/circleci" {
        return home.to_path_buf();
    }
    if let Some(rest) = path.strip_prefix("/home/circleci/") {
        return home.join(rest);
    }
    base.join(path)
}

impl Node<'_> {
    fn steps(&mut self) -> Status {
        if let Err(e) = self.env.make_dir(&self.working_dir.clone()) {
            self.log.line(&e);
            return Status::Failed;
        }
        let mut failed = false;
        let halt = self.env.task_dir().join("halt");
        for (i, step) in self.spec.steps.iter().enumerate() {
            if self.cancel.load(Ordering::SeqCst) {
                return Status::Canceled;
            }
            if !step.when.runs(failed) {
                continue;
            }
            self.log.line(&format!("==> {}", step.name));
            let started = Instant::now();
            let result = self.step(step);
            let (status, message) = match &result {
                StepResult::Success => ("success", None),
                StepResult::Failed(m) => ("failed", Some(m.clone())),
                StepResult::Canceled => ("canceled", None),
            };
            if let Some(m) = &message {
                self.log.line(m);
            }
            self.services.event(serde_json::json!({
                "event": "step_finished", "workflow": self.task.workflow,
                "job": self.spec.name, "node": self.task.node, "step": i, "name": step.name,
                "status": status, "message": message, "duration_ms": started.elapsed().as_millis() as u64,
            }));
            match result {
                StepResult::Success => {}
                StepResult::Failed(_) => failed = true,
                // Interrupted: nothing else runs, not even `always` steps.
                StepResult::Canceled => return Status::Canceled,
            }
            if self.env.exists(&halt) {
                self.log.line("halted by `circleci-agent step halt`");
                break;
            }
        }
        if failed {
            Status::Failed
        } else {
            Status::Success
        }
    }

    fn step(&mut self, step: &Step) -> StepResult {
        let r = match &step.kind {
            StepKind::Run(run) => return self.run(run),
            StepKind::Checkout { path } => self.checkout(path.as_deref()),
            StepKind::SaveCache { key, paths } => self.save_cache(key, paths),
            StepKind::RestoreCache { keys } => self.restore_cache(keys),
            StepKind::PersistToWorkspace { root, paths } => self.persist(root, paths),
            StepKind::AttachWorkspace { at } => self.attach(at),
            StepKind::StoreArtifacts { path, destination } => {
                self.artifacts(path, destination.as_deref())
            }
            StepKind::StoreTestResults { path } => self.test_results(path),
            StepKind::SetupRemoteDocker => {
                self.log
                    .line("the host's Docker engine serves as the remote engine");
                Ok(())
            }
            StepKind::AddSshKeys => {
                self.log
                    .line("the host user's SSH keys and configuration are used as they are");
                Ok(())
            }
            StepKind::Unsupported { name } => Err(format!("step `{name}` cannot run locally")),
        };
        match r {
            Ok(()) => StepResult::Success,
            Err(m) => StepResult::Failed(m),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        resolve(&self.env.home(), &self.working_dir, p)
    }

    fn shell(&mut self, written: Option<&str>) -> Vec<String> {
        if let Some(s) = written.or(self.spec.shell.as_deref()) {
            return s.split_whitespace().map(str::to_string).collect();
        }
        let shell = if self.env.has_executable(Path::new("/bin/bash")) {
            "/bin/bash"
        } else {
            "/bin/sh"
        };
        vec![shell.into(), "-eo".into(), "pipefail".into()]
    }

    fn run(&mut self, run: &RunStep) -> StepResult {
        let argv = self.shell(run.shell.as_deref());
        let vars = chain(&[&self.vars, &run.environment]);
        let cwd = match &run.working_directory {
            Some(w) => self.path(w),
            None => self.working_dir.clone(),
        };
        let request = ExecRequest {
            argv: argv.clone(),
            script: run.command.clone(),
            env: vars,
            cwd,
            no_output_timeout: run.no_output_timeout,
        };
        self.log.line(&format!("#!{}", argv.join(" ")));
        if run.background {
            let log = self.log.clone();
            let mut lines = LineSplitter::new(log.masker.clone());
            let out = Box::new(move |chunk: &[u8]| {
                lines.push(chunk, |l| log.line(&format!("(background) {l}")));
            });
            return match self.env.spawn_background(&request, out) {
                Ok(()) => StepResult::Success,
                Err(e) => StepResult::Failed(e),
            };
        }
        let log = self.log.clone();
        let mut lines = LineSplitter::new(log.masker.clone());
        let outcome = self.env.exec(
            &request,
            &mut |chunk| lines.push(chunk, |l| log.line(l)),
            self.cancel,
        );
        lines.flush(|l| log.line(l));
        match outcome {
            ExecOutcome::Exited(0) => StepResult::Success,
            ExecOutcome::Exited(code) => {
                StepResult::Failed(format!("Exited with code exit status {code}"))
            }
            ExecOutcome::NoOutputTimeout => StepResult::Failed(format!(
                "Too long with no output (exceeded {}): context deadline exceeded",
                format_go(run.no_output_timeout)
            )),
            ExecOutcome::Canceled => StepResult::Canceled,
            ExecOutcome::Error(e) => StepResult::Failed(e),
        }
    }

    fn checkout(&mut self, path: Option<&str>) -> Result<(), String> {
        let target = match path {
            Some(p) => self.path(p),
            None => self.working_dir.clone(),
        };
        if self.env.exists(&target) && !self.env.exists(&target.join(".git")) {
            let listed = self.env.glob(&target, "*");
            if !listed.is_empty() {
                return Err(format!("Directory ({}) you are trying to checkout to is not empty and not a git repository", target.display()));
            }
        }
        let env = &mut self.env;
        let files = self
            .services
            .checkout(&mut |tar| Ok(env.put_archive(&target, tar)?.len()))?;
        self.log.line(&format!(
            "copied {files} entries of {} into {}",
            self.task.project,
            target.display()
        ));
        Ok(())
    }

    fn key(&mut self, template: &str) -> Result<String, String> {
        let info = &self.task.info;
        let wd = self.working_dir.clone();
        let home = self.env.home();
        let env = &mut self.env;
        let mut read = |f: &str| env.read_file(&resolve(&home, &wd, f));
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut ctx = KeyContext {
            branch: info.branch.as_deref().unwrap_or(""),
            revision: info.sha1.as_deref().unwrap_or(""),
            build_num: self.task.build_num,
            environment: &self.vars,
            epoch,
            arch: host_arch(),
            read: &mut read,
        };
        render_key(template, &mut ctx)
    }

    fn save_cache(&mut self, key: &str, paths: &[String]) -> Result<(), String> {
        let key = self.key(key)?;
        if key.len() > 900 {
            return Err("cache keys are at most 900 characters".into());
        }
        if self.services.cache_exists(&key)? {
            self.log.line(&format!(
                "Skipping cache generation, cache already exists for key: {key}"
            ));
            return Ok(());
        }
        let home = self.env.home();
        let mut rels = Vec::new();
        for p in paths {
            let full = self.path(p);
            match full.strip_prefix(&home) {
                Ok(rel) if self.env.exists(&full) => rels.push(rel.to_path_buf()),
                Ok(_) => self.log.line(&format!("Warning: could not find {p}, not caching it")),
                Err(_) => self.log.line(&format!("Warning: {p} is outside the job's home {}; the machine executor only caches paths under ~", home.display())),
            }
        }
        if rels.is_empty() {
            self.log.line("Warning: nothing to cache");
            return Ok(());
        }
        let env = &mut self.env;
        let saved = self.services.cache_save(&key, &mut |w| {
            let mut gz = GzEncoder::new(w, Compression::fast());
            env.get_archive(&home, &rels, &mut gz)?;
            gz.finish().map(|_| ()).map_err(|e| e.to_string())
        })?;
        match saved {
            crate::cache::Saved::Saved(size) => {
                self.log.line(&format!("Stored cache {key} ({size} bytes)"))
            }
            crate::cache::Saved::Exists => self.log.line(&format!(
                "Skipping cache generation, cache already exists for key: {key}"
            )),
        }
        Ok(())
    }

    fn restore_cache(&mut self, keys: &[String]) -> Result<(), String> {
        let mut rendered = Vec::new();
        for k in keys {
            rendered.push(self.key(k)?);
        }
        let home = self.env.home();
        let env = &mut self.env;
        let log = &self.log;
        let restored = self
            .services
            .cache_restore(&rendered, &mut |key, archive| {
                log.line(&format!("Found a cache with key {key}"));
                let mut gz = GzDecoder::new(BufReader::new(archive));
                Ok(env.put_archive(&home, &mut gz)?.len())
            })?;
        match restored {
            Some(n) => self.log.line(&format!("Restored {n} entries")),
            None => self.log.line(&format!(
                "No cache is found for key: {}",
                rendered.join(", ")
            )),
        }
        Ok(())
    }

    fn persist(&mut self, root: &str, paths: &[String]) -> Result<(), String> {
        let root = self.path(root);
        let mut rels: Vec<PathBuf> = Vec::new();
        for p in paths {
            let clean = p.trim_start_matches("./");
            if clean.is_empty() || clean == "." {
                return Err("persist_to_workspace: a path must not be the root itself".into());
            }
            let matched = if clean.contains(['*', '?', '[', '{']) {
                self.env.glob(&root, clean)
            } else if self.env.exists(&root.join(clean)) {
                vec![PathBuf::from(clean)]
            } else {
                Vec::new()
            };
            if matched.is_empty() {
                return Err(format!(
                    "The specified paths did not match any files in {}: {p}",
                    root.display()
                ));
            }
            let mut matched: Vec<PathBuf> = matched
                .into_iter()
                .filter_map(|m| archive::contained(&m))
                .collect();
            rels.append(&mut matched);
        }
        rels.sort();
        rels.dedup();
        let env = &mut self.env;
        let n = self.services.persist_layer(&mut |out| {
            let mut gz = GzEncoder::new(out, Compression::fast());
            let n = env.get_archive(&root, &rels, &mut gz)?;
            gz.finish().map_err(|e| e.to_string())?;
            Ok(n)
        })?;
        self.log
            .line(&format!("Persisted {n} entries from {}", root.display()));
        Ok(())
    }

    fn attach(&mut self, at: &str) -> Result<(), String> {
        let at = self.path(at);
        let env = &mut self.env;
        let (layers, count) = self.services.attach_layers(&mut |layer| {
            let mut gz = GzDecoder::new(BufReader::new(layer));
            Ok(env.put_archive(&at, &mut gz)?.len())
        })?;
        self.log.line(&format!(
            "Attached {layers} layers ({count} entries) at {}",
            at.display()
        ));
        Ok(())
    }

    /// Copies `path` out of the job into `dest` (under the node's folder); returns the tar it
    /// sent and the files stored.
    fn copy_out(&mut self, path: &Path, dest: &Path) -> Result<(Vec<u8>, usize), String> {
        let (base, name) = match (path.parent(), path.file_name()) {
            (Some(b), Some(n)) => (b.to_path_buf(), PathBuf::from(n)),
            _ => return Err(format!("cannot copy {}", path.display())),
        };
        let mut tar = Vec::new();
        self.env
            .get_archive(&base, std::slice::from_ref(&name), &mut tar)?;
        let files = self
            .services
            .store_files(dest, &name, &mut tar.as_slice())?;
        Ok((tar, files))
    }

    fn artifacts(&mut self, path: &str, destination: Option<&str>) -> Result<(), String> {
        let full = self.path(path);
        if !self.env.exists(&full) {
            self.log
                .line(&format!("No artifact files found at {}", full.display()));
            return Ok(());
        }
        let prefix = destination
            .unwrap_or(path)
            .trim_start_matches("~/")
            .trim_start_matches('/');
        let prefix = archive::contained(Path::new(prefix))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("artifacts"));
        let dest = Path::new("artifacts").join(prefix);
        let (_, n) = self.copy_out(&full, &dest)?;
        self.report.artifacts += n;
        let files = if n == 1 { "file" } else { "files" };
        self.log.line(&format!("Stored {n} artifact {files}"));
        Ok(())
    }

    fn test_results(&mut self, path: &str) -> Result<(), String> {
        let full = self.path(path);
        if !self.env.exists(&full) {
            self.log
                .line(&format!("No test results found at {}", full.display()));
            return Ok(());
        }
        let dest = Path::new("test-results").join(full.file_name().unwrap_or_default());
        let (tar, _) = self.copy_out(&full, &dest)?;
        let mut cases = Vec::new();
        for (file, text) in xml_files(&tar) {
            match junit::parse(&text) {
                Ok(mut c) => cases.append(&mut c),
                Err(e) => self.log.line(&format!(
                    "Warning: {} is not JUnit XML: {e}",
                    full.parent().unwrap_or(&full).join(file).display()
                )),
            }
        }
        let summary = junit::summarize(&cases);
        self.log.line(&format!("Test results: {}", summary.line()));
        for f in &summary.failing {
            self.log.line(&format!("  failed: {f}"));
        }
        self.services.test_results(&summary, &cases);
        let merged = match self.report.tests.take() {
            None => summary,
            Some(mut s) => {
                s.tests += summary.tests;
                s.failures += summary.failures;
                s.errors += summary.errors;
                s.skipped += summary.skipped;
                s.time += summary.time;
                s.failing.extend(summary.failing);
                s
            }
        };
        self.report.tests = Some(merged);
        Ok(())
    }
}

/// The `.xml` files of a tar (regular files only), in path order, as text.
fn xml_files(tar: &[u8]) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(tar);
    let Ok(entries) = archive.entries() else {
        return out;
    };
    for entry in entries.flatten() {
        let mut entry = entry;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let Ok(path) = entry.path().map(|p| p.into_owned()) else {
            continue;
        };
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        let mut text = String::new();
        if entry.read_to_string(&mut text).is_ok() {
            out.push((path, text));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
