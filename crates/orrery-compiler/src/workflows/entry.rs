//! One workflow job entry: its shape, its matrix instances, and for each instance the name,
//! the workflow-level keys and the compiled job.

use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Map, Node, Value};

use super::matrix::{expand_matrix, Instance};
use super::{Place, Planned};
use crate::context::{Ctx, Reported, R};
use crate::env::Env;
use crate::jobs::{self, Invocation};
use crate::scope::{self, Kind, Lookup, Scope};
use crate::subst;

/// Workflow entry keys that stay in the compiled workflow.
const KEPT_KEYS: &[&str] = &["requires", "context", "filters", "type", "serial-group"];
/// Workflow entry keys consumed by the compiler.
const CONSUMED_KEYS: &[&str] = &["name", "matrix", "pre-steps", "post-steps", "override-with"];

pub(super) fn plan_entry(
    ctx: &mut Ctx<'_>,
    workflow: usize,
    item: &Node,
    env: &Env<'_>,
    root: &Rc<Scope>,
    planned: &mut Vec<Planned>,
) -> R<()> {
    plan_entry_in(ctx, workflow, item, env, root, planned, &Place::WORKFLOW)
}

/// Plans an entry of a workflow, or of a job group invoked from it (`place`).
pub(super) fn plan_entry_in(
    ctx: &mut Ctx<'_>,
    workflow: usize,
    item: &Node,
    env: &Env<'_>,
    root: &Rc<Scope>,
    planned: &mut Vec<Planned>,
    place: &Place,
) -> R<()> {
    let empty = Map::new();
    let (job_name, invocation, name_span) = match &item.value {
        Value::Str(name) => (name.clone(), &empty, item.span),
        Value::Map(m) if m.len() == 1 => {
            let e = &m.entries[0];
            match &e.value.value {
                Value::Map(inv) => (e.key.clone(), inv, e.key_span),
                Value::Null => (e.key.clone(), &empty, e.key_span),
                _ => {
                    return Err(ctx.report(
                        Diagnostic::error(
                            codes::WORKFLOW_SHAPE,
                            format!("the settings of job `{}` must be a map", e.key),
                        )
                        .at(e.value.span, format!("this is a {}", e.value.type_name()))
                        .with_help(
                            "indent `requires:`, `context:` and arguments under the job name",
                        ),
                    ))
                }
            }
        }
        _ => {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::WORKFLOW_SHAPE,
                    "a workflow job entry must be a job name or a one-key map",
                )
                .at(item.span, "not a job entry")
                .with_help("write `- build` or `- build: { requires: [test] }`"),
            ))
        }
    };
    if let Some(group) = ctx.job_groups.get(&job_name) {
        if place.group.is_some() {
            // Nesting is reported once, at the group's definition.
            return Err(Reported);
        }
        let group = Rc::clone(group);
        let invocation = super::groups::Invocation {
            group: &group,
            keys: invocation,
            name_span,
            span: item.span,
        };
        return super::groups::plan_invocation(ctx, workflow, &invocation, env, root, planned);
    }
    let instances = match invocation.get("matrix") {
        Some(matrix) => expand_matrix(ctx, &job_name, matrix, env)?,
        None => vec![Instance {
            values: Vec::new(),
            name: None,
        }],
    };
    let alias = invocation.get("matrix").map(|m| {
        m.get("alias")
            .and_then(|a| a.value.scalar_text())
            .unwrap_or_else(|| job_name.clone())
    });
    let mut failed = false;
    for instance in instances {
        let instance_env = Env {
            matrix: Some(&instance.values),
            ..*env
        };
        let mut inv = invocation.clone();
        inv.remove("matrix");
        let substituted = subst::subst(ctx, &Node::new(Value::Map(inv), item.span), &instance_env)?;
        let Value::Map(mut inv) = substituted.value else {
            return Err(Reported);
        };
        for (param, value) in &instance.values {
            inv.insert(param.clone(), value.span, value.clone());
        }
        match plan_instance(
            ctx,
            workflow,
            &job_name,
            name_span,
            inv,
            instance.name,
            alias.clone(),
            root,
            item.span,
            place,
        ) {
            Ok(p) => planned.push(p),
            Err(Reported) => failed = true,
        }
    }
    if failed {
        Err(Reported)
    } else {
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_instance(
    ctx: &mut Ctx<'_>,
    workflow: usize,
    job_name: &str,
    name_span: Span,
    inv: Map,
    matrix_name: Option<String>,
    alias: Option<String>,
    root: &Rc<Scope>,
    span: Span,
    place: &Place,
) -> R<Planned> {
    let explicit_name = inv.get("name").and_then(|n| n.value.scalar_text());
    let name = explicit_name
        .or(matrix_name)
        .unwrap_or_else(|| job_name.to_string());
    let approval = match inv.get("type") {
        None => false,
        Some(t) if t.as_str() == Some("approval") => true,
        Some(t) => {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::WORKFLOW_SHAPE,
                    "only `type: approval` may be set on a workflow job entry",
                )
                .at(t.span, "not allowed here")
                .with_help("set other job types in the job's definition under `jobs:`"),
            ))
        }
    };
    let mut kept = Map::new();
    let mut args = Map::new();
    let mut pre_steps = None;
    let mut post_steps = None;
    let mut override_with = None;
    for entry in inv.entries {
        match entry.key.as_str() {
            k if KEPT_KEYS.contains(&k) => kept.entries.push(entry),
            "pre-steps" => pre_steps = Some(entry.value),
            "override-with" => override_with = Some(entry.value),
            "post-steps" => post_steps = Some(entry.value),
            k if CONSUMED_KEYS.contains(&k) => {}
            _ => args.entries.push(entry),
        }
    }
    let job = if approval {
        None
    } else {
        let overriding = match &override_with {
            Some(target) => override_job(ctx, target, root)?,
            None => None,
        };
        let Some(found) = overriding.or_else(|| scope::find(root, Kind::Job, job_name)) else {
            if matches!(scope::lookup(root, Kind::Job, job_name), Lookup::Opaque) {
                return Err(Reported);
            }
            let known: Vec<&str> = root.jobs.keys().collect();
            let help = match orrery_diagnostics::suggest(job_name, &known) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "define it under `jobs:`, import the orb that provides it, or add `type: approval` for an approval job".into(),
            };
            return Err(ctx.report(
                Diagnostic::error(
                    codes::UNKNOWN_JOB,
                    format!("Cannot find a definition for job named {job_name}"),
                )
                .at(name_span, "unknown job")
                .with_help(help),
            ));
        };
        let invocation = Invocation {
            job_name: job_name.to_string(),
            args,
            pre_steps,
            post_steps,
            use_site: name_span,
        };
        ctx.push_frame(format!("Error calling job: '{name}'"), name_span);
        let compiled = jobs::compile(ctx, &found, &invocation, root);
        ctx.pop_frame();
        Some(compiled?)
    };
    Ok(Planned {
        workflow,
        name: format!("{}{name}", place.prefix),
        written_name: name,
        alias,
        kept,
        job,
        span,
        scope: place.scope,
        also_in: None,
        group: place.group.clone(),
    })
}

/// `override-with: orb/job`: that orb job's definition replaces the local one when it exists
/// (CONFIG-SPEC §6.12); an undefined orb alias is an error.
fn override_job(ctx: &mut Ctx<'_>, target: &Node, root: &Rc<Scope>) -> R<Option<scope::Found>> {
    let Some(name) = target.as_str() else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::WORKFLOW_SHAPE,
                "`override-with` must name an orb job, like `my-orb/test`",
            )
            .at(target.span, "not a job name"),
        ));
    };
    if let Some((alias, _)) = name.split_once('/') {
        if root.orb(alias).is_none() {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::ORB_UNKNOWN_ALIAS,
                    format!("`override-with` names orb `{alias}`, which is not imported"),
                )
                .at(target.span, "unknown orb alias")
                .with_help(format!("add `{alias}` under `orbs:`")),
            ));
        }
    }
    match scope::lookup(root, Kind::Job, name) {
        Lookup::Found(found) => Ok(Some(found)),
        Lookup::Opaque => Err(Reported),
        Lookup::Missing => Ok(None),
    }
}
