//! Data-driven fixtures for the compiler.
//!
//! `fixtures/compile/NAME.yml` is compiled and must produce `NAME.out.yml` exactly: the
//! `# Orb … resolved to …` header lines, then `orrery_emit::emit_yaml` of the config. Optional
//! side files: `NAME.orbs/NAMESPACE/NAME/VERSION.yml` (a registry), `NAME.params.yml`
//! (trigger pipeline parameters, a map) and `NAME.pipeline.yml` (pipeline values such as
//! `pipeline.git.branch: main`). Set `UPDATE_EXPECT=1` to rewrite the `.out.yml` files.
//!
//! `fixtures/errors/NAME.yml` (and its orb files) carry caret annotations in comment lines:
//!
//! ```text
//!       - greet: { too: x }
//! #              ^^^ E0203 Unexpected argument(s): too
//! ```
//!
//! asserts a diagnostic with that code whose primary span starts at the caret's column on the
//! nearest non-annotation line above and whose message contains the text. `~~~` instead of
//! `^^^` asserts a secondary label there whose label text contains the text. Every error must be
//! annotated; unannotated warnings are allowed. Orb files and `NAME.params.yml` may carry
//! annotations too.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use orrery_compiler::{
    check_orb, compile, CompileOptions, FetchedOrb, OrbFetchError, OrbRef, OrbSource,
};
use orrery_diagnostics::{Diagnostic, SourceDb};
use orrery_testkit::annotations::{self, describe};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".yml") && name.split('.').count() == 2
        })
        .collect();
    files.sort();
    files
}

/// A registry directory `NAMESPACE/NAME/VERSION.yml`: exact, partial (`1`, `1.2`) and
/// `volatile` (highest) versions.
struct DirOrbs(PathBuf);

fn semver(v: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = v.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| p.len() == 3)
}

impl OrbSource for DirOrbs {
    fn fetch(&self, r: &OrbRef) -> Result<FetchedOrb, OrbFetchError> {
        let dir = self.0.join(&r.namespace).join(&r.name);
        let published: Vec<String> = fs::read_dir(&dir)
            .map_err(|_| format!("no orb {}/{} in the test registry", r.namespace, r.name))?
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".yml")
                    .map(str::to_string)
            })
            .collect();
        let prefix: Vec<u64> = if r.version == "volatile" {
            Vec::new()
        } else {
            r.version
                .split('.')
                .map(|p| p.parse().map_err(|_| format!("bad version {}", r.version)))
                .collect::<Result<_, _>>()?
        };
        let best = published
            .iter()
            .filter_map(|v| semver(v).map(|s| (s, v)))
            .filter(|(s, _)| s.iter().zip(&prefix).all(|(a, b)| a == b))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("no version matching `{}`", r.version))?;
        let path = dir.join(format!("{best}.yml"));
        Ok(FetchedOrb {
            version: best,
            origin: path.display().to_string(),
            text: fs::read_to_string(&path).map_err(|e| e.to_string())?,
        })
    }
}

fn side(input: &Path, suffix: &str) -> PathBuf {
    let stem = input.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    input.with_file_name(format!("{stem}.{suffix}"))
}

struct Run {
    db: SourceDb,
    compiled: orrery_compiler::Compiled,
}

fn run(input: &Path) -> Run {
    let mut db = SourceDb::new();
    let mut options = CompileOptions::default();
    let params = side(input, "params.yml");
    if params.exists() {
        let text = fs::read_to_string(&params).unwrap();
        let file = db.add(params.display().to_string(), text.clone());
        let parsed = orrery_yaml::parse(file, &text, options.limits);
        let root = parsed.root.expect("params file parses");
        for (k, v) in root.as_map().expect("params file is a map").iter() {
            options.pipeline_parameters.push((k.to_string(), v.clone()));
        }
    }
    let pipeline = side(input, "pipeline.yml");
    if pipeline.exists() {
        let text = fs::read_to_string(&pipeline).unwrap();
        let file = db.add(pipeline.display().to_string(), text.clone());
        let parsed = orrery_yaml::parse(file, &text, options.limits);
        let root = parsed.root.expect("pipeline file parses");
        for (k, v) in root.as_map().expect("pipeline file is a map").iter() {
            assert!(
                options.pipeline.set(k, v.value.clone()),
                "{}: unknown pipeline value {k}",
                pipeline.display()
            );
        }
    }
    let text = fs::read_to_string(input).unwrap();
    let file = db.add(input.display().to_string(), text);
    let orbs = DirOrbs(side(input, "orbs"));
    let compiled = compile(&mut db, file, &options, &orbs);
    Run { db, compiled }
}

#[test]
fn compile_fixtures() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = String::new();
    let inputs = inputs(&fixtures().join("compile"));
    assert!(!inputs.is_empty());
    for input in &inputs {
        let Run { db, compiled } = run(input);
        let errors: Vec<String> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| describe(&db, d))
            .collect();
        let Some(config) = &compiled.config else {
            let _ = writeln!(
                failures,
                "{}: did not compile:\n  {}",
                input.display(),
                errors.join("\n  ")
            );
            continue;
        };
        let mut actual = String::new();
        for (written, resolved) in &compiled.orb_headers {
            actual.push_str(&orrery_emit::orb_header(written, resolved));
        }
        actual.push_str(&orrery_emit::emit_yaml(config));
        let expected_path = side(input, "out.yml");
        if update {
            fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let _ = writeln!(
                failures,
                "{}: output differs from {}\n--- expected\n{expected}--- actual\n{actual}---",
                input.display(),
                expected_path.display()
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

fn orb_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            orb_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn error_fixtures() {
    check_annotated(&fixtures().join("errors"), false, |input| {
        let Run { db, compiled } = run(input);
        let produced = compiled.config.is_some();
        (db, compiled.diagnostics, produced)
    });
}

/// `fixtures/orb-check/NAME.yml` is an orb checked on its own (`orrery orb validate`); an orb
/// without annotations must check clean. Orbs it imports come from `NAME.orbs/`.
#[test]
fn orb_check_fixtures() {
    check_annotated(&fixtures().join("orb-check"), true, |input| {
        let mut db = SourceDb::new();
        let text = fs::read_to_string(input).unwrap();
        let file = db.add(input.display().to_string(), text);
        let others = DirOrbs(side(input, "orbs"));
        let name = Some(("acme", "subject"));
        let check = check_orb(&mut db, file, name, &others, &CompileOptions::default());
        assert!(
            check.commands + check.jobs + check.executors + check.examples > 0,
            "{}: nothing checked",
            input.display()
        );
        (db, check.diagnostics, false)
    });
}

/// Runs each fixture of `dir` and matches its diagnostics against its caret annotations (and
/// those of its orb and params files). Every error must be annotated; warnings may be.
fn check_annotated(
    dir: &Path,
    clean_allowed: bool,
    run: impl Fn(&Path) -> (SourceDb, Vec<Diagnostic>, bool),
) {
    let mut failures = String::new();
    let inputs = inputs(dir);
    assert!(!inputs.is_empty());
    for input in &inputs {
        let mut files = vec![input.clone()];
        orb_files(&side(input, "orbs"), &mut files);
        files.push(side(input, "params.yml"));
        files.retain(|p| p.exists());
        let expects: Vec<annotations::Expect> = files
            .iter()
            .flat_map(|f| {
                annotations::read(&f.display().to_string(), &fs::read_to_string(f).unwrap())
            })
            .collect();
        if expects.is_empty() && !clean_allowed {
            let _ = writeln!(failures, "{}: no annotations", input.display());
            continue;
        }
        let (db, diags, produced) = run(input);
        let mut problems = annotations::check(&db, &diags, &expects, Diagnostic::is_error);
        if produced && diags.iter().any(Diagnostic::is_error) {
            problems.push("errors but a config".into());
        }
        if !problems.is_empty() {
            let all: Vec<String> = diags.iter().map(|d| describe(&db, d)).collect();
            let _ = writeln!(
                failures,
                "{}:\n  {}\n  all diagnostics:\n  {}",
                input.display(),
                problems.join("\n  "),
                all.join("\n  ")
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}
