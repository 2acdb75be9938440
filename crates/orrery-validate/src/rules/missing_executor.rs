//! `L1719 missing-executor`: a build job that names no executor at all.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::Node;

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::MISSING_EXECUTOR,
    name: "missing-executor",
    severity: Severity::Error,
    summary: "a build job has none of `docker`, `machine`, `macos` and `executor`",
    docs: include_str!("../../docs/rules/L1719.md"),
    check,
};

const EXECUTOR_KEYS: [&str; 4] = ["docker", "machine", "macos", "executor"];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        let Some(map) = job.value.as_map() else {
            continue;
        };
        // Approval, no-op and release jobs run nothing; a templated type may be any of them.
        let build = map
            .get("type")
            .and_then(Node::as_str)
            .is_none_or(|t| t == "build");
        if !build || EXECUTOR_KEYS.iter().any(|k| map.contains_key(k)) {
            continue;
        }
        let d = sink
            .finding(format!("job `{}` has no executor", job.key))
            .at(job.key_span, "runs nowhere")
            .with_help(
                "add `docker:` (with an image), `machine:`, `macos:` or `executor:` to the job",
            );
        sink.push(d);
    }
}
