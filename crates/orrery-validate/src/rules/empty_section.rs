//! `L1606 empty-section`: a top-level `commands:`, `executors:`, `orbs:` or `parameters:` key
//! with nothing under it.

use orrery_diagnostics::{codes, Fix, Severity};
use orrery_yaml::Value;

use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::EMPTY_SECTION,
    name: "empty-section",
    severity: Severity::Warning,
    summary: "a top-level section (`commands`, `executors`, `orbs`, `parameters`) is empty",
    docs: include_str!("../../docs/rules/L1606.md"),
    check,
};

const SECTIONS: &[&str] = &["commands", "executors", "orbs", "parameters"];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let Some(root) = cx.root().as_map() else {
        return;
    };
    for entry in root.entries() {
        if !SECTIONS.contains(&entry.key.as_str()) {
            continue;
        }
        let empty = match &entry.value.value {
            Value::Null => true,
            Value::Map(m) => m.entries().is_empty(),
            _ => false,
        };
        if !empty {
            continue;
        }
        let mut d = sink
            .finding(format!("`{}` is empty", entry.key))
            .at(entry.key_span, "nothing defined here")
            .with_help(format!(
                "delete the `{}:` line, or define something under it (an indentation slip can leave it empty)",
                entry.key
            ));
        if let Some(lines) = cx.entry_lines(entry) {
            d = d.with_fix(Fix::replace(format!("delete `{}:`", entry.key), lines, ""));
        }
        sink.push(d);
    }
}
