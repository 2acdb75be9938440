//! `L1806 approval-entry-shadows-job`: an inline approval job (`- hold: {type: approval}`)
//! whose name is also a job under `jobs:`.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use crate::model::{definitions, section};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::APPROVAL_ENTRY_SHADOWS_JOB,
    name: "approval-entry-shadows-job",
    severity: Severity::Error,
    summary: "an inline approval job has the name of a job defined under `jobs:`",
    docs: include_str!("../../docs/rules/L1806.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let jobs = definitions(root, "jobs");
    for section_key in ["workflows", "job-groups"] {
        for wf in section(root, section_key) {
            for item in wf.value.get("jobs").and_then(Node::as_seq).unwrap_or(&[]) {
                let Value::Map(m) = &item.value else { continue };
                let Some(e) = m.entries().first() else {
                    continue;
                };
                if e.value.get("type").and_then(Node::as_str) != Some("approval") {
                    continue;
                }
                let Some(job) = jobs.iter().find(|j| j.key == e.key) else {
                    continue;
                };
                // A job defined as `type: approval` is the documented way to name the same thing.
                if job.value.get("type").and_then(Node::as_str) == Some("approval") {
                    continue;
                }
                let d = sink
                    .finding(format!(
                        "approval job `{}` has the name of a job defined under `jobs:`",
                        e.key
                    ))
                    .at(e.key_span, "inline approval job")
                    .also(job.key_span, "job with the same name")
                    .with_help("give the approval step a name of its own, such as `hold-…`");
                sink.push(d);
            }
        }
    }
}
