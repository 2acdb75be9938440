//! `requires`: names resolved to the final job names of the workflow (matrix aliases, numbered
//! names), statuses kept.

use std::collections::{HashMap, HashSet};

use orrery_diagnostics::{codes, Diagnostic};
use orrery_yaml::{Entry, Map, Node, Value};

use super::{Planned, StandIn};
use crate::context::{Ctx, Reported, R};

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
    /// Names of faulty matrix entries: `requires` naming one of their instances
    /// (`NAME-…`) is not reported, since their instance names are not known.
    matrix_stand_ins: Vec<&'a str>,
    /// A faulty entry whose name could not be read: then no unknown name is reported.
    unnamed_stand_in: bool,
}

impl<'a> Names<'a> {
    pub(super) fn new(members: &'a [&'a Planned], group: Option<&'a str>) -> Names<'a> {
        let mut names = Names {
            members,
            group,
            names: HashSet::with_capacity(members.len()),
            by_alias: HashMap::new(),
            by_written: HashMap::new(),
            matrix_stand_ins: Vec::new(),
            unnamed_stand_in: false,
        };
        for m in members {
            match m.stand_in {
                Some(StandIn::Matrix) => names.matrix_stand_ins.push(m.name.as_str()),
                Some(StandIn::Unnamed) => {
                    names.unnamed_stand_in = true;
                    continue;
                }
                _ => {}
            }
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

    /// Whether `name` may be a job of a faulty entry whose names are not known.
    fn maybe_stand_in(&self, name: &str) -> bool {
        self.unnamed_stand_in
            || self.matrix_stand_ins.iter().any(|job| {
                name.strip_prefix(job)
                    .is_some_and(|instance| instance.starts_with('-'))
            })
    }
}

/// The entry's `requires` with each name resolved to final job names, and whether every item
/// resolved (a bad item is reported and left out; the rest still count for the cycle check).
pub(super) fn resolve_requires(
    ctx: &mut Ctx<'_>,
    p: &Planned,
    requires: &Node,
    names: &Names<'_>,
    workflow: &str,
) -> (Node, R<()>) {
    let items: Vec<Node> = match &requires.value {
        Value::Seq(items) => items.clone(),
        Value::Str(_) => vec![requires.clone()],
        Value::Null => Vec::new(),
        _ => {
            let reported = ctx.report(
                Diagnostic::error(
                    codes::WORKFLOW_SHAPE,
                    "`requires` must be a list of job names",
                )
                .at(requires.span, "not a list"),
            );
            return (
                Node::new(Value::Seq(Vec::new()), requires.span),
                Err(reported),
            );
        }
    };
    let mut out = Vec::with_capacity(items.len());
    // Every bad item is reported, not only the first.
    let mut failed = false;
    for item in items {
        let (name, status, span) = match &item.value {
            Value::Str(n) => (n.clone(), None, item.span),
            Value::Map(m) if m.len() == 1 => (
                m.entries()[0].key.clone(),
                Some(m.entries()[0].value.clone()),
                m.entries()[0].key_span,
            ),
            _ => {
                ctx.report(
                    Diagnostic::error(
                        codes::WORKFLOW_SHAPE,
                        "a `requires` item must be a job name or `{job: status}`",
                    )
                    .at(item.span, "not a job name"),
                );
                failed = true;
                continue;
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
                ctx.report(
                    Diagnostic::error(codes::REQUIRES_GROUP_MEMBER, crossing)
                        .at(span, "inside another job group")
                        .with_help(match names.group {
                            None => {
                                "require the job group itself: it is done when all its jobs are"
                            }
                            Some(_) => "a job group's jobs can require only jobs of the same group",
                        }),
                );
                failed = true;
                continue;
            } else if written.is_empty() && names.maybe_stand_in(&name) {
                // Perhaps the job of an entry already reported; the workflow is refused.
                failed = true;
                continue;
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
                    .filter(|m| m.scope == p.scope && m.stand_in != Some(StandIn::Unnamed))
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
                ctx.report(
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
                );
                failed = true;
                continue;
            }
        };
        for target in targets {
            out.push(match &status {
                None => Node::string(target, item.span),
                Some(s) => Node::new(
                    Value::Map(Map::from_entries(vec![Entry {
                        key: target.to_string(),
                        key_span: span,
                        value: s.clone(),
                    }])),
                    item.span,
                ),
            });
        }
    }
    let resolved = Node::new(Value::Seq(out), requires.span);
    (resolved, if failed { Err(Reported) } else { Ok(()) })
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
