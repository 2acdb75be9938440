//! A planned workflow back to its compiled form, its jobs added to the compiled `jobs:` map.

use std::collections::{BTreeMap, HashMap, HashSet};

use orrery_yaml::{Entry, Map, Node, Value};

use super::cycles::check_cycles;
use super::requires::{resolve_requires, Names};
use super::Planned;
use crate::context::{Ctx, Reported, R};

pub(crate) fn emit_workflow(
    ctx: &mut Ctx<'_>,
    index: usize,
    entry: &Entry,
    planned: &[Planned],
    jobs: &mut Map,
) -> R<Node> {
    let empty = Map::new();
    // Read in place: its `jobs:` list alone is as long as the workflow.
    let workflow = entry.value.as_map().unwrap_or(&empty);
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
    // The compiled jobs so far (other workflows may have added the same job).
    let mut emitted: HashSet<String> = jobs.entries().iter().map(|e| e.key.clone()).collect();
    let mut list = Vec::with_capacity(members.len());
    let mut failed = false;
    for p in &members {
        let mut kept = p.kept.clone();
        // A faulty entry refuses the workflow but still takes part in its checks.
        failed |= p.stand_in.is_some();
        if let Some(requires) = kept.get("requires").cloned() {
            let (resolved, result) =
                resolve_requires(ctx, p, &requires, &names[&p.scope], &entry.key);
            failed |= result.is_err();
            kept.insert("requires", requires.span, resolved);
        }
        if let Some(job) = &p.job {
            if emitted.insert(p.name.clone()) {
                jobs.push(Entry {
                    key: p.name.clone(),
                    key_span: p.span,
                    value: job.clone(),
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
    for e in workflow.entries() {
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
