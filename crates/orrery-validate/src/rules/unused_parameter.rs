//! `L1005 unused-parameter`: a job, command or executor parameter that its body never
//! refers to with `<< parameters.NAME >>`.

use std::collections::HashSet;

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Entry, Node};

use crate::model::{parameter_refs, section, walk};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_PARAMETER,
    name: "unused-parameter",
    severity: Severity::Warning,
    summary: "a job, command or executor declares a parameter its body never uses",
    docs: include_str!("../../docs/rules/L1005.md"),
    check,
};

const KINDS: [(&str, &str); 3] = [
    ("jobs", "job"),
    ("commands", "command"),
    ("executors", "executor"),
];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    // The config's own elements, and those of inline orbs.
    let mut scopes: Vec<(&Node, Option<&str>)> = vec![(root, None)];
    for orb in section(root, "orbs") {
        if orb.value.as_map().is_some() {
            scopes.push((&orb.value, Some(orb.key.as_str())));
        }
    }
    for (scope, orb) in scopes {
        for (key, kind) in KINDS {
            for element in section(scope, key) {
                check_element(sink, element, kind, orb);
            }
        }
    }
}

fn check_element(sink: &mut Sink<'_>, element: &Entry, kind: &str, orb: Option<&str>) {
    let Some(params) = element.value.get("parameters").and_then(Node::as_map) else {
        return;
    };
    if params.is_empty() {
        return;
    }
    let mut used = HashSet::new();
    walk(&element.value, &mut |entry, n| {
        if let Some(e) = entry {
            parameter_refs(&e.key, &mut used);
        }
        if let Some(s) = n.as_str() {
            parameter_refs(s, &mut used);
        }
    });
    let name = match orb {
        Some(orb) => format!("{orb}/{}", element.key),
        None => element.key.clone(),
    };
    for param in params.entries() {
        if used.contains(param.key.as_str()) {
            continue;
        }
        let d = sink
            .finding(format!(
                "parameter `{}` of {kind} `{name}` is never used",
                param.key
            ))
            .at(param.key_span, "declared here")
            .also(element.key_span, format!("no `<< parameters.{} >>` in this {kind}", param.key))
            .with_help(format!(
                "refer to it with `<< parameters.{} >>`, or delete the declaration (and the arguments that set it)",
                param.key
            ));
        sink.push(d);
    }
}
