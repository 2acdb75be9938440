//! `L1001 unused-job`: a job under `jobs:` that no workflow invokes, directly or through a job
//! group that a workflow invokes.

use std::collections::HashSet;

use orrery_diagnostics::{codes, Severity};

use crate::model::{group_members, has_workflows, section, workflow_invocations};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_JOB,
    name: "unused-job",
    severity: Severity::Warning,
    summary: "a job is defined but no workflow or job group invokes it",
    docs: include_str!("../../docs/rules/L1001.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let mut used: HashSet<&str> = workflow_invocations(root).into_iter().collect();
    if !has_workflows(root) {
        // Without workflows CircleCI runs the job named `build`.
        used.insert("build");
    }
    let groups = group_members(root);
    for (group, members) in &groups {
        if used.contains(group.key.as_str()) {
            used.extend(members.iter().copied());
        }
    }
    for job in section(root, "jobs") {
        if used.contains(job.key.as_str()) {
            continue;
        }
        // Only in job groups no workflow invokes: the language server names the group.
        let mut unused_groups: Vec<&str> = groups
            .iter()
            .filter(|(_, members)| members.contains(&job.key.as_str()))
            .map(|(group, _)| group.key.as_str())
            .collect();
        unused_groups.sort_unstable();
        let d = match unused_groups.first() {
            Some(group) => sink
                .finding(format!(
                    "job `{}` is used in job group `{group}`, but that group is never invoked in a workflow",
                    job.key
                ))
                .at(job.key_span, "only in an unused job group")
                .with_help(format!("invoke `{group}` from a workflow, or delete both")),
            None => sink
                .finding(format!("job `{}` is never used", job.key))
                .at(job.key_span, "no workflow invokes this job")
                .with_help("invoke it from a workflow's `jobs` list, or delete it"),
        };
        sink.push(d);
    }
}
