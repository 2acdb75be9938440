//! `.circleci/orbs.lock`: each orb reference, the exact version it resolved to, and the SHA-256
//! of that version's source.
//!
//! ```yaml
//! # Written by `orrery orb lock`. Commit it; do not edit it by hand.
//! lockfile-version: 1
//! orbs:
//!   circleci/node@5:
//!     version: 5.3.0
//!     sha256: 6b1c…
//! ```

use std::collections::BTreeMap;

use orrery_diagnostics::{codes, Diagnostic, FileId, Span};
use orrery_yaml::{Limits, Node, Value};
use sha2::{Digest, Sha256};

pub const LOCKFILE_VERSION: i64 = 1;

/// What one reference is pinned to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    pub version: String,
    pub sha256: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lockfile {
    /// Keyed by the reference as written (`circleci/node@5`), sorted.
    pub orbs: BTreeMap<String, Locked>,
}

/// The lowercase hex SHA-256 of an orb's source text.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Lockfile {
    /// Reads a lockfile. Entries that are malformed are left out and reported.
    pub fn parse(file: FileId, text: &str) -> (Lockfile, Vec<Diagnostic>) {
        let parsed = orrery_yaml::parse(file, text, Limits::default());
        let mut diagnostics = parsed.diagnostics;
        let mut lock = Lockfile::default();
        let whole = Span::new(file, 0, text.len());
        let Some(root) = parsed.root else {
            return (lock, diagnostics);
        };
        let Some(map) = root.as_map() else {
            diagnostics.push(malformed(root.span, "a lockfile is a map with `orbs:`"));
            return (lock, diagnostics);
        };
        match map.get("lockfile-version").map(|n| &n.value) {
            Some(Value::Int(v)) if *v == LOCKFILE_VERSION => {}
            Some(_) => diagnostics.push(malformed(
                map.get("lockfile-version").map_or(whole, |n| n.span),
                "unsupported `lockfile-version`; this orrery writes version 1",
            )),
            None => diagnostics.push(malformed(root.span, "missing `lockfile-version: 1`")),
        }
        let Some(orbs) = map.get("orbs") else {
            return (lock, diagnostics);
        };
        let Some(orbs) = orbs.as_map() else {
            if !orbs.is_null() {
                diagnostics.push(malformed(orbs.span, "`orbs` must map references to pins"));
            }
            return (lock, diagnostics);
        };
        for entry in orbs.entries() {
            match locked(&entry.value) {
                Some(pin) => {
                    lock.orbs.insert(entry.key.clone(), pin);
                }
                None => diagnostics.push(malformed(
                    entry.value.span,
                    "each entry needs `version:` and a 64-digit hex `sha256:`",
                )),
            }
        }
        (lock, diagnostics)
    }

    /// The lockfile's text: sorted, so the same pins always give the same bytes.
    pub fn render(&self) -> String {
        let mut text =
            String::from("# Written by `orrery orb lock`. Commit it; do not edit it by hand.\n");
        text.push_str(&format!("lockfile-version: {LOCKFILE_VERSION}\norbs:"));
        if self.orbs.is_empty() {
            text.push_str(" {}\n");
            return text;
        }
        text.push('\n');
        for (reference, pin) in &self.orbs {
            text.push_str(&format!(
                "  {}:\n    version: {}\n    sha256: {}\n",
                quoted(reference),
                quoted(&pin.version),
                pin.sha256
            ));
        }
        text
    }
}

fn locked(node: &Node) -> Option<Locked> {
    let map = node.as_map()?;
    let version = map.get("version")?.as_str()?.to_string();
    let sha256 = map.get("sha256")?.as_str()?.to_string();
    let well_formed = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(Locked { version, sha256 })
}

/// `dev:` labels hold a colon, which a plain YAML scalar may not end a key with.
fn quoted(text: &str) -> String {
    if text.contains(':') {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

fn malformed(span: Span, message: &str) -> Diagnostic {
    Diagnostic::error(
        codes::ORB_LOCKFILE,
        format!("malformed lockfile: {message}"),
    )
    .at(span, "here")
    .with_help("rewrite it with `orrery orb lock`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_reads_back() {
        let mut lock = Lockfile::default();
        lock.orbs.insert(
            "circleci/node@5".into(),
            Locked {
                version: "5.3.0".into(),
                sha256: sha256_hex("version: 2.1\n"),
            },
        );
        lock.orbs.insert(
            "acme/tools@dev:alpha".into(),
            Locked {
                version: "dev:alpha".into(),
                sha256: sha256_hex(""),
            },
        );
        let text = lock.render();
        let (read, diagnostics) = Lockfile::parse(FileId(0), &text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}\n{text}");
        assert_eq!(read, lock);
    }

    #[test]
    fn reports_malformed_entries() {
        let text = "lockfile-version: 1\norbs:\n  a/b@1:\n    version: 1.0.0\n    sha256: nothex\n";
        let (read, diagnostics) = Lockfile::parse(FileId(0), text);
        assert!(read.orbs.is_empty());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code, codes::ORB_LOCKFILE);
    }

    #[test]
    fn hashes_the_source_text() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
