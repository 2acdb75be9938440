//! `L1003 unused-executor`: an executor under `executors:` that no job uses.

use std::collections::HashSet;

use orrery_diagnostics::{codes, Severity};

use crate::model::{section, walk};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_EXECUTOR,
    name: "unused-executor",
    severity: Severity::Warning,
    summary: "an executor is defined but no job uses it",
    docs: include_str!("../../docs/rules/L1003.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let executors = section(root, "executors");
    if executors.is_empty() {
        return;
    }
    // An executor is named by `executor: NAME`, `executor: {name: NAME}`, or passed as a
    // string to an executor parameter (argument or default): any string value equal to the
    // name counts as a use.
    let mut strings: HashSet<&str> = HashSet::new();
    walk(root, &mut |_, n| {
        if let Some(s) = n.as_str() {
            strings.insert(s);
        }
    });
    for executor in executors {
        if strings.contains(executor.key.as_str()) {
            continue;
        }
        let d = sink
            .finding(format!("executor `{}` is never used", executor.key))
            .at(executor.key_span, "no job uses this executor")
            .with_help("use it with `executor: NAME` in a job, or delete it");
        sink.push(d);
    }
}
