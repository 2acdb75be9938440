//! Test support shared by the workspace's suites (a dev-dependency only):
//! [`annotations`] checks diagnostics against caret annotations written in fixture files, and
//! [`corpus`] walks the shared reference corpus.

pub mod annotations;
pub mod corpus;

use std::fs;
use std::path::{Path, PathBuf};

/// The shared reference material, `../shared` beside the workspace.
pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The directories directly in `dir`, sorted. Panics with the path when it cannot be read: test
/// input must be there.
pub fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}
