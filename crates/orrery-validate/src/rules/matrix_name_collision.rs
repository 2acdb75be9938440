//! `L1401 matrix-name-collision`: a matrix instance that gets the same name as another instance
//! or another job of its workflow.
//!
//! Instance names are the invocation's `name:` with `<< matrix.P >>` substituted, or the job
//! name followed by the values in the order of the parameter names (CONFIG-SPEC §5.3). The
//! compiler does not refuse a collision: it numbers the colliding jobs `-1`, `-2`, … (as the
//! platform does for repeated names), so the names the user wrote no longer exist and a
//! `requires` of that name becomes ambiguous (E0603). Entries whose names depend on other
//! templates are skipped.

use std::collections::BTreeMap;

use orrery_diagnostics::{codes, Severity, Span};
use orrery_expr::template::{parse_template, Segment};
use orrery_yaml::{Map, Node, Value};

use crate::flow::entry_parts;
use crate::model::section;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::MATRIX_NAME_COLLISION,
    name: "matrix-name-collision",
    severity: Severity::Warning,
    summary:
        "two matrix instances, or an instance and another job, get the same name in a workflow",
    docs: include_str!("../../docs/rules/L1401.md"),
    check,
};

/// One job name a workflow entry produces.
struct Produced {
    entry: usize,
    /// Where to point: the entry's `name:` value or invoked job name.
    span: Span,
    invoked: String,
    matrix: bool,
    /// The entry names its instances with `name:`.
    named: bool,
}

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for workflow in section(cx.root(), "workflows") {
        let Some(items) = workflow.value.get("jobs").and_then(Node::as_seq) else {
            continue;
        };
        let mut by_name: BTreeMap<String, Vec<Produced>> = BTreeMap::new();
        for (index, item) in items.iter().enumerate() {
            let Some((invoked, settings, name_span)) = entry_parts(item) else {
                continue;
            };
            let name_node = settings.and_then(|s| s.get("name"));
            let span = name_node.map_or(name_span, |n| n.span);
            let matrix = settings.and_then(|s| s.get("matrix"));
            let Some(names) = entry_names(invoked, name_node, matrix) else {
                continue;
            };
            for name in names {
                by_name.entry(name).or_default().push(Produced {
                    entry: index,
                    span,
                    invoked: invoked.to_string(),
                    matrix: matrix.is_some(),
                    named: name_node.is_some(),
                });
            }
        }
        for (name, producers) in &by_name {
            if producers.len() < 2 || !producers.iter().any(|p| p.matrix) {
                continue;
            }
            report(sink, &workflow.key, name, producers);
        }
    }
}

fn report(sink: &mut Sink<'_>, workflow: &str, name: &str, producers: &[Produced]) {
    let first = producers.iter().find(|p| p.matrix).unwrap_or(&producers[0]);
    let same_entry = producers.iter().all(|p| p.entry == first.entry);
    let message = if same_entry {
        format!(
            "the matrix of `{}` gives {} instances the name `{name}` in workflow `{workflow}`",
            first.invoked,
            producers.len()
        )
    } else {
        format!(
            "{} jobs of workflow `{workflow}` are named `{name}`, matrix instances among them",
            producers.len()
        )
    };
    let mut d = sink.finding(message).at(first.span, "named here");
    let mut seen = vec![first.span];
    for p in producers {
        if !seen.contains(&p.span) {
            seen.push(p.span);
            d = d.also(p.span, format!("also named `{name}`"));
        }
    }
    let help = if same_entry && first.named {
        "the compiler numbers them `-1`, `-2`, …; put every matrix parameter in `name`, such as `name: test-<< matrix.version >>`".to_string()
    } else if same_entry {
        "the compiler numbers them `-1`, `-2`, …; remove the repeated value from the matrix"
            .to_string()
    } else {
        "the compiler numbers them `-1`, `-2`, …, and `requires` of this name becomes ambiguous; give one of them a distinct `name`".to_string()
    };
    sink.push(d.with_help(help));
}

/// The names a workflow entry gives its jobs; `None` when they depend on something other than
/// the matrix values.
fn entry_names(invoked: &str, name: Option<&Node>, matrix: Option<&Node>) -> Option<Vec<String>> {
    let Some(matrix) = matrix else {
        let name = match name {
            Some(n) => n.value.scalar_text()?,
            None => invoked.to_string(),
        };
        return (!name.contains("<<")).then(|| vec![name]);
    };
    let combos = combinations(matrix)?;
    combos
        .into_iter()
        .map(|combo| match name {
            Some(n) => substitute(&n.value.scalar_text()?, &combo),
            None => {
                let mut sorted: Vec<&(String, Node)> = combo.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                let mut out = invoked.to_string();
                for (_, v) in sorted {
                    out.push('-');
                    out.push_str(&v.value.scalar_text()?);
                }
                Some(out)
            }
        })
        .collect()
}

/// The value combinations of a matrix, excluded ones removed; `None` when a value is computed
/// or the matrix is malformed (the compiler reports that).
fn combinations(matrix: &Node) -> Option<Vec<Vec<(String, Node)>>> {
    let parameters = matrix.get("parameters")?.as_map()?;
    let mut combos: Vec<Vec<(String, Node)>> = vec![Vec::new()];
    for entry in parameters.entries() {
        let values = entry.value.as_seq()?;
        if values
            .iter()
            .any(|v| v.value.scalar_text().is_none_or(|s| s.contains("<<")))
        {
            return None;
        }
        combos = combos
            .iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((entry.key.clone(), v.clone()));
                    c
                })
            })
            .collect();
        if combos.len() > 10_000 {
            return None;
        }
    }
    let excludes: Vec<&Map> = match matrix.get("exclude") {
        None => Vec::new(),
        Some(e) => e
            .as_seq()?
            .iter()
            .map(Node::as_map)
            .collect::<Option<Vec<&Map>>>()?,
    };
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
    Some(combos)
}

/// `text` with its `<< matrix.P >>` tags replaced; `None` when it holds any other template.
fn substitute(text: &str, combo: &[(String, Node)]) -> Option<String> {
    if !text.contains("<<") {
        return Some(text.to_string());
    }
    let template = parse_template(text).ok()?;
    let mut out = String::new();
    for segment in &template.segments {
        match segment {
            Segment::Text(t) => out.push_str(t),
            Segment::Tag { body, .. } => {
                let param = body.strip_prefix("matrix.")?;
                let (_, value) = combo.iter().find(|(k, _)| k == param)?;
                match &value.value {
                    Value::Seq(_) | Value::Map(_) => return None,
                    v => out.push_str(&v.scalar_text()?),
                }
            }
            Segment::Section { .. } => return None,
        }
    }
    Some(out)
}
