//! `L1602 machine-true`: `machine: true`, the deprecated way to ask for the default machine
//! image.

use orrery_diagnostics::{codes, Applicability, Fix, Severity};
use orrery_yaml::Node;

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::MACHINE_TRUE,
    name: "machine-true",
    severity: Severity::Warning,
    summary: "`machine: true` instead of a machine image",
    docs: include_str!("../../docs/rules/L1602.md"),
    check,
};

/// The image CircleCI recommends in place of `machine: true`.
const IMAGE: &str = "ubuntu-2404:current";

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let holders = definitions(root, "jobs")
        .into_iter()
        .chain(definitions(root, "executors"));
    for holder in holders {
        let Some(machine) = holder.value.get("machine") else {
            continue;
        };
        if machine.as_bool() != Some(true) || self_hosted(&holder.value) {
            continue;
        }
        let d = sink
            .finding("`machine: true` is deprecated: it runs an old default image")
            .at(machine.span, "no image chosen")
            .with_help(format!(
                "name the image: `machine:\\n  image: {IMAGE}` (or a pinned version)"
            ))
            .with_fix(
                Fix::replace(
                    format!("use `image: {IMAGE}`"),
                    machine.span,
                    format!("{{ image: {IMAGE} }}"),
                )
                .with_applicability(Applicability::Unsafe),
            );
        sink.push(d);
    }
}

/// A self-hosted machine runner (`resource_class: namespace/name`) takes `machine: true`; the
/// runner decides the image.
fn self_hosted(holder: &Node) -> bool {
    holder
        .get("resource_class")
        .and_then(Node::as_str)
        .is_some_and(|c| c.contains('/') || c.contains("<<"))
}
