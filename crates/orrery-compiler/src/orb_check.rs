//! `orb validate`: an orb checked on its own. Every command, job and executor is expanded once
//! with its defaults (typed placeholders stand in for required parameters without one), and
//! every `examples` entry's `usage` compiles against the orb.

use orrery_diagnostics::{codes, has_errors, Diagnostic, FileId, Severity, SourceDb, Span};
use orrery_yaml::{Map, Node, Value};

use crate::orbs::{FetchedOrb, OrbFetchError, OrbRef, OrbSource};
use crate::{compile_node, CompileOptions};

/// What was checked, and what was found.
#[derive(Debug, Default)]
pub struct OrbCheck {
    pub commands: usize,
    pub jobs: usize,
    pub executors: usize,
    pub examples: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// The alias and reference the synthetic config uses for the orb under check.
const ALIAS: &str = "subject";
const SUBJECT: &str = "orrery-check/subject@0.0.0";
/// A config-level executor for placeholder `executor` arguments and command checks.
const EXECUTOR: &str = "orrery-check-executor";

/// Checks the orb held in `db` under `orb`. `name` is the orb's `namespace/name` when known:
/// examples refer to the orb by it. `others` resolves any other orb an example imports.
pub fn check_orb(
    db: &mut SourceDb,
    orb: FileId,
    name: Option<(&str, &str)>,
    others: &dyn OrbSource,
    options: &CompileOptions,
) -> OrbCheck {
    let mut check = OrbCheck::default();
    let (text, origin) = match db.file(orb) {
        Some(f) => (f.text.clone(), f.name.clone()),
        None => return check,
    };
    let parsed = orrery_yaml::parse(orb, &text, options.limits);
    check.diagnostics = parsed.diagnostics;
    let Some(root) = parsed.root else {
        if !has_errors(&check.diagnostics) {
            check.diagnostics.push(
                Diagnostic::error(codes::VERSION_MISSING, "the orb is empty")
                    .at(Span::new(orb, 0, 0), "nothing here")
                    .with_help("start the orb with `version: 2.1`"),
            );
        }
        return check;
    };
    if has_errors(&check.diagnostics) {
        return check;
    }
    let Some(map) = root.as_map() else {
        check.diagnostics.push(
            Diagnostic::error(codes::YAML_NOT_A_MAP, "an orb must be a map")
                .at(root.span, format!("this is a {}", root.type_name())),
        );
        return check;
    };
    let source = SubjectSource {
        text: &text,
        origin: &origin,
        name,
        others,
    };
    let elements = |key: &str| {
        map.get(key)
            .and_then(Node::as_map)
            .map(|m| m.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
            .unwrap_or_else(Vec::new)
    };
    let (commands, jobs, executors) = (
        elements("commands"),
        elements("jobs"),
        elements("executors"),
    );
    check.commands = commands.len();
    check.jobs = jobs.len();
    check.executors = executors.len();
    if !(commands.is_empty() && jobs.is_empty() && executors.is_empty()) {
        let config = synthetic_config(&commands, &jobs, &executors);
        let file = db.add(
            format!("<every element of {origin} with its defaults>"),
            config.clone(),
        );
        let parsed = orrery_yaml::parse(file, &config, options.limits);
        if let Some(root) = parsed.root {
            let compiled = compile_node(db, root, options, &source);
            // Call-site labels would point into the generated config, which nobody wrote.
            check
                .diagnostics
                .extend(compiled.diagnostics.into_iter().map(|mut d| {
                    d.secondary.retain(|label| label.span.file != file);
                    d.in_context(&["while expanding every element with its defaults".into()])
                }));
        }
    }
    let examples = map.get("examples").and_then(Node::as_map);
    for entry in examples.map(|m| m.entries()).unwrap_or_default() {
        check.examples += 1;
        let example = &entry.key;
        let Some(usage) = entry.value.as_map().and_then(|m| m.get("usage")) else {
            check.diagnostics.push(
                Diagnostic::error(codes::SHAPE, format!("example `{example}` has no `usage`"))
                    .at(entry.key_span, "example")
                    .with_help("give the example a `usage:` config that uses the orb"),
            );
            continue;
        };
        let compiled = compile_node(db, runnable(usage), options, &source);
        let frame = format!("in example `{example}`");
        // An example importing an orb that is not at hand cannot be checked past its imports:
        // that is a warning about this machine, not an error in the orb.
        let unchecked = compiled
            .diagnostics
            .iter()
            .any(|d| d.code == codes::ORB_NOT_FOUND);
        check.diagnostics.extend(
            compiled
                .diagnostics
                .into_iter()
                .filter(|d| !unchecked || d.code == codes::ORB_NOT_FOUND)
                .map(|mut d| {
                    if unchecked {
                        d.severity = Severity::Warning;
                        d.message = format!("example `{example}` was not checked: {}", d.message);
                    }
                    d.in_context(std::slice::from_ref(&frame))
                }),
        );
    }
    check
}

/// Examples often show only `jobs:` or `commands:`; without `workflows` (and without the
/// `build` job a workflow-less config runs) every job of the usage runs in one workflow.
fn runnable(usage: &Node) -> Node {
    let mut usage = usage.clone();
    let span = usage.span;
    let Some(map) = usage.as_map_mut() else {
        return usage;
    };
    if map.contains_key("workflows") {
        return usage;
    }
    let jobs: Vec<Node> = map
        .get("jobs")
        .and_then(Node::as_map)
        .map(|jobs| {
            jobs.entries()
                .iter()
                .map(|e| Node::new(Value::Str(e.key.clone()), e.key_span))
                .collect()
        })
        .unwrap_or_default();
    if jobs.is_empty()
        || map
            .get("jobs")
            .and_then(Node::as_map)
            .is_some_and(|j| j.contains_key("build"))
    {
        return usage;
    }
    let mut workflow = Map::new();
    workflow.insert("jobs", span, Node::new(Value::Seq(jobs), span));
    let mut workflows = Map::new();
    workflows.insert("example", span, Node::new(Value::Map(workflow), span));
    map.insert("workflows", span, Node::new(Value::Map(workflows), span));
    usage
}

/// Serves the orb under check for its own name and the synthetic reference; anything else
/// comes from `others`.
struct SubjectSource<'a> {
    text: &'a str,
    origin: &'a str,
    name: Option<(&'a str, &'a str)>,
    others: &'a dyn OrbSource,
}

impl OrbSource for SubjectSource<'_> {
    fn fetch(&self, reference: &OrbRef) -> Result<FetchedOrb, OrbFetchError> {
        let subject = FetchedOrb {
            version: reference.version.clone(),
            origin: self.origin.to_string(),
            text: self.text.to_string(),
        };
        let is_subject = reference.to_string() == SUBJECT
            || self.name == Some((reference.namespace.as_str(), reference.name.as_str()));
        if is_subject {
            return Ok(subject);
        }
        match self.others.fetch(reference) {
            // Without a known name, an example's unresolvable orb is taken to be this one.
            Err(_) if self.name.is_none() => Ok(subject),
            result => result,
        }
    }
}

/// A config that uses every element once: a job per command, a job per executor, and every
/// job in one workflow. Written as JSON, which is YAML.
fn synthetic_config(
    commands: &[(String, Node)],
    jobs: &[(String, Node)],
    executors: &[(String, Node)],
) -> String {
    let object = |fields: Vec<String>| format!("{{{}}}", fields.join(", "));
    let field = |key: &str, value: String| format!("{}: {value}", quote(key));
    let mut config_jobs = Vec::new();
    for (name, node) in commands {
        let step = object(vec![field(
            &format!("{ALIAS}/{name}"),
            object(arguments(node)),
        )]);
        config_jobs.push((
            format!("command-{name}"),
            object(vec![
                field("executor", quote(EXECUTOR)),
                field("steps", format!("[{step}]")),
            ]),
        ));
    }
    for (name, node) in executors {
        let mut invocation = vec![field("name", quote(&format!("{ALIAS}/{name}")))];
        invocation.extend(arguments(node));
        config_jobs.push((
            format!("executor-{name}"),
            object(vec![
                field("executor", object(invocation)),
                field("steps", "[{\"run\": \"true\"}]".into()),
            ]),
        ));
    }
    let mut workflow_jobs: Vec<String> = config_jobs.iter().map(|(name, _)| quote(name)).collect();
    for (name, node) in jobs {
        let mut invocation = vec![field("name", quote(&format!("job-{name}")))];
        invocation.extend(arguments(node));
        workflow_jobs.push(object(vec![field(
            &format!("{ALIAS}/{name}"),
            object(invocation),
        )]));
    }
    let executor = object(vec![field(
        "docker",
        "[{\"image\": \"cimg/base:stable\"}]".into(),
    )]);
    object(vec![
        field("version", "2.1".into()),
        field("orbs", object(vec![field(ALIAS, quote(SUBJECT))])),
        field("executors", object(vec![field(EXECUTOR, executor)])),
        field(
            "jobs",
            object(
                config_jobs
                    .into_iter()
                    .map(|(name, body)| field(&name, body))
                    .collect(),
            ),
        ),
        field(
            "workflows",
            object(vec![field(
                "orb-check",
                object(vec![field(
                    "jobs",
                    format!("[{}]", workflow_jobs.join(", ")),
                )]),
            )]),
        ),
    ]) + "\n"
}

/// A placeholder argument for each required parameter without a default.
fn arguments(element: &Node) -> Vec<String> {
    let parameters = element
        .as_map()
        .and_then(|m| m.get("parameters"))
        .and_then(Node::as_map);
    parameters
        .map(Map::iter)
        .into_iter()
        .flatten()
        .filter_map(|(parameter, declaration)| {
            let declaration = declaration.as_map()?;
            let required = declaration.get("default").is_none();
            required.then(|| format!("{}: {}", quote(parameter), placeholder(declaration)))
        })
        .collect()
}

/// A value of the declared type.
fn placeholder(declaration: &Map) -> String {
    let kind = declaration
        .get("type")
        .and_then(Node::as_str)
        .unwrap_or("string");
    match kind {
        "boolean" => "false".into(),
        "integer" => "1".into(),
        "steps" => "[]".into(),
        "executor" => quote(EXECUTOR),
        "env_var_name" => quote("ORB_CHECK"),
        "enum" => declaration
            .get("enum")
            .and_then(|e| match &e.value {
                Value::Seq(items) => items.first(),
                _ => None,
            })
            .and_then(Node::as_str)
            .map_or_else(|| quote("orb-check"), quote),
        _ => quote("orb-check"),
    }
}

fn quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c if (c as u32) < 0x20 => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}
