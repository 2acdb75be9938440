//! Reading an orb given on the command line: a packed file, or a source directory packed on
//! the fly.

use std::path::Path;
use std::process::ExitCode;

use orrery_diagnostics::{has_errors, render_human, FileId, SourceDb};
use orrery_pack::{fs as pack_fs, pack_orb};

use crate::config_cmd::{report_usage, EXIT_CONFIG_ERROR};

/// Adds the orb at `path` to `db`. On failure the problem has been reported and the exit code
/// is returned.
pub fn load_orb(path: &Path, db: &mut SourceDb) -> Result<FileId, ExitCode> {
    if !path.is_dir() {
        return match std::fs::read_to_string(path) {
            Ok(text) => Ok(db.add(path.display().to_string(), text)),
            Err(e) => Err(report_usage(&format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        };
    }
    let tree = pack_fs::read_orb_dir(path)
        .map_err(|e| report_usage(&format!("cannot read the orb source: {e}")))?;
    let packed = pack_orb(&tree);
    if !packed.diagnostics.is_empty() {
        eprint!("{}", render_human(&packed.sources, &packed.diagnostics));
    }
    if has_errors(&packed.diagnostics) {
        return Err(ExitCode::from(EXIT_CONFIG_ERROR));
    }
    let text = packed.to_yaml().unwrap_or_default();
    Ok(db.add(format!("{} (packed)", path.display()), text))
}
