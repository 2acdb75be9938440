//! A registry directory: `DIR/NAMESPACE/NAME/VERSION.yml` (development labels as `dev:label.yml`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One orb version stored in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOrb {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub path: PathBuf,
}

/// A directory of orbs.
#[derive(Clone, Debug)]
pub struct OrbDirectory {
    pub root: PathBuf,
}

impl OrbDirectory {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        OrbDirectory { root: root.into() }
    }

    /// The file that holds (or would hold) one version.
    pub fn path_of(&self, namespace: &str, name: &str, version: &str) -> PathBuf {
        self.root
            .join(namespace)
            .join(name)
            .join(format!("{version}.yml"))
    }

    /// The versions stored for `namespace/name`, with their files.
    pub fn versions(&self, namespace: &str, name: &str) -> Vec<StoredOrb> {
        let dir = self.root.join(namespace).join(name);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut found: Vec<StoredOrb> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let path = e.path();
                let file = path.file_name()?.to_str()?.to_string();
                let version = file
                    .strip_suffix(".yml")
                    .or_else(|| file.strip_suffix(".yaml"))?
                    .to_string();
                Some(StoredOrb {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    version,
                    path,
                })
            })
            .collect();
        found.sort_by(|a, b| a.version.cmp(&b.version));
        found
    }

    /// Every orb version in the directory, sorted.
    pub fn list(&self) -> Vec<StoredOrb> {
        let mut all = Vec::new();
        for namespace in sorted_dirs(&self.root) {
            for name in sorted_dirs(&self.root.join(&namespace)) {
                all.extend(self.versions(&namespace, &name));
            }
        }
        all
    }

    /// Writes one version atomically (a temporary file renamed into place), so a reader never
    /// sees half an orb.
    pub fn write(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
        text: &str,
    ) -> Result<PathBuf, String> {
        let path = self.path_of(namespace, name, version);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let temporary = dir.join(format!(".{version}.yml.{}", std::process::id()));
        let written = fs::File::create(&temporary)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| fs::rename(&temporary, &path));
        if let Err(e) = written {
            let _ = fs::remove_file(&temporary);
            return Err(format!("cannot write {}: {e}", path.display()));
        }
        Ok(path)
    }
}

fn sorted_dirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lists_and_reads_versions() {
        let dir = tempfile::tempdir().unwrap();
        let store = OrbDirectory::new(dir.path());
        store
            .write("acme", "tools", "1.0.0", "version: 2.1\n")
            .unwrap();
        store
            .write("acme", "tools", "dev:x", "version: 2.1\n")
            .unwrap();
        store.write("zeta", "a", "0.1.0", "version: 2.1\n").unwrap();
        let listed: Vec<String> = store
            .list()
            .iter()
            .map(|o| format!("{}/{}@{}", o.namespace, o.name, o.version))
            .collect();
        assert_eq!(
            listed,
            ["acme/tools@1.0.0", "acme/tools@dev:x", "zeta/a@0.1.0"]
        );
        let text = fs::read_to_string(store.path_of("acme", "tools", "1.0.0")).unwrap();
        assert_eq!(text, "version: 2.1\n");
    }
}
