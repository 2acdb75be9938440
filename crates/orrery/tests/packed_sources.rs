//! Split configs from real projects: `orrery config pack` then `orrery config process` gives
//! the official compiled config those projects committed (compared as data).

mod common;

use std::fs;

use common::{orrery, same_data, shared, text, yaml};

/// Projects whose committed `.circleci/config.yml` is the official pack-then-process output of
/// `.circleci/config/`.
const PACKED_AND_PROCESSED: &[&str] = &["maniankara__vault", "hashicorp__nomad"];

#[test]
fn pack_then_process_gives_the_official_compiled_config() {
    let Some(shared) = shared() else {
        return;
    };
    for project in PACKED_AND_PROCESSED {
        let circleci = shared
            .join("corpus/packed-sources")
            .join(project)
            .join(".circleci");
        let packed = orrery(&["config", "pack", circleci.join("config").to_str().unwrap()]);
        assert!(
            packed.status.success(),
            "{project}: {}",
            text(&packed.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        let packed_file = dir.path().join("packed.yml");
        fs::write(&packed_file, &packed.stdout).unwrap();
        let processed = orrery(&[
            "config",
            "process",
            "--no-trailer",
            packed_file.to_str().unwrap(),
        ]);
        assert!(
            processed.status.success(),
            "{project}: {}",
            text(&processed.stderr)
        );
        let official = fs::read_to_string(circleci.join("config.yml")).unwrap();
        assert!(
            same_data(&yaml(&official), &yaml(&text(&processed.stdout))),
            "{project}: pack then process differs from the official config"
        );
    }
}
