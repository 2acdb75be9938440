//! `L1702 steps-in-non-build-job`: `steps` on a job whose `type` does not run steps
//! (`approval`, `no-op`, `release`, `lock`, `unlock`).

use orrery_diagnostics::{codes, Severity};

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::STEPS_IN_NON_BUILD_JOB,
    name: "steps-in-non-build-job",
    severity: Severity::Warning,
    summary: "a job whose `type` runs no steps has `steps`, which are ignored",
    docs: include_str!("../../docs/rules/L1702.md"),
    check,
};

const STEPLESS: &[&str] = &["approval", "no-op", "release", "lock", "unlock"];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        let Some(map) = job.value.as_map() else {
            continue;
        };
        let Some(kind) = map.get("type").and_then(|t| t.as_str()) else {
            continue;
        };
        if !STEPLESS.contains(&kind) {
            continue;
        }
        let Some(steps) = map.entry("steps") else {
            continue;
        };
        let type_span = map.entry("type").map(|e| e.value.span);
        let mut d = sink
            .finding(format!(
                "steps only run in `build` jobs; the steps of `{kind}` job `{}` are ignored",
                job.key
            ))
            .at(steps.key_span, "ignored");
        if let Some(span) = type_span {
            d = d.also(span, "job type");
        }
        d = d.with_help("delete `steps`, or move them to a build job");
        sink.push(d);
    }
}
