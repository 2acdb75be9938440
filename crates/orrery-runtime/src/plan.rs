//! The pure planning core: a compiled config and its job graph plus what to run (workflow, jobs,
//! branch or tag) in; the jobs to run in graph order, with their requirements resolved to
//! indices, out. Never fails: problems are diagnostics.

use std::collections::BTreeSet;

use orrery_compiler::{JobGraph, WorkflowGraph};
use orrery_diagnostics::{codes, Diagnostic};
use orrery_yaml::Node;
use serde::{Deserialize, Serialize};

use crate::filters::{passes, GitRef};
use crate::spec::{job_spec, JobSpec};

/// What the user asked to run.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only this workflow (default: every workflow of the pipeline, as CircleCI starts them all).
    pub workflow: Option<String>,
    /// Only these jobs; requirements on jobs left out count as met and filters do not apply.
    pub jobs: Vec<String>,
    pub git: GitRef,
}

/// The end state of a job, as CircleCI names them, plus `OnHold` for an approval nobody gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Success,
    Failed,
    Canceled,
    Unauthorized,
    NotRun,
    OnHold,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
            Status::Unauthorized => "unauthorized",
            Status::NotRun => "not_run",
            Status::OnHold => "on_hold",
        }
    }

    fn parse(text: &str) -> Option<Vec<Status>> {
        Some(match text {
            "success" => vec![Status::Success],
            "failed" => vec![Status::Failed],
            "canceled" => vec![Status::Canceled],
            "unauthorized" => vec![Status::Unauthorized],
            "not_run" => vec![Status::NotRun],
            "terminal" => vec![
                Status::Success,
                Status::Failed,
                Status::Canceled,
                Status::Unauthorized,
                Status::NotRun,
            ],
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dependency {
    /// Index into `Plan::jobs`.
    pub job: usize,
    /// End states of the upstream job that let this one start.
    pub accepted: Vec<Status>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JobKind {
    Approval,
    Run(JobSpec),
    /// A job that runs nothing and succeeds at once: `type: no-op` (a job group's start and
    /// end), and `type: release`, which is about a deploy CircleCI tracks, not a local one.
    NoOp,
    /// `type: lock`: waits until no other job of the run holds `key`, then holds it.
    Lock {
        key: String,
    },
    /// `type: unlock`: gives `key` back.
    Unlock {
        key: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlannedJob {
    pub workflow: String,
    pub name: String,
    pub kind: JobKind,
    pub requires: Vec<Dependency>,
    pub contexts: Vec<String>,
}

impl PlannedJob {
    /// How many parallel nodes the job runs on.
    pub fn nodes(&self) -> u32 {
        match &self.kind {
            JobKind::Run(spec) => spec.parallelism.max(1),
            _ => 1,
        }
    }
}

/// Jobs in graph order (every job after the jobs it requires; ties keep config order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub workflows: Vec<String>,
    pub jobs: Vec<PlannedJob>,
    /// `(workflow, job)` left out by filters or because all their requirements were.
    pub filtered: Vec<(String, String)>,
}

impl Plan {
    /// Every job upstream of `job` (transitively), in plan order.
    pub fn upstream(&self, job: usize) -> Vec<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![job];
        while let Some(j) = stack.pop() {
            for d in &self.jobs[j].requires {
                if seen.insert(d.job) {
                    stack.push(d.job);
                }
            }
        }
        seen.into_iter().collect()
    }
}

/// What a compiled job is to the scheduler, from its `type`.
fn kind_of(name: &str, node: &Node, diagnostics: &mut Vec<Diagnostic>) -> JobKind {
    let key = || {
        node.get("key")
            .and_then(|k| k.value.scalar_text())
            .unwrap_or_default()
    };
    match node.get("type").and_then(Node::as_str) {
        Some("no-op" | "release") => JobKind::NoOp,
        Some("lock") => JobKind::Lock { key: key() },
        Some("unlock") => JobKind::Unlock { key: key() },
        Some("approval") => JobKind::Approval,
        _ => JobKind::Run(job_spec(name, node, diagnostics)),
    }
}

/// Plans a run of `config` (the compiled `version: 2` document) and its `graph`.
pub fn plan(config: &Node, graph: &JobGraph, selection: &Selection) -> (Plan, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut out = Plan::default();
    let jobs_map = config.get("jobs").and_then(Node::as_map);
    let has_job = |name: &str| jobs_map.is_some_and(|m| m.contains_key(name));

    let workflows: Vec<WorkflowGraph> = match &selection.workflow {
        Some(name) => match graph.workflow(name) {
            Some(w) => vec![w.clone()],
            None => {
                let known: Vec<&str> = graph.workflows.iter().map(|w| w.name.as_str()).collect();
                diagnostics.push(
                    Diagnostic::error(
                        codes::RUN_SELECTION,
                        format!("there is no workflow `{name}` to run"),
                    )
                    .with_help(format!("the workflows are: {}", known.join(", "))),
                );
                return (out, diagnostics);
            }
        },
        None => graph.workflows.clone(),
    };

    // (workflow, graph job) candidates before filtering, in config order.
    let mut candidates: Vec<(String, orrery_compiler::GraphJob)> = Vec::new();
    for w in &workflows {
        for j in &w.jobs {
            if selection.jobs.is_empty() || selection.jobs.contains(&j.name) {
                candidates.push((w.name.clone(), j.clone()));
            }
        }
    }
    // A selected job that no workflow runs, or a config without workflows and a `build` job,
    // runs on its own (as CircleCI's implicit workflow does).
    let standalone: Vec<String> = if selection.jobs.is_empty() {
        if graph.workflows.is_empty() && has_job("build") {
            vec!["build".to_string()]
        } else {
            Vec::new()
        }
    } else {
        selection
            .jobs
            .iter()
            .filter(|n| !candidates.iter().any(|(_, j)| &j.name == *n))
            .cloned()
            .collect()
    };
    for name in standalone {
        if !has_job(&name) {
            let known: Vec<&str> = jobs_map
                .map(|m| m.entries().iter().map(|e| e.key.as_str()).collect())
                .unwrap_or_default();
            let help = match orrery_diagnostics::suggest(&name, &known) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the jobs are: {}", known.join(", ")),
            };
            diagnostics.push(
                Diagnostic::error(
                    codes::RUN_SELECTION,
                    format!("there is no job `{name}` to run"),
                )
                .with_help(help),
            );
            continue;
        }
        candidates.push((
            "local".to_string(),
            orrery_compiler::GraphJob {
                name,
                approval: false,
                requires: Vec::new(),
                filters: None,
                contexts: Vec::new(),
                span: config.span,
            },
        ));
    }

    // Filters, then requirements on filtered jobs: a job whose every requirement was filtered
    // out does not run either.
    let mut kept: Vec<bool> = candidates
        .iter()
        .map(|(_, j)| {
            if !selection.jobs.is_empty() {
                return true;
            }
            match passes(j.filters.as_ref(), &selection.git) {
                Ok(runs) => runs,
                Err(d) => {
                    diagnostics.push(d);
                    false
                }
            }
        })
        .collect();
    let find = |wf: &str, name: &str| {
        candidates
            .iter()
            .position(|(w, j)| w == wf && j.name == name)
    };
    loop {
        let mut changed = false;
        for (i, (wf, job)) in candidates.iter().enumerate() {
            if !kept[i] || job.requires.is_empty() || !selection.jobs.is_empty() {
                continue;
            }
            let all_gone = job
                .requires
                .iter()
                .all(|r| find(wf, &r.job).is_none_or(|k| !kept[k]));
            if all_gone {
                kept[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (i, (wf, job)) in candidates.iter().enumerate() {
        if !kept[i] {
            out.filtered.push((wf.clone(), job.name.clone()));
        }
    }

    // Graph order: Kahn's algorithm, ties broken by config order.
    let live: Vec<usize> = (0..candidates.len()).filter(|&i| kept[i]).collect();
    let deps: Vec<Vec<(usize, Vec<Status>)>> = candidates
        .iter()
        .map(|(wf, job)| {
            job.requires
                .iter()
                .filter_map(|r| {
                    let k = find(wf, &r.job).filter(|&k| kept[k])?;
                    let mut accepted = Vec::new();
                    for s in &r.statuses {
                        match Status::parse(s) {
                            Some(list) => accepted.extend(list),
                            None => diagnostics.push(
                                Diagnostic::error(
                                    codes::RUN_SELECTION,
                                    format!("job `{}`: `{s}` is not a job status", job.name),
                                )
                                .at(job.span, "in this requirement")
                                .with_help("use success, failed, canceled, unauthorized, not_run or terminal"),
                            ),
                        }
                    }
                    if accepted.is_empty() {
                        accepted.push(Status::Success);
                    }
                    Some((k, accepted))
                })
                .collect()
        })
        .collect();
    let mut order: Vec<usize> = Vec::new();
    let mut placed = vec![false; candidates.len()];
    while order.len() < live.len() {
        let next = live
            .iter()
            .copied()
            .find(|&i| !placed[i] && deps[i].iter().all(|(k, _)| placed[*k]));
        let Some(i) = next else {
            diagnostics.push(Diagnostic::error(
                codes::REQUIRES_CYCLE,
                "the jobs to run require each other in a cycle",
            ));
            return (Plan::default(), diagnostics);
        };
        placed[i] = true;
        order.push(i);
    }

    // Candidate index -> index in `out.jobs`.
    let mut index: Vec<Option<usize>> = vec![None; candidates.len()];
    for &i in &order {
        let (wf, job) = &candidates[i];
        let kind = if job.approval {
            JobKind::Approval
        } else {
            match jobs_map.and_then(|m| m.get(&job.name)) {
                Some(node) => kind_of(&job.name, node, &mut diagnostics),
                None => {
                    diagnostics.push(
                        Diagnostic::error(
                            codes::RUN_SELECTION,
                            format!(
                                "workflow `{wf}` runs job `{}`, which the config does not define",
                                job.name
                            ),
                        )
                        .at(job.span, "no such job"),
                    );
                    continue;
                }
            }
        };
        let requires = deps[i]
            .iter()
            .filter_map(|(k, accepted)| {
                Some(Dependency {
                    job: index[*k]?,
                    accepted: accepted.clone(),
                })
            })
            .collect();
        index[i] = Some(out.jobs.len());
        if !out.workflows.contains(wf) {
            out.workflows.push(wf.clone());
        }
        out.jobs.push(PlannedJob {
            workflow: wf.clone(),
            name: job.name.clone(),
            kind,
            requires,
            contexts: job.contexts.clone(),
        });
    }
    if out.jobs.is_empty() && !orrery_diagnostics::has_errors(&diagnostics) {
        diagnostics.push(
            Diagnostic::error(
                codes::RUN_SELECTION,
                "nothing to run: every job was filtered out",
            )
            .with_help("pass --branch or --tag to pick what is being built, or --job NAME"),
        );
    }
    (out, diagnostics)
}
