//! Job definitions checked once, whether a workflow uses them or not (CONFIG-SPEC §3.4, §3.6):
//! the job type, the keys each type takes and needs, and parameter names reserved for workflow
//! job entries. Each fault is reported at the key (or value) at fault, with code E0105.

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Entry, Map, Node, Value};

use crate::context::Ctx;

/// The job types, in the language server's order (its message lists them so).
const TYPES: &[&str] = &["approval", "build", "no-op", "release", "lock", "unlock"];

/// The keys of a job definition, for every type.
const KEYS: &[&str] = &[
    "type",
    "docker",
    "machine",
    "macos",
    "executor",
    "steps",
    "parameters",
    "description",
    "shell",
    "working_directory",
    "environment",
    "resource_class",
    "parallelism",
    "branches",
    "retention",
    "circleci_ip_ranges",
];

/// Keys only some types take, with those types.
const TYPE_KEYS: &[(&str, &[&str])] = &[
    ("plan_name", &["release"]),
    ("validation", &["release"]),
    ("key", &["lock", "unlock"]),
];

/// Keys a type needs.
const REQUIRED: &[(&str, &str)] = &[
    ("build", "steps"),
    ("release", "plan_name"),
    ("lock", "key"),
    ("unlock", "key"),
];

/// Parameter names a job cannot declare: a workflow job entry uses them itself.
const RESERVED_PARAMETERS: &[&str] = &[
    "name",
    "pre-steps",
    "post-steps",
    "filters",
    "requires",
    "context",
    "type",
    "override-with",
    "upstream",
];

/// Checks every job under `jobs:`, reporting each fault; a faulty job is still compiled where
/// it is used, so that its other faults are reported too (the output is refused anyway).
pub(crate) fn check(ctx: &mut Ctx<'_>, jobs: &Map) {
    for job in jobs.entries() {
        if let Some(definition) = job.value.as_map() {
            check_job(ctx, job, definition);
        }
    }
}

fn check_job(ctx: &mut Ctx<'_>, job: &Entry, definition: &Map) {
    let name = job.key.as_str();
    let fault = |ctx: &mut Ctx<'_>, d: Diagnostic| {
        ctx.report(d);
    };
    // A type given by a template is only known per invocation: its type's rules are not checked.
    let job_type = match definition.get("type") {
        None => Some("build"),
        Some(t) => match &t.value {
            Value::Str(s) if s.contains("<<") => None,
            Value::Str(s) if TYPES.contains(&s.as_str()) => Some(s.as_str()),
            _ => {
                let written = t
                    .value
                    .scalar_text()
                    .unwrap_or_else(|| t.type_name().into());
                fault(
                    ctx,
                    Diagnostic::error(
                        codes::JOB_DEFINITION,
                        format!(
                            "Invalid job type '{written}'. Allowed types: {}",
                            TYPES.join(", ")
                        ),
                    )
                    .at(t.span, "not a job type")
                    .with_help(
                        match orrery_diagnostics::suggest(&written, TYPES) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => "leave `type` out for a job that runs steps (`build`)".into(),
                        },
                    ),
                );
                return;
            }
        },
    };
    for entry in definition.entries() {
        let key = entry.key.as_str();
        if KEYS.contains(&key) {
            continue;
        }
        match TYPE_KEYS.iter().find(|(k, _)| *k == key) {
            Some((_, types)) => {
                if job_type.is_some_and(|t| !types.contains(&t)) {
                    fault(
                        ctx,
                        Diagnostic::error(
                            codes::JOB_DEFINITION,
                            format!(
                                "`{key}` is only for `{}` jobs, and job `{name}` is a `{}` job",
                                types.join("` and `"),
                                job_type.unwrap_or("build")
                            ),
                        )
                        .at(entry.key_span, "not a key of this job type")
                        .with_help(format!("set `type: {}`, or remove `{key}`", types[0])),
                    );
                }
            }
            None => {
                let mut known: Vec<&str> = KEYS.to_vec();
                known.extend(TYPE_KEYS.iter().map(|(k, _)| *k));
                let help = match orrery_diagnostics::suggest(key, &known) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("a job takes {}", KEYS.join(", ")),
                };
                fault(
                    ctx,
                    Diagnostic::error(
                        codes::JOB_DEFINITION,
                        format!("unknown key `{key}` in job `{name}`"),
                    )
                    .at(entry.key_span, "not a job key")
                    .with_help(help),
                );
            }
        }
    }
    if let Some(job_type) = job_type {
        for (_, needed) in REQUIRED.iter().filter(|(t, _)| *t == job_type) {
            match definition.entry(needed) {
                None => fault(ctx, missing(name, job_type, needed, job.key_span)),
                Some(e) if e.value.is_null() => {
                    let (what, help) = match *needed {
                        "steps" => (
                            "a list of steps",
                            "list the steps the job runs, e.g. `steps: [checkout]`",
                        ),
                        _ => ("a string", "give it a value"),
                    };
                    fault(
                        ctx,
                        Diagnostic::error(
                            codes::JOB_DEFINITION,
                            format!("`{needed}` must be {what}, found nothing"),
                        )
                        .at(e.value.span, "nothing here")
                        .with_help(help),
                    )
                }
                Some(_) => {}
            }
        }
    }
    if let Some(parameters) = definition.get("parameters").and_then(Node::as_map) {
        for parameter in parameters.entries() {
            if RESERVED_PARAMETERS.contains(&parameter.key.as_str()) {
                fault(ctx, reserved(&parameter.key, parameter.key_span));
            }
        }
    }
}

fn missing(name: &str, job_type: &str, needed: &str, at: Span) -> Diagnostic {
    let (label, help) = match needed {
        "steps" => (
            "a job that runs steps",
            "add the steps the job runs, e.g. `steps: [checkout]`, or set `type: no-op` for a job that runs nothing".to_string(),
        ),
        "plan_name" => (
            "a release job",
            "name the release plan: `plan_name: my-plan`".to_string(),
        ),
        _ => (
            "a lock job",
            format!("give the lock's key: `key: my-serial-group` (`{job_type}` jobs are what `serial-group` compiles to)"),
        ),
    };
    let kind = if job_type == "build" {
        String::new()
    } else {
        format!("`{job_type}` ")
    };
    Diagnostic::error(
        codes::JOB_DEFINITION,
        format!("missing required key `{needed}` in {kind}job `{name}`"),
    )
    .at(at, label)
    .with_help(help)
}

/// The language server's words for a reserved parameter name.
fn reserved(parameter: &str, at: Span) -> Diagnostic {
    let quoted: Vec<String> = RESERVED_PARAMETERS
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect();
    let (last, rest) = quoted.split_last().expect("reserved names");
    Diagnostic::error(
        codes::JOB_DEFINITION,
        format!(
            "{}, and {last} are reserved parameter names in build jobs",
            rest.join(", ")
        ),
    )
    .at(at, "a reserved name")
    .with_help(format!(
        "rename the parameter `{parameter}`: a workflow job entry uses that key itself"
    ))
}
