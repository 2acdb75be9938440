//! Read-only views of the config that several rules share: sections, workflow invocations,
//! Docker images, template references, a generic walk.

use std::collections::HashSet;

use orrery_diagnostics::Span;
use orrery_expr::template::{parse_tag_body, parse_template, Segment, TagBody};
use orrery_yaml::{Entry, Node, Value};

/// The entries of a top-level section such as `jobs`; empty when absent or not a map.
pub(crate) fn section<'a>(root: &'a Node, key: &str) -> &'a [Entry] {
    root.get(key)
        .and_then(Node::as_map)
        .map_or(&[], |m| m.entries())
}

/// Visits every node under `node` (itself included) with the map entry it is the value of.
pub(crate) fn walk<'a>(node: &'a Node, f: &mut impl FnMut(Option<&'a Entry>, &'a Node)) {
    fn go<'a>(
        entry: Option<&'a Entry>,
        node: &'a Node,
        f: &mut impl FnMut(Option<&'a Entry>, &'a Node),
    ) {
        f(entry, node);
        match &node.value {
            Value::Seq(items) => items.iter().for_each(|n| go(None, n, f)),
            Value::Map(m) => m.entries().iter().for_each(|e| go(Some(e), &e.value, f)),
            _ => {}
        }
    }
    go(None, node, f);
}

/// Every string value and map key under `node`.
pub(crate) fn strings_and_keys<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    walk(node, &mut |entry, n| {
        if let Some(e) = entry {
            out.push(e.key.as_str());
        }
        if let Some(s) = n.as_str() {
            out.push(s);
        }
    });
}

/// The names the workflows invoke (jobs and job groups), without the job groups' own entries.
pub(crate) fn workflow_invocations(root: &Node) -> Vec<&str> {
    entry_names(root, "workflows")
}

/// The job names a job group's `jobs` list invokes, by group.
pub(crate) fn group_members(root: &Node) -> Vec<(&Entry, Vec<&str>)> {
    section(root, "job-groups")
        .iter()
        .map(|group| (group, names_in(group.value.get("jobs"))))
        .collect()
}

fn entry_names<'a>(root: &'a Node, section_key: &str) -> Vec<&'a str> {
    section(root, section_key)
        .iter()
        .flat_map(|e| names_in(e.value.get("jobs")))
        .collect()
}

/// The names a `jobs` list invokes: `- name` or `- name: {…}`.
fn names_in(jobs: Option<&Node>) -> Vec<&str> {
    jobs.and_then(Node::as_seq)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| match &item.value {
                    Value::Str(name) => Some(name.as_str()),
                    Value::Map(m) => m.entries().first().map(|e| e.key.as_str()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The steps that invoke a command named like a built-in step (`run`, `deploy`, …): the
/// compiler resolves a step to a command of its own scope first (the config's `commands`, or
/// an inline orb's), so the built-in's shape does not apply to them. `when`, `unless` and
/// `steps` are never commands.
pub(crate) fn steps_invoking_commands(root: &Node) -> Vec<Span> {
    let mut out = Vec::new();
    let in_scope = |scope: &Node, skip: Option<&str>, out: &mut Vec<Span>| {
        let commands: HashSet<&str> = section(scope, "commands")
            .iter()
            .map(|e| e.key.as_str())
            .filter(|name| !matches!(*name, "when" | "unless" | "steps"))
            .collect();
        if commands.is_empty() {
            return;
        }
        let Some(map) = scope.as_map() else {
            return;
        };
        for entry in map
            .entries()
            .iter()
            .filter(|e| Some(e.key.as_str()) != skip)
        {
            walk(&entry.value, &mut |entry, node| {
                let is_step_list = entry.is_some_and(|e| {
                    matches!(
                        e.key.as_str(),
                        "steps" | "pre-steps" | "post-steps" | "default"
                    )
                });
                let Some(items) = node.as_seq().filter(|_| is_step_list) else {
                    return;
                };
                for item in items {
                    let name = match &item.value {
                        Value::Str(name) => Some(name.as_str()),
                        Value::Map(m) if m.entries().len() == 1 => {
                            Some(m.entries()[0].key.as_str())
                        }
                        _ => None,
                    };
                    if name.is_some_and(|n| commands.contains(n)) {
                        out.push(item.span);
                    }
                }
            });
        }
    };
    in_scope(root, Some("orbs"), &mut out);
    for orb in section(root, "orbs") {
        if orb.value.as_map().is_some() {
            in_scope(&orb.value, None, &mut out);
        }
    }
    out
}

/// Whether any workflow is declared (`workflows:` other than its `version` key).
pub(crate) fn has_workflows(root: &Node) -> bool {
    section(root, "workflows")
        .iter()
        .any(|e| e.key != "version")
}

/// `image:` nodes of every `docker:` list (jobs, executors, inline orbs).
pub(crate) fn docker_images(root: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    walk(root, &mut |entry, n| {
        if entry.is_some_and(|e| e.key == "docker") {
            for item in n.as_seq().unwrap_or(&[]) {
                if let Some(image) = item.get("image").filter(|i| i.as_str().is_some()) {
                    out.push(image);
                }
            }
        }
    });
    out
}

/// Whether the config is a 2.1 config (the language server treats a missing version as 2.1).
pub(crate) fn is_v21(root: &Node) -> bool {
    let version = root.get("version").and_then(|v| v.value.scalar_text());
    !matches!(version.as_deref(), Some("2" | "2.0"))
}

/// The definitions of one kind (`jobs`, `commands`, `executors`): the top-level section's and
/// those of inline orbs (`orbs: NAME: {jobs: …}`), which the platform validates the same way.
pub(crate) fn definitions<'a>(root: &'a Node, kind: &str) -> Vec<&'a Entry> {
    let mut out: Vec<&Entry> = section(root, kind).iter().collect();
    for orb in section(root, "orbs") {
        if orb.value.as_map().is_some() {
            out.extend(section(&orb.value, kind));
        }
    }
    out
}

/// Every step: the items of every `steps`, `pre-steps` and `post-steps` list anywhere in the
/// config (jobs, commands, `when`/`unless` steps, workflow job entries, inline orbs).
pub(crate) fn all_steps(root: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    walk(root, &mut |entry, n| {
        if entry.is_some_and(|e| matches!(e.key.as_str(), "steps" | "pre-steps" | "post-steps")) {
            out.extend(n.as_seq().unwrap_or(&[]));
        }
    });
    out
}

/// The steps a job or command runs itself: its `steps` list and, recursively, the steps of its
/// `when`/`unless` steps (not those of the commands it calls).
pub(crate) fn own_steps(definition: &Node) -> Vec<&Node> {
    fn go<'a>(steps: Option<&'a Node>, out: &mut Vec<&'a Node>) {
        for step in steps.and_then(Node::as_seq).unwrap_or(&[]) {
            out.push(step);
            if let Some(Step {
                name: "when" | "unless",
                args: Some(args),
                ..
            }) = Step::of(step)
            {
                go(args.get("steps"), out);
            }
        }
    }
    let mut out = Vec::new();
    go(definition.get("steps"), &mut out);
    out
}

/// A step split into its name and its arguments: `- checkout` or `- run: {…}`.
pub(crate) struct Step<'a> {
    pub(crate) name: &'a str,
    /// The span of the name (the string, or the map's only key).
    pub(crate) name_span: Span,
    pub(crate) args: Option<&'a Node>,
}

impl<'a> Step<'a> {
    pub(crate) fn of(node: &'a Node) -> Option<Step<'a>> {
        match &node.value {
            Value::Str(name) => Some(Step {
                name,
                name_span: node.span,
                args: None,
            }),
            Value::Map(m) if m.entries().len() == 1 => {
                let e = &m.entries()[0];
                Some(Step {
                    name: &e.key,
                    name_span: e.key_span,
                    args: Some(&e.value),
                })
            }
            _ => None,
        }
    }
}

/// The workflow job entries of workflows and job groups (`- name` or `- name: {…}`).
pub(crate) struct JobEntry<'a> {
    /// The entry's arguments (`requires`, `filters`, …), when it is a map.
    pub(crate) args: Option<&'a Node>,
}

/// Every `name: status` or `name: [statuses]` item of the workflows' `requires` lists.
pub(crate) fn required_statuses(root: &Node) -> Vec<&Entry> {
    let mut out = Vec::new();
    for entry in job_entries(root) {
        let Some(requires) = entry
            .args
            .and_then(|a| a.get("requires"))
            .and_then(Node::as_seq)
        else {
            continue;
        };
        for item in requires {
            out.extend(item.as_map().map_or(&[][..], |m| m.entries()));
        }
    }
    out
}

pub(crate) fn job_entries(root: &Node) -> Vec<JobEntry<'_>> {
    let mut out = Vec::new();
    for section_key in ["workflows", "job-groups"] {
        for wf in section(root, section_key) {
            let Some(jobs) = wf.value.get("jobs").and_then(Node::as_seq) else {
                continue;
            };
            for item in jobs {
                match &item.value {
                    Value::Str(_) => out.push(JobEntry { args: None }),
                    Value::Map(m) => {
                        if let Some(e) = m.entries().first() {
                            out.push(JobEntry {
                                args: Some(&e.value).filter(|v| v.as_map().is_some()),
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The body of a string that is exactly one `<< … >>` tag (surrounding blanks allowed), such as
/// `<< parameters.when >>` → `parameters.when`.
pub(crate) fn whole_tag(s: &str) -> Option<String> {
    if !s.contains("<<") {
        return None;
    }
    let template = parse_template(s).ok()?;
    let mut body = None;
    for segment in &template.segments {
        match segment {
            Segment::Text(t) if t.trim().is_empty() => {}
            Segment::Tag { body: b, .. } if body.is_none() => body = Some(b.clone()),
            _ => return None,
        }
    }
    body
}

/// The declaration of parameter `name` of a job, command or executor definition.
pub(crate) fn parameter<'a>(definition: &'a Node, name: &str) -> Option<&'a Node> {
    definition.get("parameters")?.get(name)
}

/// Maps each step node of the jobs and commands (their own steps, `when`/`unless` bodies
/// included) to the definition that holds it, so a step can look up `<< parameters.x >>`.
pub(crate) fn step_owners(root: &Node) -> Vec<(&Node, &Node)> {
    let mut out = Vec::new();
    for kind in ["jobs", "commands"] {
        for def in definitions(root, kind) {
            out.extend(own_steps(&def.value).into_iter().map(|s| (s, &def.value)));
        }
    }
    out
}

/// The definition that holds `step`, found by identity in [`step_owners`].
pub(crate) fn owner_of<'a>(owners: &[(&Node, &'a Node)], step: &Node) -> Option<&'a Node> {
    owners
        .iter()
        .find(|(s, _)| std::ptr::eq(*s, step))
        .map(|(_, d)| *d)
}

/// A condition and where it came from: a workflow's `when`/`unless`, a `when`/`unless` step's
/// `condition`, or a workflow job entry's `filters`.
pub(crate) struct Condition<'a> {
    pub(crate) node: &'a Node,
    /// `when`, `unless`, `condition` or `filters`.
    pub(crate) key: &'static str,
}

pub(crate) fn conditions(root: &Node) -> Vec<Condition<'_>> {
    let mut out = Vec::new();
    for wf in section(root, "workflows") {
        for key in ["when", "unless"] {
            if let Some(node) = wf.value.get(key) {
                out.push(Condition { node, key });
            }
        }
    }
    for step in all_steps(root) {
        if let Some(Step {
            name: "when" | "unless",
            args: Some(args),
            ..
        }) = Step::of(step)
        {
            if let Some(node) = args.get("condition") {
                out.push(Condition {
                    node,
                    key: "condition",
                });
            }
        }
    }
    for entry in job_entries(root) {
        if let Some(node) = entry.args.and_then(|a| a.get("filters")) {
            out.push(Condition {
                node,
                key: "filters",
            });
        }
    }
    out
}

/// Whether a string is computed (a `<< >>` template or an environment variable), so its
/// literal value says nothing.
pub(crate) fn is_dynamic(s: &str) -> bool {
    s.contains("<<") || s.contains('$')
}

/// Adds the names `x` of the `<< parameters.x >>` references in `s` (expressions and section
/// names included; `pipeline.parameters.x` excluded). A string that is not a valid template is
/// searched textually, so an error elsewhere never makes a parameter look unused.
pub(crate) fn parameter_refs(s: &str, out: &mut HashSet<String>) {
    if !s.contains("<<") {
        return;
    }
    match parse_template(s) {
        Ok(t) => segment_refs(&t.segments, out),
        Err(_) => textual_refs(s, out),
    }
}

fn segment_refs(segments: &[Segment], out: &mut HashSet<String>) {
    for segment in segments {
        match segment {
            Segment::Text(_) => {}
            Segment::Tag { body, .. } => match parse_tag_body(body) {
                Ok(TagBody::Expr(e)) => {
                    for (name, _, _) in e.references() {
                        add_ref(name, out);
                    }
                }
                Ok(TagBody::Name(name)) => add_ref(&name, out),
                Err(_) => textual_refs(body, out),
            },
            Segment::Section { name, body, .. } => {
                add_ref(name, out);
                segment_refs(body, out);
            }
        }
    }
}

fn add_ref(name: &str, out: &mut HashSet<String>) {
    if let Some(rest) = name.strip_prefix("parameters.") {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        out.insert(rest[..end].to_string());
    }
}

fn textual_refs(s: &str, out: &mut HashSet<String>) {
    let mut at = 0;
    while let Some(found) = s[at..].find("parameters.") {
        let start = at + found;
        at = start + "parameters.".len();
        if s[..start].ends_with("pipeline.") {
            continue;
        }
        let rest = &s[at..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if end > 0 {
            out.insert(rest[..end].to_string());
        }
    }
}

/// Which cache step a key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CacheStep {
    Save,
    Restore,
}

/// The key strings of every `save_cache` and `restore_cache` step under `node` (`key`, and each
/// of `keys`), with the step they belong to.
pub(crate) fn cache_keys(node: &Node) -> Vec<(CacheStep, &Node)> {
    let mut out = Vec::new();
    walk(node, &mut |entry, n| {
        let step = match entry.map(|e| e.key.as_str()) {
            Some("save_cache") => CacheStep::Save,
            Some("restore_cache") => CacheStep::Restore,
            _ => return,
        };
        if let Some(key) = n.get("key").filter(|k| k.as_str().is_some()) {
            out.push((step, key));
        }
        if step == CacheStep::Restore {
            for key in n.get("keys").and_then(Node::as_seq).unwrap_or(&[]) {
                if key.as_str().is_some() {
                    out.push((step, key));
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(s: &str) -> Vec<String> {
        let mut out = HashSet::new();
        parameter_refs(s, &mut out);
        let mut v: Vec<String> = out.into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn finds_references_in_tags_expressions_and_sections() {
        assert_eq!(refs("echo << parameters.a >>"), ["a"]);
        assert_eq!(refs("<<# parameters.b >>x<</ parameters.b >>"), ["b"]);
        assert_eq!(
            refs("<< pipeline.parameters.c >> << parameters.d-e >>"),
            ["d-e"]
        );
        assert_eq!(refs("no templates parameters.x"), Vec::<String>::new());
        assert_eq!(refs("<< parameters.broken"), ["broken"]);
    }
}
