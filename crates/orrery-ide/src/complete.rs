//! Completion. The place is read from the text itself (indentation, list markers, `key:`,
//! `<<`), so it works while the document does not parse; the names come from the newest
//! analysis that did.

use orrery_diagnostics::Span;

use orrery_compiler::{PipelineValues, BUILT_IN_STEPS};

use crate::model::{Definition, Kind, Model, ENTRY_KEYS};
use crate::Analysis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    Key,
    Step,
    Job,
    Executor,
    Parameter,
    Value,
    PipelineValue,
    Anchor,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionItem {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    pub documentation: Option<String>,
    /// The text the item replaces (the word before the cursor).
    pub replace: Span,
}

/// The keys a job group invocation takes (CONFIG-SPEC §6.10.2).
const GROUP_INVOCATION_KEYS: &[&str] = &["requires", "name", "serial-group", "filters"];

/// Where the cursor is, as read from the text.
#[derive(Debug, PartialEq, Eq)]
struct Place {
    /// Keys of the maps around the line (`-` for a list item), outermost first.
    parents: Vec<String>,
    /// The line is a list item (`- word`).
    item: bool,
    /// The cursor is in the value of this key (`key: word`).
    value_of: Option<String>,
}

impl Analysis {
    /// Completions at `offset` of `text` (the document as it is now), with names from this
    /// analysis (which may be of a slightly older version).
    pub fn complete(&self, text: &str, offset: u32) -> Vec<CompletionItem> {
        let offset = (offset as usize).min(text.len());
        let Some(offset) = (0..=offset).rev().find(|&o| text.is_char_boundary(o)) else {
            return Vec::new();
        };
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..offset];
        let word_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || "_-./".contains(*c))
            .last()
            .map_or(before.len(), |(i, _)| i);
        let replace = Span::new(self.file(), line_start + word_start, offset);
        let model = self.model();
        if let Some(open) = before.rfind("<<") {
            if !before[open..].contains(">>") {
                let typed = &before[word_start..];
                let place = self.in_whole(place(text, line_start, before));
                return template_items(model, self.pipeline(), &place, typed, replace);
            }
        }
        if before[..word_start].ends_with('*') {
            return model
                .defs
                .iter()
                .filter(|d| d.kind == Kind::Anchor)
                .map(|d| item(&d.name, CompletionKind::Anchor, None, None, replace))
                .collect();
        }
        let place = self.in_whole(place(text, line_start, before));
        let parents: Vec<&str> = place.parents.iter().map(String::as_str).collect();
        match (&place.value_of, place.item) {
            (Some(key), _) => value_items(model, &parents, key, replace),
            (None, true) => item_items(model, &parents, replace),
            (None, false) => key_items(model, &parents, replace),
        }
    }
}

impl Analysis {
    /// A place in a file of an orb source tree or split config, as a place in the whole.
    fn in_whole(&self, mut place: Place) -> Place {
        let prefix = self.key_prefix();
        if !prefix.is_empty() {
            place.parents.splice(0..0, prefix.iter().cloned());
        }
        place
    }
}

fn item(
    label: &str,
    kind: CompletionKind,
    detail: Option<String>,
    documentation: Option<String>,
    replace: Span,
) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind,
        detail,
        documentation,
        replace,
    }
}

fn element_item(d: &Definition, kind: CompletionKind, replace: Span) -> CompletionItem {
    item(
        &d.name,
        kind,
        Some(d.kind.word().to_string()),
        d.description.clone(),
        replace,
    )
}

fn param_item(d: &Definition, replace: Span, label: &str) -> CompletionItem {
    let info = d.param.clone().unwrap_or_default();
    let mut detail = info.ty.clone().unwrap_or_else(|| "parameter".into());
    match &info.default {
        Some(default) => detail.push_str(&format!(" = {default}")),
        None => detail.push_str(" (required)"),
    }
    item(
        label,
        CompletionKind::Parameter,
        Some(detail),
        info.description.clone(),
        replace,
    )
}

/// `<< parameters.… >>` of the element around the cursor and `<< pipeline.… >>` that start
/// with what is typed (pipeline values are a hundred names), each value with what it is now.
fn template_items(
    model: &Model,
    pipeline: &PipelineValues,
    place: &Place,
    typed: &str,
    replace: Span,
) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    if let [section, name, ..] = place.parents.as_slice() {
        let kind = match section.as_str() {
            "jobs" => Some(Kind::Job),
            "commands" => Some(Kind::Command),
            "executors" => Some(Kind::Executor),
            _ => None,
        };
        if let Some(owner) = kind.and_then(|k| model.find(k, name)) {
            for p in model.params_of(owner) {
                out.push(param_item(p, replace, &format!("parameters.{}", p.name)));
            }
        }
    }
    for d in model
        .defs
        .iter()
        .filter(|d| d.kind == Kind::PipelineParameter)
    {
        out.push(param_item(
            d,
            replace,
            &format!("pipeline.parameters.{}", d.name),
        ));
    }
    for value in PipelineValues::names() {
        let detail = match pipeline.text(value) {
            Some(now) => format!("pipeline value, now `{now}`"),
            None => "pipeline value".into(),
        };
        out.push(item(
            value,
            CompletionKind::PipelineValue,
            Some(detail),
            None,
            replace,
        ));
    }
    out.retain(|i| i.label.starts_with(typed));
    out
}

/// A list item: a step, a workflow's job, a required job.
fn item_items(model: &Model, parents: &[&str], replace: Span) -> Vec<CompletionItem> {
    let last = parents.last().copied().unwrap_or("");
    match last {
        "steps" | "pre-steps" | "post-steps" => {
            let mut out: Vec<CompletionItem> = BUILT_IN_STEPS
                .iter()
                .chain(&["when", "unless"])
                .map(|s| {
                    item(
                        s,
                        CompletionKind::Step,
                        Some("built-in step".into()),
                        None,
                        replace,
                    )
                })
                .collect();
            out.extend(
                model
                    .defs
                    .iter()
                    .filter(|d| d.kind == Kind::Command)
                    .map(|d| element_item(d, CompletionKind::Step, replace)),
            );
            out
        }
        "jobs" if parents.first() == Some(&"workflows") => jobs(model, true, replace),
        // A job group's members are jobs; groups do not nest.
        "jobs" if parents.first() == Some(&"job-groups") => jobs(model, false, replace),
        "requires" => jobs(model, true, replace),
        _ => Vec::new(),
    }
}

/// The jobs, and with `groups` the job groups, a workflow can list or require.
fn jobs(model: &Model, groups: bool, replace: Span) -> Vec<CompletionItem> {
    model
        .defs
        .iter()
        .filter(|d| d.kind == Kind::Job || (groups && d.kind == Kind::JobGroup))
        .map(|d| element_item(d, CompletionKind::Job, replace))
        .collect()
}

/// A key: an invocation's parameters, else what the schema allows here.
fn key_items(model: &Model, parents: &[&str], replace: Span) -> Vec<CompletionItem> {
    if let Some((kind, name)) = invocation(parents) {
        let mut out: Vec<CompletionItem> = match model.find(kind, name) {
            Some(owner) => model
                .params_of(owner)
                .map(|p| param_item(p, replace, &p.name))
                .collect(),
            None => Vec::new(),
        };
        if kind == Kind::Job && model.find(Kind::JobGroup, name).is_some() {
            out.extend(
                GROUP_INVOCATION_KEYS
                    .iter()
                    .map(|k| item(k, CompletionKind::Key, None, None, replace)),
            );
        } else if kind == Kind::Job {
            out.extend(
                ENTRY_KEYS
                    .iter()
                    .map(|k| item(k, CompletionKind::Key, None, None, replace)),
            );
        }
        return out;
    }
    orrery_schema::keys(parents)
        .into_iter()
        .map(|(key, description)| {
            item(
                key,
                CompletionKind::Key,
                None,
                description.map(str::to_string),
                replace,
            )
        })
        .collect()
}

/// The element invoked by the map around the cursor: a step `- name:` (a command) or a
/// workflow entry `- name:` (a job).
fn invocation<'a>(parents: &[&'a str]) -> Option<(Kind, &'a str)> {
    match parents {
        [.., "steps" | "pre-steps" | "post-steps", "-", name] => Some((Kind::Command, name)),
        ["workflows" | "job-groups", _, "jobs", "-", name] => Some((Kind::Job, name)),
        ["workflows" | "job-groups", _, "jobs", "-", name, "matrix", "parameters"] => {
            Some((Kind::Job, name))
        }
        _ => None,
    }
}

/// A value: executors after `executor:`, enum and boolean arguments' values.
fn value_items(model: &Model, parents: &[&str], key: &str, replace: Span) -> Vec<CompletionItem> {
    if key == "executor" {
        return model
            .defs
            .iter()
            .filter(|d| d.kind == Kind::Executor)
            .map(|d| element_item(d, CompletionKind::Executor, replace))
            .collect();
    }
    let Some((kind, name)) = invocation(parents) else {
        return Vec::new();
    };
    let Some(param) = model
        .find(kind, name)
        .and_then(|owner| model.params_of(owner).find(|p| p.name == key))
    else {
        return Vec::new();
    };
    let info = param.param.clone().unwrap_or_default();
    let values: Vec<String> = match info.ty.as_deref() {
        Some("boolean") => vec!["true".into(), "false".into()],
        Some("enum") => info.allowed.clone(),
        _ => Vec::new(),
    };
    values
        .iter()
        .map(|v| item(v, CompletionKind::Value, info.ty.clone(), None, replace))
        .collect()
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// `key` of a `key:` or `key: value` line content, if it is one.
fn key_of(content: &str) -> Option<&str> {
    let content = content.trim_end();
    let colon = content
        .find(": ")
        .or_else(|| content.strip_suffix(':').map(|c| c.len()))?;
    let key = content[..colon]
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty() && !key.starts_with('#') && !key.contains(' ')).then_some(key)
}

/// Reads the place of the line at `line_start` whose text before the cursor is `before`.
fn place(text: &str, line_start: usize, before: &str) -> Place {
    let mut content = before.trim_start_matches(' ');
    let mut indent = before.len() - content.len();
    let mut item = false;
    while let Some(rest) = content.strip_prefix("- ") {
        item = true;
        let inner = rest.trim_start_matches(' ');
        indent += content.len() - inner.len();
        content = inner;
    }
    if content == "-" {
        item = true;
        content = "";
    }
    let value_of = content
        .find(": ")
        .map(|colon| content[..colon].trim().to_string())
        .filter(|k| !k.is_empty());
    // A line that is just `- ` or `- word` is an item of the list around it; one that is
    // `- key: …` is a map inside that item.
    let mut parents: Vec<String> = Vec::new();
    if item && value_of.is_some() {
        parents.push("-".into());
    }
    let mut limit = indent;
    let mut here_item = item;
    for line in text[..line_start].lines().rev() {
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut line_indent = indent_of(line);
        let mut content = trimmed;
        let mut markers = 0;
        while let Some(rest) = content.strip_prefix("- ") {
            let inner = rest.trim_start_matches(' ');
            line_indent += content.len() - inner.len();
            content = inner;
            markers += 1;
        }
        let is_parent = line_indent < limit;
        if markers > 0 && line_indent == limit && !here_item {
            // A sibling key of the same list item's map: the map is that item.
            parents.push("-".into());
            limit = indent_of(line);
            here_item = false;
            if limit == 0 {
                break;
            }
            continue;
        }
        if !is_parent {
            continue;
        }
        if let Some(key) = key_of(content) {
            parents.push(key.to_string());
        }
        for _ in 0..markers {
            parents.push("-".into());
        }
        limit = indent_of(line);
        here_item = false;
        if limit == 0 {
            break;
        }
    }
    parents.reverse();
    Place {
        parents,
        item: item && value_of.is_none(),
        value_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(marked: &str) -> Place {
        let offset = marked.find('|').expect("cursor");
        let text = marked.replacen('|', "", 1);
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        place(&text, line_start, &text[line_start..offset])
    }

    #[test]
    fn places_are_read_from_indentation() {
        let p = at("jobs:\n  build:\n    steps:\n      - chec|");
        assert_eq!(p.parents, ["jobs", "build", "steps"]);
        assert!(p.item);
        let p = at("jobs:\n  build:\n    steps:\n      - greet:\n          wh|");
        assert_eq!(p.parents, ["jobs", "build", "steps", "-", "greet"]);
        assert!(!p.item);
        let p =
            at("workflows:\n  w:\n    jobs:\n      - build:\n          requires:\n            - |");
        assert_eq!(
            p.parents,
            ["workflows", "w", "jobs", "-", "build", "requires"]
        );
        let p = at("jobs:\n  build:\n    docker:\n      - image: x\n        au|");
        assert_eq!(p.parents, ["jobs", "build", "docker", "-"]);
        let p = at("jobs:\n  build:\n    executor: |");
        assert_eq!(p.value_of.as_deref(), Some("executor"));
        assert_eq!(p.parents, ["jobs", "build"]);
    }
}
