//! A cgroup per machine job node (cgroup v1 `freezer`), so that everything a job started ends
//! with it: processes that left the step's process group or session (`setsid`, double forks,
//! daemons) stay in the node's cgroup, which is frozen, killed whole and removed when the node
//! ends. Groups live under `orrery/RUN_ID@OWNER/` (`OWNER` the process that made them, see
//! [`crate::sweep::Owner`]) so that a later run can sweep what a killed run left
//! ([`kill_run`]), and find it by name even when the run's folder is gone ([`owned_runs`]).
//!
//! Where the hierarchy is missing or not writable (no root, cgroup v2 only) nodes run without
//! one and only their steps' process groups are killed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Where the v1 freezer hierarchy is mounted.
const FREEZER: &str = "/sys/fs/cgroup/freezer";
/// Orrery's folder in it.
const ORRERY: &str = "orrery";

/// The cgroup of one job node.
pub struct NodeGroup {
    dir: PathBuf,
}

/// The folder of the node groups this process makes for a run.
fn run_dir(run_id: &str) -> PathBuf {
    Path::new(FREEZER)
        .join(ORRERY)
        .join(format!("{run_id}@{}", crate::sweep::Owner::this_process()))
}

/// The folders of a run's node groups, whoever made them (`RUN_ID` alone: made before owners
/// were named).
fn run_dirs(run_id: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(Path::new(FREEZER).join(ORRERY)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name == run_id || name.split_once('@').is_some_and(|(run, _)| run == run_id)
        })
        .map(|e| e.path())
        .collect()
}

/// Every run with node groups on this machine, as `(run id, owner)`, from the groups' names.
pub fn owned_runs() -> Vec<(String, String)> {
    let Ok(entries) = fs::read_dir(Path::new(FREEZER).join(ORRERY)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (run, owner) = name.split_once('@')?;
            Some((run.to_string(), owner.to_string()))
        })
        .collect()
}

impl NodeGroup {
    /// Creates the node's cgroup; `None` where cgroups cannot be used here.
    pub fn create(run_id: &str, node: &str) -> Option<NodeGroup> {
        let dir = run_dir(run_id).join(node);
        fs::create_dir_all(&dir).ok()?;
        // Writable by us: a process can be moved in.
        fs::metadata(dir.join("cgroup.procs")).ok()?;
        Some(NodeGroup { dir })
    }

    /// `argv` started so that it runs inside the group: a shell moves itself in (`0` is the
    /// writing process) before it execs `argv`, so even its first child is born inside.
    pub fn wrap(&self, argv: &[String]) -> Vec<String> {
        let mut wrapped = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            r#"echo 0 > "$0" && exec "$@""#.to_string(),
            self.dir.join("cgroup.procs").display().to_string(),
        ];
        wrapped.extend(argv.iter().cloned());
        wrapped
    }

    /// The processes in the group now.
    pub fn pids(&self) -> Vec<i32> {
        pids_in(&self.dir)
    }

    /// Kills every process in the group and removes it.
    pub fn kill_all(&self) {
        kill_group(&self.dir);
    }
}

fn pids_in(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Freezes the group so nothing in it can fork, SIGKILLs every member, thaws it so the kills
/// land, waits for it to empty and removes it.
fn kill_group(dir: &Path) {
    let state = dir.join("freezer.state");
    if fs::write(&state, "FROZEN").is_ok() {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match fs::read_to_string(&state) {
                Ok(s) if s.trim() == "FREEZING" => std::thread::sleep(Duration::from_millis(5)),
                _ => break,
            }
        }
    }
    for pid in pids_in(dir) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = fs::write(&state, "THAWED");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pids_in(dir).is_empty() && Instant::now() < deadline {
        for pid in pids_in(dir) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = fs::remove_dir(dir);
}

/// Kills what is left in every node group of `run_id` and removes them; returns how many
/// processes there were.
pub fn kill_run(run_id: &str) -> usize {
    let mut killed = 0;
    for dir in run_dirs(run_id) {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                killed += pids_in(&entry.path()).len();
                kill_group(&entry.path());
            }
        }
        let _ = fs::remove_dir(&dir);
    }
    killed
}

/// Removes the run's folder once its node groups are gone.
pub fn remove_run(run_id: &str) {
    let _ = fs::remove_dir(run_dir(run_id));
}
