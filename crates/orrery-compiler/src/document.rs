//! The document driver: version dispatch, pipeline parameters, orbs, then the workflows
//! (planned in `workflows`) assembled into the compiled config and its job graph.

use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Entry, Map, Node, Value};

use crate::context::{Ctx, Reported, R};
use crate::env::Env;
use crate::graph::{graph_of, JobGraph};
use crate::orbs::{self, OrbCache};
use crate::params;
use crate::scope::Scope;
use crate::workflows::{
    emit_workflow, job_group_definitions, number_duplicates, plan_workflow, Plan, Planned,
};
use crate::{subst, version2};

pub(crate) struct Output {
    pub config: Node,
    pub orb_headers: Vec<(String, String)>,
    pub graph: JobGraph,
}

enum Version {
    Two,
    TwoOne,
}

/// Compiles the document `root`; borrowed, as a 2.1 config is read, not taken apart (only a
/// 2.0 config is its own output).
pub(crate) fn compile_document(ctx: &mut Ctx<'_>, root: &Node) -> Option<Output> {
    let Some(map) = root.as_map() else {
        ctx.report(
            Diagnostic::error(
                codes::YAML_NOT_A_MAP,
                format!("a config must be a map, not a {}", root.type_name()),
            )
            .at(root.span, "the whole document")
            .with_help("start the file with `version: 2.1`"),
        );
        return None;
    };
    match version(ctx, map, root.span).ok()? {
        Version::Two => {
            if !version2::check(ctx, root) {
                return None;
            }
            let graph = graph_of(root.get("workflows"));
            Some(Output {
                config: root.clone(),
                orb_headers: Vec::new(),
                graph,
            })
        }
        Version::TwoOne => compile_v21(ctx, map, root.span).ok(),
    }
}

fn version(ctx: &mut Ctx<'_>, map: &Map, span: Span) -> R<Version> {
    let Some(node) = map.get("version") else {
        return Err(ctx.report(
            Diagnostic::error(codes::VERSION_MISSING, "the config has no `version`")
                .at(
                    Span::new(span.file, span.start as usize, span.start as usize),
                    "add `version: 2.1` at the top",
                )
                .with_help("start the file with `version: 2.1`"),
        ));
    };
    let text = match &node.value {
        Value::Float(f) => orrery_yaml::format_float(*f),
        v => v.scalar_text().unwrap_or_default(),
    };
    match text.as_str() {
        "2.1" => Ok(Version::TwoOne),
        "2" | "2.0" => Ok(Version::Two),
        _ if matches!(
            node.value,
            Value::Float(_) | Value::Int(_) | Value::BigInt(_)
        ) || text.parse::<f64>().is_ok() =>
        {
            // The official compiler treats any other number as 2.0 and validates it as such.
            ctx.warn(
                Diagnostic::warning(
                    codes::VERSION_INVALID,
                    format!("`version: {text}` is not 2.1, so the config is read as version 2.0"),
                )
                .at(node.span, "not a known version")
                .with_help("write `version: 2.1` to use orbs, commands, executors and parameters"),
            );
            Ok(Version::Two)
        }
        _ => Err(ctx.report(
            Diagnostic::error(
                codes::VERSION_INVALID,
                format!("unknown config version `{text}`"),
            )
            .at(node.span, "expected 2.1 (or 2 / 2.0)")
            .with_help("write `version: 2.1`"),
        )),
    }
}

fn compile_v21(ctx: &mut Ctx<'_>, map: &Map, span: Span) -> R<Output> {
    bind_pipeline_parameters(ctx, map)?;
    let options = ctx.options;
    let pipeline_params = Rc::clone(&ctx.pipeline_params);
    let env = Env::root(&options.pipeline, &pipeline_params);

    let mut cache = OrbCache::default();
    // Stage 2: pipeline values reach the `orbs:` references, never the inline orb bodies.
    let orbs_node = match map.get("orbs") {
        Some(n) => Some(substitute_references(ctx, n, &env)?),
        None => None,
    };
    let imports = orbs::import(ctx, &mut cache, orbs_node.as_ref(), None, 0)?;
    let root_scope = Rc::new(Scope {
        orb_path: None,
        commands: orbs::element_map(ctx, map, "commands")?,
        executors: orbs::element_map(ctx, map, "executors")?,
        jobs: orbs::element_map(ctx, map, "jobs")?,
        orbs: imports.orbs,
        opaque: false,
    });
    crate::job_definitions::check(ctx, &root_scope.jobs);
    ctx.job_groups = Rc::new(job_group_definitions(ctx, map, &root_scope.jobs));

    let implicit;
    let workflows = match map.get("workflows") {
        Some(w) if !w.is_null() => w,
        _ => {
            if !root_scope.jobs.contains_key("build") {
                return Err(ctx.report(
                    Diagnostic::error(
                        codes::WORKFLOW_SHAPE,
                        "the config has no `workflows` and no job named `build` to run",
                    )
                    .at(
                        Span::new(span.file, span.start as usize, span.start as usize),
                        "nothing to run",
                    )
                    .with_help("add a `workflows:` section that lists the jobs to run"),
                ));
            }
            implicit = implicit_workflow(span);
            &implicit
        }
    };
    let Some(workflow_map) = workflows.as_map() else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::WORKFLOW_SHAPE,
                "`workflows` must be a map of workflow names to workflows",
            )
            .at(workflows.span, "not a map"),
        ));
    };

    // Nothing was filtered when there was nothing to filter: say what is missing (the
    // official compiler reports "All Workflows have been filtered" here too).
    if workflow_map.entries().iter().all(|e| e.key == "version") {
        return Err(ctx.report(
            Diagnostic::error(codes::WORKFLOW_SHAPE, "`workflows` defines no workflow")
                .at(workflows.span, "no workflow here")
                .with_help(
                    "add a workflow that lists the jobs to run, e.g. `main: { jobs: [build] }`",
                ),
        ));
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut surviving: Vec<(usize, &Entry)> = Vec::new();
    let mut failed = false;
    for entry in workflow_map.entries() {
        if entry.key == "version" {
            continue;
        }
        let index = surviving.len();
        ctx.push_frame(
            format!("Error calling workflow: '{}'", entry.key),
            entry.key_span,
        );
        let before = planned.len();
        let result = plan_workflow(ctx, index, entry, &env, &root_scope, &mut planned);
        ctx.pop_frame();
        match result {
            Ok(Plan::Planned { faulty }) => {
                // Its faulty entries stay as stand-ins: `requires` and cycles are still
                // checked around them.
                failed |= faulty;
                surviving.push((index, entry));
            }
            Ok(Plan::Excluded) => {}
            Err(Reported) => {
                failed = true;
                planned.truncate(before);
            }
        }
    }
    if surviving.is_empty() {
        if failed {
            return Err(Reported);
        }
        return Err(ctx.report(
            Diagnostic::error(codes::ALL_WORKFLOWS_FILTERED, "All Workflows have been filtered from this Pipeline.")
                .at(workflows.span, "every workflow's `when`/`unless` excluded it")
                .with_help("check the workflow conditions against the pipeline values (--branch, --tag, --pipeline-parameters)"),
        ));
    }
    // `surviving` indexes were assigned before filtering; renumber the planned entries.
    number_duplicates(&mut planned);

    let mut jobs = Map::new();
    let mut workflows_out = Map::new();
    let mut version_seen = false;
    let mut next = 0;
    for entry in workflow_map.entries() {
        if entry.key == "version" {
            workflows_out.push(Entry {
                key: "version".into(),
                key_span: entry.key_span,
                value: Node::new(Value::Int(2), entry.value.span),
            });
            version_seen = true;
            continue;
        }
        let Some(&(index, _)) = surviving.get(next).filter(|(_, e)| std::ptr::eq(*e, entry)) else {
            continue;
        };
        next += 1;
        ctx.push_frame(
            format!("Error calling workflow: '{}'", entry.key),
            entry.key_span,
        );
        let result = emit_workflow(ctx, index, entry, &mut planned, &mut jobs);
        ctx.pop_frame();
        match result {
            Ok(node) => workflows_out.push(Entry {
                key: entry.key.clone(),
                key_span: entry.key_span,
                value: node,
            }),
            Err(Reported) => failed = true,
        }
    }
    if failed {
        return Err(Reported);
    }
    if !version_seen {
        workflows_out.push(Entry {
            key: "version".into(),
            key_span: workflows.span,
            value: Node::new(Value::Int(2), workflows.span),
        });
    }
    let workflows_node = Node::new(Value::Map(workflows_out), workflows.span);
    let graph = graph_of(Some(&workflows_node));
    let mut config = Map::new();
    config.push(Entry {
        key: "version".into(),
        key_span: span,
        value: Node::new(Value::Int(2), span),
    });
    config.push(Entry {
        key: "jobs".into(),
        key_span: span,
        value: Node::new(Value::Map(jobs), span),
    });
    config.push(Entry {
        key: "workflows".into(),
        key_span: workflows.span,
        value: workflows_node,
    });
    Ok(Output {
        config: Node::new(Value::Map(config), span),
        orb_headers: imports.headers,
        graph,
    })
}

fn substitute_references(ctx: &mut Ctx<'_>, orbs: &Node, env: &Env<'_>) -> R<Node> {
    let Some(map) = orbs.as_map() else {
        return Ok(orbs.clone());
    };
    let mut out = map.clone();
    for value in out.values_mut() {
        if matches!(value.value, Value::Str(_)) {
            *value = subst::subst(ctx, value, env)?;
        }
    }
    Ok(Node::new(Value::Map(out), orbs.span))
}

fn implicit_workflow(span: Span) -> Node {
    let build = Node::new(Value::Seq(vec![Node::string("build", span)]), span);
    let jobs = Map::from_entries(vec![Entry {
        key: "jobs".into(),
        key_span: span,
        value: build,
    }]);
    let workflow = Map::from_entries(vec![Entry {
        key: "workflow".into(),
        key_span: span,
        value: Node::new(Value::Map(jobs), span),
    }]);
    Node::new(Value::Map(workflow), span)
}

/// Declared pipeline parameters get the trigger's value (coerced where the declared type
/// needs it) or their default; undeclared trigger values are refused.
fn bind_pipeline_parameters(ctx: &mut Ctx<'_>, map: &Map) -> R<()> {
    let decls = params::declarations(ctx, map.get("parameters"), true)?;
    let mut args = Map::new();
    for (name, value) in &ctx.options.pipeline_parameters {
        let decl = decls.iter().find(|d| d.name == *name);
        let value = match (decl.map(|d| d.ty), &value.value) {
            (Some(params::ParamType::Boolean), Value::Str(s)) if s == "true" || s == "false" => {
                Node::new(Value::Bool(s == "true"), value.span)
            }
            (Some(params::ParamType::Integer), Value::Str(s)) if is_decimal(s) => {
                match s.parse::<orrery_yaml::BigInt>() {
                    Ok(i) => Node::new(Value::integer(i), value.span),
                    Err(_) => value.clone(),
                }
            }
            _ => value.clone(),
        };
        args.insert(name.clone(), value.span, value);
    }
    let use_site = map
        .entry("parameters")
        .map_or(Span::default(), |e| e.key_span);
    ctx.push_frame("Error binding pipeline parameters".into(), Span::default());
    let bound = params::bind(ctx, &decls, &args, use_site);
    ctx.pop_frame();
    ctx.pipeline_params = Rc::from(bound?);
    Ok(())
}

/// A decimal integer with an optional sign, as a trigger gives an integer parameter.
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}
