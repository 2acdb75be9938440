//! `L1405 unused-pipeline-parameter`: a pipeline parameter (top-level `parameters`) that no
//! `pipeline.parameters.NAME` refers to.
//!
//! Undefined pipeline parameters are the compiler's error (E0303); the unused ones it does not
//! report. A reference is searched textually in every string and key of the config (templates,
//! expressions, logic statements, inline orbs), so a reference in any form counts; an indexed
//! reference (`pipeline.parameters[…]`) counts for every parameter. Parameters named `GHA_…`
//! are exempt: the CircleCI GitHub Action passes them to the pipelines it triggers, so such a
//! config must declare them whether it uses them or not.

use orrery_diagnostics::{codes, Severity};

use crate::model::{section, strings_and_keys};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_PIPELINE_PARAMETER,
    name: "unused-pipeline-parameter",
    severity: Severity::Warning,
    summary: "a pipeline parameter that nothing in the config refers to",
    docs: include_str!("../../docs/rules/L1405.md"),
    check,
};

const PREFIX: &str = "pipeline.parameters";

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let declared = section(root, "parameters");
    if declared.is_empty() {
        return;
    }
    let mut words = Vec::new();
    for entry in root.as_map().map_or(&[][..], |m| m.entries()) {
        if entry.key != "parameters" {
            strings_and_keys(&entry.value, &mut words);
        }
    }
    let mut used: Vec<&str> = Vec::new();
    for w in &words {
        let mut at = 0;
        while let Some(found) = w[at..].find(PREFIX) {
            let rest = &w[at + found + PREFIX.len()..];
            at += found + PREFIX.len();
            if rest.starts_with('[') {
                return;
            }
            let Some(name) = rest.strip_prefix('.') else {
                continue;
            };
            let end = name
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(name.len());
            used.push(&name[..end]);
        }
    }
    for param in declared {
        // The CircleCI GitHub Action passes these to every pipeline it triggers: a config it
        // triggers must declare them, used or not.
        if used.contains(&param.key.as_str()) || param.key.starts_with("GHA_") {
            continue;
        }
        let d = sink
            .finding(format!("pipeline parameter `{}` is never used", param.key))
            .at(param.key_span, "declared here")
            .with_help(format!(
                "refer to it with `<< pipeline.parameters.{} >>` (or `pipeline.parameters.{}` in an expression), or delete it; a trigger that passes it must then stop too",
                param.key, param.key
            ));
        sink.push(d);
    }
}
