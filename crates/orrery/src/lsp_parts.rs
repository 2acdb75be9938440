//! The language server on files that are parts of a larger document: a file of an orb source
//! tree (`src/@orb.yml`, `src/commands/greet.yml`, …) is checked as `orb validate` checks the
//! packed orb, and a file of a split config (`.circleci/config/…`, for `config pack`) as
//! `config validate` checks the packed config. The tree is read from disk with every open file
//! of it in place as the editor has it, saved or not, and every finding is shown in the source
//! file it belongs to (`orrery_pack::SourceMap`), not in the packed text.

use std::path::{Path, PathBuf};

use orrery_compiler::{check_orb, CompileOptions};
use orrery_diagnostics::{Diagnostic, FileId, SourceDb, Span};
use orrery_ide::{Analysis, AnalysisParts, DocumentPart};
use orrery_lsp::OpenText;
use orrery_orb::LockPolicy;
use orrery_pack::{SourceMap, SourceTree, TreeFile, ORB_DIRECTORIES, ORB_ROOT_FILE};
use orrery_yaml::{Limits, Node};

use crate::lsp_cmd::cannot_check;

/// The whole a document path is a file of.
pub(crate) enum Whole {
    /// An orb source directory (the one holding `@orb.yml`).
    Orb(PathBuf),
    /// A split config directory (`.circleci/config`).
    Config(PathBuf),
}

/// Which whole `path` is a file of, if any: a YAML file of an orb source directory's
/// `@orb.yml` or element directories, or any YAML file under `.circleci/config/`.
pub(crate) fn whole_of(path: &Path) -> Option<Whole> {
    if !path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
        return None;
    }
    if path.file_name().is_some_and(|n| n == ORB_ROOT_FILE) {
        return Some(Whole::Orb(path.parent()?.to_path_buf()));
    }
    for dir in path.ancestors().skip(1) {
        let Ok(inside) = path.strip_prefix(dir) else {
            continue;
        };
        let first = inside.components().next()?.as_os_str();
        if dir.join(ORB_ROOT_FILE).is_file() {
            return ORB_DIRECTORIES
                .iter()
                .any(|d| first == *d)
                .then(|| Whole::Orb(dir.to_path_buf()));
        }
        if dir.file_name().is_some_and(|n| n == "config")
            && dir
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == ".circleci")
        {
            return Some(Whole::Config(dir.to_path_buf()));
        }
    }
    None
}

/// `path` relative to `dir`, with `/` separators as a source tree names files.
fn relative(dir: &Path, path: &Path) -> Option<String> {
    let inside = path.strip_prefix(dir).ok()?;
    let parts: Vec<&str> = inside
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// Where a file's top level sits in the packed document: each directory is a key, and so is
/// the file's name without `.yml`, except for `@` files and root files, which merge into the
/// level they are in.
fn key_path(relative: &str) -> Vec<String> {
    let mut parts: Vec<&str> = relative.split('/').collect();
    let file = parts.pop().unwrap_or("");
    let mut path: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    let stem = file
        .strip_suffix(".yml")
        .or_else(|| file.strip_suffix(".yaml"))
        .unwrap_or(file);
    if !parts.is_empty() && !stem.starts_with('@') {
        path.push(stem.to_string());
    }
    path
}

/// The tree read from disk with the editor's texts in place of its files (files the editor
/// has that are not on disk yet join it).
fn tree_with(mut tree: SourceTree, texts: Vec<(String, &str)>) -> SourceTree {
    for (relative, text) in texts {
        match tree.files.iter_mut().find(|f| f.path == relative) {
            Some(file) => file.text = text.to_string(),
            None => tree.files.push(TreeFile {
                path: relative,
                text: text.to_string(),
            }),
        }
    }
    tree
}

/// A file of a tree, packed with the rest of the tree.
struct PackedPart {
    /// The file's path in the tree.
    relative: String,
    db: SourceDb,
    file: FileId,
    /// What packing found, in every file of the tree.
    diagnostics: Vec<Diagnostic>,
    /// The packed document; `None` when packing found an error.
    value: Option<Node>,
}

impl Whole {
    fn dir(&self) -> &Path {
        match self {
            Whole::Orb(dir) | Whole::Config(dir) => dir,
        }
    }

    /// Reads the tree with `text` in place of the file `path` and each of `others` (the open
    /// files of the tree) in place of its file, and packs it; or says why it cannot.
    fn read_part(
        &self,
        path: &Path,
        text: &str,
        others: &[OpenText],
    ) -> Result<PackedPart, String> {
        let dir = self.dir();
        let Some(mine) = relative(dir, path) else {
            return Err(format!("{} is outside {}", path.display(), dir.display()));
        };
        let (read, pack): (ReadTree, PackTree) = match self {
            Whole::Orb(_) => (orrery_pack::fs::read_orb_dir, orrery_pack::pack_orb),
            Whole::Config(_) => (orrery_pack::fs::read_config_dir, orrery_pack::pack_config),
        };
        let mut texts: Vec<(String, &str)> = others
            .iter()
            .filter_map(|open| Some((relative(dir, &open.path)?, &*open.text)))
            .collect();
        texts.push((mine.clone(), text));
        let tree = tree_with(read(dir).map_err(|e| e.to_string())?, texts);
        let packed = pack(&tree);
        let mut db = packed.sources;
        let name = tree.display_name(&mine);
        let file = db.file_named(&name).unwrap_or_else(|| db.add(name, text));
        Ok(PackedPart {
            relative: mine,
            db,
            file,
            diagnostics: packed.diagnostics,
            value: packed.value,
        })
    }
}

type ReadTree = fn(&Path) -> Result<SourceTree, orrery_pack::fs::FsError>;
type PackTree = fn(&SourceTree) -> orrery_pack::Packed;

/// The findings of the document (in source order), each moved from the packed text to the
/// source files; those of other files of the tree show when those files are open.
fn of_document(map: &SourceMap, diagnostics: Vec<Diagnostic>, file: FileId) -> Vec<Diagnostic> {
    let mut mine: Vec<Diagnostic> = diagnostics
        .into_iter()
        .map(|d| map.remap(d))
        .filter(|d| d.primary.as_ref().is_some_and(|p| p.span.file == file))
        .collect();
    mine.sort_by_key(|d| d.primary.as_ref().map(|p| (p.span.start, p.span.end)));
    mine
}

/// The packed text of `value`, added to `db`, and the map from it back to the source files.
fn packed_text(db: &mut SourceDb, dir: &Path, value: &Node) -> (FileId, String, SourceMap) {
    let text = orrery_pack::to_yaml(value);
    let file = db.add(format!("{} (packed)", dir.display()), text.clone());
    let reparsed = orrery_yaml::parse(file, &text, Limits::default());
    let map = match &reparsed.root {
        Some(root) => SourceMap::new(db, value, root),
        None => SourceMap::default(),
    };
    (file, text, map)
}

/// What checking the packed whole gave, besides its packing.
struct CheckedWhole {
    /// Every finding of the whole, in its source files (packing's and the check's).
    diagnostics: Vec<Diagnostic>,
    map: SourceMap,
    compiled: orrery_compiler::Compiled,
    orbs: Vec<orrery_ide::OrbUse>,
    pipeline: orrery_compiler::PipelineValues,
    /// The packed document and its text.
    packed: Option<(Node, String)>,
}

impl crate::lsp_cmd::ProjectWorkspace {
    /// Checks `text` as the file `path` of `whole`, with the open files of it (`others`) as
    /// the editor has them: an orb source tree as `orb validate` checks the packed orb, a
    /// split config as `config validate` checks the packed config.
    pub(crate) fn analyze_part(
        &self,
        whole: &Whole,
        path: &Path,
        text: &str,
        others: &[OpenText],
    ) -> Analysis {
        let mut part = match whole.read_part(path, text, others) {
            Ok(part) => part,
            Err(message) => return cannot_check(path, text, message),
        };
        let dir = whole.dir();
        let checked = match (whole, part.value.take()) {
            (_, None) => Ok(CheckedWhole {
                diagnostics: std::mem::take(&mut part.diagnostics),
                map: SourceMap::default(),
                compiled: Default::default(),
                orbs: Vec::new(),
                pipeline: Default::default(),
                packed: None,
            }),
            (Whole::Orb(_), Some(value)) => self.check_orb_source(dir, path, &mut part, value),
            (Whole::Config(_), Some(value)) => self.check_config_part(dir, &mut part, value),
        };
        let checked = match checked {
            Ok(checked) => checked,
            Err(message) => return cannot_check(path, text, message),
        };
        let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
        let parsed = orrery_yaml::parse(part.file, text, Limits::default());
        Analysis::new(AnalysisParts {
            db: part.db,
            file: part.file,
            parsed: std::sync::Arc::new(parsed),
            // A split config's compiled config has the spans of the check's database: only
            // its text (`orrery/compiledConfig`) is read from it.
            compiled: checked.compiled,
            diagnostics: of_document(&checked.map, checked.diagnostics, part.file),
            orbs: checked.orbs,
            pipeline: checked.pipeline,
            part: checked.packed.map(|(root, text)| DocumentPart {
                root,
                path: key_path(&part.relative),
                orb: matches!(whole, Whole::Orb(_)),
                text,
                dir: dir.display().to_string(),
            }),
            whole_errors: Some(errors),
        })
    }

    /// Checks the packed orb of the source directory `dir` as `orb validate` does.
    fn check_orb_source(
        &self,
        dir: &Path,
        path: &Path,
        part: &mut PackedPart,
        value: Node,
    ) -> Result<CheckedWhole, String> {
        let db = &mut part.db;
        let mut diagnostics = std::mem::take(&mut part.diagnostics);
        let (packed_file, packed_text, mut map) = packed_text(db, dir, &value);
        let config = crate::project_host::project_root(path).join(".circleci/config.yml");
        let store = self
            .compile
            .store
            .open(&config, LockPolicy::Enforce, db, &mut diagnostics)?;
        let name = crate::pack_cmd::name_from_path(dir);
        let check = check_orb(
            db,
            packed_file,
            name.as_ref().map(|(ns, n)| (ns.as_str(), n.as_str())),
            &store,
            &CompileOptions::default(),
        );
        diagnostics.extend(check.diagnostics);
        // The check reads the orb again as the subject of its generated config.
        for (id, f) in db.files() {
            if id != packed_file && f.text == packed_text {
                map.same_as_packed(id);
            }
        }
        Ok(CheckedWhole {
            diagnostics,
            map,
            compiled: Default::default(),
            orbs: Vec::new(),
            pipeline: Default::default(),
            packed: Some((value, packed_text)),
        })
    }

    /// Checks the packed config of the split config directory `dir` as `config validate`
    /// checks a config beside the directory.
    fn check_config_part(
        &self,
        dir: &Path,
        part: &mut PackedPart,
        value: Node,
    ) -> Result<CheckedWhole, String> {
        let db = &mut part.db;
        let mut diagnostics = std::mem::take(&mut part.diagnostics);
        let (packed_file, packed, map) = packed_text(db, dir, &value);
        // The packed config stands where `config pack`'s output would: beside the directory,
        // so the project's orbs, lockfile and settings are found as for `config.yml`.
        let config = dir.with_file_name("config.yml");
        let (checked_db, checked) = self.check_config(&config, &packed)?;
        // The check read the packed text and the orbs in a database of its own; its files
        // (the orbs' sources, which definitions lead to) and findings move to this one, where
        // the source files are.
        let mut files: std::collections::HashMap<FileId, FileId> = Default::default();
        files.insert(checked.config, packed_file);
        for (id, f) in checked_db.files() {
            if id != checked.config {
                files.insert(id, db.add(f.name.clone(), f.text.clone()));
            }
        }
        let moved = |span: Span| match files.get(&span.file) {
            Some(id) => Span::new(*id, span.start as usize, span.end as usize),
            None => span,
        };
        for mut d in checked.diagnostics {
            if let Some(p) = d.primary.as_mut() {
                p.span = moved(p.span);
            }
            for label in &mut d.secondary {
                label.span = moved(label.span);
            }
            if let Some(fix) = d.fix.as_mut() {
                for edit in &mut fix.edits {
                    edit.span = moved(edit.span);
                }
            }
            diagnostics.push(d);
        }
        Ok(CheckedWhole {
            diagnostics,
            map,
            compiled: checked.compiled,
            orbs: crate::lsp_cmd::orb_uses(checked.resolutions),
            pipeline: checked.pipeline,
            packed: Some((value, packed)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_sit_at_their_key_paths() {
        assert_eq!(key_path("@orb.yml"), Vec::<String>::new());
        assert_eq!(key_path("commands/greet.yml"), ["commands", "greet"]);
        assert_eq!(key_path("commands/@all.yml"), ["commands"]);
        assert_eq!(key_path("jobs.yml"), Vec::<String>::new());
        assert_eq!(key_path("jobs/build/steps.yml"), ["jobs", "build", "steps"]);
    }
}
