//! Events from granit-parser → spanned [`Node`] tree.

use std::collections::HashMap;

use granit_parser::{Event, Options, Parser, ScalarStyle};
use orrery_diagnostics::{codes, Diagnostic, FileId, Span};

use crate::{
    scalar::{resolve_plain, resolve_plain_owned},
    Entry, Map, Node, Value,
};

/// Bounds that keep hostile input from eating time or memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most nodes the document may expand to, aliases included.
    pub max_nodes: usize,
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Most instances one `matrix` may expand to (checked before any is built).
    pub max_matrix_instances: usize,
    /// Most jobs one workflow may hold after matrix expansion.
    pub max_workflow_jobs: usize,
    /// Most nodes the compiled config may have (commands and jobs expanded).
    pub max_compiled_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 1_000_000,
            max_depth: 200,
            max_matrix_instances: 1_000,
            max_workflow_jobs: 2_000,
            max_compiled_nodes: 5_000_000,
        }
    }
}

/// The result of [`parse`]: the first document (if any could be read) and what was found on the way.
#[derive(Debug)]
pub struct Parsed {
    pub root: Option<Node>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every anchor (`&name`) of the document, in source order, and whether an alias uses it:
    /// the tree has aliases expanded, so this is the only record of them.
    pub anchors: Vec<Anchor>,
}

/// An anchor definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub name: String,
    /// The `&name` text.
    pub span: Span,
    pub used: bool,
}

/// Parses `text` (file `file`) into a node tree. Never fails; a syntax error yields `root: None`
/// and an error diagnostic pointing at the place.
pub fn parse(file: FileId, text: &str, limits: Limits) -> Parsed {
    let mut composer = Composer {
        file,
        text,
        limits,
        anchors: HashMap::new(),
        named: Vec::new(),
        nodes: 0,
        through_aliases: 0,
        diagnostics: Vec::new(),
    };
    let root = composer.run();
    Parsed {
        root,
        diagnostics: composer.diagnostics,
        anchors: composer
            .named
            .into_iter()
            .map(|(_, anchor)| anchor)
            .collect(),
    }
}

struct Composer<'a> {
    file: FileId,
    text: &'a str,
    limits: Limits,
    anchors: HashMap<usize, Node>,
    /// Anchor definitions by parser id, for [`Parsed::anchors`].
    named: Vec<(usize, Anchor)>,
    nodes: usize,
    /// How many of `nodes` came from expanding aliases.
    through_aliases: usize,
    diagnostics: Vec<Diagnostic>,
}

/// A collection being built.
enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<RawEntry>,
        pending_key: Option<Node>,
    },
}

struct RawEntry {
    key: Node,
    /// `true` for an unquoted `<<` key.
    merge: bool,
    value: Node,
}

struct Stop;

impl Composer<'_> {
    fn run(&mut self) -> Option<Node> {
        let mut options = Options::default();
        options.emit_comments = false;
        options.emit_anchor_events = true;
        options.block_nesting_limit = self.limits.max_depth;
        options.flow_nesting_limit = self.limits.max_depth;
        let parser = Parser::new_from_str_with_options(self.text, options);
        let mut stack: Vec<Frame> = Vec::new();
        let mut root: Option<Node> = None;
        let mut documents = 0;
        for item in parser {
            let (event, span) = match item {
                Ok(pair) => pair,
                Err(err) => {
                    let offset = err
                        .marker()
                        .byte_offset()
                        .unwrap_or_else(|| char_to_byte(self.text, err.marker().index()));
                    let message = err.to_string();
                    let message = message.split(" at ").next().unwrap_or(&message).to_string();
                    self.diagnostics.push(
                        Diagnostic::error(
                            codes::YAML_SYNTAX,
                            format!("YAML syntax error: {message}"),
                        )
                        .at(self.span_at(offset, offset + 1), "here")
                        .with_help("fix the YAML syntax; the file cannot be read past this point"),
                    );
                    return None;
                }
            };
            let range = span.byte_range().unwrap_or(0..0);
            let result = match event {
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(None),
                Event::DocumentStart(..) => {
                    documents += 1;
                    if documents == 2 {
                        self.diagnostics.push(
                            Diagnostic::warning(
                                codes::YAML_MULTIPLE_DOCUMENTS,
                                "only the first YAML document is read",
                            )
                            .at(
                                self.span_at(range.start, range.end.max(range.start + 3)),
                                "a second document starts here",
                            ),
                        );
                    }
                    Ok(None)
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let value = match (style, tag) {
                        (ScalarStyle::Plain, None) => resolve_plain_owned(text),
                        (_, Some(tag)) => resolve_tagged(tag.suffix(), &text, style),
                        _ => Value::Str(text.into_owned()),
                    };
                    let node = Node::new(value, self.span_at(range.start, range.end));
                    self.count(1, node.span).map(|()| {
                        if anchor != 0 {
                            self.anchors.insert(anchor, node.clone());
                        }
                        Some((node, style == ScalarStyle::Plain))
                    })
                }
                Event::Anchor(id, name) => {
                    let span = self.span_at(range.start, range.end);
                    self.named.push((
                        id,
                        Anchor {
                            name: name.into_owned(),
                            span,
                            used: false,
                        },
                    ));
                    Ok(None)
                }
                Event::Alias(id) => match self.anchors.get(&id) {
                    Some(target) => {
                        // Counted before copying, so a refused expansion costs no copy.
                        let span = self.span_at(range.start, range.end);
                        let size = target.size();
                        if let Some((_, anchor)) =
                            self.named.iter_mut().rev().find(|(i, _)| *i == id)
                        {
                            anchor.used = true;
                        }
                        self.through_aliases = self.through_aliases.saturating_add(size);
                        self.count(size, span).map(|()| {
                            let mut node = self.anchors[&id].clone();
                            node.span = span;
                            Some((node, false))
                        })
                    }
                    None => {
                        self.diagnostics.push(
                            Diagnostic::error(
                                codes::YAML_UNKNOWN_ALIAS,
                                "alias refers to no anchor",
                            )
                            .at(self.span_at(range.start, range.end), "unknown alias"),
                        );
                        return None;
                    }
                },
                Event::SequenceStart(_, anchor, _) => {
                    stack.push(Frame::Seq {
                        start: range.start,
                        anchor,
                        items: Vec::new(),
                    });
                    self.check_depth(&stack, range.start)
                }
                Event::MappingStart(_, anchor, _) => {
                    stack.push(Frame::Map {
                        start: range.start,
                        anchor,
                        entries: Vec::new(),
                        pending_key: None,
                    });
                    self.check_depth(&stack, range.start)
                }
                Event::SequenceEnd => match stack.pop() {
                    Some(Frame::Seq {
                        start,
                        anchor,
                        items,
                    }) => {
                        let node =
                            Node::new(Value::Seq(items), self.span_at(start, range.end.max(start)));
                        self.finish_collection(anchor, node)
                    }
                    _ => Err(Stop),
                },
                Event::MappingEnd => match stack.pop() {
                    Some(Frame::Map {
                        start,
                        anchor,
                        entries,
                        ..
                    }) => {
                        let span = self.span_at(start, range.end.max(start));
                        let map = self.build_map(entries);
                        self.finish_collection(anchor, Node::new(Value::Map(map), span))
                    }
                    _ => Err(Stop),
                },
                _ => Ok(None),
            };
            let Ok(completed) = result else { return None };
            let Some((node, plain)) = completed else {
                continue;
            };
            match stack.last_mut() {
                None => {
                    if root.is_none() {
                        root = Some(node);
                    }
                }
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map {
                    entries,
                    pending_key,
                    ..
                }) => match pending_key.take() {
                    None => {
                        *pending_key = Some(Node {
                            value: node.value,
                            span: node.span,
                        })
                        .map(|mut k| {
                            // Remember whether the key was a plain `<<` via a sentinel span flag.
                            if plain && matches!(&k.value, Value::Str(s) if s == "<<") {
                                k.value = Value::Str(MERGE_SENTINEL.into());
                            }
                            k
                        })
                    }
                    Some(key) => {
                        let merge = matches!(&key.value, Value::Str(s) if s == MERGE_SENTINEL);
                        entries.push(RawEntry {
                            key,
                            merge,
                            value: node,
                        });
                    }
                },
            }
        }
        root
    }

    fn span_at(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), Stop> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            let max = self.limits.max_nodes;
            // Say which limit was hit, and whether aliases are what made the document big.
            let diagnostic = if self.through_aliases > self.nodes / 2 {
                Diagnostic::error(
                    codes::YAML_LIMIT,
                    format!(
                        "document expands to more than {max} nodes (the node limit), {} of them \
                         repeated through aliases",
                        self.through_aliases
                    ),
                )
                .at(span, "node limit reached while expanding this alias")
                .with_help("reduce the use of aliases that repeat large structures")
            } else {
                Diagnostic::error(
                    codes::YAML_LIMIT,
                    format!("document has more than {max} nodes (the node limit)"),
                )
                .at(span, "node limit reached here")
                .with_help(
                    "a CircleCI config this large is not supported; split it (e.g. dynamic \
                     configuration) or generate less",
                )
            };
            self.diagnostics.push(diagnostic);
            return Err(Stop);
        }
        Ok(())
    }

    fn check_depth(&mut self, stack: &[Frame], at: usize) -> Result<Option<(Node, bool)>, Stop> {
        if stack.len() > self.limits.max_depth {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::YAML_LIMIT,
                    format!("nesting deeper than {} levels", self.limits.max_depth),
                )
                .at(self.span_at(at, at + 1), "too deep"),
            );
            return Err(Stop);
        }
        Ok(None)
    }

    fn finish_collection(
        &mut self,
        anchor: usize,
        node: Node,
    ) -> Result<Option<(Node, bool)>, Stop> {
        self.count(1, node.span)?;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(Some((node, false)))
    }

    /// Applies duplicate-key and merge-key rules as SnakeYAML does: a later duplicate replaces
    /// an earlier one (at the later position); merged entries fill in keys the map does not set
    /// itself, earlier merge sources winning over later ones.
    fn build_map(&mut self, raw: Vec<RawEntry>) -> Map {
        for e in raw.iter().filter(|e| !e.merge) {
            if matches!(e.key.value, Value::Seq(_) | Value::Map(_) | Value::Null) {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::YAML_KEY_NOT_SCALAR,
                        format!("a map key must be a string, not a {}", e.key.type_name()),
                    )
                    .at(e.key.span, "this key")
                    .with_help("write the key as text, e.g. `name:`; quote it to keep `~` or `null` as text"),
                );
            }
        }
        // The text of each ordinary key (`None` for a merge), taken from its node.
        let raw: Vec<(Option<String>, Span, Node)> = raw
            .into_iter()
            .map(|e| {
                let span = e.key.span;
                let key = (!e.merge).then(|| key_text(e.key));
                (key, span, e.value)
            })
            .collect();
        let keys = || raw.iter().map(|(key, ..)| key.as_deref());
        let last_index: HashMap<&str, usize> = if raw.len() > Map::SCAN_LIMIT {
            keys()
                .enumerate()
                .filter_map(|(i, k)| Some((k?, i)))
                .collect()
        } else {
            HashMap::new()
        };
        let is_last = |i: usize, key: &str| {
            if raw.len() > Map::SCAN_LIMIT {
                last_index.get(key) == Some(&i)
            } else {
                !keys().skip(i + 1).any(|k| k == Some(key))
            }
        };
        let is_last_of_its_key: Vec<bool> = keys()
            .enumerate()
            .map(|(i, key)| key.is_some_and(|k| is_last(i, k)))
            .collect();
        drop(last_index);
        let mut map = Map::with_capacity(raw.len());
        for ((key, key_span, value), last) in raw.into_iter().zip(is_last_of_its_key) {
            let Some(key) = key else {
                let sources: Vec<Node> = match value.value {
                    Value::Map(_) => vec![value],
                    Value::Seq(items) => items,
                    _ => {
                        self.diagnostics.push(
                            Diagnostic::error(
                                codes::YAML_BAD_MERGE,
                                "a merge key `<<` needs a map or a list of maps",
                            )
                            .at(value.span, format!("this is a {}", value.value.type_name())),
                        );
                        continue;
                    }
                };
                for source in sources {
                    let Value::Map(m) = source.value else {
                        self.diagnostics.push(
                            Diagnostic::error(
                                codes::YAML_BAD_MERGE,
                                "only maps can be merged with `<<`",
                            )
                            .at(source.span, "not a map"),
                        );
                        continue;
                    };
                    for entry in m.into_entries() {
                        if !map.contains_key(&entry.key) {
                            map.push(entry);
                        }
                    }
                }
                continue;
            };
            if !last {
                self.diagnostics.push(
                    Diagnostic::warning(
                        codes::YAML_DUPLICATE_KEY,
                        format!("duplicate key `{key}`: the later value wins"),
                    )
                    .at(key_span, "first set here")
                    .with_help("remove one of the two entries"),
                );
                continue;
            }
            map.replace(Entry {
                key,
                key_span,
                value,
            });
        }
        map
    }
}

const MERGE_SENTINEL: &str = "\u{0}<<merge>>";

fn key_text(key: Node) -> String {
    match key.value {
        Value::Str(s) if s == MERGE_SENTINEL => "<<".into(),
        Value::Str(s) => s,
        Value::Float(f) => crate::node::format_float(f),
        v => v
            .scalar_text()
            .unwrap_or_else(|| format!("<{}>", v.type_name())),
    }
}

fn resolve_tagged(suffix: &str, text: &str, style: ScalarStyle) -> Value {
    match suffix {
        "str" => Value::Str(text.to_string()),
        "int" | "float" | "bool" | "null" => match resolve_plain(text) {
            Value::Str(s) => Value::Str(s),
            v => v,
        },
        _ if style == ScalarStyle::Plain => resolve_plain(text),
        _ => Value::Str(text.to_string()),
    }
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}
