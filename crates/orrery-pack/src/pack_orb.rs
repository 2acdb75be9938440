//! `orb pack`: an orb source directory (the one holding `@orb.yml`) → one orb document
//! (CONFIG-SPEC 4.6.1-4.6.7).

use orrery_diagnostics::{codes, Diagnostic, SourceDb};
use orrery_yaml::Map;

use crate::include::inline_includes;
use crate::merge::{merge_tree, Walk};
use crate::tree::SourceTree;
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

/// Packs an orb source tree. `value` is `None` when any error was found.
pub fn pack_orb(tree: &SourceTree) -> Packed {
    let mut sources = SourceDb::new();
    let mut diagnostics = Vec::new();
    if tree.get(ORB_ROOT_FILE).is_none() {
        diagnostics.push(
            Diagnostic::error(
                codes::PACK_NO_ORB_ROOT,
                "@orb.yml file not found, are you sure this is the Orb root?",
            )
            .with_help(format!(
                "pack the directory that holds @orb.yml (usually `src`){}",
                if tree.base.is_empty() {
                    String::new()
                } else {
                    format!("; `{}` has none", tree.base)
                }
            )),
        );
        return Packed::finish(sources, None, diagnostics);
    }
    let merged = merge_tree(
        tree,
        Walk::Only(&ORB_DIRECTORIES),
        &mut sources,
        &mut diagnostics,
    );
    let mut orb = in_orb_order(merged, &mut diagnostics);
    inline_includes(&mut orb, tree, &mut diagnostics);
    Packed::finish(sources, Some(orb), diagnostics)
}

/// The root keys in [`ORB_KEYS`] order, then any others in the order found, each with a warning:
/// the official packer drops them, we keep them.
fn in_orb_order(mut merged: Map, diagnostics: &mut Vec<Diagnostic>) -> Map {
    let mut orb = Map::new();
    for key in ORB_KEYS {
        if let Some(i) = merged.entries.iter().position(|e| e.key == key) {
            orb.entries.push(merged.entries.remove(i));
        }
    }
    for entry in merged.entries {
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
        orb.entries.push(entry);
    }
    orb
}
