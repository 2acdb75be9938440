//! The validator's view of the project around a config: which files exist, and shellcheck.
//!
//! The project root is the directory holding `.circleci/` (the parent of the config's directory
//! when that is `.circleci`, else the config's own directory). In a git work tree the files are
//! those git tracks or would track (`git ls-files -co --exclude-standard`), so build output and
//! ignored files do not count as the project's; elsewhere the filesystem answers. shellcheck is
//! run as `shellcheck --format=json1 --shell=<sh|bash> -` with the script on stdin; when it is
//! not installed the host says so (`None`) and the rule stays silent.

use std::cell::Cell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use orrery_validate::{Host, ShellFinding, ShellScript};

pub(crate) struct ProjectHost {
    /// The project root; `None` when the config is not in a `.circleci` directory, so where
    /// the project's files are is a guess the checksum rule must not act on.
    root: Option<PathBuf>,
    /// Files git knows, relative to `root` with `/` separators; `None` outside a git work tree.
    git_files: Option<HashSet<String>>,
    /// Cleared when shellcheck turns out not to be installed, so it is not looked for again.
    shellcheck_available: Cell<bool>,
}

impl ProjectHost {
    /// The host for the project that holds `config`.
    pub(crate) fn for_config(config: &Path) -> ProjectHost {
        let in_circleci = config
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == ".circleci");
        if in_circleci {
            ProjectHost::new(project_root(config))
        } else {
            ProjectHost {
                root: None,
                git_files: None,
                shellcheck_available: Cell::new(true),
            }
        }
    }

    pub(crate) fn new(root: PathBuf) -> ProjectHost {
        let git_files = git_files(&root);
        ProjectHost {
            root: Some(root),
            git_files,
            shellcheck_available: Cell::new(true),
        }
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
    Some(
        listed
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
    )
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
        match &self.git_files {
            Some(files) => {
                let dir = format!("{path}/");
                Some(files.contains(&path) || files.iter().any(|f| f.starts_with(&dir)))
            }
            None => Some(root.join(&path).exists()),
        }
    }

    fn shellcheck(&self, script: &str, shell: &str) -> Option<Vec<ShellFinding>> {
        let mut all = self.shellcheck_all(&[ShellScript {
            text: script,
            shell,
        }])?;
        all.pop()
    }

    /// One shellcheck process per dialect for all of a config's scripts, each written to its
    /// own file in a temporary directory (shellcheck reports findings per file).
    fn shellcheck_all(&self, scripts: &[ShellScript<'_>]) -> Option<Vec<Vec<ShellFinding>>> {
        if !self.shellcheck_available.get() || scripts.is_empty() {
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        let mut findings = vec![Vec::new(); scripts.len()];
        for dialect in ["sh", "bash"] {
            let mut files = Vec::new();
            for (i, script) in scripts.iter().enumerate() {
                if dialect_of(script.shell) != dialect {
                    continue;
                }
                let path = dir.path().join(format!("{i}.{dialect}"));
                std::fs::write(&path, script.text).ok()?;
                files.push((i, path));
            }
            if files.is_empty() {
                continue;
            }
            let output = Command::new("shellcheck")
                .args(["--format=json1", &format!("--shell={dialect}")])
                .args(files.iter().map(|(_, p)| p))
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output();
            let output = match output {
                Ok(o) => o,
                Err(_) => {
                    self.shellcheck_available.set(false);
                    return None;
                }
            };
            // 0: clean, 1: findings; anything else is a failure of shellcheck itself.
            if !matches!(output.status.code(), Some(0 | 1)) {
                return None;
            }
            for (file, finding) in parse_json1(&String::from_utf8_lossy(&output.stdout))? {
                let index = files
                    .iter()
                    .find(|(_, p)| p.to_str() == Some(file.as_str()));
                if let Some((i, _)) = index {
                    findings[*i].push(finding);
                }
            }
        }
        Some(findings)
    }
}

fn dialect_of(shell: &str) -> &'static str {
    if shell.contains("bash") {
        "bash"
    } else {
        "sh"
    }
}

/// shellcheck's `json1` output, each finding with the file it is in (columns count a tab as
/// one character).
fn parse_json1(text: &str) -> Option<Vec<(String, ShellFinding)>> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let number = |c: &serde_json::Value, key: &str| {
        c[key]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    json["comments"]
        .as_array()?
        .iter()
        .map(|c| {
            let finding = ShellFinding {
                code: format!("SC{}", c["code"].as_u64()?),
                level: c["level"].as_str()?.to_string(),
                message: c["message"].as_str()?.to_string(),
                line: number(c, "line"),
                column: number(c, "column"),
                end_line: number(c, "endLine"),
                end_column: number(c, "endColumn"),
            };
            Some((c["file"].as_str()?.to_string(), finding))
        })
        .collect()
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
        assert!(host.git_files.is_none());
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
        assert!(host.git_files.is_some());
        assert_eq!(host.path_exists("go.sum"), Some(true));
        assert_eq!(host.path_exists("untracked.lock"), Some(true));
        assert_eq!(host.path_exists(".circleci"), Some(true));
        assert_eq!(host.path_exists("dist/app.js"), Some(false));
        assert_eq!(host.path_exists("package-lock.json"), Some(false));
    }

    #[test]
    fn json1_output_becomes_findings() {
        let text = r#"{"comments":[{"file":"-","line":2,"endLine":2,"column":10,"endColumn":14,"level":"warning","code":2046,"message":"Quote this to prevent word splitting.","fix":null}]}"#;
        assert_eq!(
            parse_json1(text),
            Some(vec![(
                "-".to_string(),
                ShellFinding {
                    code: "SC2046".into(),
                    level: "warning".into(),
                    message: "Quote this to prevent word splitting.".into(),
                    line: 2,
                    column: 10,
                    end_line: 2,
                    end_column: 14,
                }
            )])
        );
        assert_eq!(parse_json1("not json"), None);
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
