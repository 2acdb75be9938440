//! `matrix:` expansion: the cross product of the parameter lists, minus `exclude`, each
//! instance named `job-value-value` in parameter-name order.

use orrery_diagnostics::{codes, Diagnostic};
use orrery_yaml::{Map, Node};

use crate::context::{Ctx, R};
use crate::env::Env;
use crate::subst;

pub(super) struct Instance {
    pub values: Vec<(String, Node)>,
    pub name: Option<String>,
}

pub(super) fn expand_matrix(
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
    let mut faulty = None;
    for entry in parameters.entries() {
        match entry.value.as_seq() {
            Some(values) => axes.push((&entry.key, values)),
            // Every axis that is not a list is reported, not only the first.
            None => {
                faulty = Some(
                    ctx.report(
                        Diagnostic::error(
                            codes::MATRIX,
                            format!("matrix parameter `{}` must be a list of values", entry.key),
                        )
                        .at(
                            entry.value.span,
                            format!("this is a {}", entry.value.type_name()),
                        )
                        .with_help(format!("write `{}: [a, b]`", entry.key)),
                    ),
                )
            }
        }
    }
    if let Some(reported) = faulty {
        return Err(reported);
    }
    // Refused before any instance is built: a few lines can ask for millions.
    let instances = axes
        .iter()
        .fold(1usize, |n, (_, values)| n.saturating_mul(values.len()));
    let max = ctx.limits.max_matrix_instances;
    if instances > max {
        let sizes: Vec<String> = axes.iter().map(|(_, v)| v.len().to_string()).collect();
        return Err(ctx.report(
            Diagnostic::error(
                codes::YAML_LIMIT,
                format!(
                    "the matrix of `{job_name}` has {instances} instances ({}), more than the \
                     limit of {max} per matrix",
                    sizes.join(" × ")
                ),
            )
            .at(matrix.span, "matrix instance limit exceeded")
            .with_help("use fewer values per parameter, or split the matrix across workflows"),
        ));
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
