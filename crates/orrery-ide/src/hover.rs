//! Hover: what the name or key under the cursor is, in Markdown.

use orrery_diagnostics::Span;
use orrery_yaml::{Node, Value};

use crate::model::{Definition, Kind, Model};
use crate::Analysis;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoverInfo {
    /// The hovered text.
    pub span: Span,
    pub markdown: String,
}

impl Analysis {
    pub fn hover(&self, offset: u32) -> Option<HoverInfo> {
        let model = self.model();
        let file = self.file();
        if let Some(r) = model.ref_at(file, offset) {
            let r = &model.refs[r];
            let markdown = match r.target {
                Some(def) => self.describe(model, def),
                None => format!("unknown {} `{}`", r.kind.word(), r.name),
            };
            return Some(HoverInfo {
                span: r.span,
                markdown,
            });
        }
        if let Some(def) = model.def_at(file, offset) {
            return Some(HoverInfo {
                span: model.defs[def].span,
                markdown: self.describe(model, def),
            });
        }
        if let Some(info) = self.pipeline_value_hover(offset) {
            return Some(info);
        }
        if let Some(info) = self.orb_reference_hover(model, offset) {
            return Some(info);
        }
        self.key_hover(offset)
    }

    /// A `pipeline.*` value (in a template or a condition): its type and what it is now, as
    /// the document was compiled (the branch and revision come from git).
    fn pipeline_value_hover(&self, offset: u32) -> Option<HoverInfo> {
        let text = self.text();
        let at = (offset as usize).min(text.len());
        let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_name(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = at
            + text[at..]
                .find(|c: char| !is_name(c))
                .unwrap_or(text.len() - at);
        let name = text[start..end].trim_end_matches('.');
        if !name.starts_with("pipeline.") || name.starts_with("pipeline.parameters.") {
            return None;
        }
        let span = Span::new(self.file(), start, start + name.len());
        let Some(value) = self.pipeline().get(name) else {
            return Some(HoverInfo {
                span,
                markdown: format!("unknown pipeline value `{name}`"),
            });
        };
        let ty = match orrery_compiler::PipelineValueKind::of(name) {
            orrery_compiler::PipelineValueKind::Str => "string",
            orrery_compiler::PipelineValueKind::Int => "integer",
            orrery_compiler::PipelineValueKind::Bool => "boolean",
        };
        let now = match self.pipeline().text(name) {
            Some(now) => format!("now `{now}`"),
            None if value == &Value::Bool(false) => "now `false` (nothing gives it here)".into(),
            None => "now empty: nothing gives it here (no git checkout says it, no \
                     `--pipeline-value` sets it)"
                .into(),
        };
        Some(HoverInfo {
            span,
            markdown: format!("**pipeline value** `{name}`: {ty}\n\n{now}"),
        })
    }

    /// The reference of an orb import (`acme/tools@1.2`): the version it resolves to.
    fn orb_reference_hover(&self, model: &Model, offset: u32) -> Option<HoverInfo> {
        let orbs = self.whole_root()?.get("orbs")?.as_map()?;
        let entry = orbs.entries().iter().find(|e| {
            e.value.as_str().is_some() && e.value.span.start <= offset && offset <= e.value.span.end
        })?;
        let def = model
            .defs
            .iter()
            .position(|d| d.kind == Kind::Orb && d.span == entry.key_span)?;
        Some(HoverInfo {
            span: entry.value.span,
            markdown: self.describe(model, def),
        })
    }

    fn describe(&self, model: &Model, def: usize) -> String {
        let d = &model.defs[def];
        let mut out = format!("**{}** `{}`", d.kind.word(), d.name);
        match d.kind {
            Kind::Parameter => {
                if let Some(owner) = d.owner {
                    let owner = &model.defs[owner];
                    out.push_str(&format!(" of {} `{}`", owner.kind.word(), owner.name));
                }
                out.push_str(&param_line(d));
            }
            Kind::PipelineParameter => out.push_str(&param_line(d)),
            Kind::Orb => {
                let reference = self
                    .whole_root()
                    .and_then(|r| r.get("orbs"))
                    .and_then(|o| o.get(&d.name))
                    .and_then(Node::as_str);
                match reference {
                    Some(reference) => {
                        out.push_str(&format!(": `{reference}`"));
                        match self.orbs().iter().find(|o| o.reference == reference) {
                            Some(used) => out.push_str(&format!(
                                "\n\nresolves to **{}** (from `{}`)",
                                used.version, used.origin
                            )),
                            None => {
                                out.push_str("\n\nnot in the orb store (run `orrery orb fetch`)")
                            }
                        }
                    }
                    None => out.push_str(" (inline)"),
                }
            }
            Kind::JobGroup => {
                let members: Vec<String> = self
                    .whole_root()
                    .and_then(|r| r.get("job-groups"))
                    .and_then(|g| g.get(&d.name))
                    .and_then(|g| g.get("jobs"))
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|member| match &member.value {
                        Value::Str(name) => Some(format!("`{name}`")),
                        Value::Map(map) if map.len() == 1 => {
                            Some(format!("`{}`", map.entries()[0].key))
                        }
                        _ => None,
                    })
                    .collect();
                if !members.is_empty() {
                    out.push_str(&format!("\n\njobs: {}", members.join(", ")));
                }
            }
            _ => {}
        }
        if let Some(orb) = d.orb {
            out.push_str(&format!("\n\nfrom orb `{}`", model.defs[orb].name));
        }
        if !matches!(d.kind, Kind::Parameter | Kind::PipelineParameter) {
            if let Some(description) = &d.description {
                out.push_str("\n\n");
                out.push_str(description.trim());
            }
        }
        if matches!(d.kind, Kind::Job | Kind::Command | Kind::Executor) {
            let params: Vec<&Definition> = model.params_of(def).collect();
            if !params.is_empty() {
                out.push_str(
                    "\n\n| parameter | type | default | description |\n|---|---|---|---|\n",
                );
                for p in params {
                    let info = p.param.clone().unwrap_or_default();
                    out.push_str(&format!(
                        "| `{}` | {} | {} | {} |\n",
                        p.name,
                        type_text(&info),
                        info.default
                            .as_deref()
                            .map_or("*required*".to_string(), |d| format!("`{}`", cell(d))),
                        cell(info.description.as_deref().unwrap_or(""))
                    ));
                }
            }
        }
        out
    }

    /// The schema's description of the key under the cursor.
    fn key_hover(&self, offset: u32) -> Option<HoverInfo> {
        let root = self.parsed().root.as_ref()?;
        let (path, span) = key_path(root, offset)?;
        let path: Vec<&str> = self
            .key_prefix()
            .iter()
            .chain(&path)
            .map(String::as_str)
            .collect();
        let is_orb = match self.part() {
            Some(part) => part.orb,
            None => {
                root.get("workflows").is_none()
                    && root.get("version").is_none()
                    && (root.get("commands").is_some() || root.get("jobs").is_some())
            }
        };
        let description = if is_orb {
            orrery_schema::describe_orb(&path)
        } else {
            orrery_schema::describe(&path)
        }?;
        Some(HoverInfo {
            span,
            markdown: format!("`{}`\n\n{description}", path.join(".")),
        })
    }
}

fn param_line(d: &Definition) -> String {
    let info = d.param.clone().unwrap_or_default();
    let mut out = format!(": {}", type_text(&info));
    match &info.default {
        Some(default) => out.push_str(&format!(", default `{default}`")),
        None => out.push_str(", required"),
    }
    if let Some(description) = &info.description {
        out.push_str("\n\n");
        out.push_str(description.trim());
    }
    out
}

fn type_text(info: &crate::model::ParamInfo) -> String {
    let ty = info.ty.clone().unwrap_or_else(|| "?".into());
    if info.allowed.is_empty() {
        ty
    } else {
        format!("{ty} ({})", info.allowed.join(" \\| "))
    }
}

/// Text fit for one Markdown table cell.
fn cell(text: &str) -> String {
    text.trim().replace('|', "\\|").replace('\n', " ")
}

/// The key path to the key at `offset` (map keys; `-` for a list item) and the key's span.
pub(crate) fn key_path(root: &Node, offset: u32) -> Option<(Vec<String>, Span)> {
    let mut path = Vec::new();
    let mut node = root;
    loop {
        match &node.value {
            Value::Map(map) => {
                let entry = map.entries().iter().find(|e| {
                    (e.key_span.start <= offset && offset <= e.key_span.end)
                        || (e.value.span.start <= offset && offset < e.value.span.end)
                })?;
                path.push(entry.key.clone());
                if entry.key_span.start <= offset && offset <= entry.key_span.end {
                    return Some((path, entry.key_span));
                }
                node = &entry.value;
            }
            Value::Seq(items) => {
                let item = items
                    .iter()
                    .find(|i| i.span.start <= offset && offset < i.span.end)?;
                path.push("-".into());
                node = item;
            }
            _ => return None,
        }
    }
}
