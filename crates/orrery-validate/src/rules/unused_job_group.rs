//! `L1006 unused-job-group`: a job group under `job-groups:` that no workflow invokes
//! (the language server's "Job group is unused").

use std::collections::HashSet;

use orrery_diagnostics::{codes, Severity};

use crate::model::{section, workflow_invocations};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_JOB_GROUP,
    name: "unused-job-group",
    severity: Severity::Warning,
    summary: "a job group is defined but no workflow invokes it",
    docs: include_str!("../../docs/rules/L1006.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let used: HashSet<&str> = workflow_invocations(root).into_iter().collect();
    for group in section(root, "job-groups") {
        if used.contains(group.key.as_str()) {
            continue;
        }
        let d = sink
            .finding(format!("job group `{}` is never used", group.key))
            .at(group.key_span, "no workflow invokes this job group")
            .with_help("invoke it from a workflow's `jobs` list, or delete it");
        sink.push(d);
    }
}
