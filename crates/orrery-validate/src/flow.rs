//! The workflows as graphs of jobs, for the rules that follow `requires`.
//!
//! A workflow the compiler kept is read from `Compiled.graph` (names after `name:`, matrix
//! expansion and numbering; `requires` resolved, matrix aliases included; filters substituted)
//! and each of its jobs is tied back to the workflow entry it came from by span. A workflow the
//! compiler did not give (no compilation, a compile error, or a `when` false for the default
//! pipeline values) is read from the source: an entry answers to its `name:` or job name, a
//! matrix entry to its alias, and a `requires` that names nothing found is unknown. Rules treat
//! unknown as "could be anything", so the fallback only ever loses findings.

use std::collections::HashMap;

use orrery_compiler::Compiled;
use orrery_diagnostics::Span;
use orrery_yaml::{Entry, Node, Value};

use crate::model::section;

/// One workflow.
pub(crate) struct Flow<'a> {
    pub(crate) entry: &'a Entry,
    /// `triggers:` present: a scheduled workflow, which never runs on pushes.
    pub(crate) scheduled: bool,
    pub(crate) jobs: Vec<FlowJob<'a>>,
}

/// One job of a workflow (one matrix instance when read from the compiled graph).
pub(crate) struct FlowJob<'a> {
    pub(crate) name: String,
    /// The job (or job group) the entry invokes, as written.
    pub(crate) invoked: &'a str,
    /// Where to point: the invoked name in the entry.
    pub(crate) name_span: Span,
    /// The entry's settings, as written (`requires`, `filters`, `pre-steps`, arguments…).
    pub(crate) settings: Option<&'a Node>,
    /// `filters:` after substitution when compiled, as written otherwise.
    pub(crate) filters: Option<&'a Node>,
    /// Indices of the jobs it requires; `None` for a requirement that could not be resolved.
    pub(crate) requires: Vec<Option<usize>>,
    /// The compiled job (steps expanded), when compiled.
    pub(crate) compiled: Option<&'a Node>,
}

impl FlowJob<'_> {
    /// Every job upstream of `index` (transitively through `requires`), and whether some
    /// requirement on the way could not be resolved.
    pub(crate) fn upstream(flow: &Flow<'_>, index: usize) -> (Vec<usize>, bool) {
        let mut seen = vec![false; flow.jobs.len()];
        let mut stack = vec![index];
        let mut unknown = false;
        let mut out = Vec::new();
        while let Some(i) = stack.pop() {
            for r in &flow.jobs[i].requires {
                match r {
                    Some(j) if !seen[*j] => {
                        seen[*j] = true;
                        out.push(*j);
                        stack.push(*j);
                    }
                    Some(_) => {}
                    None => unknown = true,
                }
            }
        }
        (out, unknown)
    }
}

/// Every workflow of the config, from the compiled graph where there is one.
pub(crate) fn flows<'a>(root: &'a Node, compiled: Option<&'a Compiled>) -> Vec<Flow<'a>> {
    let graph = compiled.and_then(|c| c.graph.as_ref());
    let compiled_jobs = compiled
        .and_then(|c| c.config.as_ref())
        .and_then(|c| c.get("jobs"));
    section(root, "workflows")
        .iter()
        .filter(|e| e.key != "version" && e.value.as_map().is_some())
        .map(|entry| {
            let items = entry
                .value
                .get("jobs")
                .and_then(Node::as_seq)
                .unwrap_or(&[]);
            let jobs = graph
                .and_then(|g| g.workflow(&entry.key))
                .and_then(|w| from_graph(w, items, compiled_jobs))
                .unwrap_or_else(|| from_source(items));
            Flow {
                entry,
                scheduled: entry.value.get("triggers").is_some(),
                jobs,
            }
        })
        .collect()
}

/// `(invoked job, settings, name span)` of a workflow entry.
pub(crate) fn entry_parts(item: &Node) -> Option<(&str, Option<&Node>, Span)> {
    match &item.value {
        Value::Str(name) => Some((name.as_str(), None, item.span)),
        Value::Map(m) if m.len() == 1 => {
            let e = &m.entries()[0];
            Some((
                e.key.as_str(),
                e.value.as_map().map(|_| &e.value),
                e.key_span,
            ))
        }
        _ => None,
    }
}

fn from_graph<'a>(
    workflow: &'a orrery_compiler::WorkflowGraph,
    items: &'a [Node],
    compiled_jobs: Option<&'a Node>,
) -> Option<Vec<FlowJob<'a>>> {
    let index: HashMap<&str, usize> = workflow
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    // Entries by place and compiled jobs by name (the first of each, as a scan would find),
    // so a workflow of thousands of jobs is read in one pass.
    let mut items_at: HashMap<Span, &Node> = HashMap::with_capacity(items.len());
    for item in items {
        items_at.entry(item.span).or_insert(item);
    }
    let mut compiled: HashMap<&str, &Node> = HashMap::new();
    if let Some(map) = compiled_jobs.and_then(Node::as_map) {
        for entry in map.entries() {
            compiled.entry(entry.key.as_str()).or_insert(&entry.value);
        }
    }
    workflow
        .jobs
        .iter()
        .map(|job| {
            // Every compiled job must come from an entry of this workflow, else read the source.
            let item = *items_at.get(&job.span)?;
            let (invoked, settings, name_span) = entry_parts(item)?;
            Some(FlowJob {
                name: job.name.clone(),
                invoked,
                name_span,
                settings,
                filters: job.filters.as_ref(),
                requires: job
                    .requires
                    .iter()
                    .map(|r| index.get(r.job.as_str()).copied())
                    .collect(),
                compiled: compiled.get(job.name.as_str()).copied(),
            })
        })
        .collect()
}

fn from_source(items: &[Node]) -> Vec<FlowJob<'_>> {
    let mut jobs = Vec::new();
    // The names each entry answers to in `requires`.
    let mut answers: Vec<Vec<String>> = Vec::new();
    for item in items {
        let Some((invoked, settings, name_span)) = entry_parts(item) else {
            continue;
        };
        let setting = |key: &str| settings.and_then(|s| s.get(key));
        let mut names = Vec::new();
        match setting("matrix") {
            Some(matrix) => {
                let alias = matrix
                    .get("alias")
                    .and_then(Node::as_str)
                    .unwrap_or(invoked);
                names.push(alias.to_string());
            }
            None => match setting("name") {
                Some(n) => names.extend(n.value.scalar_text().filter(|s| !s.contains("<<"))),
                None => names.push(invoked.to_string()),
            },
        }
        answers.push(names.clone());
        jobs.push(FlowJob {
            name: names
                .into_iter()
                .next()
                .unwrap_or_else(|| invoked.to_string()),
            invoked,
            name_span,
            settings,
            filters: setting("filters"),
            requires: Vec::new(),
            compiled: None,
        });
    }
    for i in 0..jobs.len() {
        let Some(requires) = jobs[i].settings.and_then(|s| s.get("requires")) else {
            continue;
        };
        let written: Vec<&Node> = match &requires.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![requires],
        };
        let mut resolved = Vec::new();
        for r in written {
            let name = match &r.value {
                Value::Str(s) => Some(s.as_str()),
                Value::Map(m) if m.len() == 1 => Some(m.entries()[0].key.as_str()),
                _ => None,
            };
            let targets: Vec<usize> = name
                .filter(|n| !n.contains("<<"))
                .map(|n| {
                    (0..jobs.len())
                        .filter(|&j| answers[j].iter().any(|a| a == n))
                        .collect()
                })
                .unwrap_or_default();
            if targets.is_empty() {
                resolved.push(None);
            } else {
                resolved.extend(targets.into_iter().map(Some));
            }
        }
        jobs[i].requires = resolved;
    }
    jobs
}
