//! A planned workflow back to its compiled form, its jobs added to the compiled `jobs:` map.

use std::collections::{BTreeMap, HashMap};

use orrery_yaml::{Entry, Map, Node, Value};

use super::cycles::check_cycles;
use super::requires::{resolve_requires, Names};
use super::Planned;
use crate::context::{Ctx, Reported, R};

pub(crate) fn emit_workflow(
    ctx: &mut Ctx<'_>,
    index: usize,
    entry: &Entry,
    planned: &mut [Planned],
    jobs: &mut Map,
) -> R<Node> {
    // Each entry's compiled job and kept keys are taken, not copied: a planned entry belongs
    // to one workflow and is emitted once.
    let mut taken: Vec<(Option<Node>, Map)> = planned
        .iter_mut()
        .filter(|p| p.workflow == index)
        .map(|p| (p.job.take(), std::mem::take(&mut p.kept)))
        .collect();
    let members: Vec<&Planned> = planned.iter().filter(|p| p.workflow == index).collect();
    // Each job group invocation is a scope of its own; the workflow's entries are scope 0.
    let mut scoped: BTreeMap<usize, Vec<&Planned>> = BTreeMap::new();
    for p in &members {
        scoped.entry(p.scope).or_default().push(p);
        if let Some(other) = p.also_in {
            scoped.entry(other).or_default().push(p);
        }
    }
    let names: HashMap<usize, Names> = scoped
        .iter()
        .map(|(&scope, in_scope)| {
            let group = in_scope
                .iter()
                .find(|p| p.scope == scope)
                .and_then(|p| p.group.as_deref());
            (scope, Names::new(in_scope, group))
        })
        .collect();
    let mut list = Vec::with_capacity(members.len());
    let mut failed = false;
    for (p, (job, mut kept)) in members.iter().zip(taken.drain(..)) {
        // A faulty entry refuses the workflow but still takes part in its checks.
        failed |= p.stand_in.is_some();
        if let Some(requires) = kept.get_mut("requires") {
            let (resolved, result) =
                resolve_requires(ctx, p, requires, &names[&p.scope], &entry.key);
            failed |= result.is_err();
            *requires = resolved;
        }
        // Other workflows may have added the same job already.
        if let Some(job) = job {
            if !jobs.contains_key(&p.name) {
                jobs.push(Entry {
                    key: p.name.clone(),
                    key_span: p.span,
                    value: job,
                });
            }
        }
        list.push(if kept.is_empty() {
            Node::string(p.name.clone(), p.span)
        } else {
            Node::new(
                Value::Map(Map::from_entries(vec![Entry {
                    key: p.name.clone(),
                    key_span: p.span,
                    value: Node::new(Value::Map(kept), p.span),
                }])),
                p.span,
            )
        });
    }
    check_cycles(ctx, &members, &list, &entry.key)?;
    if failed {
        return Err(Reported);
    }
    let mut out = Map::new();
    let workflow = entry.value.as_map().map_or(&[][..], Map::entries);
    for e in workflow {
        match e.key.as_str() {
            "when" | "unless" => {}
            "jobs" => out.push(Entry {
                key: "jobs".into(),
                key_span: e.key_span,
                value: Node::new(Value::Seq(std::mem::take(&mut list)), e.value.span),
            }),
            _ => out.push(e.clone()),
        }
    }
    Ok(Node::new(Value::Map(out), entry.value.span))
}
