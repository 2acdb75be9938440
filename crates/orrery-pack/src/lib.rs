//! Packing and unpacking of orb and config source directories (CONFIG-SPEC 4.6).
//!
//! * [`pack_orb`] — `orb pack`: `@orb.yml` plus `commands/ jobs/ executors/ examples/` → one orb,
//!   with `<<include(path)>>` expanded inside the orb directory; [`pack_orb_with`] lets includes
//!   reach anywhere under an ancestor directory, the include root ([`PackOptions`]). A directory
//!   whose only root file is a whole orb (`orb.yml`, no `@orb.yml`) packs to that orb, with a
//!   warning.
//! * [`pack_config`] — `config pack`: any directory layout → one config, keys sorted.
//! * [`unpack_orb`] — `orb unpack`: the reverse of [`pack_orb`]; packing the result gives the
//!   same orb.
//!
//! The core is pure: it works on a [`SourceTree`] (relative paths and text) and returns a value
//! plus diagnostics, never a partial value when there is an error. Every file read is added to a
//! `SourceDb`, so each diagnostic has a file, line and column. The [`fs`] module is the only I/O:
//! it reads a directory into a tree and writes a tree out.

pub mod fs;

mod emit;
mod include;
mod key_order;
mod merge;
mod pack_config;
mod pack_orb;
mod source_map;
mod tree;
mod unpack;
mod value;

use orrery_diagnostics::{has_errors, Diagnostic, SourceDb};
use orrery_yaml::{Map, Node, Value};

pub use emit::to_yaml;
pub use include::included_paths;
pub use pack_config::pack_config;
pub use pack_orb::{
    pack_orb, pack_orb_with, PackOptions, ORB_DIRECTORIES, ORB_KEYS, ORB_ROOT_FILE,
};
pub use source_map::SourceMap;
pub use tree::{RefusedLink, SourceTree, TreeFile};
pub use unpack::{unpack_orb, unpack_orb_map, UnpackOptions, Unpacked};
pub use value::data_eq;

/// The result of packing.
#[derive(Debug)]
pub struct Packed {
    /// Every file that was read, for rendering the diagnostics.
    pub sources: SourceDb,
    /// The packed document (a map); `None` when any error was found.
    pub value: Option<Node>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Packed {
    fn finish(sources: SourceDb, value: Option<Map>, diagnostics: Vec<Diagnostic>) -> Packed {
        let value = value
            .filter(|_| !has_errors(&diagnostics))
            .map(|map| Node::new(Value::Map(map), Default::default()));
        Packed {
            sources,
            value,
            diagnostics,
        }
    }

    /// The packed document as YAML text (see [`to_yaml`]).
    pub fn to_yaml(&self) -> Option<String> {
        self.value.as_ref().map(to_yaml)
    }
}
