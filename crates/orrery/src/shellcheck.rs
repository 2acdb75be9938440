//! shellcheck for the validator, made nearly free: the program is looked up once per process,
//! the scripts of every config of one invocation are linted together (one process per dialect
//! and core), and each script's findings are kept in the user cache, keyed by the script, its
//! dialect and the shellcheck build, so re-validating unchanged configs starts no process.
//!
//! The cache lives in `$XDG_CACHE_HOME/orrery/shellcheck/BUILD/` (else `~/.cache/orrery/…`),
//! one small JSON file per script named by its SHA-256. BUILD stands for shellcheck's version:
//! a hash of the resolved program's path, size and modification time, which change whenever
//! another version is installed, and which cost no process to learn.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use orrery_validate::ShellFinding;
use sha2::{Digest, Sha256};

/// A script's identity: SHA-256 of its dialect and text.
type Key = [u8; 32];

pub(crate) struct Shellcheck {
    /// The program, `None` when it is not installed or turned off.
    program: Option<PathBuf>,
    /// This build's cache directory, `None` without a user cache.
    cache: Option<PathBuf>,
    /// Findings known in this process, from the cache or a run.
    known: Mutex<HashMap<Key, Vec<ShellFinding>>>,
}

impl Shellcheck {
    /// The shellcheck on `PATH`, with its cache: looked up once per process and shared.
    pub(crate) fn installed() -> Arc<Shellcheck> {
        static INSTALLED: OnceLock<Arc<Shellcheck>> = OnceLock::new();
        Arc::clone(INSTALLED.get_or_init(|| {
            let program = find_program("shellcheck");
            let cache = program.as_deref().and_then(cache_dir);
            Arc::new(Shellcheck {
                program,
                cache,
                known: Mutex::new(HashMap::new()),
            })
        }))
    }

    /// No shell linter: the rule stays silent.
    pub(crate) fn off() -> Shellcheck {
        Shellcheck {
            program: None,
            cache: None,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Whether there is a shellcheck to run (or answer from its cache).
    pub(crate) fn available(&self) -> bool {
        self.program.is_some()
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<ShellFinding>>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lints every script (`(text, shell)`) not known yet, from the cache or in as few
    /// processes as the machine runs at once, and remembers the findings.
    pub(crate) fn prepare(&self, scripts: &[(&str, &str)]) {
        let Some(program) = &self.program else {
            return;
        };
        let mut missing: Vec<(Key, &str, &'static str)> = Vec::new();
        let mut queued = HashSet::new();
        {
            let mut known = self.known();
            for (text, shell) in scripts {
                let dialect = dialect_of(shell);
                let key = key(text, dialect);
                if known.contains_key(&key) || !queued.insert(key) {
                    continue;
                }
                match self.cached(&key) {
                    Some(findings) => {
                        known.insert(key, findings);
                    }
                    None => missing.push((key, text, dialect)),
                }
            }
        }
        if missing.is_empty() {
            return;
        }
        let Some(linted) = run_all(program, &missing) else {
            return;
        };
        let mut known = self.known();
        for ((key, ..), findings) in missing.iter().zip(linted) {
            self.store(key, &findings);
            known.insert(*key, findings);
        }
    }

    /// The findings of each script, linting those not known yet; `None` when shellcheck is
    /// not available or failed.
    pub(crate) fn lint(&self, scripts: &[(&str, &str)]) -> Option<Vec<Vec<ShellFinding>>> {
        self.program.as_ref()?;
        self.prepare(scripts);
        let known = self.known();
        scripts
            .iter()
            .map(|(text, shell)| known.get(&key(text, dialect_of(shell))).cloned())
            .collect()
    }

    fn entry_path(&self, key: &Key) -> Option<PathBuf> {
        let hex = hex(key);
        Some(self.cache.as_ref()?.join(&hex[..2]).join(&hex[2..]))
    }

    fn cached(&self, key: &Key) -> Option<Vec<ShellFinding>> {
        let text = std::fs::read_to_string(self.entry_path(key)?).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json.as_array()?.iter().map(finding_from_json).collect()
    }

    /// Writes an entry atomically (a temporary file renamed), so concurrent runs never read
    /// half an entry; a cache that cannot be written is only slower.
    fn store(&self, key: &Key, findings: &[ShellFinding]) {
        let Some(path) = self.entry_path(key) else {
            return;
        };
        let Some(dir) = path.parent() else { return };
        let json = serde_json::Value::Array(findings.iter().map(finding_to_json).collect());
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            let mut file = tempfile::NamedTempFile::new_in(dir)?;
            std::io::Write::write_all(&mut file, json.to_string().as_bytes())?;
            file.persist(&path).map_err(|e| e.error)?;
            Ok(())
        });
        drop(written);
    }
}

/// The first executable `name` on `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `$XDG_CACHE_HOME/orrery/shellcheck/BUILD`, else under `~/.cache`.
fn cache_dir(program: &Path) -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let resolved = std::fs::canonicalize(program).ok()?;
    let meta = std::fs::metadata(&resolved).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let mut build = Sha256::new();
    build.update(resolved.as_os_str().as_encoded_bytes());
    build.update(meta.len().to_le_bytes());
    build.update(modified.as_nanos().to_le_bytes());
    let build = hex(&build.finalize().into());
    Some(base.join("orrery/shellcheck").join(&build[..16]))
}

fn key(text: &str, dialect: &str) -> Key {
    let mut hash = Sha256::new();
    hash.update(dialect.as_bytes());
    hash.update([0]);
    hash.update(text.as_bytes());
    hash.finalize().into()
}

fn hex(bytes: &Key) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn dialect_of(shell: &str) -> &'static str {
    if shell.contains("bash") {
        "bash"
    } else {
        "sh"
    }
}

/// Lints scripts (`(key, text, dialect)`) with as many processes at once as the machine has
/// cores, each given its share of one dialect's scripts as files; the findings of each script
/// in order, `None` when shellcheck cannot run.
fn run_all(
    program: &Path,
    scripts: &[(Key, &str, &'static str)],
) -> Option<Vec<Vec<ShellFinding>>> {
    let dir = tempfile::tempdir().ok()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut batches: Vec<(&'static str, Vec<(usize, PathBuf)>)> = Vec::new();
    for dialect in ["sh", "bash"] {
        let of: Vec<usize> = (0..scripts.len())
            .filter(|&i| scripts[i].2 == dialect)
            .collect();
        if of.is_empty() {
            continue;
        }
        // A process costs tens of milliseconds to start: split only batches worth it.
        let shares = cores.min(of.len().div_ceil(8)).max(1);
        let mut split = vec![Vec::new(); shares];
        for (n, &i) in of.iter().enumerate() {
            let path = dir.path().join(format!("{i}.{dialect}"));
            std::fs::write(&path, scripts[i].1).ok()?;
            split[n % shares].push((i, path));
        }
        batches.extend(split.into_iter().map(|files| (dialect, files)));
    }
    let outputs: Vec<Option<String>> = std::thread::scope(|scope| {
        let running: Vec<_> = batches
            .iter()
            .map(|(dialect, files)| {
                scope.spawn(move || {
                    let output = Command::new(program)
                        .args(["--format=json1", &format!("--shell={dialect}")])
                        .args(files.iter().map(|(_, p)| p))
                        .stdin(Stdio::null())
                        .stderr(Stdio::null())
                        .output()
                        .ok()?;
                    // 0: clean, 1: findings; anything else is a failure of shellcheck itself.
                    matches!(output.status.code(), Some(0 | 1))
                        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
                })
            })
            .collect();
        running
            .into_iter()
            .map(|r| r.join().ok().flatten())
            .collect()
    });
    let mut findings = vec![Vec::new(); scripts.len()];
    let by_path: HashMap<&Path, usize> = batches
        .iter()
        .flat_map(|(_, files)| files.iter().map(|(i, p)| (p.as_path(), *i)))
        .collect();
    for output in outputs {
        for (file, finding) in parse_json1(&output?)? {
            if let Some(&i) = by_path.get(Path::new(&file)) {
                findings[i].push(finding);
            }
        }
    }
    Some(findings)
}

/// shellcheck's `json1` output, each finding with the file it is in (columns count a tab as
/// one character).
fn parse_json1(text: &str) -> Option<Vec<(String, ShellFinding)>> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    json["comments"]
        .as_array()?
        .iter()
        .map(|c| Some((c["file"].as_str()?.to_string(), finding_from_json(c)?)))
        .collect()
}

/// A finding as shellcheck's `json1` writes it (the cache uses the same shape).
fn finding_from_json(c: &serde_json::Value) -> Option<ShellFinding> {
    let number = |key: &str| {
        c[key]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    Some(ShellFinding {
        code: format!("SC{}", c["code"].as_u64()?),
        level: c["level"].as_str()?.to_string(),
        message: c["message"].as_str()?.to_string(),
        line: number("line"),
        column: number("column"),
        end_line: number("endLine"),
        end_column: number("endColumn"),
    })
}

fn finding_to_json(f: &ShellFinding) -> serde_json::Value {
    serde_json::json!({
        "code": f.code.strip_prefix("SC").and_then(|n| n.parse::<u64>().ok()),
        "level": f.level,
        "message": f.message,
        "line": f.line,
        "column": f.column,
        "endLine": f.end_line,
        "endColumn": f.end_column,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json1_output_becomes_findings() {
        let text = r#"{"comments":[{"file":"-","line":2,"endLine":2,"column":10,"endColumn":14,"level":"warning","code":2046,"message":"Quote this to prevent word splitting.","fix":null}]}"#;
        let expected = ShellFinding {
            code: "SC2046".into(),
            level: "warning".into(),
            message: "Quote this to prevent word splitting.".into(),
            line: 2,
            column: 10,
            end_line: 2,
            end_column: 14,
        };
        assert_eq!(
            parse_json1(text),
            Some(vec![("-".to_string(), expected.clone())])
        );
        assert_eq!(parse_json1("not json"), None);
        // The cache keeps a finding exactly.
        assert_eq!(
            finding_from_json(&finding_to_json(&expected)),
            Some(expected)
        );
    }

    fn codes(all: &[Vec<ShellFinding>]) -> Vec<Vec<(&str, u32, u32)>> {
        all.iter()
            .map(|found| {
                found
                    .iter()
                    .map(|f| (f.code.as_str(), f.line, f.column))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn lints_in_batches_and_answers_again_from_the_cache() {
        let program = find_program("shellcheck");
        if program.is_none() && std::env::var_os("CI").is_none() {
            println!("skipped: shellcheck is missing (on CI it must run)");
            return;
        }
        let program = program.expect("CI is set but shellcheck is missing: install it");
        let cache = tempfile::tempdir().unwrap();
        let fresh = || Shellcheck {
            program: Some(program.clone()),
            cache: Some(cache.path().to_path_buf()),
            known: Mutex::new(HashMap::new()),
        };
        // Enough scripts for several processes per dialect, each linted as its own shell.
        let mut scripts = vec![
            ("cd build\necho $1\n".to_string(), "/bin/bash -eo pipefail"),
            ("[[ -n x ]] && echo y\n".to_string(), "/bin/sh"),
            ("echo ok\n".to_string(), "/bin/bash"),
        ];
        for i in 0..20 {
            scripts.push((format!("echo $V{i}\n"), "/bin/bash"));
        }
        let refs: Vec<(&str, &str)> = scripts.iter().map(|(t, s)| (t.as_str(), *s)).collect();
        let cold = fresh().lint(&refs).unwrap();
        assert_eq!(
            codes(&cold)[..4],
            [
                vec![("SC2164", 1, 1), ("SC2086", 2, 6)],
                vec![("SC3010", 1, 1), ("SC2157", 1, 7)],
                vec![],
                vec![("SC2086", 1, 6)],
            ]
        );
        // A new process with the program gone answers the same from the cache alone.
        let warm = Shellcheck {
            program: Some(PathBuf::from("/nonexistent/shellcheck")),
            ..fresh()
        };
        assert_eq!(warm.lint(&refs).unwrap(), cold);
        // Off: nothing to say.
        assert_eq!(Shellcheck::off().lint(&refs), None);
    }
}
