//! `orrery export`: a planned run ([`orrery_runtime::Plan`]) as manifests for engines that run
//! the jobs elsewhere. Pure: values in, JSON values and diagnostics out, no I/O.
//!
//! Every target runs one job node as the primary image with `orrery agent task` as its command,
//! the agent copied in by an init step from the agent image and talking to the store given at
//! export (`--store-url`); the store's token comes from the engine's own secret store, never
//! from the manifest. Only Argo expresses the job graph; Kubernetes and Nomad get one job per
//! CircleCI job with the requirements as metadata, and `plan.json` gives drivers the graph.

mod argo;
mod k8s;
mod names;
pub mod nomad;
mod plan_json;
use orrery_runtime::resources;

use orrery_diagnostics::{codes, Diagnostic};
use orrery_runtime::spec::{DockerImage, ExecutorKind, JobSpec};
use orrery_runtime::{JobKind, Plan, Status};
use orrery_yaml::Node;
use serde_json::Value;

pub use resources::Resources;

/// Where the exported jobs find the agent and the store.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The store the agents talk to, e.g. `https://orrery-store.ci.svc:7311`.
    pub store_url: String,
    /// The image holding the agent under `/.orrery` (and a `cp`), copied in by an init step.
    pub agent_image: String,
    /// A name for the run: the Argo workflow's name prefix, the Jobs' and Nomad jobs' prefix.
    pub run_name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Argo,
    Kubernetes,
    Nomad,
    /// The plan itself, for external drivers.
    Plan,
}

/// One exported job: the plan's job with what every target needs worked out once.
pub(crate) struct ExportJob<'a> {
    /// Unique among the run's jobs, a DNS label (lowercase letters, digits, `-`).
    pub id: String,
    pub workflow: &'a str,
    pub name: &'a str,
    pub kind: Kind<'a>,
    pub requires: Vec<(usize, &'a [Status])>,
    pub contexts: &'a [String],
}

pub(crate) enum Kind<'a> {
    Approval,
    Docker(DockerJob<'a>),
}

/// A job that runs in containers: its primary image and services, and what it reserves.
pub(crate) struct DockerJob<'a> {
    pub spec: &'a JobSpec,
    pub primary: &'a DockerImage,
    pub services: &'a [DockerImage],
    pub resource_class: String,
    pub resources: Resources,
}

impl<'a> ExportJob<'a> {
    /// The job's containers, unless it is an approval.
    pub(crate) fn docker(&self) -> Option<&DockerJob<'a>> {
        match &self.kind {
            Kind::Docker(docker) => Some(docker),
            Kind::Approval => None,
        }
    }
}

/// What the agent in every target is started with.
pub(crate) const AGENT_MOUNT: &str = "/.orrery-agent";
pub(crate) const AGENT_VOLUME: &str = "orrery-agent";

pub(crate) fn agent_command() -> Vec<String> {
    vec![
        format!("{AGENT_MOUNT}/bin/orrery"),
        "agent".into(),
        "task".into(),
    ]
}

pub(crate) fn agent_install_command() -> Vec<String> {
    vec![
        "cp".into(),
        "-a".into(),
        "/.orrery/.".into(),
        format!("{AGENT_MOUNT}/"),
    ]
}

/// The manifests of `target` for `plan` (whose jobs are read from the compiled `config`), as
/// JSON documents in the order to write them, or diagnostics saying why not (machine and macOS
/// jobs need a host, not a container, and are refused rather than left out).
pub fn export(
    plan: &Plan,
    config: &Node,
    target: Target,
    options: &ExportOptions,
) -> (Vec<Value>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let jobs = export_jobs(plan, config, &mut diagnostics);
    if orrery_diagnostics::has_errors(&diagnostics) {
        return (Vec::new(), diagnostics);
    }
    let documents = match target {
        Target::Argo => vec![argo::workflow(&jobs, options)],
        Target::Kubernetes => k8s::jobs(&jobs, options),
        Target::Nomad => nomad::jobs(&jobs, options)
            .into_iter()
            .map(|job| serde_json::to_value(job).unwrap_or(Value::Null))
            .collect(),
        Target::Plan => vec![plan_json::plan(plan, &jobs, options)],
    };
    (documents, diagnostics)
}

/// A job the targets cannot run (E0804), at its compiled definition when there is one.
fn refused(config: &Node, job: &str, message: String, help: &str) -> Diagnostic {
    let d = Diagnostic::error(codes::RUN_EXECUTOR, message).with_help(help);
    match config.get("jobs").and_then(|j| j.get(job)) {
        Some(node) => d.at(node.span, "not a docker job"),
        None => d,
    }
}

fn export_jobs<'a>(
    plan: &'a Plan,
    config: &'a Node,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ExportJob<'a>> {
    let mut ids = names::Unique::default();
    let mut out = Vec::new();
    for job in &plan.jobs {
        let kind = match &job.kind {
            JobKind::Approval => Kind::Approval,
            JobKind::NoOp | JobKind::Lock { .. } | JobKind::Unlock { .. } => {
                diagnostics.push(refused(
                    config,
                    &job.name,
                    format!(
                        "job `{}` runs nothing (a no-op, release, lock or unlock job, as job groups compile to), which the export targets do not model yet",
                        job.name
                    ),
                    "export the group's jobs with --job NAME, or run the workflow with `orrery run`",
                ));
                continue;
            }
            JobKind::Run(spec) => match &spec.executor {
                ExecutorKind::Docker { images } if !images.is_empty() => {
                    let node = config.get("jobs").and_then(|j| j.get(&job.name));
                    let class_node = node.and_then(|n| n.get("resource_class"));
                    let resource_class = class_node
                        .and_then(Node::as_str)
                        .unwrap_or(resources::DEFAULT_CLASS)
                        .to_string();
                    let resources = match resources::of(&resource_class) {
                        Some(r) => r,
                        None => {
                            let d = Diagnostic::warning(
                                codes::RUN_BAD_VALUE,
                                format!(
                                    "job `{}`: resource class `{resource_class}` is not a docker class; exported with `{}`'s resources",
                                    job.name,
                                    resources::DEFAULT_CLASS
                                ),
                            )
                            .with_help("use small, medium, medium+, large, xlarge, 2xlarge, 2xlarge+ or an arm.* class");
                            diagnostics.push(match class_node {
                                Some(n) => d.at(n.span, "unknown resource class"),
                                None => d,
                            });
                            resources::of(resources::DEFAULT_CLASS).unwrap_or_default()
                        }
                    };
                    Kind::Docker(DockerJob {
                        spec,
                        primary: &images[0],
                        services: &images[1..],
                        resource_class,
                        resources,
                    })
                }
                other => {
                    diagnostics.push(refused(
                        config,
                        &job.name,
                        format!(
                            "job `{}` runs on a {} executor, which an exported container cannot provide",
                            job.name,
                            other.label()
                        ),
                        "export only docker jobs (--job NAME), or run this one with `orrery run`",
                    ));
                    continue;
                }
            },
        };
        let id = ids.take(&job.workflow, &job.name);
        out.push(ExportJob {
            id,
            workflow: &job.workflow,
            name: &job.name,
            kind,
            requires: job
                .requires
                .iter()
                .map(|d| (d.job, d.accepted.as_slice()))
                .collect(),
            contexts: &job.contexts,
        });
    }
    out
}

/// A run name usable as a prefix of DNS labels.
pub fn run_label(name: &str) -> String {
    names::label(name, 20)
}

/// The documents as the target's file: Argo and `plan.json` one pretty JSON document,
/// Kubernetes a multi-document YAML stream (each document JSON, which is YAML), Nomad one
/// `{"Job": …}` per line, as its job API takes them.
pub fn render(target: Target, documents: &[Value]) -> String {
    let mut out = String::new();
    for doc in documents {
        match target {
            Target::Argo | Target::Plan => {
                out.push_str(&serde_json::to_string_pretty(doc).unwrap_or_default());
                out.push('\n');
            }
            Target::Kubernetes => {
                out.push_str("---\n");
                out.push_str(&serde_json::to_string_pretty(doc).unwrap_or_default());
                out.push('\n');
            }
            Target::Nomad => {
                out.push_str(&serde_json::to_string(doc).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    out
}

/// `KEY=VALUE` pairs in order, later ones replacing earlier ones of the same name.
pub(crate) fn env_pairs(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}
