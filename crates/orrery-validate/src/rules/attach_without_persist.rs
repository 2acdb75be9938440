//! `L1402 attach-without-persist`: an `attach_workspace` step in a job that no job upstream of
//! it in the workflow (through `requires`, transitively) persists to the workspace.
//!
//! A job attaches only the layers of the jobs it requires, directly or through others
//! (CONFIG-SPEC §11.2.3–4); layers of sibling jobs are not visible. With a compiled config the
//! jobs' expanded steps say exactly who persists; otherwise the source is read and any upstream
//! job that may persist counts (a `persist_to_workspace` anywhere in the job, its invocation or
//! a command it names; any orb job or command; an unresolved requirement). Only attach steps
//! written in the job itself are reported from the source; with a compiled config, attach
//! steps inside commands are too.

use std::collections::HashSet;

use orrery_diagnostics::{codes, Severity, Span};
use orrery_yaml::{Node, Value};

use crate::flow::{Flow, FlowJob};
use crate::model::{section, strings_and_keys, walk};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::ATTACH_WITHOUT_PERSIST,
    name: "attach-without-persist",
    severity: Severity::Warning,
    summary: "`attach_workspace` in a job that no job upstream of it persists to the workspace",
    docs: include_str!("../../docs/rules/L1402.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let source = Source::new(root);
    for flow in cx.flows() {
        for (i, job) in flow.jobs.iter().enumerate() {
            let attaches = attach_steps(cx, &source, job);
            if attaches.is_empty() {
                continue;
            }
            let (upstream, unknown) = FlowJob::upstream(flow, i);
            if unknown || upstream.iter().any(|&u| may_persist(&source, flow, u)) {
                continue;
            }
            for at in attaches {
                report(sink, flow, job, at, upstream.len());
            }
        }
    }
}

fn report(sink: &mut Sink<'_>, flow: &Flow<'_>, job: &FlowJob<'_>, at: Span, upstream: usize) {
    let why = match upstream {
        0 => "no job is upstream of it".to_string(),
        1 => "the one job upstream of it does not persist to the workspace".to_string(),
        n => format!("none of the {n} jobs upstream of it persists to the workspace"),
    };
    let mut d = sink
        .finding(format!(
            "job `{}` attaches the workspace, but in workflow `{}` {why}",
            job.name, flow.entry.key
        ))
        .at(at, "nothing to attach");
    if at != job.name_span {
        d = d.also(job.name_span, format!("`{}` in this workflow", job.name));
    }
    sink.push(d.with_help(
        "a job sees only the workspace layers of jobs it requires, directly or transitively: require the job that runs `persist_to_workspace`, or remove this step",
    ));
}

/// The `attach_workspace` steps of a job, where to report each.
fn attach_steps(cx: &Context<'_>, source: &Source<'_>, job: &FlowJob<'_>) -> Vec<Span> {
    let mut out = Vec::new();
    if let Some(compiled) = job.compiled {
        for step in compiled.get("steps").and_then(Node::as_seq).unwrap_or(&[]) {
            if let Some(span) = step_key_span(step, "attach_workspace") {
                // A step written in an orb points into the orb; report at the workflow entry.
                out.push(if span.file == cx.input.file {
                    span
                } else {
                    job.name_span
                });
            }
        }
        out.dedup();
        return out;
    }
    let mut lists: Vec<&Node> = Vec::new();
    if let Some(body) = source.job(job.invoked) {
        lists.extend(body.get("steps"));
    }
    for key in ["pre-steps", "post-steps"] {
        lists.extend(job.settings.and_then(|s| s.get(key)));
    }
    for list in lists {
        own_attach_steps(list, &mut out);
    }
    out
}

/// Attach steps in a steps list, inside `when`/`unless` steps too.
fn own_attach_steps(list: &Node, out: &mut Vec<Span>) {
    for step in list.as_seq().unwrap_or(&[]) {
        if let Some(span) = step_key_span(step, "attach_workspace") {
            out.push(span);
        }
        for key in ["when", "unless"] {
            if let Some(inner) = step.get(key).and_then(|w| w.get("steps")) {
                own_attach_steps(inner, out);
            }
        }
    }
}

/// The key span of a step `{key: …}` or `- key`.
fn step_key_span(step: &Node, key: &str) -> Option<Span> {
    match &step.value {
        Value::Str(s) if s == key => Some(step.span),
        Value::Map(m) if m.len() == 1 && m.entries()[0].key == key => Some(m.entries()[0].key_span),
        _ => None,
    }
}

fn may_persist(source: &Source<'_>, flow: &Flow<'_>, index: usize) -> bool {
    let job = &flow.jobs[index];
    let approval = job
        .settings
        .and_then(|s| s.get("type"))
        .and_then(Node::as_str)
        == Some("approval");
    if approval {
        return false;
    }
    if let Some(compiled) = job.compiled {
        return has_key(compiled, "persist_to_workspace");
    }
    let Some(body) = source.job(job.invoked) else {
        // An orb job, a job group, or a job the compiler will report.
        return true;
    };
    source.may_persist(body) || job.settings.is_some_and(|s| source.may_persist(s))
}

fn has_key(node: &Node, key: &str) -> bool {
    let mut found = false;
    walk(node, &mut |entry, n| {
        found |= entry.is_some_and(|e| e.key == key) || n.as_str() == Some(key);
    });
    found
}

/// What the source says about jobs and commands.
struct Source<'a> {
    root: &'a Node,
    /// Commands of the config that may persist, directly or through other commands or orbs.
    persisting_commands: HashSet<&'a str>,
    orb_aliases: Vec<&'a str>,
}

impl<'a> Source<'a> {
    fn new(root: &'a Node) -> Source<'a> {
        let orb_aliases: Vec<&str> = section(root, "orbs")
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        let commands = section(root, "commands");
        let mut source = Source {
            root,
            persisting_commands: HashSet::new(),
            orb_aliases,
        };
        // Grow the set until no command is added.
        loop {
            let before = source.persisting_commands.len();
            for command in commands {
                if !source.persisting_commands.contains(command.key.as_str())
                    && source.may_persist(&command.value)
                {
                    source.persisting_commands.insert(command.key.as_str());
                }
            }
            if source.persisting_commands.len() == before {
                break;
            }
        }
        source
    }

    fn job(&self, name: &str) -> Option<&'a Node> {
        section(self.root, "jobs")
            .iter()
            .find(|e| e.key == name)
            .map(|e| &e.value)
    }

    /// Whether a job, command or invocation body may persist to the workspace.
    fn may_persist(&self, body: &Node) -> bool {
        let mut words = Vec::new();
        strings_and_keys(body, &mut words);
        words.iter().any(|w| {
            *w == "persist_to_workspace"
                || self.persisting_commands.contains(w)
                || self
                    .orb_aliases
                    .iter()
                    .any(|a| w.strip_prefix(a).is_some_and(|rest| rest.starts_with('/')))
        })
    }
}
