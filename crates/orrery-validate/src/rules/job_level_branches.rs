//! `L1604 job-level-branches`: `branches:` on a job definition, a 2.0-era key that workflows
//! ignore.

use orrery_diagnostics::{codes, Severity};

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::JOB_LEVEL_BRANCHES,
    name: "job-level-branches",
    severity: Severity::Warning,
    summary: "`branches` on a job definition, which workflows ignore",
    docs: include_str!("../../docs/rules/L1604.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        let Some(entry) = job.value.as_map().and_then(|m| m.entry("branches")) else {
            continue;
        };
        let d = sink
            .finding(format!(
                "`branches` on job `{}` is deprecated and has no effect in a workflow",
                job.key
            ))
            .at(entry.key_span, "ignored")
            .with_help(
                "filter the job where a workflow invokes it: `filters: {branches: {only: …}}`",
            );
        sink.push(d);
    }
}
