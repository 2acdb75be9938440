//! `plan.json`: the run's job graph for external drivers: each job's id (the name the other
//! exports use), image, services, resources, parallel nodes and requirements with statuses.

use orrery_runtime::Plan;
use serde_json::{json, Value};

use crate::{DockerJob, ExportJob, ExportOptions};

/// Bumped when a field changes meaning or goes away.
pub const PLAN_FORMAT: u32 = 1;

pub fn plan(plan: &Plan, jobs: &[ExportJob], options: &ExportOptions) -> Value {
    let out: Vec<Value> = jobs
        .iter()
        .map(|job| {
            let requires: Vec<Value> = job
                .requires
                .iter()
                .map(|(up, statuses)| {
                    json!({
                        "job": jobs[*up].id,
                        "statuses": statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let mut j = json!({
                "id": job.id,
                "workflow": job.workflow,
                "name": job.name,
                "type": "approval",
                "requires": requires,
                "contexts": job.contexts,
            });
            if let Some(DockerJob {
                spec,
                primary,
                services,
                resource_class,
                resources,
            }) = job.docker()
            {
                let n = spec.parallelism.max(1);
                j["type"] = json!("build");
                j["image"] = json!(primary.image);
                j["services"] = json!(services.iter().map(|s| &s.image).collect::<Vec<_>>());
                j["resource_class"] = json!(resource_class);
                j["resources"] = json!({"millicpu": resources.millicpu, "memory_mb": resources.memory_mb, "arm": resources.arm});
                j["parallelism"] = json!(n);
                j["nodes"] = json!((0..n)
                    .map(|i| format!("{}/{}/{i}", options.run_name, job.id))
                    .collect::<Vec<_>>());
            }
            j
        })
        .collect();
    json!({
        "orrery_plan": PLAN_FORMAT,
        "run": options.run_name,
        "store": options.store_url,
        "agent_image": options.agent_image,
        "workflows": plan.workflows,
        "jobs": out,
        "filtered": plan.filtered.iter().map(|(w, j)| json!({"workflow": w, "job": j})).collect::<Vec<_>>(),
    })
}
