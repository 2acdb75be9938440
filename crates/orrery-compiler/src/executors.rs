//! Executor invocation and the merge of executor keys into a job (CONFIG-SPEC §3.3,
//! OUTPUT-FORMAT §2).

use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic};
use orrery_yaml::{Entry, Map, Node, Value};

use crate::context::{Ctx, Reported, R};
use crate::params;
use crate::scope::{self, Kind, Lookup, Scope};
use crate::subst;

pub(crate) const EXECUTOR_TYPES: &[&str] = &["docker", "machine", "macos", "windows"];

/// Resolves `executor: name` or `executor: {name, args…}` into the executor's substituted body.
/// Names are looked up where the job was defined, then in the main config (an executor passed
/// by the user to an orb job).
pub(crate) fn resolve(
    ctx: &mut Ctx<'_>,
    value: &Node,
    scope: &Rc<Scope>,
    root: &Rc<Scope>,
) -> R<Map> {
    let empty = Map::new();
    let (name, args, name_span) = match &value.value {
        Value::Str(name) => (name.as_str(), &empty, value.span),
        Value::Map(m) => match m.get("name") {
            Some(Node {
                value: Value::Str(name),
                span,
            }) => (name.as_str(), m, *span),
            _ => {
                return Err(ctx.report(
                    Diagnostic::error(
                        codes::EXECUTOR_SHAPE,
                        "an executor invocation needs a `name`",
                    )
                    .at(value.span, "no name")
                    .with_help("write `executor: { name: my-executor, param: value }`"),
                ))
            }
        },
        _ => {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::EXECUTOR_SHAPE,
                    format!(
                        "`executor` must be a name or a map with `name`, not a {}",
                        value.type_name()
                    ),
                )
                .at(value.span, "here"),
            ))
        }
    };
    let found = match (
        scope::lookup(scope, Kind::Executor, name),
        scope::lookup(root, Kind::Executor, name),
    ) {
        (Lookup::Found(found), _) | (_, Lookup::Found(found)) => Some(found),
        (Lookup::Opaque, _) | (_, Lookup::Opaque) => return Err(Reported),
        (Lookup::Missing, Lookup::Missing) => None,
    };
    let Some(found) = found else {
        let known: Vec<&str> = scope.executors.keys().collect();
        let help = orrery_diagnostics::suggest(name, &known).map_or_else(
            || "define it under `executors:` or import the orb that provides it".to_string(),
            |s| format!("did you mean `{s}`?"),
        );
        return Err(ctx.report(
            Diagnostic::error(
                codes::UNKNOWN_EXECUTOR,
                format!("Cannot find a definition for executor named {name}"),
            )
            .at(name_span, "unknown executor")
            .with_help(help),
        ));
    };
    let Some(definition) = found.definition().as_map() else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::EXECUTOR_SHAPE,
                format!("executor `{name}` must be a map"),
            )
            .at(found.definition().span, "definition")
            .also(name_span, "used here"),
        ));
    };
    let mut args = args.clone();
    args.remove("name");
    ctx.push_frame(format!("Error calling executor: '{name}'"), name_span);
    let result = (|| {
        // Executor arguments hold no steps; the caller scope only matters for steps.
        let call = params::bind_call(ctx, definition, &args, name_span, &found.scope, root)?;
        let env = call.env();
        let mut body = Map::new();
        for entry in definition.entries() {
            if entry.key == "parameters" || entry.key == "description" {
                continue;
            }
            let value = subst::subst(ctx, &entry.value, &env)?;
            body.push(Entry {
                key: entry.key.clone(),
                key_span: entry.key_span,
                value,
            });
        }
        Ok(body)
    })();
    ctx.pop_frame();
    result
}

/// Merges an executor body into a job body: executor keys first (in the executor's order), then
/// the job's keys (the job's value wins, keeping the executor key's place); `environment` maps
/// merge key by key and sit where the job had them, else at the end.
pub(crate) fn merge(executor: Map, job: Map) -> Map {
    let job_sets_type = EXECUTOR_TYPES.iter().any(|k| job.contains_key(k));
    let mut executor_env = None;
    let mut hoisted = Vec::new();
    let mut out = Map::new();
    for mut entry in executor.into_entries() {
        match entry.key.as_str() {
            "environment" => executor_env = Some(entry.value),
            // The job's executor type replaces any the executor has; the same key keeps its
            // place (the job's value is put there below), as a map merge would.
            k if job_sets_type && EXECUTOR_TYPES.contains(&k) => {
                if job.contains_key(k) {
                    out.push(entry);
                }
            }
            "machine" => {
                // `resource_class` and `shell` written inside `machine:` come out beside it.
                if let Value::Map(m) = &mut entry.value.value {
                    for key in ["resource_class", "shell"] {
                        if let Some(pos) = m.entries().iter().position(|e| e.key == key) {
                            hoisted.push(m.entries_mut().remove(pos));
                        }
                    }
                }
                out.push(entry);
            }
            _ => out.push(entry),
        }
    }
    for entry in job.into_entries() {
        match entry.key.as_str() {
            "executor" | "parameters" | "description" => {}
            "environment" => {
                let merged = merge_environment(executor_env.take(), &entry.value);
                out.insert("environment", entry.key_span, merged);
            }
            _ => out.insert(entry.key, entry.key_span, entry.value),
        }
    }
    for entry in hoisted {
        if !out.contains_key(&entry.key) {
            out.push(entry);
        }
    }
    if let Some(env) = executor_env {
        let span = env.span;
        out.insert("environment", span, env);
    }
    out
}

fn merge_environment(executor: Option<Node>, job: &Node) -> Node {
    let Some(executor) = executor else {
        return job.clone();
    };
    let mut merged = environment_map(&executor);
    for entry in environment_map(job).into_entries() {
        merged.insert(entry.key, entry.key_span, entry.value);
    }
    Node::new(Value::Map(merged), job.span)
}

/// An environment written as a map or as a list of one-entry maps, as a map.
fn environment_map(node: &Node) -> Map {
    match &node.value {
        Value::Map(m) => m.clone(),
        Value::Seq(items) => {
            let mut m = Map::new();
            for item in items {
                match &item.value {
                    Value::Map(one) => {
                        for e in one.entries() {
                            m.insert(e.key.clone(), e.key_span, e.value.clone());
                        }
                    }
                    // The `KEY=VALUE` list form (CONFIG-SPEC 8.2.6).
                    Value::Str(s) => {
                        if let Some((k, v)) = s.split_once('=') {
                            m.insert(k, item.span, Node::string(v, item.span));
                        }
                    }
                    _ => {}
                }
            }
            m
        }
        _ => Map::new(),
    }
}

/// Job-level `environment` is printed as a list of one-entry maps.
pub(crate) fn environment_as_list(node: &Node) -> Node {
    let normalized;
    let value = match &node.value {
        Value::Seq(items) if items.iter().any(|i| matches!(i.value, Value::Str(_))) => {
            normalized = Value::Map(environment_map(node));
            &normalized
        }
        v => v,
    };
    match value {
        Value::Map(m) => Node::new(
            Value::Seq(
                m.entries()
                    .iter()
                    .map(|e| Node::new(Value::Map(Map::from_entries(vec![e.clone()])), e.key_span))
                    .collect(),
            ),
            node.span,
        ),
        _ => node.clone(),
    }
}
