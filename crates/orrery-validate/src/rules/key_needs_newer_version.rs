//! `L1609 key-needs-newer-version`: a key that only config version 2.1 knows (`orbs`,
//! `commands`, `executors`, `parameters`, `job-groups`, `setup`) in a `version: 2` config.

use orrery_diagnostics::{codes, Severity};

use crate::model::is_v21;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::KEY_NEEDS_NEWER_VERSION,
    name: "key-needs-newer-version",
    severity: Severity::Error,
    summary: "a 2.1-only top-level key in a `version: 2` config",
    docs: include_str!("../../docs/rules/L1609.md"),
    check,
};

const V21_ONLY: &[&str] = &[
    "orbs",
    "commands",
    "executors",
    "parameters",
    "job-groups",
    "setup",
];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    if is_v21(root) {
        return;
    }
    let Some(map) = root.as_map() else { return };
    let version = map.entry("version");
    for entry in map.entries() {
        if !V21_ONLY.contains(&entry.key.as_str()) {
            continue;
        }
        let mut d = sink
            .finding(format!("`{}` needs config version 2.1", entry.key))
            .at(entry.key_span, "2.1 only");
        if let Some(v) = version {
            d = d.also(v.value.span, "this config is version 2");
        }
        d = d.with_help("set `version: 2.1` (and drop `workflows: version`)");
        sink.push(d);
    }
}
