//! `L1720 unknown-executor-offering`: a resource class, machine image or Xcode version that
//! CircleCI does not offer, by the dated table in `data/executors.toml`.

use orrery_diagnostics::{closest, codes, Applicability, Diagnostic, Fix, Severity};
use orrery_yaml::{Node, Value};

use crate::model::definitions;
use crate::offerings::{offerings, xcode_key, Offerings};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNKNOWN_EXECUTOR_OFFERING,
    name: "unknown-executor-offering",
    severity: Severity::Warning,
    summary: "a resource class, machine image or Xcode version CircleCI does not offer",
    docs: include_str!("../../docs/rules/L1720.md"),
    check,
};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Docker,
    Machine,
    MacOs,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Docker => "Docker",
            Kind::Machine => "machine",
            Kind::MacOs => "macOS",
        }
    }
}

/// The executor type a job or executor definition declares itself.
fn own_kind(definition: &Node) -> Option<Kind> {
    [
        ("docker", Kind::Docker),
        ("machine", Kind::Machine),
        ("macos", Kind::MacOs),
    ]
    .into_iter()
    .find(|(key, _)| definition.get(key).is_some())
    .map(|(_, kind)| kind)
}

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let executors = definitions(root, "executors");
    let holders = definitions(root, "jobs")
        .into_iter()
        .chain(executors.iter().copied());
    for holder in holders {
        let definition = &holder.value;
        // A job on an executor of the config takes that executor's type.
        let kind = own_kind(definition).or_else(|| {
            let executor = definition.get("executor")?;
            let name = executor
                .as_str()
                .or_else(|| executor.get("name").and_then(Node::as_str))?;
            let used = executors.iter().find(|e| e.key == name)?;
            own_kind(&used.value)
        });
        if let (Some(kind), Some(class)) = (kind, definition.get("resource_class")) {
            // The table is read on first use: a config that names no offering never parses it.
            resource_class(cx, sink, offerings(), kind, class);
        }
        if let Some(image) = definition.get("machine").and_then(|m| m.get("image")) {
            machine_image(cx, sink, offerings(), image);
        }
        if let Some(xcode) = definition.get("macos").and_then(|m| m.get("xcode")) {
            xcode_version(sink, offerings(), xcode);
        }
    }
}

/// The text of a scalar the table can judge: not a template, not a collection.
fn literal(node: &Node) -> Option<String> {
    let text = match &node.value {
        Value::Str(s) => s.clone(),
        Value::Float(f) => orrery_yaml::format_float(*f),
        Value::Int(i) => i.to_string(),
        _ => return None,
    };
    (!text.contains("<<") && !text.is_empty()).then_some(text)
}

fn resource_class(
    cx: &Context<'_>,
    sink: &mut Sink<'_>,
    table: &Offerings,
    kind: Kind,
    node: &Node,
) {
    let Some(class) = literal(node) else {
        return;
    };
    if class.contains('/') {
        if !table.is_self_hosted(&class) {
            let d = sink
                .finding(format!("`{class}` is not a self-hosted runner class"))
                .at(node.span, "not `namespace/name`")
                .with_help("a self-hosted runner's resource class is `namespace/name` (letters, digits, `-` and `_`)");
            sink.push(d);
        }
        return;
    }
    let known: Vec<&str> = match kind {
        Kind::Docker => table.docker.iter().map(String::as_str).collect(),
        Kind::Machine => table.machine_classes().collect(),
        Kind::MacOs => table.macos.iter().map(String::as_str).collect(),
    };
    if known.contains(&class.as_str()) {
        return;
    }
    let d = sink
        .finding(format!(
            "unknown resource class `{class}` for a {} executor",
            kind.word()
        ))
        .at(node.span, "not offered");
    sink.push(suggest(
        cx,
        d,
        node,
        &class,
        &known,
        table,
        "resource classes",
    ));
}

fn machine_image(cx: &Context<'_>, sink: &mut Sink<'_>, table: &Offerings, node: &Node) {
    let Some(image) = literal(node) else {
        return;
    };
    if table.knows_image(&image) {
        return;
    }
    let known: Vec<&str> = table.machine_images().collect();
    let d = sink
        .finding(format!("unknown machine image `{image}`"))
        .at(node.span, "not offered");
    sink.push(suggest(
        cx,
        d,
        node,
        &image,
        &known,
        table,
        "machine images",
    ));
}

fn xcode_version(sink: &mut Sink<'_>, table: &Offerings, node: &Node) {
    let Some(version) = literal(node) else {
        return;
    };
    if table.knows_xcode(&version) {
        return;
    }
    let known: Vec<&str> = table.xcode.iter().map(String::as_str).collect();
    let mut d = sink
        .finding(format!("unknown Xcode version `{version}`"))
        .at(node.span, "not offered");
    // Compared without trailing `.0`s, so `15.5` is one edit from `15.4.0`.
    let near = closest(xcode_key(&version), known.iter().map(|k| xcode_key(k)))
        .and_then(|key| known.iter().find(|k| xcode_key(k) == key));
    d = match near {
        Some(near) => d.with_help(format!(
            "did you mean `{near}`? (Xcode versions CircleCI offered on {})",
            table.updated
        )),
        None => d.with_help(format!(
            "CircleCI offered these Xcode versions on {}: {}",
            table.updated,
            known[..known.len().min(6)].join(", ")
        )),
    };
    sink.push(d);
}

/// "Did you mean", with the replacement as an unsafe fix when the value is written verbatim.
fn suggest(
    cx: &Context<'_>,
    d: Diagnostic,
    node: &Node,
    typed: &str,
    known: &[&str],
    table: &Offerings,
    what: &str,
) -> Diagnostic {
    let dated = format!("the {what} CircleCI offered on {}", table.updated);
    match closest(typed, known.iter().copied()) {
        Some(near) => {
            let d = d.with_help(format!("did you mean `{near}`? (by {dated})"));
            let span = cx.sub_span(node, 0, typed.len());
            if span.len() == typed.len() {
                d.with_fix(
                    Fix::replace(format!("use `{near}`"), span, near)
                        .with_applicability(Applicability::Unsafe),
                )
            } else {
                d
            }
        }
        None => d.with_help(format!(
            "see {dated}: {} (`scripts/refresh-executors` updates the table)",
            known[..known.len().min(8)].join(", ")
        )),
    }
}
