//! Nomad batch jobs (the JSON job API, `{"Job": …}`), one per CircleCI job, as a typed model:
//! field names as in Nomad's `api` package (`jobs.go`, `tasks.go`, `resources.go`), unknown
//! fields refused on reading, and [`validate`] checks the rules Nomad documents for what we
//! emit. Parallel nodes are the group's `Count` (`NOMAD_ALLOC_INDEX`); services are prestart
//! sidecars in a bridge network (shared localhost); the agent is copied into `/alloc` by a
//! prestart task. Nomad has no job graph either: requirements go into `Meta`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::k8s::{image_base, token_secret};
use crate::names::label;
use crate::{env_pairs, DockerJob, ExportJob, ExportOptions};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct JobPayload {
    pub job: Job,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Job {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub datacenters: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    pub task_groups: Vec<TaskGroup>,
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Constraint {
    #[serde(rename = "LTarget")]
    pub l_target: String,
    #[serde(rename = "RTarget")]
    pub r_target: String,
    pub operand: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct TaskGroup {
    pub name: String,
    pub count: u32,
    pub networks: Vec<NetworkResource>,
    pub restart_policy: RestartPolicy,
    pub reschedule_policy: ReschedulePolicy,
    pub tasks: Vec<Task>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct NetworkResource {
    pub mode: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct RestartPolicy {
    pub attempts: u32,
    pub mode: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ReschedulePolicy {
    pub attempts: u32,
    pub unlimited: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Task {
    pub name: String,
    pub driver: String,
    pub config: DockerConfig,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    pub resources: TaskResources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// The docker driver's `config` block (its keys are snake_case, unlike the job API's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerConfig {
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskResources {
    /// MHz; one CPU of a resource class is counted as 1000 MHz.
    #[serde(rename = "CPU")]
    pub cpu: u32,
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Lifecycle {
    pub hook: String,
    pub sidecar: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Template {
    pub embedded_tmpl: String,
    pub dest_path: String,
    pub envvars: bool,
}

/// Where the prestart task leaves the agent: the allocation directory every task mounts.
const ALLOC_AGENT: &str = "/alloc/orrery-agent";

pub(crate) fn jobs(jobs: &[ExportJob], options: &ExportOptions) -> Vec<JobPayload> {
    jobs.iter()
        .filter_map(|job| {
            let DockerJob {
                spec,
                primary,
                services,
                resources: res,
                ..
            } = job.docker()?;
            let id = label(&format!("{}-{}", options.run_name, job.id), 63);
            let mut tasks = vec![Task {
                name: "orrery-agent".into(),
                driver: "docker".into(),
                config: DockerConfig {
                    image: options.agent_image.clone(),
                    entrypoint: None,
                    command: Some("cp".into()),
                    args: vec!["-a".into(), "/.orrery/.".into(), format!("{ALLOC_AGENT}/")],
                },
                env: BTreeMap::new(),
                resources: TaskResources {
                    cpu: 100,
                    memory_mb: 64,
                },
                lifecycle: Some(Lifecycle {
                    hook: "prestart".into(),
                    sidecar: false,
                }),
                templates: Vec::new(),
                user: None,
            }];
            let mut taken = BTreeSet::from(["orrery-agent".to_string(), "main".to_string()]);
            for s in services.iter() {
                let base = s.name.clone().unwrap_or_else(|| image_base(&s.image));
                let mut name = label(&format!("svc-{base}"), 60);
                let mut n = 2;
                while !taken.insert(name.clone()) {
                    name = format!("{}-{n}", label(&format!("svc-{base}"), 57));
                    n += 1;
                }
                let (command, args) = split_command(s.command.as_deref());
                tasks.push(Task {
                    name,
                    driver: "docker".into(),
                    config: DockerConfig {
                        image: s.image.clone(),
                        entrypoint: s.entrypoint.clone(),
                        command,
                        args,
                    },
                    env: env_pairs(&s.environment).into_iter().collect(),
                    resources: TaskResources {
                        cpu: 500,
                        memory_mb: 512,
                    },
                    lifecycle: Some(Lifecycle {
                        hook: "prestart".into(),
                        sidecar: true,
                    }),
                    templates: Vec::new(),
                    user: s.user.clone(),
                });
            }
            let env = BTreeMap::from([
                ("ORRERY_STORE".to_string(), options.store_url.clone()),
                ("ORRERY_NODE".to_string(), format!("{}/{}", options.run_name, job.id)),
                ("ORRERY_NODE_INDEX".to_string(), "${NOMAD_ALLOC_INDEX}".to_string()),
            ]);
            let agent = crate::agent_command();
            tasks.push(Task {
                name: "main".into(),
                driver: "docker".into(),
                config: DockerConfig {
                    image: primary.image.clone(),
                    entrypoint: Some(vec![format!("{ALLOC_AGENT}/bin/orrery")]),
                    command: None,
                    args: agent[1..].to_vec(),
                },
                env,
                resources: TaskResources {
                    cpu: res.millicpu,
                    memory_mb: res.memory_mb,
                },
                lifecycle: None,
                templates: vec![Template {
                    embedded_tmpl: format!(
                        "{{{{ with nomadVar \"nomad/jobs/{}\" }}}}ORRERY_STORE_TOKEN={{{{ .token }}}}{{{{ end }}}}\n",
                        token_secret(options)
                    ),
                    dest_path: "secrets/store.env".into(),
                    envvars: true,
                }],
                user: primary.user.clone(),
            });
            let requires: Vec<serde_json::Value> = job
                .requires
                .iter()
                .map(|(up, statuses)| {
                    serde_json::json!({
                        "job": jobs[*up].id,
                        "statuses": statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let mut constraints = Vec::new();
            if res.arm {
                constraints.push(Constraint {
                    l_target: "${attr.cpu.arch}".into(),
                    r_target: "arm64".into(),
                    operand: "=".into(),
                });
            }
            Some(JobPayload {
                job: Job {
                    id: id.clone(),
                    name: id,
                    kind: "batch".into(),
                    datacenters: vec!["*".into()],
                    constraints,
                    task_groups: vec![TaskGroup {
                        name: "node".into(),
                        count: spec.parallelism.max(1),
                        networks: vec![NetworkResource {
                            mode: "bridge".into(),
                        }],
                        restart_policy: RestartPolicy {
                            attempts: 0,
                            mode: "fail".into(),
                        },
                        reschedule_policy: ReschedulePolicy {
                            attempts: 0,
                            unlimited: false,
                        },
                        tasks,
                    }],
                    meta: BTreeMap::from([
                        ("orrery.workflow".to_string(), job.workflow.to_string()),
                        ("orrery.job".to_string(), job.name.to_string()),
                        (
                            "orrery.requires".to_string(),
                            serde_json::Value::Array(requires).to_string(),
                        ),
                    ]),
                },
            })
        })
        .collect()
}

/// A service's `command:` as the docker driver's `command` plus `args`.
fn split_command(words: Option<&[String]>) -> (Option<String>, Vec<String>) {
    match words {
        Some([first, rest @ ..]) => (Some(first.clone()), rest.to_vec()),
        _ => (None, Vec::new()),
    }
}

/// Checks a `{"Job": …}` document: it reads into the model (no unknown or missing fields) and
/// follows Nomad's documented rules for what the model holds. Returns the problems found.
pub fn validate(document: &serde_json::Value) -> Vec<String> {
    let payload: JobPayload = match serde_json::from_value(document.clone()) {
        Ok(p) => p,
        Err(e) => return vec![format!("not a Nomad job: {e}")],
    };
    let job = &payload.job;
    let mut problems = Vec::new();
    let mut problem = |p: String| problems.push(format!("job {:?}: {p}", job.id));
    if job.id.is_empty() || job.id.contains(' ') || job.id.contains('\0') {
        problem("ID must be non-empty, without spaces or NUL".into());
    }
    if !["batch", "service", "system", "sysbatch"].contains(&job.kind.as_str()) {
        problem(format!("Type {:?} is not a job type", job.kind));
    }
    if job.datacenters.is_empty() {
        problem("Datacenters must not be empty".into());
    }
    if job.task_groups.is_empty() {
        problem("a job needs at least one task group".into());
    }
    for c in &job.constraints {
        if ![
            "=",
            "!=",
            ">",
            ">=",
            "<",
            "<=",
            "regexp",
            "version",
            "semver",
            "set_contains",
        ]
        .contains(&c.operand.as_str())
        {
            problem(format!("constraint operand {:?} is unknown", c.operand));
        }
    }
    let mut groups = BTreeSet::new();
    for g in &job.task_groups {
        if !groups.insert(&g.name) {
            problem(format!("task group {:?} is named twice", g.name));
        }
        if job.kind == "batch"
            && g.restart_policy.mode != "fail"
            && g.restart_policy.mode != "delay"
        {
            problem(format!(
                "restart mode {:?} is not delay or fail",
                g.restart_policy.mode
            ));
        }
        if g.reschedule_policy.unlimited && g.reschedule_policy.attempts > 0 {
            problem("an unlimited reschedule policy takes no attempts".into());
        }
        for n in &g.networks {
            if !["host", "bridge", "none"].contains(&n.mode.as_str()) && !n.mode.starts_with("cni/")
            {
                problem(format!("network mode {:?} is unknown", n.mode));
            }
        }
        if g.tasks.is_empty() {
            problem(format!("task group {:?} has no task", g.name));
        }
        if !g.tasks.iter().any(|t| t.lifecycle.is_none()) {
            problem(format!(
                "task group {:?} has no main task (one without a lifecycle)",
                g.name
            ));
        }
        let mut tasks = BTreeSet::new();
        for t in &g.tasks {
            if !tasks.insert(&t.name) {
                problem(format!(
                    "task {:?} is named twice in group {:?}",
                    t.name, g.name
                ));
            }
            if t.name.is_empty() || t.name.contains('/') {
                problem(format!(
                    "task name {:?} must be non-empty without '/'",
                    t.name
                ));
            }
            if t.driver.is_empty() {
                problem(format!("task {:?} has no driver", t.name));
            }
            if t.config.image.is_empty() {
                problem(format!(
                    "task {:?}: the docker driver needs an image",
                    t.name
                ));
            }
            if t.resources.cpu < 1 {
                problem(format!("task {:?}: CPU must be at least 1 MHz", t.name));
            }
            if t.resources.memory_mb < 10 {
                problem(format!("task {:?}: MemoryMB must be at least 10", t.name));
            }
            if let Some(l) = &t.lifecycle {
                if !["prestart", "poststart", "poststop"].contains(&l.hook.as_str()) {
                    problem(format!(
                        "task {:?}: lifecycle hook {:?} is unknown",
                        t.name, l.hook
                    ));
                }
                if l.hook == "poststop" && l.sidecar {
                    problem(format!(
                        "task {:?}: a poststop task cannot be a sidecar",
                        t.name
                    ));
                }
            }
            for tmpl in &t.templates {
                if tmpl.dest_path.is_empty() || tmpl.dest_path.starts_with("../") {
                    problem(format!(
                        "task {:?}: template destination {:?}",
                        t.name, tmpl.dest_path
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> serde_json::Value {
        serde_json::json!({"Job": {
            "ID": "run-build", "Name": "run-build", "Type": "batch", "Datacenters": ["*"],
            "TaskGroups": [{
                "Name": "node", "Count": 1, "Networks": [{"Mode": "bridge"}],
                "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
                "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
                "Tasks": [{"Name": "main", "Driver": "docker", "Config": {"image": "busybox"},
                           "Resources": {"CPU": 1000, "MemoryMB": 2048}}]
            }],
            "Meta": {}
        }})
    }

    #[test]
    fn a_minimal_job_is_valid() {
        assert_eq!(validate(&minimal()), Vec::<String>::new());
    }

    #[test]
    fn unknown_fields_and_broken_rules_are_reported() {
        let mut doc = minimal();
        doc["Job"]["Priority2"] = serde_json::json!(50);
        assert!(validate(&doc)[0].contains("unknown field `Priority2`"));

        let mut doc = minimal();
        let task = doc["Job"]["TaskGroups"][0]["Tasks"][0].clone();
        doc["Job"]["TaskGroups"][0]["Tasks"] = serde_json::json!([task, task]);
        doc["Job"]["TaskGroups"][0]["Tasks"][0]["Lifecycle"] =
            serde_json::json!({"Hook": "poststop", "Sidecar": true});
        doc["Job"]["TaskGroups"][0]["Tasks"][1]["Resources"]["MemoryMB"] = serde_json::json!(4);
        let problems = validate(&doc);
        assert!(
            problems.iter().any(|p| p.contains("named twice")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("cannot be a sidecar")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("at least 10")),
            "{problems:?}"
        );

        let mut doc = minimal();
        doc["Job"]["TaskGroups"][0]["Tasks"][0]["Lifecycle"] =
            serde_json::json!({"Hook": "prestart", "Sidecar": false});
        assert!(validate(&doc).iter().any(|p| p.contains("no main task")));
    }
}
