//! Orb stores the compiler reads through [`orrery_compiler::OrbSource`].
//!
//! A registry directory holds `NAMESPACE/NAME/VERSION.yml` files. A reference resolves to an
//! exact version (`1.2.3`), the newest of a partial version (`1.2`, `1`), the highest version
//! (`volatile`), or a development label (`dev:label`, stored as `dev:label.yml`).

use std::fs;
use std::path::{Path, PathBuf};

use orrery_compiler::{FetchedOrb, OrbRef, OrbSource};

/// One or more registry directories, searched in order.
#[derive(Clone, Debug, Default)]
pub struct LocalRegistry {
    pub roots: Vec<PathBuf>,
}

impl LocalRegistry {
    pub fn new(roots: Vec<PathBuf>) -> Self {
        LocalRegistry { roots }
    }

    /// The versions published for `namespace/name` in one root, with their files.
    fn versions(root: &Path, namespace: &str, name: &str) -> Vec<(String, PathBuf)> {
        let dir = root.join(namespace).join(name);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let path = e.path();
                let file = path.file_name()?.to_str()?.to_string();
                let version = file
                    .strip_suffix(".yml")
                    .or_else(|| file.strip_suffix(".yaml"))?
                    .to_string();
                Some((version, path))
            })
            .collect()
    }
}

/// A numeric `MAJOR.MINOR.PATCH` version.
fn semver(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.');
    let v = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    parts.next().is_none().then_some(v)
}

/// Picks the version a reference asks for among the published ones.
pub fn select<'a>(wanted: &str, published: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let published: Vec<&str> = published.into_iter().collect();
    if wanted.starts_with("dev:") {
        return published.into_iter().find(|v| *v == wanted);
    }
    let prefix: Vec<u64> = if wanted == "volatile" {
        Vec::new()
    } else {
        let parts: Option<Vec<u64>> = wanted.split('.').map(|p| p.parse().ok()).collect();
        let parts = parts?;
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        parts
    };
    published
        .into_iter()
        .filter_map(|v| semver(v).map(|s| (s, v)))
        .filter(|((a, b, c), _)| prefix.iter().zip([a, b, c]).all(|(p, x)| p == x))
        .max_by_key(|(s, _)| *s)
        .map(|(_, v)| v)
}

impl OrbSource for LocalRegistry {
    fn fetch(&self, reference: &OrbRef) -> Result<FetchedOrb, String> {
        if self.roots.is_empty() {
            return Err("no orb registry directory was given".into());
        }
        for root in &self.roots {
            let versions = Self::versions(root, &reference.namespace, &reference.name);
            let Some(version) =
                select(&reference.version, versions.iter().map(|(v, _)| v.as_str()))
            else {
                continue;
            };
            let Some((_, path)) = versions.iter().find(|(v, _)| v == version) else {
                continue;
            };
            let text = fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            return Ok(FetchedOrb {
                version: version.to_string(),
                origin: path.display().to_string(),
                text,
            });
        }
        let searched: Vec<String> = self
            .roots
            .iter()
            .map(|r| {
                r.join(&reference.namespace)
                    .join(&reference.name)
                    .display()
                    .to_string()
            })
            .collect();
        Err(format!(
            "no version matching `{}` in {}",
            reference.version,
            searched.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_exact_partial_volatile_and_dev_versions() {
        let published = ["1.2.3", "1.2.10", "1.3.0", "2.0.0", "dev:alpha", "notes"];
        assert_eq!(select("1.2.3", published), Some("1.2.3"));
        assert_eq!(select("1.2", published), Some("1.2.10"));
        assert_eq!(select("1", published), Some("1.3.0"));
        assert_eq!(select("volatile", published), Some("2.0.0"));
        assert_eq!(select("dev:alpha", published), Some("dev:alpha"));
        assert_eq!(select("dev:beta", published), None);
        assert_eq!(select("3", published), None);
        assert_eq!(select("1.2.3.4", published), None);
    }

    #[test]
    fn reads_a_registry_directory() {
        let dir = tempfile::tempdir().unwrap();
        let orb_dir = dir.path().join("acme").join("tools");
        fs::create_dir_all(&orb_dir).unwrap();
        fs::write(orb_dir.join("1.0.0.yml"), "version: 2.1\n").unwrap();
        fs::write(
            orb_dir.join("1.1.0.yml"),
            "version: 2.1\ndescription: newer\n",
        )
        .unwrap();
        let registry = LocalRegistry::new(vec![dir.path().to_path_buf()]);
        let orb = registry
            .fetch(&OrbRef::parse("acme/tools@1").unwrap())
            .unwrap();
        assert_eq!(orb.version, "1.1.0");
        assert!(orb.text.contains("newer"));
        let missing = registry
            .fetch(&OrbRef::parse("acme/tools@2").unwrap())
            .unwrap_err();
        assert!(missing.contains("no version matching `2`"), "{missing}");
    }
}
