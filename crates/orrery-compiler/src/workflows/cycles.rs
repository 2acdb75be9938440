//! The cycle check over a workflow's `requires`.

use std::collections::HashMap;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::Node;

use super::Planned;
use crate::context::{Ctx, R};
use crate::graph::{graph_jobs, GraphJob};

pub(super) fn check_cycles(
    ctx: &mut Ctx<'_>,
    members: &[&Planned],
    list: &[Node],
    workflow: &str,
) -> R<()> {
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
