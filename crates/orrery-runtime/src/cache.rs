//! The persistent cache store: one gzip tarball per key plus a small JSON record. Keys are
//! immutable (the first save wins, even between concurrent jobs); a restore key matches as a
//! prefix and the most recently saved match wins.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub struct CacheStore {
    dir: PathBuf,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CacheEntry {
    pub key: String,
    pub created_ms: u128,
    pub size: u64,
    pub archive: PathBuf,
}

#[derive(Debug, PartialEq)]
pub enum Saved {
    Saved(u64),
    /// A cache with this key exists; nothing was written.
    Exists,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl CacheStore {
    pub fn new(dir: impl Into<PathBuf>) -> CacheStore {
        CacheStore { dir: dir.into() }
    }

    fn stem(&self, key: &str) -> PathBuf {
        let hash = Sha256::digest(key.as_bytes());
        let name: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.dir.join(name)
    }

    pub fn exists(&self, key: &str) -> bool {
        self.stem(key).with_extension("lock").exists()
    }

    /// Every complete entry.
    pub fn entries(&self) -> Vec<CacheEntry> {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        read.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| {
                let v: serde_json::Value =
                    serde_json::from_slice(&fs::read(e.path()).ok()?).ok()?;
                Some(CacheEntry {
                    key: v.get("key")?.as_str()?.to_string(),
                    created_ms: v.get("created_ms")?.as_u64()? as u128,
                    size: v.get("size")?.as_u64()?,
                    archive: e.path().with_extension("tar.gz"),
                })
            })
            .collect()
    }

    /// The first key (in order) that prefixes any stored key; among its matches the newest.
    pub fn find(&self, keys: &[String]) -> Option<CacheEntry> {
        let entries = self.entries();
        keys.iter().find_map(|k| {
            entries
                .iter()
                .filter(|e| e.key.starts_with(k.as_str()))
                .max_by(|a, b| a.created_ms.cmp(&b.created_ms).then(a.key.cmp(&b.key)))
                .cloned()
        })
    }

    /// Stores what `write` produces under `key` unless the key exists.
    pub fn save(
        &self,
        key: &str,
        write: &mut dyn FnMut(&mut dyn Write) -> Result<(), String>,
    ) -> Result<Saved, String> {
        let err = |e: std::io::Error| format!("cache store {}: {e}", self.dir.display());
        fs::create_dir_all(&self.dir).map_err(err)?;
        let stem = self.stem(key);
        if stem.with_extension("lock").exists() {
            return Ok(Saved::Exists);
        }
        let tmp = temp_path(&stem);
        let mut file = fs::File::create(&tmp).map_err(err)?;
        if let Err(e) = write(&mut file) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        drop(file);
        // The lock decides who wins between writers of one key.
        if fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(stem.with_extension("lock"))
            .is_err()
        {
            let _ = fs::remove_file(&tmp);
            return Ok(Saved::Exists);
        }
        let archive = stem.with_extension("tar.gz");
        fs::rename(&tmp, &archive).map_err(err)?;
        let size = fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
        let record = serde_json::json!({"key": key, "created_ms": now_ms() as u64, "size": size});
        let meta_tmp = temp_path(&stem);
        fs::write(&meta_tmp, record.to_string()).map_err(err)?;
        fs::rename(&meta_tmp, stem.with_extension("json")).map_err(err)?;
        Ok(Saved::Saved(size))
    }
}

fn temp_path(stem: &Path) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    stem.with_extension(format!("tmp-{}-{n}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immutable_keys_and_newest_prefix_match() {
        let dir = tempfile::tempdir().unwrap();
        let store = CacheStore::new(dir.path());
        let put = |text: &'static str| {
            move |w: &mut dyn Write| w.write_all(text.as_bytes()).map_err(|e| e.to_string())
        };
        assert_eq!(
            store.save("v1-a", &mut put("one")).unwrap(),
            Saved::Saved(3)
        );
        assert_eq!(
            store.save("v1-a", &mut put("other")).unwrap(),
            Saved::Exists
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        store.save("v1-b", &mut put("two")).unwrap();
        let found = store.find(&["v1-".to_string()]).unwrap();
        assert_eq!(found.key, "v1-b");
        let exact_first = store
            .find(&["v1-a".to_string(), "v1-".to_string()])
            .unwrap();
        assert_eq!(exact_first.key, "v1-a");
        assert_eq!(fs::read_to_string(exact_first.archive).unwrap(), "one");
        assert!(store.find(&["v2".to_string()]).is_none());
    }
}
