//! `requires`: names resolved to the final job names of the workflow (matrix aliases, numbered
//! names), statuses kept.

use std::collections::{HashMap, HashSet};

use orrery_diagnostics::{codes, Diagnostic};
use orrery_yaml::{Entry, Map, Node, Value};

use super::Planned;
use crate::context::{Ctx, R};

/// The job names of a workflow, or of one job group invocation in it, by final name, matrix
/// alias and written name, looked up once per `requires` item (a workflow can hold thousands
/// of jobs).
pub(super) struct Names<'a> {
    members: &'a [&'a Planned],
    /// The job group whose members these are; `None` for the workflow's own entries.
    group: Option<&'a str>,
    names: HashSet<&'a str>,
    by_alias: HashMap<&'a str, Vec<&'a str>>,
    by_written: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Names<'a> {
    pub(super) fn new(members: &'a [&'a Planned], group: Option<&'a str>) -> Names<'a> {
        let mut names = Names {
            members,
            group,
            names: HashSet::with_capacity(members.len()),
            by_alias: HashMap::new(),
            by_written: HashMap::new(),
        };
        for m in members {
            names.names.insert(m.name.as_str());
            if let Some(alias) = m.alias.as_deref() {
                names
                    .by_alias
                    .entry(alias)
                    .or_default()
                    .push(m.name.as_str());
            }
            names
                .by_written
                .entry(m.written_name.as_str())
                .or_default()
                .push(m.name.as_str());
        }
        names
    }
}

pub(super) fn resolve_requires(
    ctx: &mut Ctx<'_>,
    p: &Planned,
    requires: &Node,
    names: &Names<'_>,
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
        let targets: Vec<&str> = if names.names.contains(name.as_str()) {
            vec![name.as_str()]
        } else {
            let by_alias = names
                .by_alias
                .get(name.as_str())
                .cloned()
                .unwrap_or_default();
            let written = names
                .by_written
                .get(name.as_str())
                .cloned()
                .unwrap_or_default();
            if !by_alias.is_empty() {
                by_alias
            } else if written.len() == 1 {
                // Unique in this workflow, numbered only because another workflow uses the
                // same name differently: the requirement means this workflow's job.
                written
            } else if let Some(crossing) = crossing_group(ctx, &name, names.group) {
                return Err(ctx.report(
                    Diagnostic::error(codes::REQUIRES_GROUP_MEMBER, crossing)
                        .at(span, "inside another job group")
                        .with_help(match names.group {
                            None => {
                                "require the job group itself: it is done when all its jobs are"
                            }
                            Some(_) => "a job group's jobs can require only jobs of the same group",
                        }),
                ));
            } else {
                let numbered = written.len();
                let message = if numbered > 1 {
                    format!("Job '{}' requires '{name}', which is the name of {numbered} other jobs in workflow '{workflow}'", p.written_name)
                } else if let Some(group) = names.group {
                    format!(
                        "Job '{}' requires '{name}', which is not a member of the job group '{group}'",
                        p.written_name
                    )
                } else {
                    format!(
                        "Job '{}' requires '{name}', which is not a job in workflow '{workflow}'",
                        p.written_name
                    )
                };
                let known: Vec<&str> = names
                    .members
                    .iter()
                    .filter(|m| m.scope == p.scope)
                    .map(|m| m.written_name.as_str())
                    .collect();
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

/// The official words for a `requires` that reaches into a job group from outside it
/// (LSP-DIAGNOSTICS V72, V73); `None` when the name is no job group's member.
fn crossing_group(ctx: &Ctx<'_>, name: &str, group: Option<&str>) -> Option<String> {
    let owner = ctx.job_groups.owner_of(name)?;
    match group {
        None => Some(format!(
            "\"{name}\" is defined inside job group \"{owner}\", not directly in this workflow"
        )),
        Some(g) if g != owner => Some(format!("\"{name}\" is not a member of this job group")),
        Some(_) => None,
    }
}
