//! The in-memory source tree: what packing reads and unpacking writes.
//!
//! Paths are relative, with `/` separators, whatever the host system uses. The tree carries only
//! text; which files of it a packer walks is decided by the packer, not here.

/// One file of a [`SourceTree`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Relative path with `/` separators, e.g. `commands/greet.yml`.
    pub path: String,
    pub text: String,
}

/// A directory's files as text, keyed by relative path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceTree {
    /// Prefix for file names in diagnostics (e.g. `src` gives `src/commands/greet.yml`); may be
    /// empty.
    pub base: String,
    pub files: Vec<TreeFile>,
    /// Symbolic links the reader refused to follow; packing reports each (E0707).
    pub refused_links: Vec<RefusedLink>,
}

/// A symbolic link in a source directory that was not followed: one to a directory (never
/// followed), or one leading out of the root the reader was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedLink {
    /// The link's path in the tree.
    pub path: String,
    /// Where it points, as written in the link.
    pub target: String,
    /// It leads to a directory.
    pub directory: bool,
    /// It was named by an include directive rather than met walking the directories.
    pub included: bool,
}

impl SourceTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree whose diagnostics name files as `base/PATH`.
    pub fn with_base(base: impl Into<String>) -> Self {
        SourceTree {
            base: base.into(),
            ..SourceTree::default()
        }
    }

    /// Adds a file, replacing any file with the same path.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) {
        let (path, text) = (path.into(), text.into());
        match self.files.iter_mut().find(|f| f.path == path) {
            Some(file) => file.text = text,
            None => self.files.push(TreeFile { path, text }),
        }
    }

    /// The text of the file at `path` (exact relative path).
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.text.as_str())
    }

    /// The refused link at `path`, if the reader refused one there.
    pub fn refused_link(&self, path: &str) -> Option<&RefusedLink> {
        self.refused_links.iter().find(|l| l.path == path)
    }

    /// How `path` is named in diagnostics.
    pub fn display_name(&self, path: &str) -> String {
        if self.base.is_empty() {
            path.to_string()
        } else {
            format!("{}/{}", self.base.trim_end_matches('/'), path)
        }
    }
}

/// `path` made relative to the tree root with `.` and `..` resolved, or `None` when it is
/// absolute or climbs out of the root. The result may be empty (the root itself).
pub(crate) fn normalize_in_root(path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('\\') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// `path` inside the directory `dir` of a tree (`dir` empty: the tree root).
pub(crate) fn join_path(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    }
}

/// `path` relative to the directory `dir` of a tree, or `None` when it is not under `dir`.
pub(crate) fn strip_dir<'p>(path: &'p str, dir: &str) -> Option<&'p str> {
    if dir.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(dir)?.strip_prefix('/')
    }
}

/// `true` for `X.yml` / `X.yaml` with a non-empty `X` (the packers' notion of a YAML file).
pub(crate) fn is_yaml_name(name: &str) -> bool {
    yaml_stem(name).is_some_and(|stem| !stem.is_empty())
}

/// The file name without its `.yml` / `.yaml` extension.
pub(crate) fn yaml_stem(name: &str) -> Option<&str> {
    name.strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
}

/// Dot-files and dot-folders are never packed.
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_inside_the_root_only() {
        assert_eq!(
            normalize_in_root("scripts/./a.sh").as_deref(),
            Some("scripts/a.sh")
        );
        assert_eq!(
            normalize_in_root("scripts/../b.sh").as_deref(),
            Some("b.sh")
        );
        assert_eq!(normalize_in_root("../b.sh"), None);
        assert_eq!(normalize_in_root("a/../../b.sh"), None);
        assert_eq!(normalize_in_root("/etc/passwd"), None);
    }

    #[test]
    fn joins_and_strips_directories() {
        assert_eq!(join_path("", "a.yml"), "a.yml");
        assert_eq!(join_path("src", "a.yml"), "src/a.yml");
        assert_eq!(strip_dir("src/a.yml", "src"), Some("a.yml"));
        assert_eq!(strip_dir("src/a.yml", ""), Some("src/a.yml"));
        assert_eq!(strip_dir("srcx/a.yml", "src"), None);
        assert_eq!(strip_dir("scripts/a.sh", "src"), None);
    }

    #[test]
    fn yaml_names() {
        assert!(is_yaml_name("a.yml"));
        assert!(is_yaml_name("@orb.yaml"));
        assert!(!is_yaml_name(".yml"));
        assert!(!is_yaml_name("a.sh"));
        assert_eq!(yaml_stem("greet.yaml"), Some("greet"));
    }

    #[test]
    fn add_replaces() {
        let mut tree = SourceTree::with_base("src/");
        tree.add("a.yml", "x: 1");
        tree.add("a.yml", "x: 2");
        assert_eq!(tree.files.len(), 1);
        assert_eq!(tree.get("a.yml"), Some("x: 2"));
        assert_eq!(tree.display_name("a.yml"), "src/a.yml");
    }
}
