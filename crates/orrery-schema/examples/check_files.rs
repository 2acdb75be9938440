//! `check_files FILE...`: reads, parses and schema-checks each config, prints the number of
//! errors and warnings per file, and exits 1 if any file has an error. A stand-in for the
//! `orrery config validate` wiring, for timing whole invocations (start-up included) against
//! `node bench/ajv/validate.mjs` with hyperfine.

use std::process::ExitCode;

use orrery_diagnostics::{has_errors, SourceDb};
use orrery_yaml::Limits;

fn main() -> ExitCode {
    let mut failed = false;
    let mut db = SourceDb::new();
    for path in std::env::args().skip(1) {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
                continue;
            }
        };
        let file = db.add(&path, &text);
        let parsed = orrery_yaml::parse(file, &text, Limits::default());
        let findings = match &parsed.root {
            Some(root) if !has_errors(&parsed.diagnostics) => {
                orrery_schema::check_config(file, root)
            }
            _ => parsed.diagnostics,
        };
        let errors = findings.iter().filter(|d| d.is_error()).count();
        failed |= errors > 0;
        println!(
            "{path}\t{errors} errors\t{} warnings",
            findings.len() - errors
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
