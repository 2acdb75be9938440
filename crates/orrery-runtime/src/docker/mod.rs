//! The Docker executor: each job node runs in its own containers on the local daemon, through
//! the Engine API (bollard, API 1.41). The primary container (first `docker:` image) runs the
//! steps as execs and owns the network namespace; service containers join it, so they answer
//! on `localhost` and by `name:`. Files move as tar streams through the archive API. Every
//! container carries the run's labels and is removed when its node ends, whatever the ending;
//! [`DockerExecutor::sweep`] removes whatever an interrupted run still left.

mod client;
mod containers;
mod exec;
mod files;
mod helper;
pub mod inside;
mod passwd;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use client::socket_from;
pub use containers::{PullPolicy, LABEL_JOB, LABEL_ROLE, LABEL_RUN};

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
        let mut left = containers::of_run(&self.client, &self.options.run_id);
        left.sort_by_key(|(_, role)| role == "primary");
        let ids: Vec<String> = left.into_iter().map(|(id, _)| id).collect();
        containers::remove(&self.client, &ids);
        ids.len()
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
        let made = containers::create(
            &self.client,
            &CreateRequest {
                run_id: &self.options.run_id,
                label: &setup.label,
                images,
                helper: &helper,
                network: &self.network,
                pull: self.options.pull,
            },
        )?;
        let mut env = DockerEnv {
            client: self.client.clone(),
            helper,
            user: images[0].user.clone(),
            account: passwd::Account {
                uid: 0,
                gid: 0,
                home: "/root".into(),
            },
            task: PathBuf::from("/.orrery-task"),
            image_env: Vec::new(),
            containers: made,
            background: Vec::new(),
            finished: false,
        };
        if let Err(e) = env.prepare(&setup.spec.working_directory) {
            env.finish();
            return Err(e);
        }
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
}

static STEPS: AtomicUsize = AtomicUsize::new(0);

/// Scripts up to this size go to the step wrapper as an argument (the kernel allows 128 KiB
/// per argument); longer ones are copied in.
const INLINE_SCRIPT: usize = 64 * 1024;

impl DockerEnv {
    /// Finds who the steps run as, then makes the task directory with an empty `BASH_ENV` and
    /// the job's working directory in one copy.
    fn prepare(&mut self, working_directory: &str) -> Result<(), String> {
        let config = self
            .containers
            .primary_image
            .config
            .clone()
            .unwrap_or_default();
        let user = self
            .user
            .clone()
            .or(config.user.clone())
            .unwrap_or_default();
        let group = if passwd::needs_group(&user) {
            self.read_text("/etc/group")
        } else {
            String::new()
        };
        self.account = passwd::resolve(&user, &self.containers.passwd, &group)?;
        self.image_env = config
            .env
            .unwrap_or_default()
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let home = self.account.home.clone();
        let working = crate::job::resolve(&home, &home, working_directory);
        let mut dirs = vec![self.task.clone()];
        dirs.extend(self.missing_dirs(&working));
        let bash_env = self.task.join("bash_env");
        files::put_tree(
            &self.client,
            self.primary(),
            self.owner(),
            &dirs,
            &[(bash_env, &[])],
        )
    }

    fn read_text(&self, path: &str) -> String {
        files::read_file(&self.client, self.primary(), Path::new(path))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// `path` and those of its parents that do not exist yet, outermost first.
    fn missing_dirs(&self, path: &Path) -> Vec<PathBuf> {
        let mut missing = Vec::new();
        for dir in path.ancestors() {
            if dir.as_os_str().is_empty()
                || files::stat(&self.client, self.primary(), dir).is_some()
            {
                break;
            }
            missing.push(dir.to_path_buf());
        }
        missing.reverse();
        missing
    }

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

    /// Services first, the primary (the namespace's owner) last.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        containers::remove(&self.client, &self.containers.services);
        containers::remove(&self.client, std::slice::from_ref(&self.containers.primary));
        // With the containers gone the background steps' streams end.
        for handle in self.background.drain(..) {
            let _ = self
                .client
                .block_on(async { tokio::time::timeout(Duration::from_secs(5), handle).await });
        }
    }
}

impl Drop for DockerEnv {
    fn drop(&mut self) {
        self.finish();
    }
}
