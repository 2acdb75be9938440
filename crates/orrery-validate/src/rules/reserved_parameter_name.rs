//! `L1717 reserved-parameter-name`: a job parameter named like a workflow job entry key
//! (`name`, `requires`, `context`, `type`, `filters`, `matrix`, `pre-steps`, `post-steps`,
//! `serial-group`, `override-with`), which the invocation takes for itself.

use orrery_diagnostics::{codes, Severity};

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::RESERVED_PARAMETER_NAME,
    name: "reserved-parameter-name",
    severity: Severity::Error,
    summary: "a job parameter has a name reserved for workflow job entries",
    docs: include_str!("../../docs/rules/L1717.md"),
    check,
};

const RESERVED: &[&str] = &[
    "name",
    "requires",
    "context",
    "type",
    "filters",
    "matrix",
    "pre-steps",
    "post-steps",
    "serial-group",
    "override-with",
];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        let Some(params) = job.value.get("parameters").and_then(|p| p.as_map()) else {
            continue;
        };
        for param in params.entries() {
            if !RESERVED.contains(&param.key.as_str()) {
                continue;
            }
            let d = sink
                .finding(format!(
                    "job `{}` declares parameter `{}`, a name reserved for workflow job entries",
                    job.key, param.key
                ))
                .at(param.key_span, "reserved name")
                .with_help(format!(
                    "rename it (e.g. `{}-value`): in `- {}: {{{}: …}}` the workflow takes the key for itself",
                    param.key, job.key, param.key
                ));
            sink.push(d);
        }
    }
}
