//! Read-only views of the config that several rules share: sections, workflow invocations,
//! Docker images, template references, a generic walk.

use std::collections::HashSet;

use orrery_expr::template::{parse_tag_body, parse_template, Segment, TagBody};
use orrery_yaml::{Entry, Node, Value};

/// The entries of a top-level section such as `jobs`; empty when absent or not a map.
pub(crate) fn section<'a>(root: &'a Node, key: &str) -> &'a [Entry] {
    root.get(key)
        .and_then(Node::as_map)
        .map_or(&[], |m| m.entries.as_slice())
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
            Value::Map(m) => m.entries.iter().for_each(|e| go(Some(e), &e.value, f)),
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

/// The job names invoked by workflows and job groups: `- name` or `- name: {…}`, with the
/// node naming them.
pub(crate) fn invocations(root: &Node) -> Vec<(&str, &Node)> {
    let mut out = Vec::new();
    for section_key in ["workflows", "job-groups"] {
        for wf in section(root, section_key) {
            let Some(jobs) = wf.value.get("jobs").and_then(Node::as_seq) else {
                continue;
            };
            for item in jobs {
                match &item.value {
                    Value::Str(name) => out.push((name.as_str(), item)),
                    Value::Map(m) => {
                        if let Some(e) = m.entries.first() {
                            out.push((e.key.as_str(), item));
                        }
                    }
                    _ => {}
                }
            }
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
