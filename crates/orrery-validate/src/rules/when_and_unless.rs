//! `L1807 when-and-unless`: a workflow with both `when` and `unless`.

use orrery_diagnostics::{codes, Severity};

use crate::model::section;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::WHEN_AND_UNLESS,
    name: "when-and-unless",
    severity: Severity::Error,
    summary: "a workflow has both `when` and `unless`",
    docs: include_str!("../../docs/rules/L1807.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for wf in section(cx.root(), "workflows") {
        let Some(map) = wf.value.as_map() else {
            continue;
        };
        let (Some(when), Some(unless)) = (map.entry("when"), map.entry("unless")) else {
            continue;
        };
        let d = sink
            .finding(format!(
                "workflow `{}` has both `when` and `unless`",
                wf.key
            ))
            .at(unless.key_span, "second condition")
            .also(when.key_span, "first condition")
            .with_help("keep one: combine them as `when: {and: [A, {not: B}]}`");
        sink.push(d);
    }
}
