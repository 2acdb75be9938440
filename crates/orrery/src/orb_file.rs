//! Reading an orb given on the command line: a packed file, or a source directory packed on
//! the fly.

use std::path::Path;
use std::process::ExitCode;

use orrery_diagnostics::{has_errors, render_human, FileId, SourceDb};
use orrery_pack::{fs as pack_fs, pack_orb_with, PackOptions, Packed};

use crate::config_cmd::{report_usage, EXIT_CONFIG_ERROR};

/// Reads the orb source `dir` and packs it, within `include_root` when one is given.
pub fn pack_orb_source(dir: &Path, include_root: Option<&Path>) -> Result<Packed, String> {
    let read = match include_root {
        None => pack_fs::read_orb_dir(dir).map(|tree| (tree, PackOptions::default())),
        Some(root) => pack_fs::read_orb_dir_within(dir, root),
    };
    match read {
        Ok((tree, options)) => Ok(pack_orb_with(&tree, &options)),
        Err(e) => Err(format!("cannot read the orb source: {e}")),
    }
}

/// Adds the orb at `path` to `db`: a packed file as it is, a source directory packed (within
/// `include_root` when given). On failure the problem has been reported and the exit code is
/// returned.
pub fn load_orb(
    path: &Path,
    include_root: Option<&Path>,
    db: &mut SourceDb,
) -> Result<FileId, ExitCode> {
    if !path.is_dir() {
        if include_root.is_some() {
            return Err(report_usage(
                "--include-root applies to an orb source directory, not a packed file",
            ));
        }
        return match std::fs::read_to_string(path) {
            Ok(text) => Ok(db.add(path.display().to_string(), text)),
            Err(e) => Err(report_usage(&format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        };
    }
    let packed = pack_orb_source(path, include_root).map_err(|m| report_usage(&m))?;
    if !packed.diagnostics.is_empty() {
        eprint!("{}", render_human(&packed.sources, &packed.diagnostics));
    }
    if has_errors(&packed.diagnostics) {
        return Err(ExitCode::from(EXIT_CONFIG_ERROR));
    }
    let text = packed.to_yaml().unwrap_or_default();
    Ok(db.add(format!("{} (packed)", path.display()), text))
}
