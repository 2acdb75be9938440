//! Workflows: each workflow's condition, then every job entry planned (matrix instances,
//! names, arguments, the compiled job; job groups expanded), numbered, and emitted with its
//! `requires` resolved and checked for cycles. A faulty entry is reported and stays as a
//! stand-in, so the workflow's `requires` and cycles are still checked around it.

mod cycles;
mod emit;
mod entry;
mod groups;
mod matrix;
mod numbering;
mod requires;

use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_expr::expr;
use orrery_yaml::{Entry, Map, Node, Value};

use crate::context::{Ctx, R};
use crate::env::{truthy, Env, ExprEnv};
use crate::scope::Scope;
use crate::{logic, subst};

pub(crate) use emit::emit_workflow;
pub(crate) use groups::{definitions as job_group_definitions, JobGroups};
pub(crate) use numbering::number_duplicates;

use entry::plan_entry;

/// One job of one workflow after matrix expansion.
pub(crate) struct Planned {
    workflow: usize,
    /// Final name (after `name:`, matrix naming and numbering).
    name: String,
    /// Name before numbering.
    written_name: String,
    /// What `requires` may call this entry by besides its name: the matrix alias.
    alias: Option<String>,
    /// Workflow-level keys to print, in input order.
    kept: Map,
    job: Option<Node>,
    span: Span,
    /// Where the entry's `requires` are resolved and where it can be required: the
    /// workflow ([`Place::WORKFLOW`]) or one invocation of a job group.
    scope: usize,
    /// A second scope that sees the entry: the jobs that join a group to its workflow.
    also_in: Option<usize>,
    /// The job group the entry is a member of.
    group: Option<Rc<str>>,
    /// Set when the entry was reported as faulty: it compiles to nothing, and stands in for
    /// the names `requires` may call it by.
    stand_in: Option<StandIn>,
}

/// Which `requires` names a faulty entry answers to (besides its own name and alias).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StandIn {
    /// Its name is known; it answers to that.
    Named,
    /// Its matrix could not be expanded: it answers to every `NAME-…` instance name too.
    Matrix,
    /// Not even its name could be read: it answers to any name.
    Unnamed,
}

impl Planned {
    /// A faulty entry's stand-in, named `name` (before `place`'s prefix).
    fn stand_in(
        workflow: usize,
        name: String,
        alias: Option<String>,
        kept: Map,
        span: Span,
        place: &Place,
        stand_in: StandIn,
    ) -> Planned {
        Planned {
            workflow,
            name: format!("{}{name}", place.prefix),
            written_name: name,
            alias,
            kept,
            job: None,
            span,
            scope: place.scope,
            also_in: None,
            group: place.group.clone(),
            stand_in: Some(stand_in),
        }
    }
}

/// What planning a workflow came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Its `when`/`unless` excludes it.
    Excluded,
    /// Planned; `faulty` when an entry was reported (it stays as a stand-in).
    Planned { faulty: bool },
}

/// Where an entry is planned: the workflow itself, or the members of one job group invocation
/// (their names prefixed when the invocation is named).
pub(crate) struct Place {
    scope: usize,
    prefix: String,
    group: Option<Rc<str>>,
}

impl Place {
    const WORKFLOW: Place = Place {
        scope: 0,
        prefix: String::new(),
        group: None,
    };
}

/// Plans every entry of a workflow. `Err` when the workflow as a whole is faulty (its shape,
/// its condition, its size); a faulty entry only makes it `Plan::Planned { faulty: true }`.
pub(crate) fn plan_workflow(
    ctx: &mut Ctx<'_>,
    index: usize,
    entry: &Entry,
    env: &Env<'_>,
    root: &Rc<Scope>,
    planned: &mut Vec<Planned>,
) -> R<Plan> {
    let Some(workflow) = entry.value.as_map() else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::WORKFLOW_SHAPE,
                format!("workflow `{}` must be a map with `jobs`", entry.key),
            )
            .at(
                entry.value.span,
                format!("this is a {}", entry.value.type_name()),
            ),
        ));
    };
    for (word, wanted) in [("when", true), ("unless", false)] {
        if let Some(condition) = workflow.get(word) {
            if workflow_condition(ctx, condition, env)? != wanted {
                return Ok(Plan::Excluded);
            }
        }
    }
    let Some(job_list) = workflow.get("jobs").and_then(Node::as_seq) else {
        let at = workflow.get("jobs").map_or(entry.key_span, |j| j.span);
        return Err(ctx.report(
            Diagnostic::error(
                codes::WORKFLOW_SHAPE,
                format!("workflow `{}` needs a `jobs` list", entry.key),
            )
            .at(at, "missing or not a list")
            .with_help("list the jobs to run: `jobs: [build, test]`"),
        ));
    };
    let mut faulty = groups::check_invocations(ctx, job_list).is_err();
    let before = planned.len();
    for item in job_list {
        if plan_entry(ctx, index, item, env, root, planned, &Place::WORKFLOW).is_err() {
            faulty = true;
        }
        let max = ctx.limits.max_workflow_jobs;
        if planned.len() - before > max {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::YAML_LIMIT,
                    format!(
                        "workflow `{}` has more than {max} jobs (the limit of jobs per workflow)",
                        entry.key
                    ),
                )
                .at(item.span, "jobs-per-workflow limit exceeded here")
                .with_help("split the jobs across workflows, or use smaller matrices"),
            ));
        }
    }
    Ok(Plan::Planned { faulty })
}

fn workflow_condition(ctx: &mut Ctx<'_>, condition: &Node, env: &Env<'_>) -> R<bool> {
    match &condition.value {
        Value::Str(text) if !text.contains("<<") => match expr::parse(text) {
            Ok(e) => match e.eval(&ExprEnv { env }) {
                Ok(v) => Ok(v.is_truthy()),
                Err(err) => Err(ctx.report(Diagnostic::error(codes::EXPRESSION, err.render(text).replace('\n', "\n    ")).at(condition.span, "in this condition"))),
            },
            Err(err) => Err(ctx.report(
                Diagnostic::error(codes::EXPRESSION, err.render(text).replace('\n', "\n    "))
                    .at(condition.span, "in this condition")
                    .with_help("a workflow condition is an expression such as `pipeline.git.branch == \"main\"`, or a logic statement map"),
            )),
        },
        Value::Map(_) => {
            let substituted = subst::subst(ctx, condition, env)?;
            logic::evaluate(ctx, &substituted)
        }
        _ => {
            let substituted = subst::subst(ctx, condition, env)?;
            Ok(truthy(&substituted.value))
        }
    }
}
