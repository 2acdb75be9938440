//! The directory → map mapping shared by `orb pack` and `config pack` (CONFIG-SPEC 4.6.4-4.6.5,
//! the FYAML layout).
//!
//! * `D/X.yml` becomes `D: {X: <contents>}`; a file `X.yml` and a directory `X/` beside it both
//!   fill the map `X`.
//! * `@`-files merge their top-level keys into the map of the directory holding them; every
//!   YAML file directly in the root merges into the root map.
//! * Merges are shallow: a file's top-level keys go into the parent map. The map `X` built from
//!   `X.yml` / `X/` also takes in the entries of an `X:` key that an `@`-file or root file
//!   supplies (the official packer does when the file comes first, as in
//!   `@config.yml` `commands:` beside `commands/`).
//! * The official packer lets one file silently replace another's key (in no fixed order); here a
//!   key supplied twice at one level (two files with the same top-level key, or one element from
//!   two files) is an error naming both files.
//! * Directories and files are visited in lexical order, which is the order of the output.

use std::collections::{BTreeMap, HashSet};

use orrery_diagnostics::{codes, has_errors, Diagnostic, FileId, SourceDb, Span};
use orrery_yaml::{parse, Entry, Limits, Map, Node, Value};

use crate::tree::{is_hidden, is_yaml_name, strip_dir, yaml_stem, SourceTree, TreeFile};

/// Which directories a packer walks.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Walk {
    /// Every directory (`config pack`).
    All,
    /// Only directories with these names, at every depth (`orb pack`).
    Only(&'static [&'static str]),
}

/// Merges the walked YAML files under the directory `dir` of `tree` (`""`: the whole tree) into
/// one root map. Files are added to `db` as they are read, so every diagnostic points into them.
pub(crate) fn merge_tree(
    tree: &SourceTree,
    dir: &str,
    walk: Walk,
    db: &mut SourceDb,
    diagnostics: &mut Vec<Diagnostic>,
) -> Map {
    let mut root = Dir::default();
    for file in &tree.files {
        let Some(path) = strip_dir(&file.path, dir) else {
            continue;
        };
        if is_walked(path, walk) {
            root.insert(path, file);
        }
    }
    let mut merger = Merger {
        tree,
        db,
        diagnostics,
    };
    merger.build(&root, "")
}

/// Whether `path` is a file the packer reads: a YAML name, nothing hidden on the way, and every
/// directory on the way allowed.
fn is_walked(path: &str, walk: Walk) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let Some((name, dirs)) = parts.split_last() else {
        return false;
    };
    if !is_yaml_name(name) || is_hidden(name) {
        return false;
    }
    dirs.iter().all(|dir| {
        !dir.is_empty()
            && !is_hidden(dir)
            && match walk {
                Walk::All => true,
                Walk::Only(allowed) => allowed.contains(dir),
            }
    })
}

/// The walked part of the tree as directories, children in lexical order.
#[derive(Default)]
struct Dir<'t> {
    children: BTreeMap<&'t str, Child<'t>>,
}

enum Child<'t> {
    File(&'t TreeFile),
    Dir(Dir<'t>),
}

impl<'t> Dir<'t> {
    fn insert(&mut self, rest: &'t str, file: &'t TreeFile) {
        match rest.split_once('/') {
            None => {
                self.children.entry(rest).or_insert(Child::File(file));
            }
            Some((dir, rest)) => {
                let child = self
                    .children
                    .entry(dir)
                    .or_insert_with(|| Child::Dir(Dir::default()));
                // A file and a directory of one name cannot both exist on disk; keep the first.
                if let Child::Dir(sub) = child {
                    sub.insert(rest, file);
                }
            }
        }
    }
}

/// The map of one directory being built.
#[derive(Default)]
struct Level {
    map: Map,
    /// Keys filled by `X.yml` files and `X/` directories: maps that take in more entries.
    groups: HashSet<String>,
    /// Keys supplied by `@`-files and root files: a second such file may not supply them again.
    from_files: HashSet<String>,
}

struct Merger<'a> {
    tree: &'a SourceTree,
    db: &'a mut SourceDb,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Merger<'_> {
    /// The map of one directory; `path` is its dotted key path (`""` at the root), for messages.
    fn build(&mut self, dir: &Dir, path: &str) -> Map {
        let at_root = path.is_empty();
        let mut level = Level::default();
        for (&name, child) in &dir.children {
            match child {
                Child::File(file) => {
                    let Some((content, origin)) = self.read_map(file) else {
                        continue;
                    };
                    if at_root || name.starts_with('@') {
                        for entry in content.into_entries() {
                            self.add_file_entry(&mut level, entry, path);
                        }
                    } else {
                        let key = yaml_stem(name).unwrap_or(name);
                        self.add_group(&mut level, key, content, origin, path);
                    }
                }
                Child::Dir(sub) => {
                    let content = self.build(sub, &join(path, name));
                    // A directory with no YAML content adds nothing.
                    let Some(origin) = content.entries().first().map(|e| e.key_span) else {
                        continue;
                    };
                    self.add_group(&mut level, name, content, origin, path);
                }
            }
        }
        level.map
    }

    /// A top-level entry of an `@`-file or root file.
    fn add_file_entry(&mut self, level: &mut Level, entry: Entry, path: &str) {
        let key = entry.key.clone();
        let joins_group = level.groups.contains(&key) && !level.from_files.contains(&key);
        match level.map.get_mut(&key).and_then(Node::as_map_mut) {
            Some(group) if joins_group && entry.value.as_map().is_some() => {
                let inner = join(path, &key);
                if let Value::Map(content) = entry.value.value {
                    for element in content.into_entries() {
                        self.insert_unique(group, element, &inner);
                    }
                }
            }
            _ => {
                self.insert_unique(&mut level.map, entry, path);
            }
        }
        level.from_files.insert(key);
    }

    /// The entries of `X.yml` or `X/`, added to the map `X`.
    fn add_group(&mut self, level: &mut Level, key: &str, content: Map, origin: Span, path: &str) {
        if let Some(existing) = level.map.get_mut(key).and_then(Node::as_map_mut) {
            let inner = join(path, key);
            for entry in content.into_entries() {
                self.insert_unique(existing, entry, &inner);
            }
        } else {
            let entry = Entry {
                key: key.to_string(),
                key_span: origin,
                value: Node::new(Value::Map(content), origin),
            };
            self.insert_unique(&mut level.map, entry, path);
        }
        level.groups.insert(key.to_string());
    }

    /// Adds `entry` unless its key is already there, which is a conflict between two files.
    fn insert_unique(&mut self, map: &mut Map, entry: Entry, path: &str) {
        match map.entry(&entry.key) {
            Some(existing) => {
                let diagnostic = self.conflict(existing, &entry, path);
                self.diagnostics.push(diagnostic);
            }
            None => map.push(entry),
        }
    }

    /// Reads one file as a map: an empty document is an empty map, anything else that is not a
    /// map is an error. Returns the map and the place that stands for the file in messages.
    fn read_map(&mut self, file: &TreeFile) -> Option<(Map, Span)> {
        let id = self
            .db
            .add(self.tree.display_name(&file.path), file.text.as_str());
        let parsed = parse(id, &file.text, Limits::default());
        let failed = has_errors(&parsed.diagnostics);
        self.diagnostics.extend(parsed.diagnostics);
        if failed {
            return None;
        }
        let Some(root) = parsed.root else {
            return Some((Map::new(), Span::new(id, 0, 0)));
        };
        let origin = Span::new(id, root.span.start as usize, root.span.start as usize);
        match root.value {
            Value::Map(map) => Some((map, origin)),
            Value::Null => Some((Map::new(), origin)),
            other => {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::PACK_NOT_A_MAP,
                        format!(
                            "expected a map, got a {} which is not supported at this time for \"{}\"",
                            other.type_name(),
                            self.file_name(id)
                        ),
                    )
                    .at(root.span, "the file must hold a map")
                    .with_help("a packed file's top level must be `key: value` pairs"),
                );
                None
            }
        }
    }

    /// The diagnostic for a key supplied twice: the later place is primary, the earlier one
    /// secondary.
    fn conflict(&self, first: &Entry, second: &Entry, path: &str) -> Diagnostic {
        let key_path = join(path, &first.key);
        let (first_file, second_file) = (
            self.file_name(first.key_span.file),
            self.file_name(second.key_span.file),
        );
        Diagnostic::error(
            codes::PACK_CONFLICT,
            format!("`{key_path}` is defined in both {first_file} and {second_file}"),
        )
        .at(second.key_span, format!("`{key_path}` defined again here"))
        .also(first.key_span, format!("`{key_path}` first defined here"))
        .with_help(
            "packing merges files shallowly, so one definition would silently replace the other; \
             keep only one",
        )
    }

    fn file_name(&self, id: FileId) -> String {
        self.db
            .file(id)
            .map_or_else(String::new, |f| f.name.clone())
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_only_allowed_visible_yaml() {
        let orb = Walk::Only(&["commands", "jobs"]);
        assert!(is_walked("@orb.yml", orb));
        assert!(is_walked("commands/greet.yml", orb));
        assert!(is_walked("commands/jobs/x.yaml", orb));
        assert!(!is_walked("commands/aws/x.yml", orb));
        assert!(!is_walked("scripts/x.yml", orb));
        assert!(!is_walked("commands/.x.yml", orb));
        assert!(!is_walked("commands/x.sh", orb));
        assert!(is_walked("anything/deep/x.yml", Walk::All));
        assert!(!is_walked(".circleci/x.yml", Walk::All));
        assert!(!is_walked("a//x.yml", Walk::All));
    }
}
