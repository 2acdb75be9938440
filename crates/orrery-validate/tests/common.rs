//! Helpers shared by the tests: compile and validate a text, with a host of the test's choice.
#![allow(dead_code)]

use std::collections::BTreeSet;

use orrery_compiler::{compile, CompileOptions, NoOrbs};
use orrery_diagnostics::{Diagnostic, SourceDb};
use orrery_validate::{validate, Host, Input, NoHost, Settings, ShellFinding};
use orrery_yaml::Limits;

pub struct Run {
    pub db: SourceDb,
    /// Parse diagnostics (errors mean the rules did not run).
    pub parse: Vec<Diagnostic>,
    /// Whether the compiler gave a config (registry orbs are not at hand here, so configs that
    /// import them are validated from the source alone).
    pub compiled: bool,
    pub findings: Vec<Diagnostic>,
}

/// Parses, compiles and validates `text` with default settings and [`FakeHost::project`].
pub fn run(name: &str, text: &str) -> Run {
    run_with(name, text, &Settings::default(), &FakeHost::project())
}

pub fn run_with(name: &str, text: &str, settings: &Settings, host: &dyn Host) -> Run {
    let mut db = SourceDb::new();
    let file = db.add(name, text);
    let parsed = orrery_yaml::parse(file, text, Limits::default());
    let compiled = compile(&mut db, file, &CompileOptions::default(), &NoOrbs);
    let findings = match &parsed.root {
        Some(root) if !orrery_diagnostics::has_errors(&parsed.diagnostics) => validate(
            &Input {
                file,
                text,
                root,
                anchors: &parsed.anchors,
                compiled: Some(&compiled),
                host,
            },
            settings,
        ),
        _ => Vec::new(),
    };
    Run {
        db,
        parse: parsed.diagnostics,
        compiled: compiled.config.is_some(),
        findings,
    }
}

/// A host over data: the project's files, and shellcheck findings keyed by a fragment of the
/// script they are for. An empty `files` list means "unknown" (like [`NoHost`]).
#[derive(Default)]
pub struct FakeHost {
    pub files: BTreeSet<String>,
    /// `(fragment, findings)`: a script containing `fragment` gets `findings`.
    pub shell: Vec<(String, Vec<ShellFinding>)>,
    /// Without canned findings, ask the real shellcheck ([`RealShellcheck`]).
    pub real_shellcheck: bool,
}

/// Whether tests must run the real shellcheck: it is installed, or this is CI (where a missing
/// shellcheck must fail the tests that need it, not skip them).
pub fn shellcheck_required() -> bool {
    RealShellcheck::installed() || std::env::var_os("CI").is_some()
}

/// Whether the real shellcheck is installed; when not, reported as missing (a failure under CI).
pub fn shellcheck_or_skip() -> bool {
    if RealShellcheck::installed() {
        return true;
    }
    orrery_testkit::missing(
        "shellcheck",
        "scripts/setup installs it: apt-get install shellcheck",
    );
    false
}

impl FakeHost {
    /// The files the doc examples and fixtures may name: a small Node and Go project.
    pub fn project() -> FakeHost {
        FakeHost {
            files: [
                "package.json",
                "package-lock.json",
                "go.mod",
                "go.sum",
                "web/yarn.lock",
                "Gemfile.lock",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            shell: Vec::new(),
            real_shellcheck: shellcheck_required(),
        }
    }
}

impl Host for FakeHost {
    fn path_exists(&self, path: &str) -> Option<bool> {
        if self.files.is_empty() {
            return NoHost.path_exists(path);
        }
        Some(
            self.files
                .iter()
                .any(|f| f == path || f.starts_with(&format!("{path}/"))),
        )
    }

    fn shellcheck(&self, script: &str, shell: &str) -> Option<Vec<ShellFinding>> {
        if self.shell.is_empty() {
            return self
                .real_shellcheck
                .then(|| RealShellcheck.shellcheck(script, shell))
                .flatten();
        }
        Some(
            self.shell
                .iter()
                .filter(|(fragment, _)| script.contains(fragment.as_str()))
                .flat_map(|(_, f)| f.clone())
                .collect(),
        )
    }
}

/// The real shellcheck, run the way the CLI's host runs it. `None` when it is not installed.
pub struct RealShellcheck;

impl RealShellcheck {
    pub fn installed() -> bool {
        std::process::Command::new("shellcheck")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Host for RealShellcheck {
    fn shellcheck(&self, script: &str, shell: &str) -> Option<Vec<ShellFinding>> {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let dialect = if shell.contains("bash") { "bash" } else { "sh" };
        let mut child = Command::new("shellcheck")
            .args(["--format=json1", &format!("--shell={dialect}"), "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(script.as_bytes()).ok()?;
        let out = child.wait_with_output().ok()?;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let number = |c: &serde_json::Value, k: &str| c[k].as_u64().unwrap_or(0) as u32;
        Some(
            json["comments"]
                .as_array()?
                .iter()
                .map(|c| ShellFinding {
                    code: format!("SC{}", c["code"]),
                    level: c["level"].as_str().unwrap_or("").to_string(),
                    message: c["message"].as_str().unwrap_or("").to_string(),
                    line: number(c, "line"),
                    column: number(c, "column"),
                    end_line: number(c, "endLine"),
                    end_column: number(c, "endColumn"),
                })
                .collect(),
        )
    }
}
