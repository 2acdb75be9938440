//! Go to definition, find references, document highlight, rename.

use orrery_diagnostics::Span;

use crate::model::Kind;
use crate::Analysis;

/// A text replacement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub span: Span,
    pub text: String,
}

impl Analysis {
    /// Where the name at `offset` is defined (in the document, an inline orb or an orb source).
    pub fn definition(&self, offset: u32) -> Vec<Span> {
        let model = self.model();
        match model.ref_at(self.file(), offset) {
            Some(r) => model.refs[r]
                .target
                .map(|d| vec![model.defs[d].span])
                .unwrap_or_default(),
            None => model
                .def_at(self.file(), offset)
                .map(|d| vec![model.defs[d].span])
                .unwrap_or_default(),
        }
    }

    /// Every place the name at `offset` is used, and its definition when asked.
    pub fn references(&self, offset: u32, include_declaration: bool) -> Vec<Span> {
        let model = self.model();
        let Some(def) = model.target_at(self.file(), offset) else {
            return Vec::new();
        };
        let mut spans: Vec<Span> = Vec::new();
        if include_declaration {
            spans.push(model.defs[def].span);
        }
        spans.extend(model.refs_to(def).map(|r| r.span));
        spans.sort_by_key(|s| (s.file.0, s.start));
        spans.dedup();
        spans
    }

    /// The occurrences of the name at `offset` in the document; `true` marks the definition.
    pub fn highlights(&self, offset: u32) -> Vec<(Span, bool)> {
        let model = self.model();
        let Some(def) = model.target_at(self.file(), offset) else {
            return Vec::new();
        };
        let mut out: Vec<(Span, bool)> = Vec::new();
        if model.defs[def].span.file == self.file() {
            out.push((model.defs[def].span, true));
        }
        out.extend(
            model
                .refs_to(def)
                .filter(|r| r.span.file == self.file())
                .map(|r| {
                    (
                        self.local_part(r.span, &r.name, model.defs[def].kind),
                        false,
                    )
                }),
        );
        out.sort_by_key(|(s, _)| s.start);
        out.dedup();
        out
    }

    /// The text a rename at `offset` replaces, when the name there can be renamed here.
    pub fn prepare_rename(&self, offset: u32) -> Result<Span, String> {
        let model = self.model();
        let def = model
            .target_at(self.file(), offset)
            .ok_or("nothing to rename here: put the cursor on a job, command, executor, parameter, orb or anchor name")?;
        let def = &model.defs[def];
        if def.span.is_empty() {
            return Err(format!(
                "{} `{}` is named by its file in the source tree; rename the file",
                def.kind.word(),
                def.name
            ));
        }
        if def.span.file != self.file() {
            return Err(format!(
                "{} `{}` is defined in an orb source; rename it there",
                def.kind.word(),
                def.name
            ));
        }
        if def.kind == Kind::Workflow {
            return Err("workflow names are not referred to; edit the key itself".into());
        }
        match model.ref_at(self.file(), offset) {
            Some(r) if model.refs[r].target.is_some() => {
                let r = &model.refs[r];
                Ok(self.local_part(r.span, &r.name, def.kind))
            }
            _ => Ok(def.span),
        }
    }

    /// The edits renaming the name at `offset` to `new_name` (the local part for an inline
    /// orb's element: `install`, not `node/install`).
    pub fn rename(&self, offset: u32, new_name: &str) -> Result<Vec<TextEdit>, String> {
        self.prepare_rename(offset)?;
        let valid = !new_name.is_empty()
            && !new_name
                .chars()
                .any(|c| c.is_whitespace() || "/:#&*,[]{}<>\"'".contains(c));
        if !valid {
            return Err(format!("`{new_name}` is not a valid name"));
        }
        let model = self.model();
        let def = model
            .target_at(self.file(), offset)
            .ok_or("nothing to rename")?;
        let kind = model.defs[def].kind;
        let mut edits = vec![TextEdit {
            span: model.defs[def].span,
            text: new_name.to_string(),
        }];
        for r in model.refs_to(def) {
            edits.push(TextEdit {
                span: self.local_part(r.span, &r.name, kind),
                text: new_name.to_string(),
            });
        }
        edits.sort_by_key(|e| (e.span.file.0, e.span.start));
        edits.dedup();
        Ok(edits)
    }

    /// The part of a reference that names the definition itself: `install` in
    /// `node/install` (an orb's alias is renamed on its own).
    fn local_part(&self, span: Span, name: &str, kind: Kind) -> Span {
        if kind == Kind::Orb {
            return span;
        }
        let text = self.text();
        let written = text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        match name.rsplit_once('/') {
            Some((_, local)) if written.ends_with(local) && written.len() > local.len() => {
                Span::new(
                    span.file,
                    span.end as usize - local.len(),
                    span.end as usize,
                )
            }
            _ => span,
        }
    }
}
