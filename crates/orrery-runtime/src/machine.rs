//! The machine executor on the host: each job node gets a fresh directory standing in for the
//! VM's home (`~`, and `/home/circleci` in paths the runner handles), steps run in the host shell
//! in their own process group, which is killed on timeout and on interrupt. Each node also gets
//! its own cgroup ([`crate::cgroup`]), killed whole when the job ends, so nothing a step started
//! (daemons that left its group or session included) outlives the job.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::archive;
use crate::cgroup::NodeGroup;
use crate::executor::{ExecOutcome, ExecRequest, Executor, JobEnv, NodeSetup};
use crate::glob;

/// Variables of the host that never reach a job: they describe the host user's session, not
/// the job's machine.
const DROPPED: &[&str] = &[
    "HOME", "OLDPWD", "PWD", "BASH_ENV", "ENV", "CDPATH", "SHLVL",
];

#[derive(Default)]
pub struct MachineExecutor {
    /// Keep each node's directory after the job (for debugging).
    pub keep: bool,
    /// Names the run's cgroups, so that a later run can sweep them (see [`crate::cgroup`]).
    pub run_id: String,
}

impl Executor for MachineExecutor {
    fn name(&self) -> &'static str {
        "machine"
    }

    fn start(&self, setup: &NodeSetup<'_>) -> Result<Box<dyn JobEnv>, String> {
        let root = setup.scratch.clone();
        let home = root.join("home");
        let task = root.join("task");
        for dir in [&home, &task] {
            fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let node = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Box::new(MachineEnv {
            group: NodeGroup::create(&self.run_id, &node),
            root,
            home,
            task,
            keep: self.keep,
            groups: Vec::new(),
            background: Vec::new(),
            readers: Vec::new(),
            withheld: Vec::new(),
        }))
    }
}

/// The environment of `orrery agent task` where it runs (inside the job's own container): steps
/// run as on the machine executor (each in its own process group, killed on timeout, on cancel
/// and at the end), `~` is `home` (kept), the task files go to `task` (removed at the end). The
/// variables named in `withheld` (the agent's own, its token among them) never reach a step.
pub fn in_container(
    home: &Path,
    task: &Path,
    withheld: &[&str],
) -> Result<Box<dyn JobEnv>, String> {
    for dir in [home, task] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    Ok(Box::new(MachineEnv {
        root: task.to_path_buf(),
        home: home.to_path_buf(),
        task: task.to_path_buf(),
        keep: false,
        groups: Vec::new(),
        background: Vec::new(),
        readers: Vec::new(),
        group: None,
        withheld: withheld.iter().map(|v| v.to_string()).collect(),
    }))
}

struct MachineEnv {
    root: PathBuf,
    home: PathBuf,
    task: PathBuf,
    keep: bool,
    /// Every process group started, killed when the job ends.
    groups: Vec<i32>,
    background: Vec<Child>,
    readers: Vec<JoinHandle<()>>,
    /// The node's cgroup, where the host allows one.
    group: Option<NodeGroup>,
    /// Variables of this process that steps do not get.
    withheld: Vec<String>,
}

static SCRIPTS: AtomicUsize = AtomicUsize::new(0);

impl MachineEnv {
    fn spawn(&mut self, request: &ExecRequest) -> Result<Child, String> {
        let n = SCRIPTS.fetch_add(1, Ordering::SeqCst);
        let script = self.task.join(format!("step-{n}.sh"));
        fs::write(&script, &request.script)
            .map_err(|e| format!("cannot write step script: {e}"))?;
        if request.argv.is_empty() {
            return Err("empty shell".to_string());
        }
        let argv = match &self.group {
            Some(group) => group.wrap(&request.argv),
            None => request.argv.clone(),
        };
        let (program, args) = argv.split_first().expect("not empty");
        fs::create_dir_all(&request.cwd)
            .map_err(|e| format!("cannot create {}: {e}", request.cwd.display()))?;
        let child = Command::new(program)
            .args(args)
            .arg(&script)
            .env_clear()
            .envs(request.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&request.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        self.groups.push(child.id() as i32);
        Ok(child)
    }
}

/// Sends `signal` to a process group; a group already gone is fine.
fn signal_group(pgid: i32, signal: Signal) {
    let _ = killpg(Pid::from_raw(pgid), signal);
}

/// Stops a step: SIGTERM to its group, SIGKILL if it is still there after a grace period.
fn stop(child: &mut Child) {
    let pgid = child.id() as i32;
    signal_group(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_group(pgid, Signal::SIGKILL);
    let _ = child.wait();
}

fn pump(mut from: impl Read + Send + 'static, to: mpsc::Sender<Vec<u8>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

impl JobEnv for MachineEnv {
    fn home(&self) -> PathBuf {
        self.home.clone()
    }

    fn task_dir(&self) -> PathBuf {
        self.task.clone()
    }

    fn base_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| !DROPPED.contains(&k.as_str()) && !k.starts_with("CIRCLE"))
            .filter(|(k, _)| !self.withheld.contains(k))
            .collect();
        env.push(("HOME".into(), self.home.display().to_string()));
        env
    }

    fn has_executable(&mut self, path: &Path) -> bool {
        path.is_file()
    }

    fn exec(
        &mut self,
        request: &ExecRequest,
        output: &mut dyn FnMut(&[u8]),
        cancel: &AtomicBool,
    ) -> ExecOutcome {
        let mut child = match self.spawn(request) {
            Ok(c) => c,
            Err(e) => return ExecOutcome::Error(e),
        };
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            self.readers.push(pump(out, tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            self.readers.push(pump(err, tx));
        }
        let mut last_output = Instant::now();
        let mut exited: Option<(i32, Instant)> = None;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(chunk) => {
                    last_output = Instant::now();
                    output(&chunk);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if exited.is_none() {
                        match child.wait() {
                            Ok(s) => exited = Some((exit_code(s), Instant::now())),
                            Err(e) => return ExecOutcome::Error(e.to_string()),
                        }
                    }
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some((_, at)) = exited {
                // The shell is gone but something it started still holds the output open:
                // stop reading (the job's end kills it).
                if at.elapsed() > Duration::from_millis(300) {
                    break;
                }
                continue;
            }
            if cancel.load(Ordering::SeqCst) {
                stop(&mut child);
                return ExecOutcome::Canceled;
            }
            if last_output.elapsed() >= request.no_output_timeout {
                stop(&mut child);
                return ExecOutcome::NoOutputTimeout;
            }
            if let Ok(Some(s)) = child.try_wait() {
                exited = Some((exit_code(s), Instant::now()));
            }
        }
        ExecOutcome::Exited(exited.map(|(c, _)| c).unwrap_or(-1))
    }

    fn spawn_background(
        &mut self,
        request: &ExecRequest,
        mut output: crate::executor::OutputSink,
    ) -> Result<(), String> {
        let mut child = self.spawn(request)?;
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        if let Some(out) = child.stdout.take() {
            self.readers.push(pump(out, tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            self.readers.push(pump(err, tx));
        }
        self.readers.push(std::thread::spawn(move || {
            for chunk in rx {
                output(&chunk);
            }
        }));
        self.background.push(child);
        Ok(())
    }

    fn make_dir(&mut self, path: &Path) -> Result<(), String> {
        fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
    }

    fn write_file(&mut self, path: &Path, data: &[u8]) -> Result<(), String> {
        if let Some(parent) = path.parent() {
            self.make_dir(parent)?;
        }
        fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn exists(&mut self, path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok()
    }

    fn is_dir(&mut self, path: &Path) -> bool {
        path.is_dir()
    }

    fn read_file(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    fn glob(&mut self, base: &Path, pattern: &str) -> Vec<PathBuf> {
        glob::glob(base, pattern)
    }

    fn put_archive(&mut self, dir: &Path, tar: &mut dyn Read) -> Result<Vec<PathBuf>, String> {
        archive::unpack(tar, dir)
    }

    fn get_archive(
        &mut self,
        base: &Path,
        paths: &[PathBuf],
        out: &mut dyn Write,
    ) -> Result<usize, String> {
        archive::pack(base, paths, out)
            .map_err(|e| format!("cannot archive {}: {e}", base.display()))
    }

    fn finish(&mut self) {
        for child in &mut self.background {
            stop(child);
        }
        for &g in &self.groups {
            signal_group(g, Signal::SIGKILL);
        }
        self.groups.clear();
        match &self.group {
            Some(group) => {
                group.kill_all();
                // With every writer gone the output pumps end.
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
            }
            // Something that left the step's process group may still hold its output open:
            // the pumps end when it does, the job does not wait for them.
            None => self.readers.clear(),
        }
        if !self.keep {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

impl Drop for MachineEnv {
    fn drop(&mut self) {
        for &g in &self.groups {
            signal_group(g, Signal::SIGKILL);
        }
        if let Some(group) = &self.group {
            group.kill_all();
        }
    }
}
