//! What an editor draws over the text: semantic tokens, document links, inlay hints.

use std::sync::LazyLock;

use orrery_diagnostics::Span;
use orrery_yaml::{Node, Value};
use regex::Regex;

use crate::model::Kind;
use crate::Analysis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `<<` and `>>` of a template.
    Template,
    Job,
    Command,
    Executor,
    Parameter,
    PipelineParameter,
    /// An orb alias (`node` in `node/install`).
    Orb,
    Anchor,
}

/// One highlighted word: where, what it is, and whether it is the definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub span: Span,
    pub kind: TokenKind,
    pub definition: bool,
}

/// A link from the document to a file: an orb reference to its stored source, an
/// `<<include(file)>>` to the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub span: Span,
    /// A path, absolute or relative to the document's directory.
    pub target: String,
}

/// A hint shown after `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub offset: u32,
    pub label: String,
}

static TEMPLATE_MARK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<<|>>").expect("template mark regex"));
static INCLUDE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<<\s*include\(([^)]*)\)\s*>>").expect("include regex"));

impl Analysis {
    /// The document's semantic tokens in source order, never overlapping.
    pub fn tokens(&self) -> Vec<Token> {
        let model = self.model();
        let file = self.file();
        let kind_of = |kind: Kind| match kind {
            Kind::Job | Kind::Workflow | Kind::JobGroup => TokenKind::Job,
            Kind::Command => TokenKind::Command,
            Kind::Executor => TokenKind::Executor,
            Kind::Parameter => TokenKind::Parameter,
            Kind::PipelineParameter => TokenKind::PipelineParameter,
            Kind::Orb => TokenKind::Orb,
            Kind::Anchor => TokenKind::Anchor,
        };
        let mut tokens: Vec<Token> = model
            .defs
            .iter()
            .filter(|d| d.span.file == file && d.kind != Kind::Workflow)
            .map(|d| Token {
                span: d.span,
                kind: kind_of(d.kind),
                definition: true,
            })
            .collect();
        for r in model.refs.iter().filter(|r| r.span.file == file) {
            // `node/install`: the alias is its own token, the rest the element.
            let mut span = r.span;
            if r.kind != Kind::Orb {
                if let Some(slash) = self
                    .text()
                    .get(span.start as usize..span.end as usize)
                    .and_then(|t| t.find('/'))
                {
                    span = Span::new(file, span.start as usize + slash + 1, span.end as usize);
                }
            }
            tokens.push(Token {
                span,
                kind: kind_of(r.kind),
                definition: false,
            });
        }
        for mark in TEMPLATE_MARK.find_iter(self.text()) {
            tokens.push(Token {
                span: Span::new(file, mark.start(), mark.end()),
                kind: TokenKind::Template,
                definition: false,
            });
        }
        tokens.sort_by_key(|t| (t.span.start, t.span.end));
        let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
        for token in tokens {
            let text = self
                .text()
                .get(token.span.start as usize..token.span.end as usize)
                .unwrap_or("\n");
            if token.span.is_empty() || text.contains('\n') {
                continue;
            }
            if out
                .last()
                .is_some_and(|last| last.span.end > token.span.start)
            {
                continue;
            }
            out.push(token);
        }
        out
    }

    /// Orb references to their stored sources; `<<include(file)>>` to the file.
    pub fn links(&self) -> Vec<Link> {
        let file = self.file();
        let mut out = Vec::new();
        if let Some(orbs) = self
            .whole_root()
            .and_then(|r| r.get("orbs"))
            .and_then(Node::as_map)
        {
            for entry in orbs.entries() {
                let Some(reference) = entry.value.as_str() else {
                    continue;
                };
                if entry.value.span.file != file {
                    continue;
                }
                if let Some(used) = self.orbs().iter().find(|o| o.reference == reference) {
                    out.push(Link {
                        span: entry.value.span,
                        target: used.origin.clone(),
                    });
                }
            }
        }
        // An orb's includes name files under the orb's directory, wherever the file is.
        let include_root = self.part().filter(|p| p.orb).map(|p| p.dir.as_str());
        for include in INCLUDE.captures_iter(self.text()) {
            let path = include.get(1).expect("group");
            let written = path.as_str().trim();
            out.push(Link {
                span: Span::new(file, path.start(), path.end()),
                target: match include_root {
                    Some(root) => format!("{}/{written}", root.trim_end_matches('/')),
                    None => written.to_string(),
                },
            });
        }
        out.sort_by_key(|l| l.span.start);
        out
    }

    /// How many jobs each `matrix` expands to, the version a floating orb reference
    /// resolves to, and the defaults of parameters an invocation does not pass.
    pub fn hints(&self) -> Vec<Hint> {
        let mut out = Vec::new();
        let file = self.file();
        let Some(root) = self.whole_root() else {
            return out;
        };
        if let Some(orbs) = root.get("orbs").and_then(Node::as_map) {
            for entry in orbs.entries() {
                let Some(reference) = entry.value.as_str() else {
                    continue;
                };
                let Some(used) = self.orbs().iter().find(|o| o.reference == reference) else {
                    continue;
                };
                let written = reference.rsplit_once('@').map_or("", |(_, v)| v);
                if written != used.version && entry.value.span.file == file {
                    out.push(Hint {
                        offset: entry.value.span.end,
                        label: format!("→ {}", used.version),
                    });
                }
            }
        }
        for (kind, name, span, args) in invocations(root) {
            let Some(def) = self.model().find(kind, name) else {
                continue;
            };
            let defaults: Vec<String> = self
                .model()
                .params_of(def)
                .filter(|p| !args.is_some_and(|a| passes(a, &p.name)))
                .filter_map(|p| {
                    let default = p.param.as_ref()?.default.as_ref()?;
                    Some(format!("{}: {default}", p.name))
                })
                .collect();
            if !defaults.is_empty() && span.file == file {
                out.push(Hint {
                    offset: span.end,
                    label: format!("({})", defaults.join(", ")),
                });
            }
        }
        let workflows = root.get("workflows").and_then(Node::as_map);
        for workflow in workflows.iter().flat_map(|w| w.entries()) {
            let jobs = workflow.value.get("jobs").and_then(Node::as_seq);
            for job in jobs.unwrap_or_default() {
                let Some(entry) = job
                    .as_map()
                    .filter(|m| m.len() == 1)
                    .map(|m| &m.entries()[0])
                else {
                    continue;
                };
                let Some(matrix) = entry.value.as_map().and_then(|m| m.entry("matrix")) else {
                    continue;
                };
                if matrix.key_span.file != file {
                    continue;
                }
                if let Some(count) = matrix_size(&matrix.value) {
                    out.push(Hint {
                        offset: matrix.key_span.end + 1,
                        label: format!(" {count} job{}", if count == 1 { "" } else { "s" }),
                    });
                }
            }
        }
        out.sort_by_key(|h| h.offset);
        out
    }
}

/// The invocations of a config — steps of jobs and commands, workflow job entries — with the
/// invoked name's span and the arguments passed.
fn invocations(root: &Node) -> Vec<(Kind, &str, Span, Option<&orrery_yaml::Map>)> {
    let mut out = Vec::new();
    for section in ["jobs", "commands"] {
        let elements = root.get(section).and_then(Node::as_map);
        for element in elements.iter().flat_map(|m| m.entries()) {
            let steps = element.value.get("steps").and_then(Node::as_seq);
            for step in steps.unwrap_or_default() {
                if let Some((name, span, args)) = invocation(step) {
                    out.push((Kind::Command, name, span, args));
                }
            }
        }
    }
    let workflows = root.get("workflows").and_then(Node::as_map);
    for workflow in workflows.iter().flat_map(|w| w.entries()) {
        let jobs = workflow.value.get("jobs").and_then(Node::as_seq);
        for job in jobs.unwrap_or_default() {
            if let Some((name, span, args)) = invocation(job) {
                out.push((Kind::Job, name, span, args));
            }
        }
    }
    out
}

/// Whether arguments `args` pass `name`, directly or through a matrix.
fn passes(args: &orrery_yaml::Map, name: &str) -> bool {
    args.contains_key(name)
        || args
            .get("matrix")
            .and_then(|m| m.get("parameters"))
            .and_then(Node::as_map)
            .is_some_and(|p| p.contains_key(name))
}

/// An invocation's name, its span and its arguments: `- name` or `- name: {args}`.
fn invocation(item: &Node) -> Option<(&str, Span, Option<&orrery_yaml::Map>)> {
    match &item.value {
        Value::Str(name) => Some((name.as_str(), item.span, None)),
        Value::Map(map) if map.len() == 1 => {
            let entry = &map.entries()[0];
            Some((entry.key.as_str(), entry.key_span, entry.value.as_map()))
        }
        _ => None,
    }
}

/// The number of combinations a `matrix` runs: the product of its parameters' value counts,
/// less the excluded combinations.
fn matrix_size(matrix: &Node) -> Option<usize> {
    let parameters = matrix.get("parameters")?.as_map()?;
    let mut count: usize = 1;
    for (_, values) in parameters.iter() {
        count = count.checked_mul(values.as_seq()?.len())?;
    }
    let excluded = match matrix.get("exclude").map(|e| &e.value) {
        Some(Value::Seq(items)) => items.len(),
        _ => 0,
    };
    Some(count.saturating_sub(excluded))
}
