//! Where a job's steps run. The step logic (`job.rs`) talks to a [`JobEnv`] only: commands with
//! an environment and a working directory, tar streams in and out, a few file queries. The
//! machine executor implements it on the host; a Docker executor implements the same calls with
//! container execs and the archive API.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::spec::JobSpec;

/// Where a background step's output goes, from its own thread.
pub type OutputSink = Box<dyn FnMut(&[u8]) + Send>;

/// One command to run: `argv` is the shell with its options; the executor writes `script` to a
/// file inside the job and appends its path.
#[derive(Clone, Debug)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    pub script: String,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub no_output_timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecOutcome {
    Exited(i32),
    /// Killed after `no_output_timeout` without output.
    NoOutputTimeout,
    /// Killed because the run was interrupted.
    Canceled,
    /// Could not be started.
    Error(String),
}

/// What an executor needs to set up one node of a job.
pub struct NodeSetup<'a> {
    pub spec: &'a JobSpec,
    /// `job` or `job-NODE`; unique within the run.
    pub label: String,
    /// A fresh host directory the node may use (the machine executor puts `~` there).
    pub scratch: PathBuf,
}

pub trait Executor: Send + Sync {
    fn name(&self) -> &'static str;
    fn start(&self, setup: &NodeSetup<'_>) -> Result<Box<dyn JobEnv>, String>;
}

/// The environment of one running job node. Paths are the job's own (host paths for the
/// machine executor, container paths for Docker).
pub trait JobEnv {
    /// `~` of the user steps run as.
    fn home(&self) -> PathBuf;
    /// A directory private to the runner inside the job (BASH_ENV file, step scripts, markers).
    fn task_dir(&self) -> PathBuf;
    /// Where the `circleci` helpers (given as the host's directory) and the recorded test
    /// timings (the host's file) are seen from inside the job.
    fn helpers(&self, host_bin: &Path, host_timings: &Path) -> Option<(PathBuf, PathBuf)> {
        Some((host_bin.to_path_buf(), host_timings.to_path_buf()))
    }
    /// Variables the job starts with before CircleCI's chain is applied.
    fn base_env(&self) -> Vec<(String, String)>;
    /// Whether an executable exists (the default shell falls back from bash to sh).
    fn has_executable(&mut self, path: &Path) -> bool;
    fn exec(
        &mut self,
        request: &ExecRequest,
        output: &mut dyn FnMut(&[u8]),
        cancel: &AtomicBool,
    ) -> ExecOutcome;
    /// Starts a command that outlives the step; it is stopped when the job ends.
    fn spawn_background(&mut self, request: &ExecRequest, output: OutputSink)
        -> Result<(), String>;
    fn make_dir(&mut self, path: &Path) -> Result<(), String>;
    /// Writes a file (its directory is created), owned by the user steps run as.
    fn write_file(&mut self, path: &Path, data: &[u8]) -> Result<(), String>;
    fn exists(&mut self, path: &Path) -> bool;
    fn is_dir(&mut self, path: &Path) -> bool;
    fn read_file(&mut self, path: &Path) -> Result<Vec<u8>, String>;
    /// Paths (relative to `base`) matching a `filepath.Match`-style pattern relative to `base`.
    fn glob(&mut self, base: &Path, pattern: &str) -> Vec<PathBuf>;
    /// Unpacks a tar stream under `dir`, refusing entries that leave it.
    fn put_archive(&mut self, dir: &Path, tar: &mut dyn Read) -> Result<Vec<PathBuf>, String>;
    /// Writes a tar of `paths` (relative to `base`) to `out`; returns the entry count.
    fn get_archive(
        &mut self,
        base: &Path,
        paths: &[PathBuf],
        out: &mut dyn Write,
    ) -> Result<usize, String>;
    /// Stops whatever the job left running and releases its resources.
    fn finish(&mut self);
}

/// Sends docker jobs to the Docker executor when there is one, and everything else (or every
/// job, without one) to the machine executor.
pub struct ByKind<'a> {
    pub machine: &'a dyn Executor,
    pub docker: Option<&'a dyn Executor>,
}

impl Executor for ByKind<'_> {
    fn name(&self) -> &'static str {
        if self.docker.is_some() {
            "docker"
        } else {
            "machine"
        }
    }

    fn start(&self, setup: &NodeSetup<'_>) -> Result<Box<dyn JobEnv>, String> {
        match (&setup.spec.executor, self.docker) {
            (crate::spec::ExecutorKind::Docker { .. }, Some(docker)) => docker.start(setup),
            _ => self.machine.start(setup),
        }
    }
}
