//! The validator's view of the project around a config: which files exist, and shellcheck.
//!
//! The project root is the directory holding `.circleci/` (the parent of the config's directory
//! when that is `.circleci`, else the config's own directory). In a git work tree the files are
//! those git tracks or would track (`git ls-files -co --exclude-standard`), so build output and
//! ignored files do not count as the project's; elsewhere the filesystem answers. The files
//! are listed only when a rule first asks (most configs checksum no file). shellcheck is the
//! invocation's shared [`Shellcheck`]; when it is not installed the host says so (`None`) and
//! the rule stays silent.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use orrery_validate::{Host, ShellFinding, ShellScript};

use crate::shellcheck::Shellcheck;

pub(crate) struct ProjectHost {
    /// The project root; `None` when the config is not in a `.circleci` directory, so where
    /// the project's files are is a guess the checksum rule must not act on.
    root: Option<PathBuf>,
    /// Files git knows (with every directory holding them), relative to `root` with `/`
    /// separators; `None` outside a git work tree. Listed on first use.
    git_files: OnceCell<Option<HashSet<String>>>,
    shellcheck: Arc<Shellcheck>,
}

impl ProjectHost {
    /// The host for the project that holds `config`, with the installed shellcheck.
    pub(crate) fn for_config(config: &Path) -> ProjectHost {
        let in_circleci = config
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == ".circleci");
        ProjectHost {
            root: in_circleci.then(|| project_root(config)),
            git_files: OnceCell::new(),
            shellcheck: Shellcheck::installed(),
        }
    }

    #[cfg(test)]
    pub(crate) fn new(root: PathBuf) -> ProjectHost {
        ProjectHost {
            root: Some(root),
            git_files: OnceCell::new(),
            shellcheck: Shellcheck::installed(),
        }
    }

    /// The same host with another shellcheck (an invocation's, or one turned off).
    pub(crate) fn with_shellcheck(mut self, shellcheck: Arc<Shellcheck>) -> ProjectHost {
        self.shellcheck = shellcheck;
        self
    }

    fn git_files(&self, root: &Path) -> Option<&HashSet<String>> {
        self.git_files.get_or_init(|| git_files(root)).as_ref()
    }
}

/// The directory holding `.circleci/` for a config inside it, else the config's directory.
pub(crate) fn project_root(config: &Path) -> PathBuf {
    let dir = match config.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dir.file_name().is_some_and(|n| n == ".circleci") {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    } else {
        dir
    }
}

fn git_files(root: &Path) -> Option<HashSet<String>> {
    let inside = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--is-inside-work-tree"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !inside.status.success() || inside.stdout.trim_ascii() != b"true" {
        return None;
    }
    let listed = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "-co", "--exclude-standard"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !listed.status.success() {
        return None;
    }
    let mut files = HashSet::new();
    for path in listed.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        // Every directory on the way counts as existing, so a lookup is one probe.
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if !files.insert(parent.to_string()) {
                break;
            }
            dir = parent;
        }
        files.insert(path);
    }
    Some(files)
}

/// `path` relative to the project, `/`-separated, without `./` and empty segments; `None` for
/// paths that leave the project or are absolute.
fn normalise(path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('~') {
        return None;
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

impl Host for ProjectHost {
    fn path_exists(&self, path: &str) -> Option<bool> {
        let root = self.root.as_ref()?;
        let path = normalise(path)?;
        if path.is_empty() {
            return Some(true);
        }
        match self.git_files(root) {
            Some(files) => Some(files.contains(&path)),
            None => Some(root.join(&path).exists()),
        }
    }

    fn shellcheck(&self, script: &str, shell: &str) -> Option<Vec<ShellFinding>> {
        orrery_validate::shellcheck_one(self, script, shell)
    }

    /// Answered by the invocation's [`Shellcheck`], which has usually linted these scripts
    /// already, with every other config's.
    fn shellcheck_all(&self, scripts: &[ShellScript<'_>]) -> Option<Vec<Vec<ShellFinding>>> {
        let scripts: Vec<(&str, &str)> = scripts.iter().map(|s| (s.text, s.shell)).collect();
        self.shellcheck.lint(&scripts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_directory_holding_circleci() {
        assert_eq!(
            project_root(Path::new("/p/.circleci/config.yml")),
            PathBuf::from("/p")
        );
        assert_eq!(
            project_root(Path::new(".circleci/config.yml")),
            PathBuf::from(".")
        );
        assert_eq!(project_root(Path::new("ci/main.yml")), PathBuf::from("ci"));
        assert_eq!(project_root(Path::new("config.yml")), PathBuf::from("."));
    }

    #[test]
    fn paths_are_answered_from_the_filesystem_outside_git() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        std::fs::write(dir.path().join("web/package.json"), "{}").unwrap();
        let host = ProjectHost::new(dir.path().to_path_buf());
        assert_eq!(host.path_exists("web/package.json"), Some(true));
        assert_eq!(host.path_exists("./web//package.json"), Some(true));
        assert_eq!(host.path_exists("web"), Some(true));
        assert_eq!(host.path_exists("yarn.lock"), Some(false));
        assert_eq!(host.path_exists("/etc/passwd"), None);
        assert_eq!(host.path_exists("../x"), None);
    }

    #[test]
    fn in_git_ignored_files_are_not_the_projects() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(root)
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "git {args:?} failed (is git installed?)");
        };
        git(&["init", "-q"]);
        std::fs::create_dir_all(root.join(".circleci")).unwrap();
        std::fs::write(root.join(".circleci/config.yml"), "version: 2.1\n").unwrap();
        std::fs::write(root.join(".gitignore"), "dist/\n").unwrap();
        std::fs::create_dir_all(root.join("dist")).unwrap();
        std::fs::write(root.join("dist/app.js"), "").unwrap();
        std::fs::write(root.join("go.sum"), "").unwrap();
        git(&["add", "go.sum"]);
        std::fs::write(root.join("untracked.lock"), "").unwrap();
        let host = ProjectHost::for_config(&root.join(".circleci/config.yml"));
        assert_eq!(host.path_exists("go.sum"), Some(true));
        assert_eq!(host.path_exists("untracked.lock"), Some(true));
        assert_eq!(host.path_exists(".circleci"), Some(true));
        assert_eq!(host.path_exists("dist/app.js"), Some(false));
        assert_eq!(host.path_exists("package-lock.json"), Some(false));
    }

    #[test]
    fn shellcheck_runs_when_installed_and_must_on_ci() {
        let host = ProjectHost::new(PathBuf::from("."));
        let found = host.shellcheck("cd build\necho $1\n", "/bin/bash -eo pipefail");
        let Some(found) = found else {
            orrery_testkit::missing(
                "shellcheck",
                "scripts/setup installs it: apt-get install shellcheck",
            );
            return;
        };
        let codes: Vec<(&str, u32, u32)> = found
            .iter()
            .map(|f| (f.code.as_str(), f.line, f.column))
            .collect();
        assert_eq!(codes, [("SC2164", 1, 1), ("SC2086", 2, 6)]);
        // `sh` is linted as sh: `[[` is not POSIX.
        let sh = host
            .shellcheck("[[ -n x ]] && echo y\n", "/bin/sh")
            .unwrap();
        assert!(sh.iter().any(|f| f.code == "SC3010"), "{sh:?}");
        // Many scripts in one call come back in order, each linted as its own shell.
        let scripts = [
            ShellScript {
                text: "echo ok\n",
                shell: "/bin/bash",
            },
            ShellScript {
                text: "[[ -n \"$HOME\" ]] && echo y\n",
                shell: "/bin/sh",
            },
            ShellScript {
                text: "[[ -n \"$HOME\" ]] && echo $2\n",
                shell: "/bin/bash -eo pipefail",
            },
        ];
        let all = host.shellcheck_all(&scripts).unwrap();
        let codes: Vec<Vec<&str>> = all
            .iter()
            .map(|found| found.iter().map(|f| f.code.as_str()).collect())
            .collect();
        assert_eq!(codes, [vec![], vec!["SC3010"], vec!["SC2086"]]);
    }
}
