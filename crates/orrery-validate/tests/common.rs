//! Helpers shared by the tests: run the validator over a text, describe a finding.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;

use orrery_diagnostics::{Diagnostic, SourceDb};
use orrery_validate::{validate, Input, Settings};
use orrery_yaml::Limits;

/// `/work/shared` seen from this crate (the worktree and the main checkout sit side by side).
pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

pub struct Run {
    pub db: SourceDb,
    /// Parse diagnostics (errors mean the rules did not run).
    pub parse: Vec<Diagnostic>,
    pub findings: Vec<Diagnostic>,
}

/// Parses `text` and runs every rule with default settings.
pub fn run(name: &str, text: &str) -> Run {
    run_with(name, text, &Settings::default())
}

pub fn run_with(name: &str, text: &str, settings: &Settings) -> Run {
    let mut db = SourceDb::new();
    let file = db.add(name, text);
    let parsed = orrery_yaml::parse(file, text, Limits::default());
    let findings = match &parsed.root {
        Some(root) if !orrery_diagnostics::has_errors(&parsed.diagnostics) => validate(
            &Input {
                file,
                text,
                root,
                compiled: None,
            },
            settings,
        ),
        _ => Vec::new(),
    };
    Run {
        db,
        parse: parsed.diagnostics,
        findings,
    }
}

/// `severity CODE "message" at file:line:col ("label")`.
pub fn describe(db: &SourceDb, d: &Diagnostic) -> String {
    let at = |span| {
        db.line_col(span).map_or_else(
            || "?".to_string(),
            |(f, lc)| format!("{}:{}:{}", f.name, lc.line, lc.column),
        )
    };
    let mut s = format!("{} {} {:?}", d.severity.as_str(), d.code, d.message);
    if let Some(p) = &d.primary {
        let _ = write!(s, " at {} ({:?})", at(p.span), p.message);
    }
    for l in &d.secondary {
        let _ = write!(s, "\n      secondary {} ({:?})", at(l.span), l.message);
    }
    s
}
