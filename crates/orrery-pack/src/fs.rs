//! The only I/O of this crate: reading a source directory into a [`SourceTree`] and writing an
//! unpacked tree out.
//!
//! Reading takes only what packing needs: the YAML files the packer walks (dot-files and
//! dot-folders skipped) and, for an orb, every file an include directive names inside the
//! include root (the orb root unless [`read_orb_dir_within`] is given another). Whether those
//! files exist is for the packer to report, with a place. Symbolic links are never followed to
//! a directory nor out of the root; each such link is recorded in the tree for the packer to
//! refuse (E0707), and nothing behind it is read.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::include::included_paths;
use crate::pack_orb::{PackOptions, ORB_DIRECTORIES};
use crate::tree::{is_hidden, is_yaml_name, join_path, normalize_in_root, RefusedLink, SourceTree};

/// A file or directory that could not be read or written.
#[derive(Debug)]
pub struct FsError {
    pub path: PathBuf,
    pub error: io::Error,
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for FsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> FsError + '_ {
    move |error| FsError {
        path: path.to_path_buf(),
        error,
    }
}

/// Reads an orb source directory (the one holding `@orb.yml`) for [`crate::pack_orb`]; includes
/// may only name files inside it.
pub fn read_orb_dir(dir: &Path) -> Result<SourceTree, FsError> {
    let mut tree = SourceTree::with_base(dir.display().to_string());
    let walk = Walk {
        root: dir,
        real_root: &dir.canonicalize().map_err(at(dir))?,
        prefix: "",
        allowed: Some(&ORB_DIRECTORIES),
    };
    walk.read(dir, &mut tree)?;
    read_included_files(dir, &PackOptions::default(), &mut tree)?;
    Ok(tree)
}

/// Reads the orb source directory `dir` for [`crate::pack_orb_with`], with includes allowed to
/// name any file under `include_root`, which must be `dir` or a directory above it. The tree is
/// rooted at `include_root` (its files are named `include_root/...` in diagnostics); the
/// options give `dir`'s place in it. As with [`read_orb_dir`], nothing outside the include root
/// is read, through `..` or a symlink.
pub fn read_orb_dir_within(
    dir: &Path,
    include_root: &Path,
) -> Result<(SourceTree, PackOptions), FsError> {
    let real_dir = dir.canonicalize().map_err(at(dir))?;
    let real_root = include_root.canonicalize().map_err(at(include_root))?;
    let Ok(inside) = real_dir.strip_prefix(&real_root) else {
        return Err(FsError {
            path: include_root.to_path_buf(),
            error: io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the include root must be the orb directory {} or a directory above it",
                    dir.display()
                ),
            ),
        });
    };
    let options = PackOptions::with_orb_dir(slashed(inside));
    let mut tree = SourceTree::with_base(include_root.display().to_string());
    let walk = Walk {
        root: dir,
        real_root: &real_root,
        prefix: &options.orb_dir,
        allowed: Some(&ORB_DIRECTORIES),
    };
    walk.read(dir, &mut tree)?;
    read_included_files(include_root, &options, &mut tree)?;
    Ok((tree, options))
}

/// Reads a config source directory for [`crate::pack_config`].
pub fn read_config_dir(dir: &Path) -> Result<SourceTree, FsError> {
    let mut tree = SourceTree::with_base(dir.display().to_string());
    let walk = Walk {
        root: dir,
        real_root: &dir.canonicalize().map_err(at(dir))?,
        prefix: "",
        allowed: None,
    };
    walk.read(dir, &mut tree)?;
    Ok(tree)
}

/// Writes every file of `tree` under `dir`, creating directories as needed. Paths that would
/// leave `dir` are refused.
pub fn write_tree(dir: &Path, tree: &SourceTree) -> Result<(), FsError> {
    for file in &tree.files {
        let target = dir.join(&file.path);
        let inside = normalize_in_root(&file.path).is_some_and(|p| !p.is_empty());
        if !inside {
            return Err(FsError {
                path: target,
                error: io::Error::new(io::ErrorKind::InvalidInput, "path leaves the directory"),
            });
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(at(parent))?;
        }
        fs::write(&target, &file.text).map_err(at(&target))?;
    }
    Ok(())
}

/// The walk over a source directory for its YAML files.
struct Walk<'a> {
    /// The directory walked; tree paths are relative to it, after `prefix`.
    root: &'a Path,
    /// The canonical directory no file may be read from outside of (the root, or the include
    /// root above it).
    real_root: &'a Path,
    prefix: &'a str,
    /// The only directories descended into, when given.
    allowed: Option<&'a [&'a str]>,
}

impl Walk<'_> {
    /// Adds the YAML files under `dir`. A symbolic link is never followed to a directory (which
    /// also keeps link loops out) nor out of the real root: such links are recorded in the
    /// tree as refused, unread.
    fn read(&self, dir: &Path, tree: &mut SourceTree) -> Result<(), FsError> {
        let mut entries: Vec<(String, PathBuf, fs::FileType)> = fs::read_dir(dir)
            .map_err(at(dir))?
            .map(|entry| {
                let entry = entry.map_err(at(dir))?;
                let file_type = entry.file_type().map_err(at(&entry.path()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                Ok((name, entry.path(), file_type))
            })
            .collect::<Result<_, FsError>>()?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, path, file_type) in entries {
            if is_hidden(&name) {
                continue;
            }
            let descended = self
                .allowed
                .is_none_or(|allowed| allowed.contains(&name.as_str()));
            if file_type.is_symlink() {
                self.read_link(&name, &path, descended, tree)?;
            } else if file_type.is_dir() {
                if descended {
                    self.read(&path, tree)?;
                }
            } else if is_yaml_name(&name) && file_type.is_file() {
                tree.add(self.tree_path(&path), read_text(&path)?);
            }
        }
        Ok(())
    }

    /// A link the walk meets: a YAML file inside the real root is read; one to a directory the
    /// walk would enter, or to a file outside, is refused. Links to anything else (dangling,
    /// devices, pipes) are skipped like such files are.
    fn read_link(
        &self,
        name: &str,
        path: &Path,
        descended: bool,
        tree: &mut SourceTree,
    ) -> Result<(), FsError> {
        let Ok(target) = fs::metadata(path) else {
            return Ok(());
        };
        let refuse = |tree: &mut SourceTree, directory: bool| {
            tree.refused_links.push(RefusedLink {
                path: self.tree_path(path),
                target: link_target(path),
                directory,
                included: false,
            });
        };
        if target.is_dir() {
            if descended || is_yaml_name(name) {
                refuse(tree, true);
            }
        } else if target.is_file() && is_yaml_name(name) {
            let inside = path
                .canonicalize()
                .is_ok_and(|real| real.starts_with(self.real_root));
            if inside {
                tree.add(self.tree_path(path), read_text(path)?);
            } else {
                refuse(tree, false);
            }
        }
        Ok(())
    }

    fn tree_path(&self, path: &Path) -> String {
        join_path(self.prefix, &relative(self.root, path))
    }
}

/// Where the link at `path` points, as written.
fn link_target(path: &Path) -> String {
    fs::read_link(path)
        .map(|t| t.display().to_string())
        .unwrap_or_default()
}

/// Adds the files that include directives name, when they are regular files inside `root`, the
/// include root (the tree's root).
fn read_included_files(
    root: &Path,
    options: &PackOptions,
    tree: &mut SourceTree,
) -> Result<(), FsError> {
    let wanted: Vec<String> = tree
        .files
        .iter()
        .flat_map(|f| included_paths(&f.text))
        .filter_map(|p| options.resolve_include(p))
        .filter(|p| !p.is_empty())
        .collect();
    let real_root = root.canonicalize().map_err(at(root))?;
    for path in wanted {
        if tree.get(&path).is_some() {
            continue;
        }
        let full = root.join(&path);
        // A symlink may not lead out of the include root either.
        match full.canonicalize() {
            Ok(real) if real.starts_with(&real_root) => {
                if real.is_file() {
                    tree.add(path, read_text(&full)?);
                }
            }
            Ok(real) => tree.refused_links.push(RefusedLink {
                path,
                target: real.display().to_string(),
                directory: real.is_dir(),
                included: true,
            }),
            Err(_) => {}
        }
    }
    Ok(())
}

fn read_text(path: &Path) -> Result<String, FsError> {
    let bytes = fs::read(path).map_err(at(path))?;
    String::from_utf8(bytes).map_err(|_| FsError {
        path: path.to_path_buf(),
        error: io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// `path` relative to `root` with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    slashed(path.strip_prefix(root).unwrap_or(path))
}

/// A relative path with `/` separators.
fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
