//! `L1701 ineffective-parallelism`: `parallelism: 1` (the default) or `0` on a job.

use orrery_diagnostics::{codes, Fix, Severity};
use orrery_yaml::Value;

use crate::model::definitions;
use crate::{cover, Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INEFFECTIVE_PARALLELISM,
    name: "ineffective-parallelism",
    severity: Severity::Warning,
    summary: "`parallelism` below 2, which runs a single copy of the job",
    docs: include_str!("../../docs/rules/L1701.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        let Some(entry) = job.value.as_map().and_then(|m| m.entry("parallelism")) else {
            continue;
        };
        let Value::Int(n @ (0 | 1)) = entry.value.value else {
            continue;
        };
        let span = cover(entry.key_span, entry.value.span);
        let mut d = sink.finding(format!("`parallelism: {n}` runs a single copy of the job"));
        if n == 1 {
            d = d
                .at(span, "1 is the default")
                .with_help("delete the line, or choose a value of 2 or more to split the work (`circleci tests run`)");
            if let Some(lines) = cx.entry_lines(entry) {
                d = d.with_fix(Fix::replace("delete `parallelism: 1`", lines, ""));
            }
        } else {
            d = d.at(span, "not a number of copies").with_help(
                "use 2 or more to run copies of the job in parallel, or delete the line",
            );
        }
        sink.push(d);
    }
}
