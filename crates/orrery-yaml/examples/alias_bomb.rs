//! Times how fast `parse` refuses a "billion laughs" document: 12 levels of anchors, each a
//! list of ten aliases of the level below (10^12 nodes once expanded).
//!
//! `cargo run --release -p orrery-yaml --example alias_bomb`

use std::fmt::Write;
use std::time::Instant;

use orrery_diagnostics::FileId;
use orrery_yaml::{parse, Limits};

const LEVELS: usize = 12;

fn bomb() -> String {
    let mut doc = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..LEVELS {
        let below = level - 1;
        let aliases = vec![format!("*l{below}"); 10].join(", ");
        writeln!(doc, "l{level}: &l{level} [{aliases}]").unwrap();
    }
    doc
}

fn main() {
    let doc = bomb();
    let start = Instant::now();
    let parsed = parse(FileId(0), &doc, Limits::default());
    let elapsed = start.elapsed();
    let refused = parsed.root.is_none();
    let message = parsed
        .diagnostics
        .first()
        .map_or("no diagnostic", |d| d.message.as_str());
    println!(
        "{LEVELS}-level alias bomb ({} bytes): {} in {:.3} ms ({message})",
        doc.len(),
        if refused { "refused" } else { "ACCEPTED" },
        elapsed.as_secs_f64() * 1000.0
    );
}
