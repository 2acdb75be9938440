//! `L1608 unused-anchor`: a YAML anchor (`&name`) that no alias (`*name`) refers to.
//!
//! The parsed tree has aliases expanded, so this rule reads the parser's record of anchors
//! (`Input::anchors`).

use orrery_diagnostics::{codes, Severity};

use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_ANCHOR,
    name: "unused-anchor",
    severity: Severity::Note,
    summary: "a YAML anchor is never referred to by an alias",
    docs: include_str!("../../docs/rules/L1608.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for anchor in cx.input.anchors.iter().filter(|a| !a.used) {
        let name = &anchor.name;
        if anchor.span.is_empty() || anchor.span.file != cx.input.file {
            continue;
        }
        let d = sink
            .finding(format!("anchor `&{name}` is never used"))
            .at(anchor.span, "no alias refers to it")
            .with_help(format!(
                "refer to it with `*{name}` (or `<<: *{name}` to merge it), or remove the anchor"
            ));
        sink.push(d);
    }
}
