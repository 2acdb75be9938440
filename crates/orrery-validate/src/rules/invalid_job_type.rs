//! `L1714 invalid-job-type`: a job definition whose `type` is not one CircleCI knows.

use orrery_diagnostics::{codes, Severity};

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_JOB_TYPE,
    name: "invalid-job-type",
    severity: Severity::Error,
    summary: "a job's `type` is not `build`, `approval`, `no-op`, `release`, `lock` or `unlock`",
    docs: include_str!("../../docs/rules/L1714.md"),
    check,
};

const TYPES: &[&str] = &["build", "approval", "no-op", "release", "lock", "unlock"];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        let Some(kind) = job.value.get("type") else {
            continue;
        };
        let Some(text) = kind.value.scalar_text() else {
            continue;
        };
        if TYPES.contains(&text.as_str()) || text.contains("<<") {
            continue;
        }
        let d = sink
            .finding(format!("invalid job type `{text}`"))
            .at(kind.span, "unknown type")
            .with_help("use `build` (the default; leave `type` out), `approval`, `no-op`, `release`, `lock` or `unlock`");
        sink.push(d);
    }
}
