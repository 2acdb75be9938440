//! An Argo `Workflow` (argoproj.io/v1alpha1) with one DAG template: one task per job,
//! requirements and their status lists as `depends`, parallelism as `withSequence`, services as
//! `sidecars`, approvals as `suspend`, the agent copied in by an init container.

use orrery_runtime::Status;
use serde_json::{json, Value};

use crate::k8s::{agent_installer, main_container, service_containers, store_env};
use crate::{ExportJob, ExportOptions, Kind, AGENT_VOLUME};

pub fn workflow(jobs: &[ExportJob], options: &ExportOptions) -> Value {
    let mut tasks = Vec::new();
    let mut templates = vec![Value::Null];
    for job in jobs {
        let mut task = json!({"name": job.id, "template": job.id});
        let depends = depends(jobs, job);
        if !depends.is_empty() {
            task["depends"] = json!(depends);
        }
        match &job.kind {
            Kind::Approval => templates.push(json!({"name": job.id, "suspend": {}})),
            Kind::Docker(docker) => {
                if docker.spec.parallelism > 1 {
                    task["withSequence"] = json!({"count": docker.spec.parallelism.to_string()});
                    task["arguments"] =
                        json!({"parameters": [{"name": "index", "value": "{{item}}"}]});
                }
                templates.push(job_template(job, options));
            }
        }
        tasks.push(task);
    }
    templates[0] = json!({"name": "main", "dag": {"tasks": tasks}});
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": format!("{}-", options.run_name),
            "labels": {"app.kubernetes.io/managed-by": "orrery"},
        },
        "spec": {
            "entrypoint": "main",
            "podGC": {"strategy": "OnPodCompletion"},
            "ttlStrategy": {"secondsAfterCompletion": 86400},
            "templates": templates,
        },
    })
}

/// `A.Succeeded && (B.Succeeded || B.Failed)`: every requirement, each with its statuses.
fn depends(jobs: &[ExportJob], job: &ExportJob) -> String {
    let mut all = Vec::new();
    for (upstream, statuses) in &job.requires {
        let id = &jobs[*upstream].id;
        let mut any: Vec<String> = Vec::new();
        for status in *statuses {
            for phase in phases(*status) {
                let term = format!("{id}.{phase}");
                if !any.contains(&term) {
                    any.push(term);
                }
            }
        }
        match any.len() {
            0 => {}
            1 => all.push(any.remove(0)),
            _ => all.push(format!("({})", any.join(" || "))),
        }
    }
    all.join(" && ")
}

/// Argo's task results for a CircleCI job status (enhanced depends logic).
fn phases(status: Status) -> &'static [&'static str] {
    match status {
        Status::Success => &["Succeeded"],
        Status::Failed => &["Failed"],
        Status::Canceled => &["Errored"],
        Status::NotRun => &["Omitted", "Skipped"],
        Status::Unauthorized | Status::OnHold => &[],
    }
}

fn job_template(job: &ExportJob, options: &ExportOptions) -> Value {
    let Some(docker) = job.docker() else {
        return Value::Null;
    };
    let index = if docker.spec.parallelism > 1 {
        "{{inputs.parameters.index}}"
    } else {
        "0"
    };
    let mut env = store_env(options, &format!("{{{{workflow.name}}}}/{}", job.id));
    env.push(json!({"name": "ORRERY_NODE_INDEX", "value": index}));
    let mut template = json!({
        "name": job.id,
        "metadata": {"labels": {
            "app.kubernetes.io/managed-by": "orrery",
            "orrery.dev/job": job.id,
        }},
        "initContainers": [agent_installer(options)],
        "container": main_container(docker, env),
        "volumes": [{"name": AGENT_VOLUME, "emptyDir": {}}],
    });
    if docker.spec.parallelism > 1 {
        template["inputs"] = json!({"parameters": [{"name": "index"}]});
    }
    if !docker.services.is_empty() {
        template["sidecars"] = json!(service_containers(docker.services)
            .into_iter()
            .map(|(c, _)| c)
            .collect::<Vec<_>>());
    }
    if docker.resources.arm {
        template["nodeSelector"] = json!({"kubernetes.io/arch": "arm64"});
    }
    template
}
