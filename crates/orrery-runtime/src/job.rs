//! Runs the steps of one job node through a [`JobEnv`]: the environment chain, step conditions,
//! `run` steps, checkout, caches, workspaces, artifacts and test results, halting.

use std::fs;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
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
use crate::run::{safe, NodeReport, Shared};
use crate::spec::{ExecutorKind, JobSpec, RunStep, Step, StepKind};

/// A node's log: the job log file and the console, every line masked first.
pub(crate) struct JobLog {
    label: String,
    job: usize,
    file: Mutex<Option<fs::File>>,
    masker: Masker,
    console: Arc<dyn crate::run::Console>,
}

impl JobLog {
    pub fn line(&self, text: &str) {
        let text = self.masker.mask(text);
        if let Ok(mut f) = self.file.lock() {
            if let Some(f) = f.as_mut() {
                let _ = writeln!(f, "{text}");
            }
        }
        self.console.job_line(&self.label, self.job, &text);
    }
}

enum StepResult {
    Success,
    Failed(String),
    Canceled,
}

struct Node<'s, 'a> {
    shared: &'s Shared<'a>,
    job: usize,
    node: u32,
    spec: &'s JobSpec,
    env: Box<dyn JobEnv>,
    log: Arc<JobLog>,
    /// The job's environment chain without the step layer.
    vars: Vec<(String, String)>,
    working_dir: PathBuf,
    build_num: u64,
    dir: PathBuf,
    report: NodeReport,
    persisted: usize,
}

pub(crate) fn run_node(shared: &Shared<'_>, job: usize, node: u32) -> Status {
    let planned = &shared.plan.jobs[job];
    let JobKind::Run(spec) = &planned.kind else {
        return Status::Success;
    };
    let dir = shared.job_dir(job, node);
    let label = if planned.nodes() > 1 {
        format!("{}/{node}", planned.name)
    } else {
        planned.name.clone()
    };
    let _ = fs::create_dir_all(&dir);
    let log = Arc::new(JobLog {
        label: label.clone(),
        job,
        file: Mutex::new(fs::File::create(dir.join("log.txt")).ok()),
        masker: shared.masker.clone(),
        console: shared.console.clone(),
    });
    let started = Instant::now();
    let emit_node = |status: Status| {
        shared.events.emit(serde_json::json!({
            "event": "node_finished", "workflow": planned.workflow, "job": planned.name,
            "node": node, "status": status.as_str(), "duration_ms": started.elapsed().as_millis() as u64,
        }));
        status
    };
    shared.events.emit(serde_json::json!({"event": "node_started", "workflow": planned.workflow, "job": planned.name, "node": node}));

    if let Some(missing) = planned
        .contexts
        .iter()
        .find(|c| !shared.options.secrets.contexts.contains_key(*c))
    {
        log.line(&format!(
            "context `{missing}` is not in the secrets file: the job is unauthorized"
        ));
        return emit_node(Status::Unauthorized);
    }
    match &spec.executor {
        ExecutorKind::Machine | ExecutorKind::Docker { .. } => {}
        other => {
            log.line(&format!("the {} executor cannot run here", other.label()));
            return emit_node(Status::Failed);
        }
    }
    let setup = NodeSetup {
        spec,
        label: label.clone(),
        scratch: shared
            .options
            .run_dir
            .join(".work")
            .join("nodes")
            .join(format!(
                "{}-{}-{node}",
                safe(&planned.workflow),
                safe(&planned.name)
            )),
    };
    let env = match shared.executor.start(&setup) {
        Ok(env) => env,
        Err(e) => {
            log.line(&format!("cannot start the job: {e}"));
            return emit_node(Status::Failed);
        }
    };
    let build_num = shared.build_num.fetch_add(1, Ordering::SeqCst);
    let home = env.home();
    let working_dir = resolve(&home, &home, &spec.working_directory);
    let task = env.task_dir();
    let info = NodeInfo {
        job: &planned.name,
        node,
        total: planned.nodes(),
        build_num,
        build_url: format!("file://{}", dir.display()),
        workflow_id: shared
            .workflow_ids
            .get(&planned.workflow)
            .map(String::as_str)
            .unwrap_or(""),
        job_id: uuid(),
        working_directory: &spec.working_directory,
        task_dir: task.display().to_string(),
        bash_env: task.join("bash_env").display().to_string(),
    };
    let mut env = env;
    let mut base = env.base_env();
    let helpers = shared
        .options
        .helper_dir
        .as_ref()
        .and_then(|dir| env.helpers(dir, &shared.options.timings_file));
    if let Some((bin, timings)) = helpers {
        let path = base
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        base.push(("PATH".into(), format!("{}:{path}", bin.display())));
        base.push(("ORRERY_TIMINGS".into(), timings.display().to_string()));
    }
    let secrets = &shared.options.secrets;
    let contexts: Vec<(String, String)> = planned
        .contexts
        .iter()
        .flat_map(|c| secrets.contexts.get(c).cloned().unwrap_or_default())
        .collect();
    let vars = chain(&[
        &base,
        &secrets.project,
        &contexts,
        &builtins(&shared.options.info, &info),
        &spec.environment,
    ]);
    let bash_env = task.join("bash_env");
    if !env.exists(&bash_env) {
        if let Err(e) = env.write_file(&bash_env, b"") {
            log.line(&format!("cannot create BASH_ENV: {e}"));
        }
    }
    let mut n = Node {
        shared,
        job,
        node,
        spec,
        env,
        log,
        vars,
        working_dir,
        build_num,
        dir,
        report: NodeReport::default(),
        persisted: 0,
    };
    let status = n.steps();
    n.env.finish();
    if let Ok(mut r) = shared.reports.lock() {
        r.insert((job, node), n.report.clone());
    }
    n.log.line(&format!(
        "job {} ({})",
        status.as_str(),
        fmt_secs(started.elapsed().as_secs_f64())
    ));
    emit_node(status)
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

impl Node<'_, '_> {
    fn steps(&mut self) -> Status {
        if let Err(e) = self.env.make_dir(&self.working_dir.clone()) {
            self.log.line(&e);
            return Status::Failed;
        }
        let mut failed = false;
        let halt = self.env.task_dir().join("halt");
        for (i, step) in self.spec.steps.iter().enumerate() {
            if self.shared.cancel.load(Ordering::SeqCst) {
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
            self.shared.events.emit(serde_json::json!({
                "event": "step_finished", "workflow": self.shared.plan.jobs[self.job].workflow,
                "job": self.spec.name, "node": self.node, "step": i, "name": step.name,
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
            self.shared.cancel,
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
        let tars = self.shared.checkout_tars()?;
        if self.env.exists(&target) && !self.env.exists(&target.join(".git")) {
            let listed = self.env.glob(&target, "*");
            if !listed.is_empty() {
                return Err(format!("Directory ({}) you are trying to checkout to is not empty and not a git repository", target.display()));
            }
        }
        let mut files = 0;
        for tar in tars {
            let mut f = fs::File::open(&tar).map_err(|e| e.to_string())?;
            files += self.env.put_archive(&target, &mut f)?.len();
        }
        self.log.line(&format!(
            "copied {files} entries of {} into {}",
            self.shared.options.project_root.display(),
            target.display()
        ));
        Ok(())
    }

    fn key(&mut self, template: &str) -> Result<String, String> {
        let info = &self.shared.options.info;
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
            build_num: self.build_num,
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
        if self.shared.caches.exists(&key) {
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
        let saved = self.shared.caches.save(&key, &mut |w| {
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
        let Some(entry) = self.shared.caches.find(&rendered) else {
            self.log.line(&format!(
                "No cache is found for key: {}",
                rendered.join(", ")
            ));
            return Ok(());
        };
        self.log
            .line(&format!("Found a cache with key {}", entry.key));
        let file = fs::File::open(&entry.archive).map_err(|e| e.to_string())?;
        let mut gz = GzDecoder::new(BufReader::new(file));
        let home = self.env.home();
        let written = self.env.put_archive(&home, &mut gz)?;
        self.log
            .line(&format!("Restored {} entries", written.len()));
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
        let planned = &self.shared.plan.jobs[self.job];
        let dir = self.shared.workspace_dir(&planned.workflow);
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let layer = dir.join(format!(
            "{:05}-{:04}-{}.tar.gz",
            self.job, self.node, self.persisted
        ));
        self.persisted += 1;
        let file = fs::File::create(&layer).map_err(|e| e.to_string())?;
        let mut gz = GzEncoder::new(file, Compression::fast());
        let n = self.env.get_archive(&root, &rels, &mut gz)?;
        gz.finish().map_err(|e| e.to_string())?;
        self.log
            .line(&format!("Persisted {n} entries from {}", root.display()));
        Ok(())
    }

    fn attach(&mut self, at: &str) -> Result<(), String> {
        let at = self.path(at);
        let plan = self.shared.plan;
        let upstream = plan.upstream(self.job);
        let dir = self.shared.workspace_dir(&plan.jobs[self.job].workflow);
        let mut layers: Vec<(usize, PathBuf)> = Vec::new();
        if let Ok(read) = fs::read_dir(&dir) {
            for e in read.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(j) = name.split('-').next().and_then(|j| j.parse::<usize>().ok()) {
                    if upstream.contains(&j) {
                        layers.push((j, e.path()));
                    }
                }
            }
        }
        // Plan order is graph order; file names order a job's own layers.
        layers.sort();
        // Two layers from jobs that may have run at the same time must not write one file.
        let mut owner: std::collections::BTreeMap<PathBuf, usize> = Default::default();
        for (j, layer) in &layers {
            let mut f = fs::File::open(layer).map_err(|e| e.to_string())?;
            for entry in archive::list_gz(&mut f)? {
                if let Some(&other) = owner.get(&entry) {
                    let ordered = other == *j || plan.upstream(*j).contains(&other);
                    if !ordered {
                        return Err(format!(
                            "Concurrent upstream jobs persisted the same file(s) into the workspace: {} (jobs `{}` and `{}`)",
                            entry.display(), plan.jobs[other].name, plan.jobs[*j].name
                        ));
                    }
                }
                owner.insert(entry, *j);
            }
        }
        let mut count = 0;
        for (_, layer) in &layers {
            let file = fs::File::open(layer).map_err(|e| e.to_string())?;
            let mut gz = GzDecoder::new(BufReader::new(file));
            count += self.env.put_archive(&at, &mut gz)?.len();
        }
        self.log.line(&format!(
            "Attached {} layers ({count} entries) at {}",
            layers.len(),
            at.display()
        ));
        Ok(())
    }

    /// Copies `path` out of the job into `dest` on the host (contents for a directory).
    fn copy_out(&mut self, path: &Path, dest: &Path) -> Result<usize, String> {
        let (base, name) = match (path.parent(), path.file_name()) {
            (Some(b), Some(n)) => (b.to_path_buf(), PathBuf::from(n)),
            _ => return Err(format!("cannot copy {}", path.display())),
        };
        let mut tar = Vec::new();
        self.env
            .get_archive(&base, std::slice::from_ref(&name), &mut tar)?;
        let staging = self.dir.join(".staging");
        let _ = fs::remove_dir_all(&staging);
        let written = archive::unpack(&mut tar.as_slice(), &staging)?;
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        // Count files before the staging directory goes: afterwards nothing there is a directory.
        let files = written.iter().filter(|p| !staging.join(p).is_dir()).count();
        merge(&staging.join(&name), dest)
            .map_err(|e| format!("cannot store {}: {e}", dest.display()))?;
        let _ = fs::remove_dir_all(&staging);
        Ok(files)
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
        let dest = self.dir.join("artifacts").join(prefix);
        let n = self.copy_out(&full, &dest)?;
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
        let dest = self
            .dir
            .join("test-results")
            .join(full.file_name().unwrap_or_default());
        self.copy_out(&full, &dest)?;
        let mut cases = Vec::new();
        let mut xml = Vec::new();
        collect_xml(&dest, &mut xml);
        for file in xml {
            let mut text = String::new();
            if fs::File::open(&file)
                .and_then(|mut f| f.read_to_string(&mut text))
                .is_err()
            {
                continue;
            }
            match junit::parse(&text) {
                Ok(mut c) => cases.append(&mut c),
                Err(e) => self.log.line(&format!(
                    "Warning: {} is not JUnit XML: {e}",
                    file.display()
                )),
            }
        }
        let summary = junit::summarize(&cases);
        self.log.line(&format!("Test results: {}", summary.line()));
        for f in &summary.failing {
            self.log.line(&format!("  failed: {f}"));
        }
        let _ = fs::write(
            self.dir.join("tests.json"),
            serde_json::to_string_pretty(&summary.to_json()).unwrap_or_default(),
        );
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
        if let Ok(mut all) = self.shared.cases.lock() {
            all.entry(self.job).or_default().extend(cases);
        }
        Ok(())
    }
}

fn collect_xml(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "xml") {
            out.push(path.to_path_buf());
        }
        return;
    }
    if let Ok(read) = fs::read_dir(path) {
        let mut entries: Vec<PathBuf> = read.flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            if !fs::symlink_metadata(&e).is_ok_and(|m| m.file_type().is_symlink()) {
                collect_xml(&e, out);
            }
        }
    }
}

/// Moves `from` to `to`, merging into an existing directory.
fn merge(from: &Path, to: &Path) -> std::io::Result<()> {
    let from_meta = fs::symlink_metadata(from)?;
    match fs::symlink_metadata(to) {
        Ok(m) if m.is_dir() && from_meta.is_dir() => {
            for e in fs::read_dir(from)? {
                let e = e?;
                merge(&e.path(), &to.join(e.file_name()))?;
            }
            Ok(())
        }
        Ok(m) => {
            if m.is_dir() {
                fs::remove_dir_all(to)?;
            } else {
                fs::remove_file(to)?;
            }
            fs::rename(from, to)
        }
        Err(_) => fs::rename(from, to),
    }
}
