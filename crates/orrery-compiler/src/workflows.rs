//! The document driver: version dispatch, pipeline parameters, orbs, then workflows — their
//! conditions, matrices, names and `requires` — and the compiled jobs they invoke.

use std::collections::HashMap;
use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_expr::expr;
use orrery_yaml::{Entry, Map, Node, Value};

use crate::context::{Ctx, Reported, R};
use crate::env::{truthy, Env, ExprEnv};
use crate::graph::{GraphJob, JobGraph, Requirement, WorkflowGraph};
use crate::jobs::{self, Invocation};
use crate::orbs::{self, OrbCache};
use crate::params;
use crate::scope::{self, Kind, Lookup, Scope};
use crate::{logic, subst, version2};

pub(crate) struct Output {
    pub config: Node,
    pub orb_headers: Vec<(String, String)>,
    pub graph: JobGraph,
}

/// Workflow entry keys that stay in the compiled workflow.
const KEPT_KEYS: &[&str] = &["requires", "context", "filters", "type", "serial-group"];
/// Workflow entry keys consumed by the compiler.
const CONSUMED_KEYS: &[&str] = &["name", "matrix", "pre-steps", "post-steps", "override-with"];

enum Version {
    Two,
    TwoOne,
}

pub(crate) fn compile_document(ctx: &mut Ctx<'_>, root: Node) -> Option<Output> {
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
            if !version2::check(ctx, &root) {
                return None;
            }
            let graph = graph_of(root.get("workflows"));
            Some(Output {
                config: root,
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
        _ if matches!(node.value, Value::Float(_) | Value::Int(_))
            || text.parse::<f64>().is_ok() =>
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

    let mut planned: Vec<Planned> = Vec::new();
    let mut surviving: Vec<(usize, &Entry)> = Vec::new();
    let mut failed = false;
    for entry in &workflow_map.entries {
        if entry.key == "version" {
            continue;
        }
        let index = surviving.len();
        ctx.push_frame(
            format!("Error calling workflow: '{}'", entry.key),
            entry.key_span,
        );
        let result = plan_workflow(ctx, index, entry, &env, &root_scope, &mut planned);
        ctx.pop_frame();
        match result {
            Ok(true) => surviving.push((index, entry)),
            Ok(false) => {}
            Err(Reported) => failed = true,
        }
    }
    if failed {
        return Err(Reported);
    }
    if surviving.is_empty() {
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
    for entry in &workflow_map.entries {
        if entry.key == "version" {
            workflows_out.entries.push(Entry {
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
        let result = emit_workflow(ctx, index, entry, &planned, &mut jobs);
        ctx.pop_frame();
        match result {
            Ok(node) => workflows_out.entries.push(Entry {
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
        workflows_out.entries.push(Entry {
            key: "version".into(),
            key_span: workflows.span,
            value: Node::new(Value::Int(2), workflows.span),
        });
    }
    let workflows_node = Node::new(Value::Map(workflows_out), workflows.span);
    let graph = graph_of(Some(&workflows_node));
    let mut config = Map::new();
    config.entries.push(Entry {
        key: "version".into(),
        key_span: span,
        value: Node::new(Value::Int(2), span),
    });
    config.entries.push(Entry {
        key: "jobs".into(),
        key_span: span,
        value: Node::new(Value::Map(jobs), span),
    });
    config.entries.push(Entry {
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
    for entry in &mut out.entries {
        if matches!(entry.value.value, Value::Str(_)) {
            entry.value = subst::subst(ctx, &entry.value, env)?;
        }
    }
    Ok(Node::new(Value::Map(out), orbs.span))
}

fn implicit_workflow(span: Span) -> Node {
    let build = Node::new(Value::Seq(vec![Node::string("build", span)]), span);
    let jobs = Map {
        entries: vec![Entry {
            key: "jobs".into(),
            key_span: span,
            value: build,
        }],
    };
    let workflow = Map {
        entries: vec![Entry {
            key: "workflow".into(),
            key_span: span,
            value: Node::new(Value::Map(jobs), span),
        }],
    };
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
            (Some(params::ParamType::Integer), Value::Str(s)) if s.parse::<i64>().is_ok() => {
                Node::new(Value::Int(s.parse().unwrap_or(0)), value.span)
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

/// One job of one workflow after matrix expansion.
struct Planned {
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
}

/// Plans every entry of a workflow; `Ok(false)` when its condition excludes it.
fn plan_workflow(
    ctx: &mut Ctx<'_>,
    index: usize,
    entry: &Entry,
    env: &Env<'_>,
    root: &Rc<Scope>,
    planned: &mut Vec<Planned>,
) -> R<bool> {
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
                return Ok(false);
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
    let mut failed = false;
    for item in job_list {
        if plan_entry(ctx, index, item, env, root, planned).is_err() {
            failed = true;
        }
    }
    if failed {
        Err(Reported)
    } else {
        Ok(true)
    }
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

fn plan_entry(
    ctx: &mut Ctx<'_>,
    workflow: usize,
    item: &Node,
    env: &Env<'_>,
    root: &Rc<Scope>,
    planned: &mut Vec<Planned>,
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
        written_name: name.clone(),
        name,
        alias,
        kept,
        job,
        span,
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

struct Instance {
    values: Vec<(String, Node)>,
    name: Option<String>,
}

fn expand_matrix(
    ctx: &mut Ctx<'_>,
    job_name: &str,
    matrix: &Node,
    env: &Env<'_>,
) -> R<Vec<Instance>> {
    let matrix = subst::subst(ctx, matrix, env)?;
    let Some(parameters) = matrix.get("parameters").and_then(Node::as_map) else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::MATRIX,
                "`matrix` needs `parameters`: a map of parameter names to lists of values",
            )
            .at(matrix.span, "no parameters")
            .with_help("write `matrix: { parameters: { version: [\"1\", \"2\"] } }`"),
        ));
    };
    let mut axes: Vec<(&str, &[Node])> = Vec::new();
    for entry in &parameters.entries {
        match entry.value.as_seq() {
            Some(values) => axes.push((&entry.key, values)),
            None => {
                return Err(ctx.report(
                    Diagnostic::error(
                        codes::MATRIX,
                        format!("matrix parameter `{}` must be a list of values", entry.key),
                    )
                    .at(
                        entry.value.span,
                        format!("this is a {}", entry.value.type_name()),
                    )
                    .with_help(format!("write `{}: [a, b]`", entry.key)),
                ))
            }
        }
    }
    let excludes: Vec<&Map> = matrix
        .get("exclude")
        .and_then(Node::as_seq)
        .map(|s| s.iter().filter_map(Node::as_map).collect())
        .unwrap_or_default();
    let mut combos: Vec<Vec<(String, Node)>> = vec![Vec::new()];
    for (name, values) in &axes {
        let mut next = Vec::with_capacity(combos.len() * values.len());
        for combo in &combos {
            for value in *values {
                let mut c = combo.clone();
                c.push((name.to_string(), value.clone()));
                next.push(c);
            }
        }
        combos = next;
    }
    let same = |a: &Node, b: &Node| {
        a.value.scalar_text() == b.value.scalar_text() && a.type_name() == b.type_name()
    };
    combos.retain(|combo| {
        !excludes.iter().any(|ex| {
            !ex.is_empty()
                && ex
                    .iter()
                    .all(|(k, v)| combo.iter().any(|(ck, cv)| ck == k && same(cv, v)))
        })
    });
    Ok(combos
        .into_iter()
        .map(|values| {
            let mut sorted: Vec<&(String, Node)> = values.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let mut name = job_name.to_string();
            for (_, v) in sorted {
                name.push('-');
                name.push_str(&v.value.scalar_text().unwrap_or_default());
            }
            Instance {
                values,
                name: Some(name),
            }
        })
        .collect())
}

/// Invocations that end up with the same name are numbered `-1`, `-2`, … in document order,
/// unless they are one job used by several workflows with the same result.
fn number_duplicates(planned: &mut [Planned]) {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in planned.iter().enumerate() {
        if p.job.is_some() {
            groups.entry(p.name.clone()).or_default().push(i);
        }
    }
    for (name, members) in groups {
        if members.len() < 2 {
            continue;
        }
        let mut per_workflow: HashMap<usize, usize> = HashMap::new();
        for &i in &members {
            *per_workflow.entry(planned[i].workflow).or_default() += 1;
        }
        let repeated_in_a_workflow = per_workflow.values().any(|&n| n > 1);
        let differ = || {
            let first = planned[members[0]].job.as_ref();
            members[1..]
                .iter()
                .any(|&i| !same_job(first, planned[i].job.as_ref()))
        };
        if repeated_in_a_workflow || differ() {
            for (k, &i) in members.iter().enumerate() {
                planned[i].name = format!("{name}-{}", k + 1);
            }
        }
    }
}

fn same_job(a: Option<&Node>, b: Option<&Node>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_data(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Structural equality that ignores where nodes came from.
fn same_data(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_data(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.entries
                    .iter()
                    .zip(&y.entries)
                    .all(|(p, q)| p.key == q.key && same_data(&p.value, &q.value))
        }
        (x, y) => x == y,
    }
}

fn emit_workflow(
    ctx: &mut Ctx<'_>,
    index: usize,
    entry: &Entry,
    planned: &[Planned],
    jobs: &mut Map,
) -> R<Node> {
    let workflow = entry.value.as_map().cloned().unwrap_or_default();
    let members: Vec<&Planned> = planned.iter().filter(|p| p.workflow == index).collect();
    let mut list = Vec::with_capacity(members.len());
    let mut failed = false;
    for p in &members {
        let mut kept = p.kept.clone();
        if let Some(requires) = kept.get("requires").cloned() {
            match resolve_requires(ctx, p, &requires, &members, &entry.key) {
                Ok(r) => kept.insert("requires", requires.span, r),
                Err(Reported) => failed = true,
            }
        }
        if let Some(job) = &p.job {
            if !jobs.contains_key(&p.name) {
                jobs.entries.push(Entry {
                    key: p.name.clone(),
                    key_span: p.span,
                    value: job.clone(),
                });
            }
        }
        list.push(if kept.is_empty() {
            Node::string(p.name.clone(), p.span)
        } else {
            Node::new(
                Value::Map(Map {
                    entries: vec![Entry {
                        key: p.name.clone(),
                        key_span: p.span,
                        value: Node::new(Value::Map(kept), p.span),
                    }],
                }),
                p.span,
            )
        });
    }
    if failed {
        return Err(Reported);
    }
    check_cycles(ctx, &members, &list, &entry.key)?;
    let mut out = Map::new();
    for e in &workflow.entries {
        match e.key.as_str() {
            "when" | "unless" => {}
            "jobs" => out.entries.push(Entry {
                key: "jobs".into(),
                key_span: e.key_span,
                value: Node::new(Value::Seq(std::mem::take(&mut list)), e.value.span),
            }),
            _ => out.entries.push(e.clone()),
        }
    }
    Ok(Node::new(Value::Map(out), entry.value.span))
}

fn resolve_requires(
    ctx: &mut Ctx<'_>,
    p: &Planned,
    requires: &Node,
    members: &[&Planned],
    workflow: &str,
) -> R<Node> {
    let items: Vec<Node> = match &requires.value {
        Value::Seq(items) => items.clone(),
        Value::Str(_) => vec![requires.clone()],
        Value::Null => Vec::new(),
        _ => {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::WORKFLOW_SHAPE,
                    "`requires` must be a list of job names",
                )
                .at(requires.span, "not a list"),
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let (name, status, span) = match &item.value {
            Value::Str(n) => (n.clone(), None, item.span),
            Value::Map(m) if m.len() == 1 => (
                m.entries[0].key.clone(),
                Some(m.entries[0].value.clone()),
                m.entries[0].key_span,
            ),
            _ => {
                return Err(ctx.report(
                    Diagnostic::error(
                        codes::WORKFLOW_SHAPE,
                        "a `requires` item must be a job name or `{job: status}`",
                    )
                    .at(item.span, "not a job name"),
                ))
            }
        };
        let targets: Vec<&str> = if members.iter().any(|m| m.name == name) {
            vec![name.as_str()]
        } else {
            let by_alias: Vec<&str> = members
                .iter()
                .filter(|m| m.alias.as_deref() == Some(name.as_str()))
                .map(|m| m.name.as_str())
                .collect();
            let written: Vec<&str> = members
                .iter()
                .filter(|m| m.written_name == name)
                .map(|m| m.name.as_str())
                .collect();
            if !by_alias.is_empty() {
                by_alias
            } else if written.len() == 1 {
                // Unique in this workflow, numbered only because another workflow uses the
                // same name differently: the requirement means this workflow's job.
                written
            } else {
                let numbered = written.len();
                let message = if numbered > 1 {
                    format!("Job '{}' requires '{name}', which is the name of {numbered} other jobs in workflow '{workflow}'", p.written_name)
                } else {
                    format!(
                        "Job '{}' requires '{name}', which is not a job in workflow '{workflow}'",
                        p.written_name
                    )
                };
                let known: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                let help = if numbered > 1 {
                    "You can give a job within a workflow an explicit name by adding a name key"
                        .to_string()
                } else {
                    orrery_diagnostics::suggest(&name, &known).map_or_else(
                        || format!("jobs in this workflow: {}", known.join(", ")),
                        |s| format!("did you mean `{s}`?"),
                    )
                };
                return Err(ctx.report(
                    Diagnostic::error(
                        if numbered > 1 {
                            codes::REQUIRES_AMBIGUOUS
                        } else {
                            codes::REQUIRES_UNKNOWN
                        },
                        message,
                    )
                    .at(span, "unknown job")
                    .with_help(help),
                ));
            }
        };
        for target in targets {
            out.push(match &status {
                None => Node::string(target, item.span),
                Some(s) => Node::new(
                    Value::Map(Map {
                        entries: vec![Entry {
                            key: target.to_string(),
                            key_span: span,
                            value: s.clone(),
                        }],
                    }),
                    item.span,
                ),
            });
        }
    }
    Ok(Node::new(Value::Seq(out), requires.span))
}

fn check_cycles(ctx: &mut Ctx<'_>, members: &[&Planned], list: &[Node], workflow: &str) -> R<()> {
    let graph = graph_jobs(list);
    let index: HashMap<&str, usize> = graph
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; graph.len()];
    fn visit(
        i: usize,
        graph: &[GraphJob],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for r in &graph[i].requires {
            let Some(&j) = index.get(r.job.as_str()) else {
                continue;
            };
            if state[j] == 1 {
                let start = path.iter().position(|&p| p == j).unwrap_or(0);
                return Some(path[start..].to_vec());
            }
            if state[j] == 0 {
                if let Some(c) = visit(j, graph, index, state, path) {
                    return Some(c);
                }
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    for i in 0..graph.len() {
        if state[i] == 0 {
            if let Some(cycle) = visit(i, &graph, &index, &mut state, &mut Vec::new()) {
                let names: Vec<&str> = cycle.iter().map(|&c| graph[c].name.as_str()).collect();
                let span = members.get(cycle[0]).map_or(Span::default(), |m| m.span);
                return Err(ctx.report(
                    Diagnostic::error(codes::REQUIRES_CYCLE, format!("the jobs of workflow '{workflow}' require each other in a cycle: {} → {}", names.join(" → "), names[0]))
                        .at(span, "part of the cycle")
                        .with_help("remove one of the `requires` in the cycle"),
                ));
            }
        }
    }
    Ok(())
}

/// Builds the job graph from compiled workflows.
fn graph_of(workflows: Option<&Node>) -> JobGraph {
    let mut graph = JobGraph::default();
    let Some(map) = workflows.and_then(Node::as_map) else {
        return graph;
    };
    for entry in &map.entries {
        if entry.key == "version" {
            continue;
        }
        let jobs = entry
            .value
            .get("jobs")
            .and_then(Node::as_seq)
            .map(graph_jobs)
            .unwrap_or_default();
        graph.workflows.push(WorkflowGraph {
            name: entry.key.clone(),
            jobs,
            triggers: entry.value.get("triggers").cloned(),
        });
    }
    graph
}

fn graph_jobs(list: &[Node]) -> Vec<GraphJob> {
    list.iter()
        .filter_map(|item| {
            let (name, settings) = match &item.value {
                Value::Str(s) => (s.clone(), None),
                Value::Map(m) if m.len() == 1 => {
                    (m.entries[0].key.clone(), m.entries[0].value.as_map())
                }
                _ => return None,
            };
            let requires = settings
                .and_then(|s| s.get("requires"))
                .and_then(Node::as_seq)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|r| match &r.value {
                            Value::Str(s) => Some(Requirement {
                                job: s.clone(),
                                statuses: vec!["success".into()],
                            }),
                            Value::Map(m) if m.len() == 1 => {
                                let statuses = match &m.entries[0].value.value {
                                    Value::Seq(s) => {
                                        s.iter().filter_map(|x| x.value.scalar_text()).collect()
                                    }
                                    v => v.scalar_text().into_iter().collect(),
                                };
                                Some(Requirement {
                                    job: m.entries[0].key.clone(),
                                    statuses,
                                })
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let contexts = match settings.and_then(|s| s.get("context")).map(|c| &c.value) {
                Some(Value::Str(s)) => vec![s.clone()],
                Some(Value::Seq(items)) => {
                    items.iter().filter_map(|i| i.value.scalar_text()).collect()
                }
                _ => Vec::new(),
            };
            Some(GraphJob {
                name,
                approval: settings.and_then(|s| s.get("type")).and_then(Node::as_str)
                    == Some("approval"),
                requires,
                filters: settings.and_then(|s| s.get("filters")).cloned(),
                contexts,
                span: item.span,
            })
        })
        .collect()
}
