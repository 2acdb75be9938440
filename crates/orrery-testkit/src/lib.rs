//! Test support shared by the workspace's suites (a dev-dependency only):
//! [`annotations`] checks diagnostics against caret annotations written in fixture files,
//! [`corpus`] walks the shared reference corpus, [`edits`] makes seeded random edits of a text,
//! and [`outside`] finds the outside parts tests need (the shared data, tools, daemons) or
//! reports them missing.

pub mod annotations;
pub mod corpus;
pub mod edits;
pub mod outside;

pub use outside::{missing, shared};

use std::fs;
use std::path::{Path, PathBuf};

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
