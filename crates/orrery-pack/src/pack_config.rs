//! `config pack`: the generic FYAML packer (CONFIG-SPEC 4.6.8). Any directory names, `@` merging,
//! root files merged at the top, no includes, and every map's keys sorted in the output.

use orrery_diagnostics::SourceDb;
use orrery_yaml::{Map, Node, Value};

use crate::merge::{merge_tree, Walk};
use crate::tree::SourceTree;
use crate::value::sort_keys;
use crate::Packed;

/// Packs a config source tree. `value` is `None` when any error was found.
pub fn pack_config(tree: &SourceTree) -> Packed {
    let mut sources = SourceDb::new();
    let mut diagnostics = crate::pack_orb::refused_links(tree, "the config directory");
    let merged = merge_tree(tree, "", Walk::All, &mut sources, &mut diagnostics);
    let mut root = Node::new(Value::Map(merged), Default::default());
    sort_keys(&mut root);
    let config = match root.value {
        Value::Map(map) => map,
        _ => Map::new(),
    };
    Packed::finish(sources, Some(config), diagnostics)
}
