//! The store's resolution order, the lockfile's pins, and online fetches into the cache.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::Path;

use orrery_compiler::{OrbRef, OrbSource};
use orrery_diagnostics::codes;
use orrery_orb::{
    sha256_hex, LockPolicy, Locked, Lockfile, OrbDirectory, OrbStore, StoreDirectory, Tier,
};
use orrery_registry::{Registry, RegistryError, RegistryErrorKind};

fn orb(text: &str) -> String {
    format!("version: 2.1\ndescription: {text}\n")
}

fn directory(tier: Tier, root: &Path) -> StoreDirectory {
    StoreDirectory {
        tier,
        directory: OrbDirectory::new(root),
    }
}

fn reference(text: &str) -> OrbRef {
    OrbRef::parse(text).unwrap()
}

/// A registry in memory that counts how often it is asked for a source.
struct MemoryRegistry {
    orbs: BTreeMap<String, String>,
    downloads: Cell<usize>,
}

impl MemoryRegistry {
    fn new(entries: &[(&str, &str)]) -> Self {
        MemoryRegistry {
            orbs: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            downloads: Cell::new(0),
        }
    }
}

fn unknown(request: String) -> RegistryError {
    RegistryError::new(RegistryErrorKind::NotFound, "memory", request)
}

impl Registry for &'static MemoryRegistry {
    fn host(&self) -> &str {
        "memory"
    }
    fn versions(&self, namespace: &str, name: &str) -> Result<Vec<String>, RegistryError> {
        let prefix = format!("{namespace}/{name}@");
        Ok(self
            .orbs
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .collect())
    }
    fn fetch(&self, namespace: &str, name: &str, version: &str) -> Result<String, RegistryError> {
        self.downloads.set(self.downloads.get() + 1);
        self.orbs
            .get(&format!("{namespace}/{name}@{version}"))
            .cloned()
            .ok_or_else(|| unknown(format!("fetch orb {namespace}/{name}@{version}")))
    }
    fn publish(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
        _: &str,
    ) -> Result<(), RegistryError> {
        Err(unknown(format!("publish orb {namespace}/{name}@{version}")))
    }
}

#[test]
fn searches_orb_path_then_vendored_then_cache() {
    let (first, vendored, cache) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    OrbDirectory::new(vendored.path())
        .write("acme", "tools", "1.0.0", &orb("vendored"))
        .unwrap();
    OrbDirectory::new(cache.path())
        .write("acme", "tools", "1.0.0", &orb("cached"))
        .unwrap();
    OrbDirectory::new(cache.path())
        .write("acme", "other", "2.0.0", &orb("only cached"))
        .unwrap();
    let store = OrbStore::new(vec![
        directory(Tier::OrbPath, first.path()),
        directory(Tier::Vendored, vendored.path()),
        directory(Tier::Cache, cache.path()),
    ]);
    assert!(store
        .fetch(&reference("acme/tools@1"))
        .unwrap()
        .text
        .contains("vendored"));
    assert!(store
        .fetch(&reference("acme/other@2.0.0"))
        .unwrap()
        .text
        .contains("only cached"));
    let missing = store.fetch(&reference("acme/none@1")).unwrap_err();
    assert_eq!(missing.code, codes::ORB_NOT_FOUND);
    assert!(
        missing.message.contains("(vendored)"),
        "{}",
        missing.message
    );
}

#[test]
fn a_locked_floating_reference_stays_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = OrbDirectory::new(dir.path());
    store_dir
        .write("acme", "tools", "1.1.0", &orb("one one"))
        .unwrap();
    let unlocked = OrbStore::new(vec![directory(Tier::Cache, dir.path())]);
    let first = unlocked.fetch(&reference("acme/tools@1")).unwrap();
    assert_eq!(first.version, "1.1.0");
    let lock = Lockfile {
        orbs: unlocked
            .resolutions()
            .into_iter()
            .map(|(k, r)| {
                (
                    k,
                    Locked {
                        version: r.version,
                        sha256: r.sha256,
                    },
                )
            })
            .collect(),
    };
    // A newer release arrives; the lock keeps the old one, `update` moves forward.
    store_dir
        .write("acme", "tools", "1.2.0", &orb("one two"))
        .unwrap();
    let pinned = OrbStore::new(vec![directory(Tier::Cache, dir.path())])
        .locked(lock.clone(), LockPolicy::Enforce);
    assert_eq!(
        pinned.fetch(&reference("acme/tools@1")).unwrap().version,
        "1.1.0"
    );
    let updating =
        OrbStore::new(vec![directory(Tier::Cache, dir.path())]).locked(lock, LockPolicy::Ignore);
    assert_eq!(
        updating.fetch(&reference("acme/tools@1")).unwrap().version,
        "1.2.0"
    );
}

#[test]
fn a_tampered_source_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = OrbDirectory::new(dir.path());
    store_dir
        .write("acme", "tools", "1.1.0", &orb("original"))
        .unwrap();
    let mut lock = Lockfile::default();
    lock.orbs.insert(
        "acme/tools@1.1.0".into(),
        Locked {
            version: "1.1.0".into(),
            sha256: sha256_hex(&orb("original")),
        },
    );
    store_dir
        .write("acme", "tools", "1.1.0", &orb("tampered"))
        .unwrap();
    let store =
        OrbStore::new(vec![directory(Tier::Cache, dir.path())]).locked(lock, LockPolicy::Enforce);
    let error = store.fetch(&reference("acme/tools@1.1.0")).unwrap_err();
    assert_eq!(error.code, codes::ORB_LOCK_MISMATCH);
    assert!(
        error.message.contains("acme/tools@1.1.0"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("does not match orbs.lock"),
        "{}",
        error.message
    );
}

#[test]
fn online_fetches_are_cached_and_then_work_offline() {
    let registry: &'static MemoryRegistry = Box::leak(Box::new(MemoryRegistry::new(&[
        ("acme/tools@1.0.0", "version: 2.1\ndescription: old\n"),
        ("acme/tools@1.4.2", "version: 2.1\ndescription: new\n"),
        (
            "acme/tools@2.0.0",
            "version: 2.1\ndescription: next major\n",
        ),
    ])));
    let cache = tempfile::tempdir().unwrap();
    let online =
        OrbStore::new(vec![directory(Tier::Cache, cache.path())]).online(Box::new(registry));
    let fetched = online.fetch(&reference("acme/tools@1")).unwrap();
    assert_eq!(fetched.version, "1.4.2");
    assert!(cache.path().join("acme/tools/1.4.2.yml").is_file());
    // An exact version already cached is not downloaded again.
    online.fetch(&reference("acme/tools@1.4.2")).unwrap();
    assert_eq!(registry.downloads.get(), 1);
    let offline = OrbStore::new(vec![directory(Tier::Cache, cache.path())]);
    assert_eq!(
        offline.fetch(&reference("acme/tools@1")).unwrap().text,
        "version: 2.1\ndescription: new\n"
    );
    let error = online.fetch(&reference("acme/tools@3")).unwrap_err();
    assert!(
        error
            .message
            .contains("memory publishes no matching version"),
        "{}",
        error.message
    );
}

#[test]
fn a_cache_that_cannot_be_written_is_reported_as_such() {
    let registry: &'static MemoryRegistry = Box::leak(Box::new(MemoryRegistry::new(&[(
        "acme/tools@1.0.0",
        "version: 2.1\n",
    )])));
    let dir = tempfile::tempdir().unwrap();
    // A file where the cache directory should be.
    let cache = dir.path().join("cache");
    std::fs::write(&cache, "not a directory").unwrap();
    let store = OrbStore::new(vec![directory(Tier::Cache, &cache)]).online(Box::new(registry));
    let error = store.fetch(&reference("acme/tools@1.0.0")).unwrap_err();
    assert_eq!(error.code, codes::ORB_CACHE);
    assert!(
        error.message.contains("cannot be kept in the cache"),
        "{}",
        error.message
    );
}
