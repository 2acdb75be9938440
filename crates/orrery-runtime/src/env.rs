//! The job environment: CircleCI's built-in variables and the precedence chain
//! project < contexts < built-ins < job < step (the shell itself comes last).

use serde::{Deserialize, Serialize};
/// What the run knows about the project and pipeline, the same for every job.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunInfo {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub sha1: Option<String>,
    pub repository_url: Option<String>,
    pub project_username: Option<String>,
    pub project_reponame: String,
    pub username: String,
    pub pipeline_id: String,
    pub organization_id: String,
    pub project_id: String,
}

/// What differs per job node.
pub struct NodeInfo<'a> {
    pub job: &'a str,
    pub node: u32,
    pub total: u32,
    pub build_num: u64,
    pub build_url: String,
    pub workflow_id: &'a str,
    pub job_id: String,
    pub working_directory: &'a str,
    pub task_dir: String,
    pub bash_env: String,
}

pub fn builtins(run: &RunInfo, node: &NodeInfo<'_>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, val: String| v.push((k.to_string(), val));
    set("CI", "true".into());
    set("CIRCLECI", "true".into());
    if let Some(b) = &run.branch {
        set("CIRCLE_BRANCH", b.clone());
    }
    if let Some(t) = &run.tag {
        set("CIRCLE_TAG", t.clone());
    }
    if let Some(s) = &run.sha1 {
        set("CIRCLE_SHA1", s.clone());
    }
    if let Some(u) = &run.repository_url {
        set("CIRCLE_REPOSITORY_URL", u.clone());
    }
    if let Some(u) = &run.project_username {
        set("CIRCLE_PROJECT_USERNAME", u.clone());
    }
    set("CIRCLE_PROJECT_REPONAME", run.project_reponame.clone());
    set("CIRCLE_USERNAME", run.username.clone());
    set("CIRCLE_PIPELINE_ID", run.pipeline_id.clone());
    set("CIRCLE_ORGANIZATION_ID", run.organization_id.clone());
    set("CIRCLE_PROJECT_ID", run.project_id.clone());
    set("CIRCLE_JOB", node.job.to_string());
    set("CIRCLE_NODE_INDEX", node.node.to_string());
    set("CIRCLE_NODE_TOTAL", node.total.to_string());
    set("CIRCLE_BUILD_NUM", node.build_num.to_string());
    set("CIRCLE_BUILD_URL", node.build_url.clone());
    set("CIRCLE_WORKFLOW_ID", node.workflow_id.to_string());
    set("CIRCLE_WORKFLOW_WORKSPACE_ID", node.workflow_id.to_string());
    set("CIRCLE_WORKFLOW_JOB_ID", node.job_id.clone());
    // Exported as written (`~/project`), as CircleCI's agent does.
    set(
        "CIRCLE_WORKING_DIRECTORY",
        node.working_directory.to_string(),
    );
    set("CIRCLE_INTERNAL_TASK_DATA", node.task_dir.clone());
    set("BASH_ENV", node.bash_env.clone());
    set("CIRCLE_SHELL_ENV", node.bash_env.clone());
    v
}

/// Layers applied in order, later ones winning; the first position of a name is kept.
pub fn chain(layers: &[&[(String, String)]]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for layer in layers {
        for (k, v) in layer.iter() {
            match out.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.clone(),
                None => out.push((k.clone(), v.clone())),
            }
        }
    }
    out
}

/// A random-looking UUID (v4 layout) from the clock, the process and a counter; unique per run
/// without a random-number dependency.
pub fn uuid() -> String {
    use sha2::{Digest, Sha256};
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = Sha256::digest(format!("{t}-{}-{n}", std::process::id()).as_bytes());
    stable_uuid(&h)
}

/// A UUID laid out from the first 16 bytes of `bytes` (e.g. a hash of a path).
pub fn stable_uuid(bytes: &[u8]) -> String {
    let mut b = [0u8; 16];
    for (i, x) in bytes.iter().take(16).enumerate() {
        b[i] = *x;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn later_layers_win() {
        let project = [kv("A", "project"), kv("B", "project")];
        let builtin = [kv("B", "builtin"), kv("CI", "true")];
        let job = [kv("A", "job")];
        let env = chain(&[&project, &builtin, &job]);
        assert_eq!(env, [kv("A", "job"), kv("B", "builtin"), kv("CI", "true")]);
        assert_ne!(uuid(), uuid());
        assert_eq!(uuid().len(), 36);
    }
}
