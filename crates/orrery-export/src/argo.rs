//! An Argo `Workflow` (argoproj.io/v1alpha1) with one DAG template: one task per job,
//! requirements and their status lists as `depends`, parallelism as `withSequence`, services as
//! `sidecars`, approvals as `suspend`, the agent copied in by an init container.

use orrery_runtime::Status;
use serde_json::{json, Value};

use crate::k8s::{resources, service_containers, store_env};
use crate::{agent_command, agent_install_command, ExportJob, ExportOptions, Kind};
use crate::{AGENT_MOUNT, AGENT_VOLUME};

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
            Kind::Docker { spec, .. } => {
                if spec.parallelism > 1 {
                    task["withSequence"] = json!({"count": spec.parallelism.to_string()});
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
    let Kind::Docker {
        spec,
        primary,
        services,
        resources: res,
        ..
    } = &job.kind
    else {
        return Value::Null;
    };
    let mount = json!([{"name": AGENT_VOLUME, "mountPath": AGENT_MOUNT}]);
    let index = if spec.parallelism > 1 {
        "{{inputs.parameters.index}}"
    } else {
        "0"
    };
    let mut env = store_env(options, &format!("{{{{workflow.name}}}}/{}", job.id));
    env.push(json!({"name": "ORRERY_NODE_INDEX", "value": index}));
    let mut container = json!({
        "name": "main",
        "image": primary.image,
        "command": agent_command(),
        "env": env,
        "resources": resources(res),
        "volumeMounts": mount,
    });
    if let Some(user) = &primary.user {
        container["securityContext"] = crate::k8s::run_as(user);
    }
    let mut template = json!({
        "name": job.id,
        "metadata": {"labels": {
            "app.kubernetes.io/managed-by": "orrery",
            "orrery.dev/job": job.id,
        }},
        "initContainers": [{
            "name": "orrery-agent",
            "image": options.agent_image,
            "command": agent_install_command(),
            "volumeMounts": mount,
        }],
        "container": container,
        "volumes": [{"name": AGENT_VOLUME, "emptyDir": {}}],
    });
    if spec.parallelism > 1 {
        template["inputs"] = json!({"parameters": [{"name": "index"}]});
    }
    if !services.is_empty() {
        template["sidecars"] = json!(service_containers(services)
            .into_iter()
            .map(|(c, _)| c)
            .collect::<Vec<_>>());
    }
    if res.arm {
        template["nodeSelector"] = json!({"kubernetes.io/arch": "arm64"});
    }
    template
}
