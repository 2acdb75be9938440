//! The whole corpus through orrery-schema, in process: every config of the shared corpus read
//! once up front, then per iteration
//!
//! * `parse` — `orrery_yaml::parse` of every file;
//! * `parse_check` — the same, then `orrery_schema::check_config` of every parsed document.
//!
//! The difference is the schema check alone. `bench/ajv/validate.mjs` times the same files
//! with ajv and SchemaStore's schema; `bench/schema-vs-ajv.sh` runs both and prints medians.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use orrery_diagnostics::FileId;
use orrery_yaml::Limits;

fn corpus() -> Vec<String> {
    orrery_testkit::corpus::configs()
        .expect("the benchmark reads the shared corpus")
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = corpus();
    // Compile the schemas before timing.
    let _ = orrery_schema::describe(&["version"]);
    let mut group = c.benchmark_group("corpus");
    group.bench_function("parse", |b| {
        b.iter(|| {
            for (i, text) in texts.iter().enumerate() {
                black_box(orrery_yaml::parse(
                    FileId(i as u32),
                    text,
                    Limits::default(),
                ));
            }
        })
    });
    group.bench_function("parse_check", |b| {
        b.iter(|| {
            let mut findings = 0;
            for (i, text) in texts.iter().enumerate() {
                let parsed = orrery_yaml::parse(FileId(i as u32), text, Limits::default());
                if let Some(root) = &parsed.root {
                    findings += orrery_schema::check_config(FileId(i as u32), root).len();
                }
            }
            black_box(findings)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
