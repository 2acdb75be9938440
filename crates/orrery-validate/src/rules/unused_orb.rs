//! `L1004 unused-orb`: an orb imported under `orbs:` whose alias nothing refers to.

use orrery_diagnostics::{codes, Severity};

use crate::model::{section, strings_and_keys};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_ORB,
    name: "unused-orb",
    severity: Severity::Warning,
    summary: "an orb is imported but none of its jobs, commands or executors is used",
    docs: include_str!("../../docs/rules/L1004.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let orbs = section(root, "orbs");
    if orbs.is_empty() {
        return;
    }
    // Every key and string value outside the orb references themselves; an orb is used when
    // one of them starts with `ALIAS/` (steps, executors, jobs, `override-with`, arguments).
    let mut texts = Vec::new();
    for entry in root.as_map().map_or(&[][..], |m| m.entries()) {
        if entry.key == "orbs" {
            for orb in orbs {
                if orb.value.as_str().is_none() {
                    strings_and_keys(&orb.value, &mut texts);
                }
            }
        } else {
            strings_and_keys(&entry.value, &mut texts);
        }
    }
    for orb in orbs {
        let prefix = format!("{}/", orb.key);
        if texts.iter().any(|t| t.starts_with(&prefix)) {
            continue;
        }
        let what = if orb.value.as_str().is_some() {
            "imported"
        } else {
            "defined inline"
        };
        let d = sink
            .finding(format!("orb `{}` is never used", orb.key))
            .at(
                orb.key_span,
                format!("{what} here, never referred to as `{prefix}…`"),
            )
            .with_help("use one of its elements, or remove the import");
        sink.push(d);
    }
}
