//! `L1001 unused-job`: a job under `jobs:` that no workflow or job group invokes.

use std::collections::HashSet;

use orrery_diagnostics::{codes, Severity};

use crate::model::{has_workflows, invocations, section};
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
    let mut used: HashSet<&str> = invocations(root).into_iter().map(|(n, _)| n).collect();
    if !has_workflows(root) {
        // Without workflows CircleCI runs the job named `build`.
        used.insert("build");
    }
    for job in section(root, "jobs") {
        if used.contains(job.key.as_str()) {
            continue;
        }
        let d = sink
            .finding(format!("job `{}` is never used", job.key))
            .at(job.key_span, "no workflow invokes this job")
            .with_help("invoke it from a workflow's `jobs` list, or delete it");
        sink.push(d);
    }
}
