//! Arbitrary bytes → (if UTF-8) the full compile with no orbs, then the YAML emitter on success.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orrery_compiler::{compile, CompileOptions, NoOrbs};
use orrery_diagnostics::SourceDb;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut db = SourceDb::new();
    let file = db.add("config.yml", text);
    let out = compile(&mut db, file, &CompileOptions::default(), &NoOrbs);
    if let Some(config) = &out.config {
        let _ = orrery_emit::emit_yaml(config);
    }
});
