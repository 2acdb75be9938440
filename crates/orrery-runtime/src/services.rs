//! What a job node needs from outside its [`JobEnv`]: the run's checkout, caches, workspace
//! layers, the places artifacts and test results go, its log and events. The step runner
//! (`job.rs`) asks a [`NodeServices`] for them, so the same steps run under `orrery run` on this
//! machine ([`LocalServices`], over the run's [`RunStores`]) and inside a remote container under
//! `orrery agent task` (`crate::agent`, over the coordinator's HTTP store, which serves each
//! request with a [`LocalServices`]).

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::archive;
use crate::cache::Saved;
use crate::env::RunInfo;
use crate::executor::JobEnv;
use crate::junit::{Summary, TestCase};
use crate::plan::{JobKind, Status};
use crate::run::RunStores;
use crate::spec::{ExecutorKind, JobSpec};

/// Feeds one tar stream (a checkout part, a cache, a workspace layer) into the job; returns how
/// many entries it wrote.
pub type PutTar<'a> = dyn FnMut(&mut dyn Read) -> Result<usize, String> + 'a;

pub trait NodeServices: Send + Sync {
    /// One event for `events.jsonl` (masked again there).
    fn event(&self, event: serde_json::Value);
    /// The `circleci` helpers' directory and the recorded timings file as seen from inside the
    /// job, when the job can have them.
    fn helpers(&self, env: &dyn JobEnv) -> Option<(PathBuf, PathBuf)>;
    /// Feeds each tar of the project's checkout to `put`, in order; the entries written.
    fn checkout(&self, put: &mut PutTar<'_>) -> Result<usize, String>;
    fn cache_exists(&self, key: &str) -> Result<bool, String>;
    /// Stores the gzip'd tar `write` produces under `key` unless the key exists.
    fn cache_save(
        &self,
        key: &str,
        write: &mut dyn FnMut(&mut dyn Write) -> Result<(), String>,
    ) -> Result<Saved, String>;
    /// Finds the cache for the first of `keys` that prefixes a stored key (the newest match)
    /// and feeds its gzip'd tar to `restore` with the key found; `None` when nothing matched.
    fn cache_restore(
        &self,
        keys: &[String],
        restore: &mut dyn FnMut(&str, &mut dyn Read) -> Result<usize, String>,
    ) -> Result<Option<usize>, String>;
    /// Stores the next workspace layer of this node (a gzip'd tar `write` produces; it returns
    /// the entry count, which is returned).
    fn persist_layer(
        &self,
        write: &mut dyn FnMut(&mut dyn Write) -> Result<usize, String>,
    ) -> Result<usize, String>;
    /// Feeds every workspace layer of the node's upstream jobs (gzip'd tars), in graph order, to
    /// `put`; returns (layers, entries). Refuses layers of concurrent jobs that share a file.
    fn attach_layers(&self, put: &mut PutTar<'_>) -> Result<(usize, usize), String>;
    /// Stores the tar `tar` (one top-level entry `name`) as `dest` under the node's folder
    /// (`artifacts/…` or `test-results/…`), merging into what is there; the files stored.
    fn store_files(&self, dest: &Path, name: &Path, tar: &mut dyn Read) -> Result<usize, String>;
    /// Records one `store_test_results` step's summary (`tests.json`) and cases (for timings).
    fn test_results(&self, summary: &Summary, cases: &[TestCase]);
}

/// Everything about one job node that is decided on the coordinator before its steps run;
/// the agent receives it as JSON from the store.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeTask {
    pub workflow: String,
    pub job: String,
    pub node: u32,
    pub total: u32,
    pub spec: JobSpec,
    pub build_num: u64,
    pub build_url: String,
    pub workflow_id: String,
    pub info: RunInfo,
    /// Project variables, then the variables of the job's contexts.
    pub secrets: Vec<(String, String)>,
    /// The values every output masks (all secrets of the run).
    pub masked: Vec<String>,
    /// The project's folder on the coordinator (named in the checkout's log line).
    pub project: String,
}

/// Why a node cannot start: its status and the line its log gets.
pub fn admit(stores: &RunStores, job: usize) -> Result<(), (Status, String)> {
    let planned = &stores.plan.jobs[job];
    if let Some(missing) = planned
        .contexts
        .iter()
        .find(|c| !stores.secrets.contexts.contains_key(*c))
    {
        return Err((
            Status::Unauthorized,
            format!("context `{missing}` is not in the secrets file: the job is unauthorized"),
        ));
    }
    if let JobKind::Run(spec) = &planned.kind {
        match &spec.executor {
            ExecutorKind::Machine | ExecutorKind::Docker { .. } => {}
            other => {
                return Err((
                    Status::Failed,
                    format!("the {} executor cannot run here", other.label()),
                ))
            }
        }
    }
    Ok(())
}

/// The task of node `node` of job `job` (a job with steps), with its build number.
pub fn node_task(stores: &RunStores, job: usize, node: u32, build_num: u64) -> Option<NodeTask> {
    let planned = &stores.plan.jobs[job];
    let JobKind::Run(spec) = &planned.kind else {
        return None;
    };
    let secrets = &stores.secrets;
    let contexts = planned
        .contexts
        .iter()
        .flat_map(|c| secrets.contexts.get(c).cloned().unwrap_or_default());
    Some(NodeTask {
        workflow: planned.workflow.clone(),
        job: planned.name.clone(),
        node,
        total: planned.nodes(),
        spec: spec.clone(),
        build_num,
        build_url: format!("file://{}", stores.job_dir(job, node).display()),
        workflow_id: stores
            .workflow_ids
            .get(&planned.workflow)
            .cloned()
            .unwrap_or_default(),
        info: stores.info.clone(),
        secrets: secrets.project.iter().cloned().chain(contexts).collect(),
        masked: secrets.values().map(str::to_string).collect(),
        project: stores.project_root().display().to_string(),
    })
}

/// A node's log on the coordinator: `log.txt` in its folder and the console.
pub struct NodeLog {
    label: String,
    job: usize,
    file: Mutex<Option<fs::File>>,
    stores: Arc<RunStores>,
}

impl NodeLog {
    /// Creates the node's folder and its `log.txt`.
    pub fn create(stores: Arc<RunStores>, job: usize, node: u32) -> NodeLog {
        let planned = &stores.plan.jobs[job];
        let label = if planned.nodes() > 1 {
            format!("{}/{node}", planned.name)
        } else {
            planned.name.clone()
        };
        let dir = stores.job_dir(job, node);
        let _ = fs::create_dir_all(&dir);
        NodeLog {
            label,
            job,
            file: Mutex::new(fs::File::create(dir.join("log.txt")).ok()),
            stores,
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Writes a line that is already masked.
    pub fn write(&self, line: &str) {
        if let Ok(mut f) = self.file.lock() {
            if let Some(f) = f.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
        self.stores.console.job_line(&self.label, self.job, line);
    }
}

/// The services of one node over the run's own stores (the local executors, and the HTTP
/// store answering an agent).
pub struct LocalServices {
    pub stores: Arc<RunStores>,
    pub job: usize,
    pub node: u32,
    pub log: NodeLog,
    persisted: AtomicUsize,
}

impl LocalServices {
    pub fn new(stores: Arc<RunStores>, job: usize, node: u32) -> LocalServices {
        LocalServices {
            log: NodeLog::create(stores.clone(), job, node),
            stores,
            job,
            node,
            persisted: AtomicUsize::new(0),
        }
    }

    fn dir(&self) -> PathBuf {
        self.stores.job_dir(self.job, self.node)
    }

    /// The workspace layers this node attaches, in order, after checking that no two layers of
    /// jobs that may have run at the same time hold the same file.
    pub fn upstream_layers(&self) -> Result<Vec<PathBuf>, String> {
        let plan = &self.stores.plan;
        let upstream = plan.upstream(self.job);
        let dir = self.stores.workspace_dir(&plan.jobs[self.job].workflow);
        let mut layers: Vec<(usize, PathBuf)> = Vec::new();
        if let Ok(read) = fs::read_dir(&dir) {
            for e in read.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                if let Some(j) = name.split('-').next().and_then(|j| j.parse::<usize>().ok()) {
                    if upstream.contains(&j) {
                        layers.push((j, e.path()));
                    }
                }
            }
        }
        // Plan order is graph order; file names order a job's own layers.
        layers.sort();
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
        Ok(layers.into_iter().map(|(_, p)| p).collect())
    }
}

impl NodeServices for LocalServices {
    fn event(&self, event: serde_json::Value) {
        self.stores.events.emit(event);
    }

    fn helpers(&self, env: &dyn JobEnv) -> Option<(PathBuf, PathBuf)> {
        let dir = self.stores.helper_dir()?;
        env.helpers(dir, self.stores.timings_file())
    }

    fn checkout(&self, put: &mut PutTar<'_>) -> Result<usize, String> {
        let mut files = 0;
        for tar in self.stores.checkout_tars()? {
            let mut f = fs::File::open(&tar).map_err(|e| e.to_string())?;
            files += put(&mut f)?;
        }
        Ok(files)
    }

    fn cache_exists(&self, key: &str) -> Result<bool, String> {
        Ok(self.stores.caches.exists(key))
    }

    fn cache_save(
        &self,
        key: &str,
        write: &mut dyn FnMut(&mut dyn Write) -> Result<(), String>,
    ) -> Result<Saved, String> {
        self.stores.caches.save(key, write)
    }

    fn cache_restore(
        &self,
        keys: &[String],
        restore: &mut dyn FnMut(&str, &mut dyn Read) -> Result<usize, String>,
    ) -> Result<Option<usize>, String> {
        let Some(entry) = self.stores.caches.find(keys) else {
            return Ok(None);
        };
        let mut file = fs::File::open(&entry.archive).map_err(|e| e.to_string())?;
        restore(&entry.key, &mut file).map(Some)
    }

    fn persist_layer(
        &self,
        write: &mut dyn FnMut(&mut dyn Write) -> Result<usize, String>,
    ) -> Result<usize, String> {
        let planned = &self.stores.plan.jobs[self.job];
        let dir = self.stores.workspace_dir(&planned.workflow);
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let n = self.persisted.fetch_add(1, Ordering::SeqCst);
        let name = format!("{:05}-{:04}-{n}.tar.gz", self.job, self.node);
        // Written under a dot name and renamed, so an attaching job never sees half a layer.
        let tmp = dir.join(format!(".{name}"));
        let mut file = fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let written = write(&mut file);
        drop(file);
        match written {
            Ok(entries) => {
                fs::rename(&tmp, dir.join(name)).map_err(|e| e.to_string())?;
                Ok(entries)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn attach_layers(&self, put: &mut PutTar<'_>) -> Result<(usize, usize), String> {
        let layers = self.upstream_layers()?;
        let mut count = 0;
        for layer in &layers {
            let mut file = fs::File::open(layer).map_err(|e| e.to_string())?;
            count += put(&mut file)?;
        }
        Ok((layers.len(), count))
    }

    fn store_files(&self, dest: &Path, name: &Path, tar: &mut dyn Read) -> Result<usize, String> {
        let dir = self.dir();
        let staging = dir.join(".staging");
        let _ = fs::remove_dir_all(&staging);
        let written = archive::unpack(tar, &staging)?;
        let dest = dir.join(dest);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        // Count files before the staging directory goes: afterwards nothing there is a directory.
        let files = written.iter().filter(|p| !staging.join(p).is_dir()).count();
        merge(&staging.join(name), &dest)
            .map_err(|e| format!("cannot store {}: {e}", dest.display()))?;
        let _ = fs::remove_dir_all(&staging);
        Ok(files)
    }

    fn test_results(&self, summary: &Summary, cases: &[TestCase]) {
        let _ = fs::write(
            self.dir().join("tests.json"),
            serde_json::to_string_pretty(&summary.to_json()).unwrap_or_default(),
        );
        if let Ok(mut all) = self.stores.cases.lock() {
            all.entry(self.job).or_default().extend_from_slice(cases);
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
