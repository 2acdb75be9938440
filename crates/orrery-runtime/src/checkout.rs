//! The project source a `checkout` step copies in: by default the work tree as git sees it
//! (tracked and untracked files that are not ignored, uncommitted changes included) plus `.git`;
//! with [`CheckoutMode::Head`] exactly the committed `HEAD` plus `.git`. Built once per run as
//! tar files the steps unpack.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::archive;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckoutMode {
    WorkTree,
    Head,
}

/// The runner's own directory inside a project, never copied.
pub const RUNNER_DIR: &str = ".orrery";

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

fn is_git_root(root: &Path) -> bool {
    git(root, &["rev-parse", "--show-toplevel"])
        .ok()
        .and_then(|o| String::from_utf8(o).ok())
        .is_some_and(|top| fs::canonicalize(top.trim()).ok() == fs::canonicalize(root).ok())
}

/// Writes the tar files a checkout unpacks, in order, into `dir`.
pub fn prepare(root: &Path, mode: CheckoutMode, dir: &Path) -> Result<Vec<PathBuf>, String> {
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut tars = Vec::new();
    let create = |name: &str| -> Result<(PathBuf, fs::File), String> {
        let p = dir.join(name);
        let f = fs::File::create(&p).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        Ok((p, f))
    };
    if !is_git_root(root) {
        // Not a repository: the directory as it is.
        let mut paths: Vec<PathBuf> = fs::read_dir(root)
            .map_err(|e| format!("cannot read {}: {e}", root.display()))?
            .flatten()
            .map(|e| PathBuf::from(e.file_name()))
            .filter(|p| p != Path::new(RUNNER_DIR))
            .collect();
        paths.sort();
        let (p, mut f) = create("source.tar")?;
        archive::pack(root, &paths, &mut f)
            .map_err(|e| format!("cannot archive the project: {e}"))?;
        return Ok(vec![p]);
    }
    match mode {
        CheckoutMode::WorkTree => {
            let listed = git(
                root,
                &[
                    "ls-files",
                    "-z",
                    "--cached",
                    "--others",
                    "--exclude-standard",
                ],
            )?;
            let mut paths: Vec<PathBuf> = listed
                .split(|&b| b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
                .filter(|p| !p.starts_with(RUNNER_DIR))
                // Deleted but still tracked files are gone from the work tree.
                .filter(|p| fs::symlink_metadata(root.join(p)).is_ok_and(|m| !m.is_dir()))
                .collect();
            paths.sort();
            paths.dedup();
            let (p, mut f) = create("source.tar")?;
            archive::pack(root, &paths, &mut f)
                .map_err(|e| format!("cannot archive the project: {e}"))?;
            tars.push(p);
        }
        CheckoutMode::Head => {
            let bytes = git(root, &["archive", "--format=tar", "HEAD"])?;
            let p = dir.join("source.tar");
            fs::write(&p, bytes).map_err(|e| e.to_string())?;
            tars.push(p);
        }
    }
    // `.git` as a directory only: a linked worktree's `.git` file points back into the original
    // repository, and a copy must never write there.
    if root.join(".git").is_dir() {
        let (p, mut f) = create("git.tar")?;
        archive::pack(root, &[PathBuf::from(".git")], &mut f)
            .map_err(|e| format!("cannot archive .git: {e}"))?;
        tars.push(p);
    }
    Ok(tars)
}
