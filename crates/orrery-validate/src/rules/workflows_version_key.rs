//! `L1601 workflows-version-key`: `workflows: version: 2` in a 2.1 config, where the key is
//! deprecated and ignored.

use orrery_diagnostics::{codes, Fix, Severity};
use orrery_yaml::Node;

use crate::model::is_v21;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::WORKFLOWS_VERSION_KEY,
    name: "workflows-version-key",
    severity: Severity::Warning,
    summary: "`workflows: version:` in a 2.1 config, where it is deprecated and ignored",
    docs: include_str!("../../docs/rules/L1601.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    // In 2.0 the key is required; only 2.1 deprecates it.
    if !is_v21(root) {
        return;
    }
    let Some(entry) = root
        .get("workflows")
        .and_then(Node::as_map)
        .and_then(|m| m.entry("version"))
    else {
        return;
    };
    let mut d = sink
        .finding("`workflows: version` is deprecated since config version 2.1")
        .at(entry.key_span, "ignored in 2.1")
        .with_help("delete the line; the config's top-level `version: 2.1` is what counts");
    if let Some(lines) = cx.entry_lines(entry) {
        d = d.with_fix(Fix::replace("delete `workflows: version`", lines, ""));
    }
    sink.push(d);
}
