//! `requires`: names resolved to the final job names of the workflow (matrix aliases, numbered
//! names), statuses kept.

use orrery_diagnostics::{codes, Diagnostic};
use orrery_yaml::{Entry, Map, Node, Value};

use super::Planned;
use crate::context::{Ctx, R};

pub(super) fn resolve_requires(
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
