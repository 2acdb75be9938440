//! Document symbols, folding ranges and selection ranges.

use orrery_diagnostics::Span;
use orrery_yaml::{Node, Value};

use crate::model::{Kind, Model};
use crate::Analysis;

/// One entry of the outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    /// `None` for a section of the document (`jobs`, `workflows`, ...).
    pub kind: Option<Kind>,
    /// Everything the symbol covers.
    pub span: Span,
    /// Its name.
    pub selection: Span,
    pub children: Vec<Symbol>,
}

impl Analysis {
    /// The document's sections with their definitions (parameters under their element).
    pub fn symbols(&self) -> Vec<Symbol> {
        let Some(root) = self.parsed().root.as_ref().and_then(Node::as_map) else {
            return Vec::new();
        };
        let model = self.model();
        let file = self.file();
        let mut out = Vec::new();
        // A file of a source tree that defines an element (`commands/greet.yml`): the element,
        // with its parameters, covers the file.
        for (i, d) in model.defs.iter().enumerate() {
            if d.span.file != file || !d.span.is_empty() || d.kind == Kind::Parameter {
                continue;
            }
            out.push(Symbol {
                name: d.name.clone(),
                kind: Some(d.kind),
                span: root_span(root, file),
                selection: d.span,
                children: parameter_symbols(model, i),
            });
        }
        if !out.is_empty() {
            return out;
        }
        for entry in root.entries() {
            let span = cover(entry.key_span, entry.value.span);
            let children = model
                .defs
                .iter()
                .enumerate()
                .filter(|(_, d)| {
                    d.span.file == file
                        && d.kind != Kind::Parameter
                        && d.kind != Kind::Anchor
                        && d.orb.is_none()
                        && entry.value.span.start <= d.span.start
                        && d.span.end <= entry.value.span.end
                })
                .map(|(i, d)| Symbol {
                    name: d.name.clone(),
                    kind: Some(d.kind),
                    span: cover(d.span, d.body),
                    selection: d.span,
                    children: parameter_symbols(model, i),
                })
                .collect();
            out.push(Symbol {
                name: entry.key.clone(),
                kind: None,
                span,
                selection: entry.key_span,
                children,
            });
        }
        out
    }

    /// Every map entry and list item that spans lines, as byte ranges (the editor folds the
    /// lines they cover).
    pub fn folding_ranges(&self) -> Vec<Span> {
        let mut out = Vec::new();
        if let Some(root) = &self.parsed().root {
            fold(root, self.text(), &mut out);
        }
        out.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        out.dedup_by_key(|s| (s.start, s.end));
        out
    }

    /// The nested ranges around `offset`, innermost first: the scalar, its entry, the map
    /// holding it, and so on up to the document.
    pub fn selection_ranges(&self, offset: u32) -> Vec<Span> {
        let mut chain = Vec::new();
        if let Some(root) = &self.parsed().root {
            enclose(root, offset, &mut chain);
        }
        chain.reverse();
        chain.dedup();
        chain
    }
}

/// The text a document's top-level map covers.
fn root_span(root: &orrery_yaml::Map, file: orrery_diagnostics::FileId) -> Span {
    let start = root.entries().first().map_or(0, |e| e.key_span.start);
    let end = root
        .entries()
        .last()
        .map_or(0, |e| e.value.span.end.max(e.key_span.end));
    Span::new(file, start as usize, end as usize)
}

/// The parameters of definition `owner`, as symbols under it.
fn parameter_symbols(model: &Model, owner: usize) -> Vec<Symbol> {
    model
        .params_of(owner)
        .map(|p| Symbol {
            name: p.name.clone(),
            kind: Some(Kind::Parameter),
            span: cover(p.span, p.body),
            selection: p.span,
            children: Vec::new(),
        })
        .collect()
}

fn cover(a: Span, b: Span) -> Span {
    Span::new(
        a.file,
        a.start.min(b.start) as usize,
        a.end.max(b.end) as usize,
    )
}

fn multiline(span: Span, text: &str) -> bool {
    text.get(span.start as usize..span.end as usize)
        .is_some_and(|t| t.trim_end().contains('\n'))
}

fn fold(node: &Node, text: &str, out: &mut Vec<Span>) {
    match &node.value {
        Value::Map(map) => {
            for entry in map.entries() {
                if entry.value.span.file != node.span.file {
                    continue;
                }
                let span = cover(entry.key_span, entry.value.span);
                if multiline(span, text) {
                    out.push(span);
                }
                fold(&entry.value, text, out);
            }
        }
        Value::Seq(items) => {
            for item in items {
                if multiline(item.span, text) {
                    out.push(item.span);
                }
                fold(item, text, out);
            }
        }
        _ => {}
    }
}

/// Pushes the spans around `offset`, outermost first.
fn enclose(node: &Node, offset: u32, chain: &mut Vec<Span>) {
    chain.push(node.span);
    match &node.value {
        Value::Map(map) => {
            for entry in map.entries() {
                let span = cover(entry.key_span, entry.value.span);
                if span.start <= offset && offset <= span.end {
                    chain.push(span);
                    if entry.key_span.start <= offset && offset <= entry.key_span.end {
                        chain.push(entry.key_span);
                    } else {
                        enclose(&entry.value, offset, chain);
                    }
                    return;
                }
            }
        }
        Value::Seq(items) => {
            if let Some(item) = items
                .iter()
                .find(|i| i.span.start <= offset && offset <= i.span.end)
            {
                enclose(item, offset, chain);
            }
        }
        _ => {}
    }
}
