//! What a killed run leaves: a run records its process in its folder (`owner`: pid and start
//! time) and removes the record when it ends. A later run, and `orrery run --gc`, find the runs
//! whose recorded process is gone and sweep what they left: their containers on the Docker
//! daemon, their machine nodes' cgroups (every process still in them), their working files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cgroup;

/// The record's file name in a run folder.
const OWNER: &str = "owner";

/// The running process as `pid start-time` (the start time tells a reused pid apart).
fn this_process() -> String {
    let pid = std::process::id();
    format!("{pid} {}", start_time(pid).unwrap_or_default())
}

/// The start time of `pid` in clock ticks since boot (`/proc/PID/stat` field 22); `None` when
/// it is gone or a zombie.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state …`: comm may hold spaces and parentheses.
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Records that this process owns the run folder `run_dir`.
pub fn record_owner(run_dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(run_dir)?;
    fs::write(run_dir.join(OWNER), this_process())
}

/// Marks the run folder as ended: nothing of it needs sweeping.
pub fn release_owner(run_dir: &Path) {
    let _ = fs::remove_file(run_dir.join(OWNER));
}

/// Whether the process recorded in `run_dir` is gone (the run was killed).
fn owner_gone(run_dir: &Path) -> bool {
    let Ok(record) = fs::read_to_string(run_dir.join(OWNER)) else {
        return false;
    };
    let mut parts = record.split_whitespace();
    let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
    let started = parts.next().and_then(|s| s.parse::<u64>().ok());
    match (pid, started) {
        (Some(pid), Some(started)) => start_time(pid) != Some(started),
        // A record that cannot be read was never completed: its writer is gone.
        _ => true,
    }
}

/// What was swept of one killed run.
#[derive(Debug, Default)]
pub struct Swept {
    pub run_id: String,
    pub containers: usize,
    pub processes: usize,
    /// A problem that kept part of it from being swept (the record stays for another try).
    pub problem: Option<String>,
}

/// Sweeps every run under `runs` whose process is gone. `docker_socket` is where containers
/// are looked for (runs that had none need no daemon).
pub fn sweep_dead_runs(runs: &Path, docker_socket: Option<&Path>) -> Vec<Swept> {
    let Ok(entries) = fs::read_dir(runs) else {
        return Vec::new();
    };
    let mut dead: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|dir| owner_gone(dir))
        .collect();
    dead.sort();
    dead.iter()
        .map(|dir| sweep_run(dir, docker_socket))
        .collect()
}

fn sweep_run(dir: &Path, docker_socket: Option<&Path>) -> Swept {
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut swept = Swept {
        processes: cgroup::kill_run(&run_id),
        ..Swept::default()
    };
    if let Some(socket) = docker_socket {
        match crate::docker::sweep_run(socket, &run_id) {
            Ok(n) => swept.containers = n,
            Err(e) => swept.problem = Some(e),
        }
    }
    let _ = fs::remove_dir_all(dir.join(".work"));
    if swept.problem.is_none() {
        release_owner(dir);
    }
    swept.run_id = run_id;
    swept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_owner_is_not_swept_a_gone_one_is() {
        let runs = tempfile::tempdir().unwrap();
        let live = runs.path().join("1-live");
        record_owner(&live).unwrap();
        let gone = runs.path().join("2-gone");
        fs::create_dir_all(gone.join(".work")).unwrap();
        // A pid above the kernel's maximum never runs.
        fs::write(gone.join(OWNER), "4194305 1").unwrap();
        let ended = runs.path().join("3-ended");
        fs::create_dir_all(&ended).unwrap();
        let swept = sweep_dead_runs(runs.path(), None);
        let ids: Vec<&str> = swept.iter().map(|s| s.run_id.as_str()).collect();
        assert_eq!(ids, ["2-gone"]);
        assert!(!gone.join(".work").exists());
        assert!(!gone.join(OWNER).exists());
        assert!(live.join(OWNER).exists());
        // This process with another start time: a reused pid.
        fs::write(live.join(OWNER), format!("{} 1", std::process::id())).unwrap();
        assert!(owner_gone(&live));
    }
}
