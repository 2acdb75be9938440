//! What a killed run leaves: a run records its process in its folder (`owner`: pid, start time
//! and pid namespace) and removes the record when it ends; the same owner is written into the
//! names of its machine nodes' cgroups and the labels of its containers. A later run, and
//! `orrery run --gc`, find the runs whose recorded process is gone and sweep what they left:
//! their containers on the Docker daemon, their cgroups (every process still in them), their
//! working files. Cgroups and containers are also found on the machine itself, by name and
//! label, so that they are swept even when the killed run's project folder is gone.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cgroup;

/// The record's file name in a run folder.
const OWNER: &str = "owner";

/// The process that owns a run's resources: what its death is judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pid: u32,
    /// Clock ticks since boot: tells a reused pid apart.
    start: u64,
    /// The inode of its pid namespace: a pid means nothing in another one.
    namespace: Option<u64>,
}

impl Owner {
    /// The running process.
    pub fn this_process() -> Owner {
        static THIS: OnceLock<Owner> = OnceLock::new();
        *THIS.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                pid,
                start: start_time(pid).unwrap_or_default(),
                namespace: pid_namespace(),
            }
        })
    }

    /// `pid.start.namespace` (a record of before namespaces were recorded has two fields);
    /// dots, so that it fits a cgroup's name and a label's value alike.
    pub fn parse(text: &str) -> Option<Owner> {
        let mut parts = text.trim().split(['.', ' ']);
        let pid = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        let namespace = match parts.next() {
            Some(ns) => Some(ns.parse().ok()?),
            None => None,
        };
        Some(Owner {
            pid,
            start,
            namespace,
        })
    }

    /// Whether the owner has ended; `None` when this process cannot tell (another pid
    /// namespace), so that nothing of a live run elsewhere is ever swept.
    pub fn is_gone(&self) -> Option<bool> {
        match (self.namespace, pid_namespace()) {
            (Some(theirs), Some(ours)) if theirs != ours => None,
            _ => Some(start_time(self.pid) != Some(self.start)),
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.pid, self.start)?;
        if let Some(ns) = self.namespace {
            write!(f, ".{ns}")?;
        }
        Ok(())
    }
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

/// This process's pid namespace (`pid:[INODE]`).
fn pid_namespace() -> Option<u64> {
    let link = fs::read_link("/proc/self/ns/pid").ok()?;
    let text = link.to_str()?;
    text.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// Records that this process owns the run folder `run_dir`.
pub fn record_owner(run_dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(run_dir)?;
    fs::write(run_dir.join(OWNER), Owner::this_process().to_string())
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
    match Owner::parse(&record) {
        Some(owner) => owner.is_gone() == Some(true),
        // A record that cannot be read was never completed: its writer is gone.
        None => true,
    }
}

/// What was swept of one killed run.
#[derive(Debug, Default)]
pub struct Swept {
    pub run_id: String,
    pub containers: usize,
    pub processes: usize,
    /// Whether it was found by its run folder (whose working files went too), rather than
    /// only by its cgroups' names and its containers' labels on this machine.
    pub had_folder: bool,
    /// A problem that kept part of it from being swept (the record stays for another try).
    pub problem: Option<String>,
}

/// Sweeps every run under `runs` whose process is gone. `docker_socket` is where containers
/// are looked for (runs that had none need no daemon).
pub fn sweep_dead_runs(runs: &Path, docker_socket: Option<&Path>) -> Vec<Swept> {
    let mut dead: Vec<PathBuf> = match fs::read_dir(runs) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|dir| owner_gone(dir))
            .collect(),
        Err(_) => Vec::new(),
    };
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
        had_folder: true,
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

/// Whether what `owner` (as written in a name or label) made is to be swept.
fn dead(owner: &str) -> bool {
    Owner::parse(owner).and_then(|o| o.is_gone()) == Some(true)
}

/// Sweeps whatever on this machine belongs to a run whose process is gone, from any project
/// and whether or not its run folder is still there: its cgroups, found by name, and its
/// containers on the daemon at `docker_socket`, found by label.
pub fn sweep_orphans(docker_socket: Option<&Path>) -> Vec<Swept> {
    let mut found: std::collections::BTreeMap<String, Swept> = Default::default();
    for (run_id, owner) in cgroup::owned_runs() {
        if dead(&owner) {
            found.entry(run_id.clone()).or_default().processes += cgroup::kill_run(&run_id);
        }
    }
    // A daemon that cannot be asked has nothing known to be left on it.
    let owned = docker_socket.and_then(|s| Some((s, crate::docker::owned_runs(s).ok()?)));
    if let Some((socket, owned)) = owned {
        for (run_id, owner) in owned {
            if !dead(&owner) {
                continue;
            }
            let entry = found.entry(run_id.clone()).or_default();
            match crate::docker::sweep_run(socket, &run_id) {
                Ok(n) => entry.containers += n,
                Err(e) => entry.problem = Some(e),
            }
        }
    }
    found
        .into_iter()
        .map(|(run_id, swept)| Swept { run_id, ..swept })
        .collect()
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
        // A pid above the kernel's maximum never runs (a record without a namespace).
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

    #[test]
    fn owners_read_back_and_another_namespace_is_never_judged() {
        let me = Owner::this_process();
        assert_eq!(Owner::parse(&me.to_string()), Some(me));
        assert_eq!(me.is_gone(), Some(false));
        let gone = Owner::parse("4194305.1").unwrap();
        assert_eq!(gone.is_gone(), Some(true));
        // The same pid and start time, seen from another pid namespace: cannot tell.
        let elsewhere = Owner {
            namespace: me.namespace.map(|n| n + 1),
            ..gone
        };
        if me.namespace.is_some() {
            assert_eq!(elsewhere.is_gone(), None);
        }
        assert_eq!(Owner::parse("12 x"), None);
    }
}
