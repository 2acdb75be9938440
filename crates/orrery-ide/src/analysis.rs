//! One checked document: the single parse every feature reads, the compiler's output, the
//! diagnostics, and where its orbs came from.

use std::sync::{Arc, OnceLock};

use orrery_compiler::{Compiled, PipelineValues};
use orrery_diagnostics::{Diagnostic, FileId, SourceDb};
use orrery_yaml::Parsed;

use crate::model::Model;

/// An orb reference of the document and what the store resolved it to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrbUse {
    /// As written in `orbs:` (`circleci/node@5`).
    pub reference: String,
    /// The exact version it resolved to (`5.2.0`).
    pub version: String,
    /// The stored source it was read from (a file path).
    pub origin: String,
}

/// The whole a document is one file of: an orb source tree (`src/@orb.yml`, `commands/…`) or
/// a split config (`.circleci/config/…`), packed.
#[derive(Clone, Debug)]
pub struct DocumentPart {
    /// The packed document, its keys and values at their places in the source files.
    pub root: orrery_yaml::Node,
    /// Where the document's top level sits in it (`commands`, `greet` for `commands/greet.yml`).
    pub path: Vec<String>,
    /// The whole is an orb (else a config).
    pub orb: bool,
    /// The packed text (what `orb pack` or `config pack` prints).
    pub text: String,
    /// The directory of the whole (an orb's `<<include(file)>>` names a file under it).
    pub dir: String,
}

/// What the checker hands over for one document version.
pub struct AnalysisParts {
    /// Every file the check read: the document, orb sources, settings, the lockfile.
    pub db: SourceDb,
    /// The document in `db`.
    pub file: FileId,
    /// The document's parse, which the compiler, the schema and the rules all read (shared:
    /// the checker keeps it to reuse for the next version).
    pub parsed: Arc<Parsed>,
    /// The compiler's output (its diagnostics are in `diagnostics`).
    pub compiled: Compiled,
    /// Everything `orrery config validate` reports for the document, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// The registry orbs the compilation resolved.
    pub orbs: Vec<OrbUse>,
    /// The `pipeline.*` values the document was compiled with (from git and the server's
    /// flags), which hover shows.
    pub pipeline: PipelineValues,
    /// The whole the document is a file of, when it is one.
    pub part: Option<DocumentPart>,
    /// For a file of a whole: how many errors the whole has, in every file of it (the
    /// document's own are in `diagnostics`), even when it could not be packed.
    pub whole_errors: Option<usize>,
}

/// One document version, checked; every editor feature reads it.
pub struct Analysis {
    parts: AnalysisParts,
    /// Built on first use: diagnostics do not need it, so an edit's diagnostics do not wait
    /// for it.
    model: OnceLock<Model>,
}

impl Analysis {
    pub fn new(parts: AnalysisParts) -> Analysis {
        Analysis {
            parts,
            model: OnceLock::new(),
        }
    }

    /// The document's text.
    pub fn text(&self) -> &str {
        self.parts
            .db
            .file(self.parts.file)
            .map_or("", |f| f.text.as_str())
    }

    pub fn file(&self) -> FileId {
        self.parts.file
    }

    pub fn db(&self) -> &SourceDb {
        &self.parts.db
    }

    pub fn parsed(&self) -> &Parsed {
        &self.parts.parsed
    }

    pub fn compiled(&self) -> &Compiled {
        &self.parts.compiled
    }

    /// Every finding, as `orrery config validate` reports it.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.parts.diagnostics
    }

    pub fn orbs(&self) -> &[OrbUse] {
        &self.parts.orbs
    }

    /// The `pipeline.*` values the document was compiled with.
    pub fn pipeline(&self) -> &PipelineValues {
        &self.parts.pipeline
    }

    /// How many errors keep the whole document from compiling: the document's, or for a file
    /// of a source tree those of every file of it.
    pub fn errors(&self) -> usize {
        self.parts.whole_errors.unwrap_or_else(|| {
            self.parts
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .count()
        })
    }

    /// The whole the document is a file of, when it is one.
    pub fn part(&self) -> Option<&DocumentPart> {
        self.parts.part.as_ref()
    }

    /// The root of the whole document: the packed whole for a file of a source tree, else
    /// the document's own parse.
    pub(crate) fn whole_root(&self) -> Option<&orrery_yaml::Node> {
        match &self.parts.part {
            Some(part) => Some(&part.root),
            None => self.parts.parsed.root.as_ref(),
        }
    }

    /// Where the document's top level sits in the whole it is a file of (empty for a whole
    /// config or orb).
    pub(crate) fn key_prefix(&self) -> &[String] {
        self.parts.part.as_ref().map_or(&[], |p| p.path.as_slice())
    }

    /// Every definition and reference of the document (of the whole it is a file of, with
    /// places in every file of it).
    pub fn model(&self) -> &Model {
        self.model.get_or_init(|| {
            let parts = &self.parts;
            Model::build(
                &parts.db,
                parts.file,
                self.whole_root(),
                &parts.parsed.anchors,
                &parts.orbs,
            )
        })
    }

    /// What `orrery config process` prints for the document, when it compiles.
    pub fn compiled_yaml(&self) -> Option<String> {
        let config = self.parts.compiled.config.as_ref()?;
        let mut out = String::new();
        for (written, resolved) in &self.parts.compiled.orb_headers {
            out.push_str(&orrery_emit::orb_header(written, resolved));
        }
        out.push_str(&orrery_emit::emit_yaml(config));
        let source = self
            .parts
            .part
            .as_ref()
            .map_or(self.text(), |p| p.text.as_str());
        out.push_str(&orrery_emit::trailer(source));
        out.push('\n');
        Some(out)
    }
}
