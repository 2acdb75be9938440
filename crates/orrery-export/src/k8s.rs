//! Kubernetes `batch/v1` Jobs, one per CircleCI job: indexed completions for parallelism,
//! services as native sidecars (init containers with `restartPolicy: Always`), the agent copied
//! in by a first init container. Kubernetes has no job graph: a job with requirements is
//! created suspended, with its requirements in the `orrery.dev/requires` annotation for a
//! driver to release it.

use orrery_runtime::spec::DockerImage;
use serde_json::{json, Value};

use crate::names::label;
use crate::{agent_command, agent_install_command, env_pairs, DockerJob, ExportJob};
use crate::{ExportOptions, Kind};
use crate::{Resources, AGENT_MOUNT, AGENT_VOLUME};

/// The Secret (key `token`) holding the store's token for the run.
pub fn token_secret(options: &ExportOptions) -> String {
    format!("{}-store", options.run_name)
}

pub fn jobs(jobs: &[ExportJob], options: &ExportOptions) -> Vec<Value> {
    jobs.iter()
        .filter_map(|job| {
            let docker = job.docker()?;
            let name = job_name(options, job);
            let requires: Vec<Value> = job
                .requires
                .iter()
                .map(|(up, statuses)| {
                    let up = &jobs[*up];
                    let target = match up.kind {
                        Kind::Approval => json!({"approval": up.id}),
                        Kind::Docker { .. } => json!({"job": job_name(options, up)}),
                    };
                    let mut r = target;
                    r["statuses"] = json!(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>());
                    r
                })
                .collect();
            let mut env = store_env(options, &format!("{}/{}", options.run_name, job.id));
            env.push(
                json!({"name": "ORRERY_NODE_INDEX", "valueFrom": {"fieldRef": {
                    "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
                }}}),
            );
            let mut init = vec![agent_installer(options)];
            for (mut sidecar, _) in service_containers(docker.services) {
                sidecar["restartPolicy"] = json!("Always");
                init.push(sidecar);
            }
            let mut pod = json!({
                "restartPolicy": "Never",
                "initContainers": init,
                "containers": [main_container(docker, env)],
                "volumes": [{"name": AGENT_VOLUME, "emptyDir": {}}],
            });
            if docker.resources.arm {
                pod["nodeSelector"] = json!({"kubernetes.io/arch": "arm64"});
            }
            let labels = json!({
                "app.kubernetes.io/managed-by": "orrery",
                "orrery.dev/run": options.run_name,
                "orrery.dev/job": job.id,
            });
            Some(json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": name,
                    "labels": labels,
                    "annotations": {
                        "orrery.dev/workflow": job.workflow,
                        "orrery.dev/job-name": job.name,
                        "orrery.dev/requires": Value::String(Value::Array(requires).to_string()),
                    },
                },
                "spec": {
                    "completionMode": "Indexed",
                    "completions": docker.spec.parallelism.max(1),
                    "parallelism": docker.spec.parallelism.max(1),
                    "backoffLimit": 0,
                    "ttlSecondsAfterFinished": 86400,
                    "suspend": !job.requires.is_empty(),
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                },
            }))
        })
        .collect()
}

fn job_name(options: &ExportOptions, job: &ExportJob) -> String {
    label(&format!("{}-{}", options.run_name, job.id), 63)
}

/// The pod's main container: the primary image running the agent, with `env` (the store's
/// and the node's index).
pub(crate) fn main_container(docker: &DockerJob, env: Vec<Value>) -> Value {
    let mut main = json!({
        "name": "main",
        "image": docker.primary.image,
        "command": agent_command(),
        "env": env,
        "resources": resources(&docker.resources),
        "volumeMounts": agent_mount(),
    });
    if let Some(user) = &docker.primary.user {
        main["securityContext"] = run_as(user);
    }
    main
}

/// The init container that copies the agent into the pod's agent volume.
pub(crate) fn agent_installer(options: &ExportOptions) -> Value {
    json!({
        "name": "orrery-agent",
        "image": options.agent_image,
        "command": agent_install_command(),
        "volumeMounts": agent_mount(),
    })
}

fn agent_mount() -> Value {
    json!([{"name": AGENT_VOLUME, "mountPath": AGENT_MOUNT}])
}

/// The agent's way to the store: its URL, the node's name, the token from a Secret.
pub(crate) fn store_env(options: &ExportOptions, node: &str) -> Vec<Value> {
    vec![
        json!({"name": "ORRERY_STORE", "value": options.store_url}),
        json!({"name": "ORRERY_NODE", "value": node}),
        json!({"name": "ORRERY_STORE_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": token_secret(options), "key": "token"
        }}}),
    ]
}

pub(crate) fn resources(r: &Resources) -> Value {
    let amounts = json!({
        "cpu": format!("{}m", r.millicpu),
        "memory": format!("{}Mi", r.memory_mb),
    });
    json!({"requests": amounts, "limits": amounts})
}

/// `user:` as a security context when it is numeric (`UID` or `UID:GID`); a user name is left
/// to the image, which Kubernetes cannot resolve.
pub(crate) fn run_as(user: &str) -> Value {
    let mut parts = user.splitn(2, ':');
    let uid = parts.next().and_then(|u| u.parse::<u64>().ok());
    let gid = parts.next().and_then(|g| g.parse::<u64>().ok());
    let mut ctx = json!({});
    if let Some(uid) = uid {
        ctx["runAsUser"] = json!(uid);
    }
    if let Some(gid) = gid {
        ctx["runAsGroup"] = json!(gid);
    }
    ctx
}

pub(crate) fn container_env(pairs: &[(String, String)]) -> Vec<Value> {
    env_pairs(pairs)
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}

/// Service images as containers named `svc-NAME` (their `name:`, else the image's), with the
/// image's own entrypoint and command unless the config overrides them.
pub(crate) fn service_containers(services: &[DockerImage]) -> Vec<(Value, String)> {
    let mut taken: Vec<String> = Vec::new();
    services
        .iter()
        .map(|s| {
            let base = s.name.clone().unwrap_or_else(|| image_base(&s.image));
            let mut name = label(&format!("svc-{base}"), 60);
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{}-{n}", label(&format!("svc-{base}"), 57));
                n += 1;
            }
            taken.push(name.clone());
            let mut c = json!({"name": name, "image": s.image});
            if let Some(e) = &s.entrypoint {
                c["command"] = json!(e);
            }
            if let Some(cmd) = &s.command {
                c["args"] = json!(cmd);
            }
            if !s.environment.is_empty() {
                c["env"] = json!(container_env(&s.environment));
            }
            if let Some(user) = &s.user {
                c["securityContext"] = run_as(user);
            }
            (c, name)
        })
        .collect()
}

/// `circleci/postgres:14` → `postgres`.
pub(crate) fn image_base(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last).to_string()
}
