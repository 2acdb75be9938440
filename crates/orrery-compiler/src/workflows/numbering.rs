//! Numbering of job entries that end up with the same name.

use std::collections::HashMap;

use orrery_yaml::{Node, Value};

use super::Planned;

/// Invocations that end up with the same name are numbered `-1`, `-2`, … in document order,
/// unless they are one job used by several workflows with the same result.
pub(crate) fn number_duplicates(planned: &mut [Planned]) {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in planned.iter().enumerate() {
        if p.job.is_some() {
            groups.entry(p.name.clone()).or_default().push(i);
        }
    }
    for (name, members) in groups {
        if members.len() < 2 {
            continue;
        }
        let mut per_workflow: HashMap<usize, usize> = HashMap::new();
        for &i in &members {
            *per_workflow.entry(planned[i].workflow).or_default() += 1;
        }
        let repeated_in_a_workflow = per_workflow.values().any(|&n| n > 1);
        let differ = || {
            let first = planned[members[0]].job.as_ref();
            members[1..]
                .iter()
                .any(|&i| !same_job(first, planned[i].job.as_ref()))
        };
        if repeated_in_a_workflow || differ() {
            for (k, &i) in members.iter().enumerate() {
                planned[i].name = format!("{name}-{}", k + 1);
            }
        }
    }
}

fn same_job(a: Option<&Node>, b: Option<&Node>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_data(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Structural equality that ignores where nodes came from.
fn same_data(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_data(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.entries()
                    .iter()
                    .zip(y.entries())
                    .all(|(p, q)| p.key == q.key && same_data(&p.value, &q.value))
        }
        (x, y) => x == y,
    }
}
