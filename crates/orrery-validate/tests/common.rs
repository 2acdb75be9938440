//! Helpers shared by the tests: run the validator over a text.
#![allow(dead_code)]

use orrery_diagnostics::{Diagnostic, SourceDb};
use orrery_validate::{validate, Input, Settings};
use orrery_yaml::Limits;

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
                host: &orrery_validate::NoHost,
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
