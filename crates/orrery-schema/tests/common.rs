//! Helpers shared by the suites: the corpus files, the corpus orbs packed in memory (an
//! `OrbSource` for the compiler), and one function that parses and checks a text.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use orrery_compiler::{FetchedOrb, OrbFetchError, OrbRef, OrbSource};
use orrery_diagnostics::{has_errors, Diagnostic, SourceDb};
use orrery_testkit::corpus::{label, orb_versions, source_dir};
use orrery_yaml::Limits;

/// Every corpus config, sorted; `None` (reported) without the shared data.
pub fn corpus_configs() -> Option<Vec<PathBuf>> {
    orrery_testkit::corpus::configs()
}

pub struct Checked {
    pub db: SourceDb,
    /// Parse diagnostics; when they hold an error the schema was not checked.
    pub parse: Vec<Diagnostic>,
    pub findings: Vec<Diagnostic>,
}

impl Checked {
    pub fn parsed(&self) -> bool {
        !has_errors(&self.parse)
    }

    pub fn errors(&self) -> Vec<&Diagnostic> {
        self.findings.iter().filter(|d| d.is_error()).collect()
    }
}

/// Parses `text` and checks it with the config schema (`orb`: the orb schema).
pub fn check(name: &str, text: &str, orb: bool) -> Checked {
    let mut db = SourceDb::new();
    let file = db.add(name, text);
    let parsed = orrery_yaml::parse(file, text, Limits::default());
    let findings = match &parsed.root {
        Some(root) if !has_errors(&parsed.diagnostics) => match orb {
            true => orrery_schema::check_orb(file, root),
            false => orrery_schema::check_config(file, root),
        },
        _ => Vec::new(),
    };
    Checked {
        db,
        parse: parsed.diagnostics,
        findings,
    }
}

/// One packed corpus orb version.
pub struct PackedOrb {
    /// `NAMESPACE/NAME/VERSION`.
    pub label: String,
    /// The packed YAML, or why it did not pack.
    pub text: Result<String, String>,
}

/// Every corpus orb version packed with `orrery-pack`, as `orb pack` would; `None` (reported)
/// without the shared data.
pub fn packed_orbs() -> Option<Vec<PackedOrb>> {
    let versions = orb_versions()?;
    let packed = versions
        .into_iter()
        .map(|dir| {
            let text = orrery_pack::fs::read_orb_dir(&source_dir(&dir))
                .map_err(|e| format!("{e:?}"))
                .and_then(|tree| {
                    let packed = orrery_pack::pack_orb(&tree);
                    packed.to_yaml().ok_or_else(|| {
                        let codes: Vec<&str> = packed.diagnostics.iter().map(|d| d.code).collect();
                        format!("does not pack: {codes:?}")
                    })
                });
            PackedOrb {
                label: label(&dir),
                text,
            }
        })
        .collect();
    Some(packed)
}

/// The packed corpus orbs as a registry: exact versions, partial versions (`1`, `1.2`) and
/// `volatile` select the highest matching release.
pub struct CorpusOrbs {
    versions: HashMap<String, Vec<(String, String)>>,
}

impl CorpusOrbs {
    pub fn new(orbs: &[PackedOrb]) -> Self {
        let mut versions: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for orb in orbs {
            let Ok(text) = &orb.text else { continue };
            let Some((name, version)) = orb.label.rsplit_once('/') else {
                continue;
            };
            versions
                .entry(name.to_string())
                .or_default()
                .push((version.to_string(), text.clone()));
        }
        CorpusOrbs { versions }
    }
}

fn semver(text: &str) -> Option<Vec<u64>> {
    text.split('.').map(|p| p.parse().ok()).collect()
}

impl OrbSource for CorpusOrbs {
    fn fetch(&self, reference: &OrbRef) -> Result<FetchedOrb, OrbFetchError> {
        let name = format!("{}/{}", reference.namespace, reference.name);
        let wanted = reference.version.as_str();
        let found = self.versions.get(&name).and_then(|versions| {
            if let Some(exact) = versions.iter().find(|(v, _)| v == wanted) {
                return Some(exact);
            }
            let prefix = match wanted {
                "volatile" => Some(Vec::new()),
                _ => semver(wanted),
            }?;
            versions
                .iter()
                .filter_map(|(v, text)| semver(v).map(|parts| (parts, v, text)))
                .filter(|(parts, _, _)| parts.len() == 3 && parts.starts_with(&prefix))
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, v, _)| versions.iter().find(|(x, _)| x == v))?
        });
        match found {
            Some((version, text)) => Ok(FetchedOrb {
                version: version.clone(),
                origin: format!("corpus {name}@{version}"),
                text: text.clone(),
            }),
            None => Err(OrbFetchError {
                code: orrery_diagnostics::codes::ORB_NOT_FOUND,
                message: format!("the corpus has no {reference}"),
                help: String::new(),
            }),
        }
    }
}
