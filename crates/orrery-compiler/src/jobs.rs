//! Compiling one job invocation into a job of the output (CONFIG-SPEC §3.4–§3.5, §9.3).

use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Entry, Map, Node, Value};

use crate::context::{Ctx, R};
use crate::executors;
use crate::params;
use crate::scope::{Found, Scope};
use crate::steps::{self, Expander};
use crate::subst;

/// A workflow job entry, ready to compile: arguments and pre/post-steps already substituted in
/// the workflow's scope.
pub(crate) struct Invocation {
    pub job_name: String,
    pub args: Map,
    pub pre_steps: Option<Node>,
    pub post_steps: Option<Node>,
    pub use_site: Span,
}

pub(crate) fn compile(
    ctx: &mut Ctx<'_>,
    found: &Found,
    invocation: &Invocation,
    root: &Rc<Scope>,
) -> R<Node> {
    let name = &invocation.job_name;
    let Some(definition) = found.definition().as_map() else {
        return Err(ctx.report(
            Diagnostic::error(codes::SHAPE, format!("job `{name}` must be a map"))
                .at(found.definition().span, "definition")
                .also(invocation.use_site, "used here"),
        ));
    };
    let call = params::bind_call(
        ctx,
        definition,
        &invocation.args,
        invocation.use_site,
        &found.scope,
        root,
    )?;
    let env = call.env();

    // A fault in one part of the job (a key's template, the executor, a step) is reported and
    // the other parts are still compiled, so each is checked; the job then fails as a whole.
    let mut failed = None;
    let mut body = Map::new();
    for entry in definition.entries() {
        if matches!(entry.key.as_str(), "parameters" | "description") {
            continue;
        }
        let (value, result) = if entry.key == "steps" {
            subst::subst_items(ctx, &entry.value, &env)
        } else {
            match subst::subst(ctx, &entry.value, &env) {
                Ok(value) => (Some(value), Ok(())),
                Err(e) => (None, Err(e)),
            }
        };
        if let Err(e) = result {
            failed = Some(e);
        }
        if let Some(value) = value {
            body.push(Entry {
                key: entry.key.clone(),
                key_span: entry.key_span,
                value,
            });
        }
    }

    let mut job = match body.get("executor").cloned() {
        Some(executor) if !executor.is_null() => {
            match executors::resolve(ctx, &executor, &found.scope, root) {
                Ok(executor_body) => executors::merge(executor_body, body),
                Err(e) => {
                    failed = Some(e);
                    body.remove("executor");
                    body
                }
            }
        }
        _ => {
            body.remove("executor");
            body
        }
    };

    let pre = invocation
        .pre_steps
        .as_ref()
        .map(|s| steps::wrap_scoped(ctx, s, root));
    let post = invocation
        .post_steps
        .as_ref()
        .map(|s| steps::wrap_scoped(ctx, s, root));
    // Taken out in place: the expanded steps go back under the same key, at the same position.
    let own_steps = job
        .get_mut("steps")
        .map(|s| std::mem::replace(s, Node::null(s.span)));
    if own_steps.is_some() || pre.is_some() || post.is_some() {
        let mut all = Vec::new();
        let span = own_steps.as_ref().map_or(invocation.use_site, |s| s.span);
        for part in [pre, own_steps, post].into_iter().flatten() {
            match part.value {
                Value::Seq(items) => all.extend(items),
                Value::Null => {}
                _ => {
                    failed = Some(
                        ctx.report(
                            Diagnostic::error(codes::SHAPE, "`steps` must be a list")
                                .at(part.span, format!("this is a {}", part.type_name())),
                        ),
                    );
                }
            }
        }
        let mut out = Vec::with_capacity(all.len());
        let mut expander = Expander {
            stack: Vec::new(),
            out: &mut out,
        };
        if let Err(e) = steps::expand(ctx, all, &found.scope, &mut expander) {
            failed = Some(e);
        }
        job.insert("steps", span, Node::new(Value::Seq(out), span));
    }
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some(env) = job.get_mut("environment") {
        *env = executors::environment_as_list(env);
    }
    Ok(Node::new(Value::Map(job), found.definition().span))
}
