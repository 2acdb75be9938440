//! The shared corpus: real configs (`corpus/configs/*.yml`) and real orb sources
//! (`corpus/orbs/NAMESPACE/NAME/VERSION`).

use std::path::{Path, PathBuf};

use crate::subdirs;

/// Every corpus config, sorted; `None` (reported) without the shared data.
pub fn configs() -> Option<Vec<PathBuf>> {
    let dir = crate::shared()?.join("corpus/configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    Some(files)
}

/// `corpus/orbs` in the shared material (which may be missing: see [`crate::shared`]).
pub fn orbs_dir() -> PathBuf {
    crate::outside::shared_location().join("corpus/orbs")
}

/// Every stored `NAMESPACE/NAME/VERSION` directory (`VERSION` may be `HEAD`, a repository
/// checkout), sorted; `None` (reported) without the shared data.
pub fn orb_versions() -> Option<Vec<PathBuf>> {
    let orbs = crate::shared()?.join("corpus/orbs");
    let mut versions = Vec::new();
    for namespace in subdirs(&orbs) {
        for name in subdirs(&namespace) {
            versions.extend(subdirs(&name));
        }
    }
    Some(versions)
}

/// `NAMESPACE/NAME/VERSION` of a version directory, for messages.
pub fn label(version_dir: &Path) -> String {
    version_dir
        .strip_prefix(orbs_dir())
        .unwrap_or(version_dir)
        .display()
        .to_string()
}

/// What `orb pack` is given for a `VERSION` directory (or a copy of one): `VERSION/src`, or
/// `VERSION` itself for a single-file orb stored without one.
pub fn source_dir(version_dir: &Path) -> PathBuf {
    let src = version_dir.join("src");
    if src.is_dir() {
        src
    } else {
        version_dir.to_path_buf()
    }
}
