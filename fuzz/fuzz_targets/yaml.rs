//! Arbitrary bytes → (if UTF-8) `orrery_yaml::parse` with the default limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orrery_diagnostics::FileId;
use orrery_yaml::Limits;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = orrery_yaml::parse(FileId(0), text, Limits::default());
    if let Some(root) = &parsed.root {
        // Walks the whole tree (and checks it stays finite).
        let _ = root.size();
    }
});
