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
            for (other_kind, other) in &seen {
                if other.key != entry.key {
                    continue;
                }
                let d = sink
                    .finding(format!(
                        "the name `{}` is used for a {kind} and a {other_kind}",
                        entry.key
                    ))
                    .at(entry.key_span, format!("{kind} `{}`", entry.key))
                    .also(other.key_span, format!("{other_kind} `{}`", other.key))
                    .with_help(
                        "give each a name of its own; the same name for two kinds of element makes the config harder to read and to search",
                    );
                sink.push(d);
            }
        }
        seen.extend(section(root, key).iter().map(|e| (*kind, e)));
    }
}
