//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use orrery_diagnostics::FileId;
use orrery_yaml::{Limits, Node, Value};

/// The shared reference data; `None` (reported as skipped, or failing under CI) without it.
pub fn shared() -> Option<PathBuf> {
    orrery_testkit::shared()
}

/// Runs the CLI with an empty user cache, so what a developer has cached never leaks in.
pub fn orrery(args: &[&str]) -> Output {
    orrery_with_cache(args, &std::env::temp_dir().join("orrery-tests-no-cache"))
}

pub fn orrery_with_cache(args: &[&str], cache: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orrery"))
        .args(args)
        .env("ORRERY_CACHE_DIR", cache)
        .env_remove("ORRERY_ORB_PATH")
        .output()
        .expect("run orrery")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses YAML for comparison; panics on invalid YAML (the tests' own inputs).
pub fn yaml(text: &str) -> Node {
    orrery_yaml::parse(FileId(0), text, Limits::default())
        .root
        .unwrap_or_else(|| Node::null(Default::default()))
}

/// Data equality: maps compare unordered, spans are ignored.
pub fn same_data(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_data(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_data(v, w)))
        }
        (x, y) => x == y,
    }
}

/// Builds DIR/NAMESPACE/NAME/VERSION.yml from a golden case's orbs/NAMESPACE__NAME@VERSION.yml.
pub fn stage_orbs(case: &std::path::Path, into: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(case.join("orbs")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((slug, version)) = name.strip_suffix(".yml").and_then(|n| n.split_once('@'))
        else {
            continue;
        };
        let Some((namespace, orb)) = slug.split_once("__") else {
            continue;
        };
        let dir = into.join(namespace).join(orb);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(entry.path(), dir.join(format!("{version}.yml"))).unwrap();
    }
}
