//! From the packed text back to the source files: packing keeps every key and value at its
//! place in the file it came from, and the packed text is written from that value, so a parse
//! of the text has the same shape. Walking both side by side pairs each place in the text with
//! its place in a source file, and a finding about the packed text (`orb validate`, a compiled
//! split config) can be shown in the file the user edits.

use orrery_diagnostics::{Diagnostic, FileId, SourceDb, Span};
use orrery_yaml::{Node, Value};

/// Places in the packed text paired with their places in the source files.
#[derive(Debug, Default)]
pub struct SourceMap {
    packed: Option<FileId>,
    /// Other files holding the same packed text (a checker may read it again).
    copies: Vec<FileId>,
    /// `(in the packed text, in a source file, same text on both sides)`.
    pairs: Vec<(Span, Span, bool)>,
}

impl SourceMap {
    /// Pairs `packed` (the value packing returned, with source spans) with `reparsed` (a parse
    /// of the text written from it, in `db`).
    pub fn new(db: &SourceDb, packed: &Node, reparsed: &Node) -> SourceMap {
        let mut map = SourceMap {
            packed: Some(reparsed.span.file),
            copies: Vec::new(),
            pairs: Vec::new(),
        };
        map.walk(db, packed, reparsed);
        map
    }

    fn pair(&mut self, db: &SourceDb, source: Span, text: Span) {
        let slice = |span: Span| {
            db.file(span.file)
                .and_then(|f| f.text.get(span.start as usize..span.end as usize))
        };
        let same = !source.is_empty() && slice(source).is_some() && slice(source) == slice(text);
        self.pairs.push((text, source, same));
    }

    fn walk(&mut self, db: &SourceDb, source: &Node, text: &Node) {
        self.pair(db, source.span, text.span);
        match (&source.value, &text.value) {
            (Value::Map(a), Value::Map(b)) => {
                for (a, b) in a.entries().iter().zip(b.entries()) {
                    if a.key != b.key {
                        return;
                    }
                    self.pair(db, a.key_span, b.key_span);
                    self.walk(db, &a.value, &b.value);
                }
            }
            (Value::Seq(a), Value::Seq(b)) => {
                for (a, b) in a.iter().zip(b) {
                    self.walk(db, a, b);
                }
            }
            _ => {}
        }
    }

    /// `file` holds the packed text too: its places map as the packed text's do.
    pub fn same_as_packed(&mut self, file: FileId) {
        self.copies.push(file);
    }

    /// Where `span` of the packed text came from: the same text in a source file (offsets kept),
    /// else the innermost key or value around it. Spans in other files are kept.
    pub fn source_span(&self, span: Span) -> Span {
        let Some(packed) = self.packed else {
            return span;
        };
        let span = if self.copies.contains(&span.file) {
            Span::new(packed, span.start as usize, span.end as usize)
        } else {
            span
        };
        if span.file != packed {
            return span;
        }
        let around = self
            .pairs
            .iter()
            .filter(|(text, _, _)| text.start <= span.start && span.end <= text.end)
            .min_by_key(|(text, _, _)| text.len());
        match around {
            Some(&(text, source, true)) => Span::new(
                source.file,
                (source.start + span.start - text.start) as usize,
                (source.start + span.end - text.start) as usize,
            ),
            Some(&(_, source, false)) => source,
            None => span,
        }
    }

    /// `diagnostic` with every place in the packed text moved to the source files.
    pub fn remap(&self, mut diagnostic: Diagnostic) -> Diagnostic {
        if let Some(primary) = diagnostic.primary.as_mut() {
            primary.span = self.source_span(primary.span);
        }
        for label in &mut diagnostic.secondary {
            label.span = self.source_span(label.span);
        }
        // A fix edits text as it reads in the packed document: it carries over only where the
        // source file reads the same.
        let replayable = diagnostic.fix.as_ref().is_some_and(|fix| {
            fix.edits
                .iter()
                .all(|edit| !self.is_packed(edit.span.file) || self.exact(edit.span))
        });
        if !replayable {
            diagnostic.fix = None;
        }
        if let Some(fix) = diagnostic.fix.as_mut() {
            for edit in &mut fix.edits {
                edit.span = self.source_span(edit.span);
            }
        }
        diagnostic
    }

    fn is_packed(&self, file: FileId) -> bool {
        Some(file) == self.packed || self.copies.contains(&file)
    }

    /// Whether `span` lies in text that reads the same in its source file.
    fn exact(&self, span: Span) -> bool {
        self.pairs
            .iter()
            .filter(|(text, _, _)| text.start <= span.start && span.end <= text.end)
            .min_by_key(|(text, _, _)| text.len())
            .is_some_and(|(_, _, same)| *same)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pack_orb, SourceTree, TreeFile};

    #[test]
    fn places_in_the_packed_text_go_back_to_their_files() {
        let tree = SourceTree {
            base: "src".into(),
            files: vec![
                TreeFile {
                    path: "@orb.yml".into(),
                    text: "version: 2.1\ndescription: An orb\n".into(),
                },
                TreeFile {
                    path: "commands/greet.yml".into(),
                    text: "parameters:\n  who: { type: string, default: world }\nsteps:\n  - run: echo << parameters.who >>\n".into(),
                },
            ],
            refused_links: Vec::new(),
        };
        let packed = pack_orb(&tree);
        let mut db = packed.sources;
        let text = crate::to_yaml(packed.value.as_ref().expect("packs"));
        let file = db.add("src (packed)", text.clone());
        let reparsed = orrery_yaml::parse(file, &text, orrery_yaml::Limits::default());
        let map = SourceMap::new(
            &db,
            packed.value.as_ref().unwrap(),
            reparsed.root.as_ref().unwrap(),
        );
        let at = |needle: &str| {
            let start = text.find(needle).expect("in the packed text");
            Span::new(file, start, start + needle.len())
        };
        let shown = |span: Span| {
            let f = db.file(span.file).unwrap();
            (
                f.name.clone(),
                f.text[span.start as usize..span.end as usize].to_string(),
            )
        };
        assert_eq!(
            shown(map.source_span(at("parameters.who"))),
            ("src/commands/greet.yml".into(), "parameters.who".into())
        );
        assert_eq!(
            shown(map.source_span(at("who:"))).0,
            "src/commands/greet.yml"
        );
        assert_eq!(
            shown(map.source_span(at("An orb"))),
            ("src/@orb.yml".into(), "An orb".into())
        );
    }
}
