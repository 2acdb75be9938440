//! Parse vs. compile vs. compile+emit on the largest orb-free corpus configs.
//!
//! The configs are read in place from the shared corpus (never copied into the repository):
//! `MANIFEST.tsv` lists them; those with an empty `orbs` column are tried from the largest
//! down, and the first [`CONFIGS`] that compile without error (with [`NoOrbs`]) are measured.
//! For each, three benchmarks run in the same group (named after the config file):
//!
//! * `parse` — `orrery_yaml::parse` alone;
//! * `compile` — `orrery_compiler::compile` on a fresh `SourceDb` (parsing included);
//! * `compile_emit` — the same, then `orrery_emit::emit_yaml` of the compiled config.
//!
//! `scripts/bench-ratio.sh` runs this and prints the compile/parse ratio of the medians.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use orrery_compiler::{compile, CompileOptions, NoOrbs};
use orrery_diagnostics::{has_errors, FileId, SourceDb};
use orrery_yaml::Limits;

/// How many configs are measured.
const CONFIGS: usize = 5;

fn corpus_dir() -> PathBuf {
    orrery_testkit::outside::shared_location().join("corpus")
}

struct Config {
    name: String,
    text: String,
}

/// The [`CONFIGS`] largest orb-free configs of the corpus that compile without error.
fn select_configs() -> Vec<Config> {
    let dir = corpus_dir();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join("MANIFEST.tsv").display()));
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("MANIFEST.tsv has no `{name}` column"))
    };
    let (file_col, orbs_col, bytes_col) = (column("file"), column("orbs"), column("bytes"));
    let mut candidates: Vec<(u64, String)> = lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|row| row.get(orbs_col).is_some_and(|o| o.trim().is_empty()))
        .filter_map(|row| {
            let bytes = row.get(bytes_col)?.trim().parse().ok()?;
            Some((bytes, row.get(file_col)?.to_string()))
        })
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));

    let mut chosen = Vec::new();
    for (bytes, file) in candidates {
        let path = dir.join("configs").join(&file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped {file}: cannot read {}", path.display());
            continue;
        };
        let mut db = SourceDb::new();
        let id = db.add(file.clone(), text.clone());
        let out = compile(&mut db, id, &CompileOptions::default(), &NoOrbs);
        if has_errors(&out.diagnostics) || out.config.is_none() {
            eprintln!("skipped {file} ({bytes} bytes): does not compile without error");
            continue;
        }
        let name = file.trim_end_matches(".yml").to_string();
        // `bench-ratio.sh` reads these lines to find the groups.
        println!("orrery-bench-config\t{name}\t{bytes}");
        chosen.push(Config { name, text });
        if chosen.len() == CONFIGS {
            break;
        }
    }
    assert!(
        !chosen.is_empty(),
        "no corpus config compiles without error"
    );
    chosen
}

fn fresh_db(config: &Config) -> (SourceDb, FileId) {
    let mut db = SourceDb::new();
    let id = db.add(config.name.clone(), config.text.clone());
    (db, id)
}

fn benches(c: &mut Criterion) {
    let options = CompileOptions::default();
    for config in select_configs() {
        let mut group = c.benchmark_group(&config.name);
        group.bench_function("parse", |b| {
            b.iter_batched(
                || (),
                |()| orrery_yaml::parse(FileId(0), black_box(&config.text), Limits::default()),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("compile", |b| {
            b.iter_batched(
                || fresh_db(&config),
                |(mut db, id)| compile(&mut db, id, &options, &NoOrbs),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("compile_emit", |b| {
            b.iter_batched(
                || fresh_db(&config),
                |(mut db, id)| {
                    let out = compile(&mut db, id, &options, &NoOrbs);
                    out.config.as_ref().map(orrery_emit::emit_yaml)
                },
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

criterion_group!(compile_benches, benches);
criterion_main!(compile_benches);
