//! Outside parts a test needs (the shared reference data, a tool, a daemon). A test runs them for
//! real; when one is missing it calls [`missing`], which fails the test when `CI` is set and
//! otherwise reports the skip where `scripts/test` counts it.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The variable naming the shared reference data.
pub const SHARED_VARIABLE: &str = "ORRERY_SHARED";

/// Reports that `what` is missing: with `CI` set this panics (a missing part fails CI);
/// otherwise it writes `skipped: WHAT is missing (HOW) [TEST]` straight to stderr, past the
/// harness's capture, so the line shows in the run's output and `scripts/test` counts it.
/// The caller then returns without checking anything.
pub fn missing(what: &str, how: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is missing, and CI is set so this fails: {how}");
    }
    let test = std::thread::current().name().unwrap_or("main").to_string();
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| {
            s.rsplit_once('-')
                .map_or(s.clone(), |(name, _hash)| name.to_string())
        })
        .unwrap_or_default();
    // One write, so that the line stays whole among the harness's own output.
    let line = format!("skipped: {what} is missing ({how}) [{binary} {test}]\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// Where the shared reference data is looked for: `ORRERY_SHARED` (absolute, or relative to the
/// repository root), by default `../shared` beside the repository.
pub fn shared_location() -> PathBuf {
    let root = repo_root();
    let location = match std::env::var_os(SHARED_VARIABLE) {
        Some(value) if !value.is_empty() => root.join(value),
        _ => root.join("../shared"),
    };
    // `ROOT/../shared` said as the directory it is, for messages.
    let mut clean = PathBuf::new();
    for part in location.components() {
        match part {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::CurDir => {}
            other => clean.push(other),
        }
    }
    clean
}

/// The shared reference data, or `None` after [`missing`] when it is not there (its corpus
/// manifest is the mark of a complete copy).
pub fn shared() -> Option<PathBuf> {
    let location = shared_location();
    if location.join("corpus/MANIFEST.tsv").is_file() {
        return Some(location);
    }
    missing(
        &format!("the shared reference data (looked at {})", location.display()),
        &format!("set {SHARED_VARIABLE} to its directory; the default is ../shared beside the repository"),
    );
    None
}

/// Whether `program` is on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let candidate = dir.join(program);
            candidate.is_file()
                && std::fs::metadata(&candidate).is_ok_and(|m| {
                    std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
                })
        })
    })
}

/// `Some(())` when `program` is on `PATH`, else `None` after [`missing`] with `how` to get it.
pub fn require_program(program: &str, how: &str) -> Option<()> {
    if on_path(program) {
        Some(())
    } else {
        missing(program, how);
        None
    }
}
