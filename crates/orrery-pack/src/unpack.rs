//! `orb unpack`: one orb document → an orb source tree, the reverse of [`crate::pack_orb`].
//!
//! `@orb.yml` gets the root keys (`version`, `description`, `display`, `orbs` and any others);
//! each command, job, executor and example gets `SECTION/NAME.yml`. A section stays inline in
//! `@orb.yml` when a file per element could not pack back to the same data (an element that is
//! not a map, a name that is no safe file name, an empty section). Long `run` scripts may move to
//! `scripts/NAME.sh` behind an `<<include(...)>>`, but only when packing gives back exactly the
//! same string: the script has no `<<` (packing escapes it) and no include directive.

use std::collections::HashSet;

use orrery_diagnostics::{codes, has_errors, Diagnostic, SourceDb};
use orrery_yaml::{parse, Entry, Limits, Map, Node, Value};

use crate::emit::to_yaml;
use crate::include::{has_directive, INCLUDE_SECTIONS};
use crate::pack_orb::{ORB_KEYS, ORB_ROOT_FILE};
use crate::tree::SourceTree;

/// The sections that get one file per element.
const ELEMENT_SECTIONS: [&str; 4] = ["commands", "executors", "jobs", "examples"];

/// The sections whose `run` steps may move to scripts (the ones `orb pack` expands includes in
/// and that have steps).
const SCRIPT_SECTIONS: [&str; 2] = ["commands", "jobs"];

/// A script shorter than this many lines stays inline.
const SCRIPT_MIN_LINES: usize = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpackOptions {
    /// Move long multi-line `run` commands to `scripts/NAME.sh` (when that round-trips).
    pub extract_scripts: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            extract_scripts: true,
        }
    }
}

/// The result of [`unpack_orb`]: the tree, or `None` when an error was found.
#[derive(Debug)]
pub struct Unpacked {
    /// The orb text, so diagnostics can be rendered.
    pub sources: SourceDb,
    pub tree: Option<SourceTree>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Unpacks the orb document `text` (named `name` in diagnostics).
pub fn unpack_orb(name: &str, text: &str, options: &UnpackOptions) -> Unpacked {
    let mut sources = SourceDb::new();
    let file = sources.add(name, text);
    let parsed = parse(file, text, Limits::default());
    let mut diagnostics = parsed.diagnostics;
    let root = parsed.root.filter(|_| !has_errors(&diagnostics));
    let orb = match root {
        Some(Node {
            value: Value::Map(map),
            ..
        }) => Some(map),
        Some(Node {
            value: Value::Null, ..
        }) => Some(Map::new()),
        Some(node) => {
            diagnostics.push(
                Diagnostic::error(
                    codes::YAML_NOT_A_MAP,
                    format!("an orb must be a map, not a {}", node.type_name()),
                )
                .at(node.span, "expected `version:`, `commands:`, `jobs:`, ..."),
            );
            None
        }
        None => None,
    };
    let tree = orb.map(|orb| unpack_orb_map(&orb, options, &mut diagnostics));
    let tree = tree.filter(|_| !has_errors(&diagnostics));
    Unpacked {
        sources,
        tree,
        diagnostics,
    }
}

/// Unpacks an orb given as data. Never fails; strings that packing would read as include
/// directives are reported as warnings (they cannot round-trip).
pub fn unpack_orb_map(
    orb: &Map,
    options: &UnpackOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> SourceTree {
    let mut tree = SourceTree::new();
    let mut root_file = Map::new();
    let mut element_files: Vec<(String, String)> = Vec::new();
    let mut scripts = Scripts::default();
    for entry in in_orb_order(orb) {
        let section = entry.key.as_str();
        if INCLUDE_SECTIONS.contains(&section) {
            warn_directives(&entry.value, diagnostics);
        }
        let elements = match entry.value.as_map() {
            Some(map) if ELEMENT_SECTIONS.contains(&section) && can_split(map) => map,
            _ => {
                root_file.push(entry.clone());
                continue;
            }
        };
        for element in elements.entries() {
            let mut body = element.value.clone();
            if options.extract_scripts && SCRIPT_SECTIONS.contains(&section) {
                scripts.extract(&mut body, &element.key);
            }
            element_files.push((format!("{section}/{}.yml", element.key), to_yaml(&body)));
        }
    }
    let root = Node::new(Value::Map(root_file), Default::default());
    tree.add(ORB_ROOT_FILE, to_yaml(&root));
    for (path, text) in element_files.into_iter().chain(scripts.files) {
        tree.add(path, text);
    }
    tree
}

/// The root entries in orb order (known keys first), as `@orb.yml` lists them.
fn in_orb_order(orb: &Map) -> Vec<&Entry> {
    let known = ORB_KEYS.iter().filter_map(|k| orb.entry(k));
    let others = orb
        .entries()
        .iter()
        .filter(|e| !ORB_KEYS.contains(&e.key.as_str()));
    known.chain(others).collect()
}

/// Whether a section can be written one file per element and pack back to the same data.
fn can_split(elements: &Map) -> bool {
    let mut seen = HashSet::new();
    // An empty section would vanish: an empty directory packs to nothing.
    !elements.is_empty()
        && elements.entries().iter().all(|e| {
            e.value.as_map().is_some()
                && is_safe_file_stem(&e.key)
                // Names differing only in case would clash on case-insensitive file systems.
                && seen.insert(e.key.to_lowercase())
        })
}

/// A name that makes a file `NAME.yml` which packs back to the key `NAME` on any file system.
fn is_safe_file_stem(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['.', '@'])
        && !name.ends_with(['.', ' '])
        && !name
            .chars()
            .any(|c| c.is_control() || "/\\:*?\"<>|".contains(c))
}

/// Strings that `orb pack` would replace by a file's contents.
fn warn_directives(node: &Node, diagnostics: &mut Vec<Diagnostic>) {
    match &node.value {
        Value::Str(text) if has_directive(text) => diagnostics.push(
            Diagnostic::warning(
                codes::UNPACK_NOT_REVERSIBLE,
                "this string looks like an include directive; packing the unpacked orb would \
                 replace it",
            )
            .at(node.span, "read as `<<include(...)>>` by `orb pack`"),
        ),
        Value::Seq(items) => items.iter().for_each(|n| warn_directives(n, diagnostics)),
        Value::Map(map) => map
            .entries()
            .iter()
            .for_each(|e| warn_directives(&e.value, diagnostics)),
        _ => {}
    }
}

/// Scripts moved out of `run` steps, with unique file names.
#[derive(Default)]
struct Scripts {
    files: Vec<(String, String)>,
    names: HashSet<String>,
}

impl Scripts {
    /// Moves the long scripts of the `run` steps anywhere in `node` (steps, `when` steps, step
    /// defaults) to files. `element` names scripts of steps that have no `name`.
    fn extract(&mut self, node: &mut Node, element: &str) {
        match &mut node.value {
            Value::Seq(items) => {
                for item in items {
                    if let Some(step) = item.as_map_mut() {
                        if let Some(run) = step.get_mut("run") {
                            self.extract_run(run, element);
                        }
                    }
                    self.extract(item, element);
                }
            }
            Value::Map(map) => {
                for value in map.values_mut() {
                    self.extract(value, element);
                }
            }
            _ => {}
        }
    }

    /// `run: SCRIPT` or `run: {command: SCRIPT, name: ...}`.
    fn extract_run(&mut self, run: &mut Node, element: &str) {
        let name = run.get("name").and_then(Node::as_str).unwrap_or(element);
        let name = name.to_string();
        let command = match &mut run.value {
            Value::Map(map) => map.get_mut("command"),
            Value::Str(_) => Some(run),
            _ => None,
        };
        let Some(command) = command else {
            return;
        };
        let Value::Str(script) = &mut command.value else {
            return;
        };
        if !is_extractable(script) {
            return;
        }
        let path = self.unique_path(&name);
        let directive = format!("<<include({path})>>");
        self.files
            .push((path, std::mem::replace(script, directive)));
    }

    fn unique_path(&mut self, name: &str) -> String {
        let stem = file_stem(name);
        let mut candidate = stem.clone();
        let mut n = 1;
        while !self.names.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{stem}-{n}");
        }
        format!("scripts/{candidate}.sh")
    }
}

/// Long enough to be worth a file, and packing gives back exactly this text: the included text
/// has every `<<` escaped, so a script with `<<` (or an include of its own) would change.
fn is_extractable(script: &str) -> bool {
    script.lines().count() >= SCRIPT_MIN_LINES
        && !script.contains("<<")
        && !script.trim().is_empty()
}

/// A lowercase file stem from a step name that an include path accepts (`[-\w.]`).
fn file_stem(name: &str) -> String {
    let mut stem = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            stem.push(c);
        } else if !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem = stem.trim_matches(['-', '.']);
    if stem.is_empty() {
        "script".to_string()
    } else {
        stem.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_file_stems() {
        assert_eq!(file_stem("Install Node.js (LTS)"), "install-node.js-lts");
        assert_eq!(file_stem("..."), "script");
        assert_eq!(file_stem("résumé"), "r-sum");
    }

    #[test]
    fn unique_script_paths() {
        let mut scripts = Scripts::default();
        assert_eq!(scripts.unique_path("Build"), "scripts/build.sh");
        assert_eq!(scripts.unique_path("build"), "scripts/build-2.sh");
        assert_eq!(scripts.unique_path("build"), "scripts/build-3.sh");
    }

    #[test]
    fn safe_file_stems() {
        assert!(is_safe_file_stem("install-node_v2"));
        assert!(!is_safe_file_stem(".hidden"));
        assert!(!is_safe_file_stem("@merge"));
        assert!(!is_safe_file_stem("a/b"));
        assert!(!is_safe_file_stem(""));
    }
}
