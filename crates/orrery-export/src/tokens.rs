//! Each job node's own store token: the store issues one per node, so that a node can act only
//! as itself. Tokens never appear in a manifest: each target reads its node's token from the
//! engine's secret store, and `plan.json` (`tokens`) tells a driver where to put each one
//! before the job starts. A node's id (`RUN/JOB/INDEX`, as `plan.json`'s `nodes` list them)
//! goes with it.

use crate::ExportOptions;

/// Node `index` (a number, or the engine's expression for it) of job `job` (its export id).
pub fn node_id(options: &ExportOptions, job: &str, index: &str) -> String {
    format!("{}/{job}/{index}", options.run_name)
}

/// Argo: one Secret per run with a key per node; each pod's environment names only its own
/// key (Argo substitutes the node's index into the template).
pub fn argo_secret(options: &ExportOptions) -> String {
    format!("{}-store", options.run_name)
}

pub fn argo_key(job: &str, index: &str) -> String {
    format!("{job}-{index}")
}

/// Kubernetes: one Secret per Job with a key per node, mounted into the Job's pods; the agent
/// reads its own (`--token-file DIR/node-$(ORRERY_NODE_INDEX)`). The pods of an indexed Job
/// share one template, so a node can read its siblings' tokens, never another job's.
pub fn k8s_secret(job_name: &str) -> String {
    format!("{job_name}-tokens")
}

pub fn k8s_key(index: &str) -> String {
    format!("node-{index}")
}

/// Where the Kubernetes Secret of the job's tokens is mounted.
pub const K8S_TOKEN_DIR: &str = "/var/run/orrery-tokens";

/// Nomad: the job's own variable (`nomad/jobs/ID`, which its tasks' workload identity may
/// read) with an item per node, picked by `NOMAD_ALLOC_INDEX` in a template. As on Kubernetes,
/// a job's allocations can read each other's items, never another job's.
pub fn nomad_variable(job_id: &str) -> String {
    format!("nomad/jobs/{job_id}")
}

pub fn nomad_item(index: &str) -> String {
    format!("node_{index}")
}
