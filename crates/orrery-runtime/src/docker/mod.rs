//! The Docker executor: each job node runs in its own containers on the local daemon, through
//! the Engine API (bollard, API 1.41). The primary container (first `docker:` image) runs the
//! steps as execs and owns the network namespace; service containers join it, so they answer
//! on `localhost` and by `name:`. Files move as tar streams through the archive API. Every
//! container carries the run's labels and is removed when its node ends, whatever the ending;
//! [`DockerExecutor::sweep`] removes whatever an interrupted run still left.

pub(crate) mod client;
mod containers;
mod exec;
mod files;
pub(crate) mod helper;
pub mod inside;
mod passwd;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

pub use client::socket_from;
pub(crate) use containers::ensure_image;
pub use containers::{
    keeps_own_process, PullPolicy, LABEL_JOB, LABEL_OWNER, LABEL_ROLE, LABEL_RUN,
};

use client::Client;
use containers::{CreateRequest, JobContainers};
use helper::Helper;

use crate::executor::{ExecOutcome, ExecRequest, Executor, JobEnv, NodeSetup, OutputSink};
use crate::spec::ExecutorKind;

pub struct DockerOptions {
    /// The daemon's unix socket.
    pub socket: PathBuf,
    /// Labels every container (`orrery.run=ID`) and names it.
    pub run_id: String,
    /// A host directory for the helper bundle the containers mount (removed with the run's
    /// working files).
    pub work_dir: PathBuf,
    /// Recorded test timings, copied into the helper bundle for `circleci tests split`.
    pub timings_file: PathBuf,
    pub pull: PullPolicy,
}

pub struct DockerExecutor {
    client: Arc<Client>,
    options: DockerOptions,
    helper: OnceLock<Result<Arc<Helper>, String>>,
    network: String,
    teardown: Teardowns,
}

impl DockerExecutor {
    /// Connects to the daemon; fails when it does not answer.
    pub fn connect(options: DockerOptions) -> Result<DockerExecutor, String> {
        let client = Client::connect(&options.socket)?;
        // A bridge gives jobs outbound network where the daemon has one; without it (as on
        // this project's CI) the job's namespace has loopback only, which services need.
        let network = match client.block_on(client.docker.inspect_network("bridge", None)) {
            Ok(_) => "bridge",
            Err(_) => "none",
        }
        .to_string();
        Ok(DockerExecutor {
            client: Arc::new(client),
            options,
            helper: OnceLock::new(),
            network,
            teardown: Default::default(),
        })
    }

    /// Whether a daemon answers on `socket`.
    pub fn probe(socket: &Path) -> Result<(), String> {
        Client::connect(socket).map(|_| ())
    }

    fn helper(&self) -> Result<Arc<Helper>, String> {
        self.helper
            .get_or_init(|| {
                Helper::prepare(
                    &self.options.work_dir.join("helper"),
                    &self.options.timings_file,
                )
                .map(Arc::new)
                .map_err(|e| format!("cannot prepare the in-container helper: {e}"))
            })
            .clone()
    }

    /// Removes every container of this run still on the daemon (services before primaries);
    /// returns how many there were.
    pub fn sweep(&self) -> usize {
        self.wait_teardowns();
        let mut left = containers::of_run(&self.client, &self.options.run_id);
        left.sort_by_key(|(_, role)| role == "primary");
        let ids: Vec<String> = left.into_iter().map(|(id, _)| id).collect();
        containers::remove(&self.client, &ids);
        ids.len()
    }
}

/// Removes every container of the run `run_id` still on the daemon at `socket` (for runs whose
/// process is gone); returns how many there were.
pub fn sweep_run(socket: &Path, run_id: &str) -> Result<usize, String> {
    let client = Client::connect(socket)?;
    let mut left = containers::of_run(&client, run_id);
    left.sort_by_key(|(_, role)| role == "primary");
    let ids: Vec<String> = left.into_iter().map(|(id, _)| id).collect();
    containers::remove(&client, &ids);
    Ok(ids.len())
}

/// Every run with containers on the daemon at `socket` that name their owner, as
/// `(run id, owner)`.
pub fn owned_runs(socket: &Path) -> Result<Vec<(String, String)>, String> {
    containers::owned_runs(&Client::connect(socket)?)
}

impl DockerExecutor {
    fn wait_teardowns(&self) {
        let pending: Vec<_> = match self.teardown.lock() {
            Ok(mut p) => p.drain(..).collect(),
            Err(_) => return,
        };
        for handle in pending {
            let _ = self.client.block_on(handle);
        }
    }
}

impl Drop for DockerExecutor {
    /// Dropping the runtime would cancel removals under way.
    fn drop(&mut self) {
        self.wait_teardowns();
    }
}

impl Executor for DockerExecutor {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn start(&self, setup: &NodeSetup<'_>) -> Result<Box<dyn JobEnv>, String> {
        let ExecutorKind::Docker { images } = &setup.spec.executor else {
            return Err(format!(
                "the Docker executor cannot run a {} job",
                setup.spec.executor.label()
            ));
        };
        let helper = self.helper()?;
        let client = &self.client;
        let user = images[0].user.clone();
        let (made, prepared) = containers::create(
            client,
            &CreateRequest {
                run_id: &self.options.run_id,
                label: &setup.label,
                images,
                helper: &helper,
                network: &self.network,
                pull: self.options.pull,
            },
            |id, image| {
                prepare(
                    client,
                    id,
                    image,
                    user.as_deref(),
                    &setup.spec.working_directory,
                )
            },
        )?;
        let env = DockerEnv {
            client: self.client.clone(),
            helper,
            user,
            account: prepared.account,
            task: PathBuf::from(TASK_DIR),
            image_env: prepared.image_env,
            containers: made,
            background: Vec::new(),
            finished: false,
            teardown: self.teardown.clone(),
        };
        Ok(Box::new(env))
    }
}

struct DockerEnv {
    client: Arc<Client>,
    helper: Arc<Helper>,
    /// `user:` of the primary image, for execs (`None`: the image's user).
    user: Option<String>,
    account: passwd::Account,
    task: PathBuf,
    image_env: Vec<(String, String)>,
    containers: JobContainers,
    background: Vec<tokio::task::JoinHandle<()>>,
    finished: bool,
    teardown: Teardowns,
}

/// Container removals still under way: a node's teardown runs off its critical path, and the
/// executor waits for all of them in [`DockerExecutor::sweep`] and when dropped.
type Teardowns = Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>;

/// The runner's directory inside the primary (scripts, BASH_ENV, markers).
const TASK_DIR: &str = "/.orrery-task";

struct Prepared {
    account: passwd::Account,
    image_env: Vec<(String, String)>,
}

/// Finds who the steps run as (`user:` or the image's `USER`, in its `/etc/passwd`), then makes
/// the task directory with an empty `BASH_ENV` and the job's working directory in one copy.
fn prepare(
    client: &Client,
    id: &str,
    image: &bollard::models::ImageInspect,
    user: Option<&str>,
    working_directory: &str,
) -> Result<Prepared, String> {
    let config = image.config.clone().unwrap_or_default();
    let user = user.map(str::to_string).or(config.user).unwrap_or_default();
    let read = |path: &str| {
        files::read_file(client, id, Path::new(path))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let group = if passwd::needs_group(&user) {
        read("/etc/group")
    } else {
        String::new()
    };
    let account = passwd::resolve(&user, &read("/etc/passwd"), &group)?;
    let image_env = config
        .env
        .unwrap_or_default()
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let task = PathBuf::from(TASK_DIR);
    let working = crate::job::resolve(&account.home, &account.home, working_directory);
    let mut dirs = vec![task.clone()];
    let mut missing = Vec::new();
    for dir in working.ancestors() {
        if dir.as_os_str().is_empty() || files::stat(client, id, dir).is_some() {
            break;
        }
        missing.push(dir.to_path_buf());
    }
    missing.reverse();
    dirs.extend(missing);
    let owner = (account.uid, account.gid);
    files::put_tree(client, id, owner, &dirs, &[(task.join("bash_env"), &[])])?;
    Ok(Prepared { account, image_env })
}

static STEPS: AtomicUsize = AtomicUsize::new(0);

/// Scripts up to this size go to the step wrapper as an argument (the kernel allows 128 KiB
/// per argument); longer ones are copied in.
const INLINE_SCRIPT: usize = 64 * 1024;

impl DockerEnv {
    fn owner(&self) -> (u64, u64) {
        (self.account.uid, self.account.gid)
    }

    fn primary(&self) -> &str {
        &self.containers.primary
    }

    /// Copies the step's script in and starts it through the wrapper.
    fn start_step(&mut self, request: &ExecRequest) -> Result<exec::Started, String> {
        let n = STEPS.fetch_add(1, Ordering::SeqCst);
        let script = self.task.join(format!("step-{n}.sh"));
        let pidfile = self.task.join(format!("step-{n}.pid"));
        let owner = self.owner();
        let mut inner = vec![pidfile.to_string_lossy().into_owned()];
        if request.script.len() <= INLINE_SCRIPT {
            // The wrapper writes it: one copy into the container less per step.
            inner.push("--script".into());
            inner.push(script.to_string_lossy().into_owned());
            inner.push(request.script.clone());
        } else {
            files::write_file(
                &self.client,
                self.primary(),
                owner,
                &script,
                request.script.as_bytes(),
                0o755,
            )?;
        }
        files::make_dir(&self.client, self.primary(), owner, &request.cwd)?;
        inner.extend(request.argv.iter().cloned());
        inner.push(script.to_string_lossy().into_owned());
        let argv = self.helper.command(inside::STEP, &inner);
        let started = exec::start(
            &self.client,
            self.primary(),
            self.user.as_deref(),
            argv,
            request,
            &pidfile,
        )?;
        Ok(started)
    }
}

impl JobEnv for DockerEnv {
    fn home(&self) -> PathBuf {
        self.account.home.clone()
    }

    fn task_dir(&self) -> PathBuf {
        self.task.clone()
    }

    fn helpers(&self, _host_bin: &Path, _host_timings: &Path) -> Option<(PathBuf, PathBuf)> {
        Some(self.helper.inside_paths())
    }

    fn base_env(&self) -> Vec<(String, String)> {
        let mut env = self.image_env.clone();
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push((
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ));
        }
        env.push(("HOME".into(), self.account.home.display().to_string()));
        env
    }

    fn has_executable(&mut self, path: &Path) -> bool {
        files::stat(&self.client, self.primary(), path)
            .is_some_and(|s| !s.is_dir() && (s.is_symlink() || s.mode & 0o111 != 0))
    }

    fn exec(
        &mut self,
        request: &ExecRequest,
        output: &mut dyn FnMut(&[u8]),
        cancel: &AtomicBool,
    ) -> ExecOutcome {
        let started = match self.start_step(request) {
            Ok(s) => s,
            Err(e) => return ExecOutcome::Error(e),
        };
        exec::follow(
            &self.client,
            &self.containers.primary,
            &self.helper,
            started,
            request.no_output_timeout,
            output,
            cancel,
        )
    }

    fn spawn_background(
        &mut self,
        request: &ExecRequest,
        mut output: OutputSink,
    ) -> Result<(), String> {
        let started = self.start_step(request)?;
        let mut stream = started.output;
        self.background.push(self.client.spawn(async move {
            use futures_util::StreamExt;
            while let Some(Ok(frame)) = stream.next().await {
                output(&frame.into_bytes());
            }
        }));
        Ok(())
    }

    fn make_dir(&mut self, path: &Path) -> Result<(), String> {
        let owner = self.owner();
        files::make_dir(&self.client, &self.containers.primary, owner, path)
    }

    fn write_file(&mut self, path: &Path, data: &[u8]) -> Result<(), String> {
        let owner = self.owner();
        files::write_file(
            &self.client,
            &self.containers.primary,
            owner,
            path,
            data,
            0o644,
        )
    }

    fn exists(&mut self, path: &Path) -> bool {
        files::stat(&self.client, self.primary(), path).is_some()
    }

    fn is_dir(&mut self, path: &Path) -> bool {
        files::stat(&self.client, self.primary(), path).is_some_and(files::Stat::is_dir)
    }

    fn read_file(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        files::read_file(&self.client, self.primary(), path)
    }

    fn glob(&mut self, base: &Path, pattern: &str) -> Vec<PathBuf> {
        files::glob(&self.client, self.primary(), base, pattern)
    }

    fn put_archive(&mut self, dir: &Path, tar: &mut dyn Read) -> Result<Vec<PathBuf>, String> {
        let owner = self.owner();
        files::put_archive(&self.client, &self.containers.primary, owner, dir, tar)
    }

    fn get_archive(
        &mut self,
        base: &Path,
        paths: &[PathBuf],
        out: &mut dyn Write,
    ) -> Result<usize, String> {
        files::get_archive(&self.client, self.primary(), base, paths, out)
    }

    /// Services first, the primary (the namespace's owner) last, in the background.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        // What a background step prints after its job ended is not part of the job.
        for handle in self.background.drain(..) {
            handle.abort();
        }
        let client = self.client.clone();
        let services = std::mem::take(&mut self.containers.services);
        let primary = self.containers.primary.clone();
        let removal = self.client.spawn(async move {
            containers::remove_async(&client, &services).await;
            containers::remove_async(&client, &[primary]).await;
        });
        if let Ok(mut pending) = self.teardown.lock() {
            pending.retain(|h| !h.is_finished());
            pending.push(removal);
        }
    }
}

impl Drop for DockerEnv {
    fn drop(&mut self) {
        self.finish();
    }
}
