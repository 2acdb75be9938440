//! `L1605 explicit-build-type`: `type: build` on a job, which is the default.

use orrery_diagnostics::{codes, Fix, Severity};

use crate::model::definitions;
use crate::{cover, Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::EXPLICIT_BUILD_TYPE,
    name: "explicit-build-type",
    severity: Severity::Note,
    summary: "`type: build` on a job, which is already the default",
    docs: include_str!("../../docs/rules/L1605.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        let Some(entry) = job.value.as_map().and_then(|m| m.entry("type")) else {
            continue;
        };
        if entry.value.as_str() != Some("build") {
            continue;
        }
        let mut d = sink
            .finding("`type: build` is the default job type")
            .at(cover(entry.key_span, entry.value.span), "can be left out")
            .with_help("delete the line");
        if let Some(lines) = cx.entry_lines(entry) {
            d = d.with_fix(Fix::replace("delete `type: build`", lines, ""));
        }
        sink.push(d);
    }
}
