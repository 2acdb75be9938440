//! One workflow job entry: its shape, its matrix instances, and for each instance the name,
//! the workflow-level keys and the compiled job.

use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Map, Node, Value};

use super::matrix::{expand_matrix, Instance};
use super::{Place, Planned, StandIn};
use crate::context::{Ctx, Reported, R};
use crate::env::Env;
use crate::jobs::{self, Invocation};
use crate::scope::{self, Kind, Lookup, Scope};
use crate::subst;

/// Workflow entry keys that stay in the compiled workflow.
const KEPT_KEYS: &[&str] = &["requires", "context", "filters", "type", "serial-group"];
/// Workflow entry keys consumed by the compiler.
const CONSUMED_KEYS: &[&str] = &["name", "matrix", "pre-steps", "post-steps", "override-with"];

/// Plans an entry of a workflow, or of a job group invoked from it (`place`). A faulty entry
/// is reported and left in `planned` as a stand-in.
pub(super) fn plan_entry(
    ctx: &mut Ctx<'_>,
    workflow: usize,
    item: &Node,
    env: &Env<'_>,
    root: &Rc<Scope>,
    planned: &mut Vec<Planned>,
    place: &Place,
) -> R<()> {
    let stand_in = |name: String, alias: Option<String>, kept: Map, kind: StandIn| {
        Planned::stand_in(workflow, name, alias, kept, item.span, place, kind)
    };
    let empty = Map::new();
    let (job_name, invocation, name_span) = match &item.value {
        Value::Str(name) => (name.clone(), &empty, item.span),
        Value::Map(m) if m.len() == 1 => {
            let e = &m.entries()[0];
            match &e.value.value {
                Value::Map(inv) => (e.key.clone(), inv, e.key_span),
                Value::Null => (e.key.clone(), &empty, e.key_span),
                _ => {
                    let reported = ctx.report(
                        Diagnostic::error(
                            codes::WORKFLOW_SHAPE,
                            format!("the settings of job `{}` must be a map", e.key),
                        )
                        .at(e.value.span, format!("this is a {}", e.value.type_name()))
                        .with_help(
                            "indent `requires:`, `context:` and arguments under the job name",
                        ),
                    );
                    planned.push(stand_in(e.key.clone(), None, Map::new(), StandIn::Named));
                    return Err(reported);
                }
            }
        }
        _ => {
            let reported = ctx.report(
                Diagnostic::error(
                    codes::WORKFLOW_SHAPE,
                    "a workflow job entry must be a job name or a one-key map",
                )
                .at(item.span, "not a job entry")
                .with_help("write `- build` or `- build: { requires: [test] }`"),
            );
            planned.push(stand_in(String::new(), None, Map::new(), StandIn::Unnamed));
            return Err(reported);
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
        let before = planned.len();
        let result = super::groups::plan_invocation(ctx, workflow, &invocation, env, root, planned);
        if result.is_err() && planned.len() == before {
            // Nothing of the group was planned: the workflow may still require it by name.
            let name = invocation
                .keys
                .get("name")
                .and_then(|n| n.value.scalar_text())
                .unwrap_or(job_name);
            planned.push(stand_in(name, None, Map::new(), StandIn::Named));
        }
        return result;
    }
    let alias = invocation.get("matrix").map(|m| {
        m.get("alias")
            .and_then(|a| a.value.scalar_text())
            .unwrap_or_else(|| job_name.clone())
    });
    let instances = match invocation.get("matrix") {
        Some(matrix) => match expand_matrix(ctx, &job_name, matrix, env) {
            Ok(instances) => instances,
            Err(reported) => {
                // Its `requires` may name matrix values; they are not known.
                planned.push(stand_in(job_name, alias, Map::new(), StandIn::Matrix));
                return Err(reported);
            }
        },
        None => vec![Instance {
            values: Vec::new(),
            name: None,
        }],
    };
    let mut failed = false;
    for instance in instances {
        let instance_env = Env {
            matrix: Some(&instance.values),
            ..*env
        };
        let mut inv = invocation.clone();
        inv.remove("matrix");
        let written_name = |inv: &Map| {
            inv.get("name")
                .and_then(|n| n.value.scalar_text())
                .or_else(|| instance.name.clone())
                .unwrap_or_else(|| job_name.clone())
        };
        let unsubstituted_name = written_name(&inv);
        let mut node = Node::new(Value::Map(inv), item.span);
        let substituted = subst::subst_in_place(ctx, &mut node, &instance_env).map(|()| node);
        let Ok(Node {
            value: Value::Map(mut inv),
            ..
        }) = substituted
        else {
            planned.push(stand_in(
                unsubstituted_name,
                alias.clone(),
                Map::new(),
                StandIn::Named,
            ));
            failed = true;
            continue;
        };
        for (param, value) in &instance.values {
            inv.insert(param.clone(), value.span, value.clone());
        }
        let name = written_name(&inv);
        let p = plan_instance(
            ctx,
            workflow,
            &job_name,
            name_span,
            inv,
            name,
            alias.clone(),
            root,
            item.span,
            place,
        );
        failed |= p.stand_in.is_some();
        planned.push(p);
    }
    if failed {
        Err(Reported)
    } else {
        Ok(())
    }
}

/// One instance of an entry: its workflow-level keys and its compiled job, or, when that
/// fails (reported), a stand-in that keeps its name and `requires`.
#[allow(clippy::too_many_arguments)]
fn plan_instance(
    ctx: &mut Ctx<'_>,
    workflow: usize,
    job_name: &str,
    name_span: Span,
    inv: Map,
    name: String,
    alias: Option<String>,
    root: &Rc<Scope>,
    span: Span,
    place: &Place,
) -> Planned {
    let mut kept = Map::new();
    let mut args = Map::new();
    let mut pre_steps = None;
    let mut post_steps = None;
    let mut override_with = None;
    for entry in inv.into_entries() {
        match entry.key.as_str() {
            k if KEPT_KEYS.contains(&k) => kept.push(entry),
            "pre-steps" => pre_steps = Some(entry.value),
            "override-with" => override_with = Some(entry.value),
            "post-steps" => post_steps = Some(entry.value),
            k if CONSUMED_KEYS.contains(&k) => {}
            _ => args.push(entry),
        }
    }
    let invocation = Invocation {
        job_name: job_name.to_string(),
        args,
        pre_steps,
        post_steps,
        use_site: name_span,
    };
    match compile_instance(ctx, &invocation, &name, &kept, override_with.as_ref(), root) {
        Ok(job) => Planned {
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
            stand_in: None,
        },
        Err(Reported) => {
            Planned::stand_in(workflow, name, alias, kept, span, place, StandIn::Named)
        }
    }
}

/// The compiled job of an instance; `None` for an approval entry.
fn compile_instance(
    ctx: &mut Ctx<'_>,
    invocation: &Invocation,
    name: &str,
    kept: &Map,
    override_with: Option<&Node>,
    root: &Rc<Scope>,
) -> R<Option<Node>> {
    match kept.get("type") {
        None => {}
        Some(t) if t.as_str() == Some("approval") => return Ok(None),
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
    }
    let job_name = invocation.job_name.as_str();
    let name_span = invocation.use_site;
    let overriding = match override_with {
        Some(target) => override_job(ctx, target, root)?,
        None => None,
    };
    let Some(found) = overriding.or_else(|| scope::find(root, Kind::Job, job_name)) else {
        if matches!(scope::lookup(root, Kind::Job, job_name), Lookup::Opaque) {
            return Err(Reported);
        }
        let known: Vec<&str> = root.jobs.keys().collect();
        // `- "test: {requires: [build]}"`: a job and its settings written as one string.
        let settings_as_text = job_name
            .split_once(':')
            .map(|(job, _)| job.trim())
            .filter(|job| scope::find(root, Kind::Job, job).is_some());
        let help = match (settings_as_text, orrery_diagnostics::suggest(job_name, &known)) {
            (Some(job), _) => format!("this entry is one string, not job `{job}` with settings: write it without quotes, `- {job_name}`, so that it is a map"),
            (None, Some(s)) => format!("did you mean `{s}`?"),
            (None, None) => "define it under `jobs:`, import the orb that provides it, or add `type: approval` for an approval job".into(),
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
    ctx.push_frame(format!("Error calling job: '{name}'"), name_span);
    let compiled = jobs::compile(ctx, &found, invocation, root);
    ctx.pop_frame();
    Ok(Some(compiled?))
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
