//! `L1607 name-shared-across-kinds`: one name given to elements of different kinds (a job and
//! a command, a workflow and a job group, …).

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::Entry;

use crate::model::section;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::NAME_SHARED_ACROSS_KINDS,
    name: "name-shared-across-kinds",
    severity: Severity::Warning,
    summary: "the same name is used for a job, a command, a workflow or a job group",
    docs: include_str!("../../docs/rules/L1607.md"),
    check,
};

/// Sections and the kind of element each defines.
const KINDS: &[(&str, &str)] = &[
    ("workflows", "workflow"),
    ("jobs", "job"),
    ("commands", "command"),
    ("job-groups", "job group"),
];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let mut seen: Vec<(&str, &Entry)> = Vec::new();
    for (key, kind) in KINDS {
        for entry in section(root, key) {
            if *key == "workflows" && entry.key == "version" {
                continue;
            }
            let others: Vec<&(&str, &Entry)> =
                seen.iter().filter(|(_, o)| o.key == entry.key).collect();
            if others.is_empty() {
                continue;
            }
            let kinds: Vec<String> = others.iter().map(|(k, _)| format!("a {k}")).collect();
            let mut d = sink
                .finding(format!(
                    "the name `{}` of this {kind} is also used for {}",
                    entry.key,
                    kinds.join(" and ")
                ))
                .at(entry.key_span, format!("{kind} `{}`", entry.key));
            for (other_kind, other) in others {
                d = d.also(other.key_span, format!("{other_kind} `{}`", other.key));
            }
            d = d.with_help(
                "give each a name of its own; one name for two kinds of element makes the config harder to read and to search",
            );
            sink.push(d);
        }
        seen.extend(section(root, key).iter().map(|e| (*kind, e)));
    }
}
