//! The language server on files that are parts of a larger document: a file of an orb source
//! tree (`src/@orb.yml`, `src/commands/greet.yml`, …) is checked as `orb validate` checks the
//! packed orb, and a file of a split config (`.circleci/config/…`, for `config pack`) as
//! `config validate` checks the packed config. The tree is read from disk with the edited
//! document in place of its file, and every finding is shown in the source file it belongs
//! to (`orrery_pack::SourceMap`), not in the packed text.

use std::path::{Path, PathBuf};

use orrery_compiler::{check_orb, CompileOptions};
use orrery_diagnostics::{Diagnostic, FileId, SourceDb, Span};
use orrery_ide::{Analysis, AnalysisParts, DocumentPart};
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

/// The tree of `dir` read from disk, with `text` as the file at `relative`.
fn tree_with(mut tree: SourceTree, relative: &str, text: &str) -> SourceTree {
    match tree.files.iter_mut().find(|f| f.path == relative) {
        Some(file) => file.text = text.to_string(),
        None => tree.files.push(TreeFile {
            path: relative.to_string(),
            text: text.to_string(),
        }),
    }
    tree
}

/// A file of a tree, packed with the rest of the tree as it is on disk.
struct PackedPart {
    /// The file's path in the tree.
    relative: String,
    db: SourceDb,
    file: FileId,
    diagnostics: Vec<Diagnostic>,
    /// The packed document; `None` when packing found an error.
    value: Option<Node>,
}

/// Reads the tree at `dir` with `text` in place of the file `path`, and packs it; or says why
/// it cannot.
fn read_part(
    dir: &Path,
    path: &Path,
    text: &str,
    read: fn(&Path) -> Result<SourceTree, orrery_pack::fs::FsError>,
    pack: fn(&SourceTree) -> orrery_pack::Packed,
) -> Result<PackedPart, String> {
    let Some(relative) = relative(dir, path) else {
        return Err(format!("{} is outside {}", path.display(), dir.display()));
    };
    let tree = tree_with(read(dir).map_err(|e| e.to_string())?, &relative, text);
    let packed = pack(&tree);
    let mut db = packed.sources;
    let name = tree.display_name(&relative);
    let file = db.file_named(&name).unwrap_or_else(|| db.add(name, text));
    Ok(PackedPart {
        relative,
        db,
        file,
        diagnostics: packed.diagnostics,
        value: packed.value,
    })
}

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

impl crate::lsp_cmd::ProjectWorkspace {
    /// Checks `text` as the file `path` of the orb source directory `dir`.
    pub(crate) fn analyze_orb_source(&self, dir: &Path, path: &Path, text: &str) -> Analysis {
        let part = match read_part(
            dir,
            path,
            text,
            orrery_pack::fs::read_orb_dir,
            orrery_pack::pack_orb,
        ) {
            Ok(part) => part,
            Err(message) => return cannot_check(path, text, message),
        };
        let PackedPart {
            relative,
            mut db,
            file,
            mut diagnostics,
            value,
        } = part;
        let mut map = SourceMap::default();
        let mut root = None;
        if let Some(value) = value {
            let (packed_file, packed_text, source_map) = packed_text(&mut db, dir, &value);
            map = source_map;
            let config = crate::project_host::project_root(path).join(".circleci/config.yml");
            match self
                .compile
                .store
                .open(&config, LockPolicy::Enforce, &mut db, &mut diagnostics)
            {
                Ok(store) => {
                    let name = crate::pack_cmd::name_from_path(dir);
                    let check = check_orb(
                        &mut db,
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
                }
                Err(message) => return cannot_check(path, text, message),
            }
            root = Some((value, packed_text));
        }
        self.part_analysis(
            dir,
            db,
            file,
            text,
            of_document(&map, diagnostics, file),
            root,
            &relative,
            true,
        )
    }

    /// Checks `text` as the file `path` of the split config directory `dir`: the packed
    /// config is checked as `config validate` checks a config beside the directory.
    pub(crate) fn analyze_config_part(&self, dir: &Path, path: &Path, text: &str) -> Analysis {
        let part = match read_part(
            dir,
            path,
            text,
            orrery_pack::fs::read_config_dir,
            orrery_pack::pack_config,
        ) {
            Ok(part) => part,
            Err(message) => return cannot_check(path, text, message),
        };
        let PackedPart {
            relative,
            mut db,
            file,
            mut diagnostics,
            value,
        } = part;
        let Some(value) = value else {
            let mine = of_document(&SourceMap::default(), diagnostics, file);
            return self.part_analysis(dir, db, file, text, mine, None, &relative, false);
        };
        let (packed_file, packed, map) = packed_text(&mut db, dir, &value);
        // The packed config stands where `config pack`'s output would: beside the directory,
        // so the project's orbs, lockfile and settings are found as for `config.yml`.
        let config = dir.with_file_name("config.yml");
        let (checked_db, checked) = match self.check_config(&config, &packed) {
            Ok(done) => done,
            Err(message) => return cannot_check(path, text, message),
        };
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
        let mine = of_document(&map, diagnostics, file);
        let parsed = orrery_yaml::parse(file, text, Limits::default());
        Analysis::new(AnalysisParts {
            db,
            file,
            parsed: std::sync::Arc::new(parsed),
            // The compiled config's spans are those of the check's database: only its text
            // (`orrery/compiledConfig`) is read from it.
            compiled: checked.compiled,
            diagnostics: mine,
            orbs: crate::lsp_cmd::orb_uses(checked.resolutions),
            pipeline: checked.pipeline,
            part: Some(DocumentPart {
                root: value,
                path: key_path(&relative),
                orb: false,
                text: packed,
                dir: dir.display().to_string(),
            }),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn part_analysis(
        &self,
        dir: &Path,
        db: SourceDb,
        file: FileId,
        text: &str,
        diagnostics: Vec<Diagnostic>,
        root: Option<(Node, String)>,
        relative: &str,
        orb: bool,
    ) -> Analysis {
        let parsed = orrery_yaml::parse(file, text, Limits::default());
        Analysis::new(AnalysisParts {
            db,
            file,
            parsed: std::sync::Arc::new(parsed),
            compiled: Default::default(),
            diagnostics,
            orbs: Vec::new(),
            pipeline: Default::default(),
            part: root.map(|(root, text)| DocumentPart {
                root,
                path: key_path(relative),
                orb,
                text,
                dir: dir.display().to_string(),
            }),
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
