//! `orb pack`: an orb source directory (the one holding `@orb.yml`) → one orb document
//! (CONFIG-SPEC 4.6.1-4.6.7).

use orrery_diagnostics::{codes, Diagnostic, FileId, SourceDb, Span};
use orrery_yaml::{parse, Limits, Map};

use crate::include::inline_includes;
use crate::merge::{merge_tree, Walk};
use crate::tree::{is_hidden, is_yaml_name, join_path, normalize_in_root, strip_dir, SourceTree};
use crate::Packed;

/// The file that marks the orb root.
pub const ORB_ROOT_FILE: &str = "@orb.yml";

/// The directories `orb pack` walks, at every depth.
pub const ORB_DIRECTORIES: [&str; 4] = ["commands", "jobs", "executors", "examples"];

/// The root keys of an orb, in the order they are written.
pub const ORB_KEYS: [&str; 8] = [
    "version",
    "description",
    "display",
    "orbs",
    "commands",
    "executors",
    "jobs",
    "examples",
];

/// The root keys of which a lone root file needs one, besides `version`, to be taken for a
/// single-file orb.
const SINGLE_FILE_ORB_KEYS: [&str; 5] = ["commands", "jobs", "executors", "orbs", "description"];

/// How [`pack_orb_with`] reads a tree.
///
/// The tree's root is the *include root*: an include directive may name any file of the tree.
/// The orb directory (the one holding `@orb.yml`) is `orb_dir` inside it; include paths are
/// still relative to the orb directory. The default (`orb_dir` empty) makes the orb directory
/// the tree root, so includes cannot leave it (what `orb pack` does unless told otherwise).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackOptions {
    /// The orb directory as a `/`-separated path inside the tree; empty for the tree root.
    pub orb_dir: String,
}

impl PackOptions {
    /// Packing with includes allowed anywhere in the tree, for the orb directory `orb_dir`.
    pub fn with_orb_dir(orb_dir: impl Into<String>) -> Self {
        let orb_dir: String = orb_dir.into();
        PackOptions {
            orb_dir: orb_dir.trim_matches('/').to_string(),
        }
    }

    /// The tree path an include directive's `path` names (relative to the orb directory, `.`
    /// and `..` resolved), or `None` when it is absolute or leaves the tree (the include root).
    pub fn resolve_include(&self, path: &str) -> Option<String> {
        if path.starts_with('/') || path.starts_with('\\') {
            return None;
        }
        normalize_in_root(&join_path(&self.orb_dir, path))
    }

    /// Whether includes may reach above the orb directory.
    pub(crate) fn has_include_root(&self) -> bool {
        !self.orb_dir.is_empty()
    }

    /// The path of a file of the orb directory inside the tree.
    fn in_orb_dir(&self, path: &str) -> String {
        join_path(&self.orb_dir, path)
    }
}

/// Packs an orb source tree whose root is the orb directory. `value` is `None` when any error
/// was found.
pub fn pack_orb(tree: &SourceTree) -> Packed {
    pack_orb_with(tree, &PackOptions::default())
}

/// Packs the orb directory `options.orb_dir` of `tree`. `value` is `None` when any error was
/// found.
///
/// A directory without `@orb.yml` is refused (E0701) unless its only root YAML file looks like a
/// whole orb (`version` and one of [`SINGLE_FILE_ORB_KEYS`]): that file is packed as the orb root,
/// which it is anyway since root files merge at the top, with a warning (W0710).
pub fn pack_orb_with(tree: &SourceTree, options: &PackOptions) -> Packed {
    let mut sources = SourceDb::new();
    let root = if options.has_include_root() {
        "the include root"
    } else {
        "the orb directory"
    };
    let mut diagnostics = refused_links(tree, root);
    let single_file = if tree.get(&options.in_orb_dir(ORB_ROOT_FILE)).is_some() {
        None
    } else if let Some(path) = single_file_orb(tree, &options.orb_dir) {
        Some(path)
    } else {
        diagnostics.push(no_orb_root(tree, options));
        return Packed::finish(sources, None, diagnostics);
    };
    let merged = merge_tree(
        tree,
        &options.orb_dir,
        Walk::Only(&ORB_DIRECTORIES),
        &mut sources,
        &mut diagnostics,
    );
    if let Some(path) = single_file {
        let version = merged.entry("version").map(|e| e.key_span);
        diagnostics.insert(0, single_file_warning(tree, options, &path, version));
    }
    let mut orb = in_orb_order(merged, &mut diagnostics);
    inline_includes(&mut orb, tree, options, &mut diagnostics);
    Packed::finish(sources, Some(orb), diagnostics)
}

/// An error (E0707) for each link the reader met walking the tree and did not follow; links
/// named by includes are reported where the include is. `root` says what they may not leave.
pub(crate) fn refused_links(tree: &SourceTree, root: &str) -> Vec<Diagnostic> {
    tree.refused_links
        .iter()
        .filter(|link| !link.included)
        .map(|link| {
            let name = tree.display_name(&link.path);
            if link.directory {
                Diagnostic::error(
                    codes::INCLUDE_OUTSIDE_ROOT,
                    format!(
                        "`{name}` is a symbolic link to a directory (`{}`), which is not followed",
                        link.target
                    ),
                )
                .with_help("replace the link with a real directory holding the files")
            } else {
                Diagnostic::error(
                    codes::INCLUDE_OUTSIDE_ROOT,
                    format!(
                        "`{name}` is a symbolic link to `{}`, outside {root}; it was not read",
                        link.target
                    ),
                )
                .with_help(
                    "copy the file into the directory, or link to a file inside it; no file \
                     outside the orb root is read unless you pack with `--include-root ROOT`",
                )
            }
        })
        .collect()
}

fn no_orb_root(tree: &SourceTree, options: &PackOptions) -> Diagnostic {
    let dir = dir_display(tree, options);
    Diagnostic::error(
        codes::PACK_NO_ORB_ROOT,
        "@orb.yml file not found, are you sure this is the Orb root?",
    )
    .with_help(format!(
        "pack the directory that holds @orb.yml (usually `src`){}",
        if dir.is_empty() {
            String::new()
        } else {
            format!("; `{dir}` has none")
        }
    ))
}

fn single_file_warning(
    tree: &SourceTree,
    options: &PackOptions,
    path: &str,
    version: Option<Span>,
) -> Diagnostic {
    let name = path.rsplit('/').next().unwrap_or(path);
    let dir = dir_display(tree, options);
    let dir = if dir.is_empty() { ".".to_string() } else { dir };
    let warning = Diagnostic::warning(
        codes::PACK_SINGLE_FILE_ORB,
        format!("`{dir}` is a single-file orb without @orb.yml: packed `{name}` as the orb root"),
    )
    .with_help(format!(
        "the official `circleci orb pack` refuses a directory without @orb.yml; rename `{name}` \
         to `@orb.yml`, or split it into a source tree with `orrery orb unpack {} DIR`",
        tree.display_name(path)
    ));
    match version {
        Some(span) => warning.at(span, format!("`{name}` is taken for the orb root")),
        None => warning,
    }
}

/// How the orb directory is named in messages; empty when the tree has no name.
fn dir_display(tree: &SourceTree, options: &PackOptions) -> String {
    match (tree.base.trim_end_matches('/'), options.orb_dir.as_str()) {
        (base, "") => base.to_string(),
        ("", dir) => dir.to_string(),
        (base, dir) => format!("{base}/{dir}"),
    }
}

/// The path of the orb directory's only root YAML file when it looks like a whole orb: a map
/// with `version` and one of [`SINGLE_FILE_ORB_KEYS`].
fn single_file_orb(tree: &SourceTree, orb_dir: &str) -> Option<String> {
    let mut root_files = tree.files.iter().filter(|file| {
        strip_dir(&file.path, orb_dir)
            .is_some_and(|name| !name.contains('/') && is_yaml_name(name) && !is_hidden(name))
    });
    let file = root_files.next()?;
    if root_files.next().is_some() {
        return None;
    }
    let parsed = parse(FileId(0), &file.text, Limits::default());
    let map = parsed.root.as_ref()?.as_map()?;
    let looks_like_orb =
        map.contains_key("version") && SINGLE_FILE_ORB_KEYS.iter().any(|key| map.contains_key(key));
    looks_like_orb.then(|| file.path.clone())
}

/// The root keys in [`ORB_KEYS`] order, then any others in the order found, each with a warning:
/// the official packer drops them, we keep them.
fn in_orb_order(mut merged: Map, diagnostics: &mut Vec<Diagnostic>) -> Map {
    let mut orb = Map::new();
    for key in ORB_KEYS {
        if let Some(i) = merged.entries().iter().position(|e| e.key == key) {
            orb.push(merged.entries_mut().remove(i));
        }
    }
    for entry in merged.into_entries() {
        diagnostics.push(
            Diagnostic::warning(
                codes::PACK_UNKNOWN_ORB_KEY,
                format!("`{}` is not an orb key", entry.key),
            )
            .at(entry.key_span, "kept in the packed orb")
            .with_help(format!(
                "an orb's root keys are {}; the official `orb pack` drops any other key",
                ORB_KEYS.join(", ")
            )),
        );
        orb.push(entry);
    }
    orb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_includes_against_the_orb_directory() {
        let default = PackOptions::default();
        assert_eq!(
            default.resolve_include("scripts/a.sh").as_deref(),
            Some("scripts/a.sh")
        );
        assert_eq!(default.resolve_include("../a.sh"), None);
        let within = PackOptions::with_orb_dir("/src/");
        assert_eq!(within.orb_dir, "src");
        assert_eq!(
            within.resolve_include("scripts/a.sh").as_deref(),
            Some("src/scripts/a.sh")
        );
        assert_eq!(
            within.resolve_include("../scripts/a.sh").as_deref(),
            Some("scripts/a.sh")
        );
        assert_eq!(within.resolve_include("../../a.sh"), None);
        assert_eq!(within.resolve_include("/etc/hostname"), None);
    }

    #[test]
    fn a_lone_root_file_with_version_and_elements_is_a_single_file_orb() {
        let tree = |files: &[(&str, &str)]| {
            let mut tree = SourceTree::new();
            for (path, text) in files {
                tree.add(*path, *text);
            }
            tree
        };
        let orb = "version: 2.1\ndescription: x\n";
        assert_eq!(
            single_file_orb(&tree(&[("orb.yml", orb)]), "").as_deref(),
            Some("orb.yml")
        );
        assert_eq!(
            single_file_orb(&tree(&[("src/orb.yaml", orb), ("x.yml", orb)]), "src").as_deref(),
            Some("src/orb.yaml")
        );
        // Not one root file, no `version`, nothing besides it, not a map, not YAML.
        for files in [
            &[("a.yml", orb), ("b.yml", orb)][..],
            &[("commands/a.yml", orb)],
            &[(".orb.yml", orb)],
            &[("orb.yml", "description: x\ncommands: {}\n")],
            &[("orb.yml", "version: 2.1\n")],
            &[("orb.yml", "- version\n")],
            &[("orb.yml", "version: [\n")],
        ] {
            assert_eq!(single_file_orb(&tree(files), ""), None, "{files:?}");
        }
    }
}
