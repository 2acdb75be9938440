//! The orb store: where registry references resolve, in order — `--orb-path` directories, the
//! project's vendored directory, the user cache, then (only when online) a remote registry whose
//! answers are written to the cache. A lockfile pins each reference to one version and hash.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;

use orrery_compiler::{FetchedOrb, OrbFetchError, OrbRef, OrbSource};
use orrery_diagnostics::codes;
use orrery_registry::{Registry, RegistryError};

use crate::directory::OrbDirectory;
use crate::lockfile::{sha256_hex, Lockfile};
use crate::version::{is_exact, select};

/// Which kind of directory a store directory is, for `orb list` and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    OrbPath,
    Vendored,
    Cache,
}

impl Tier {
    pub fn label(self) -> &'static str {
        match self {
            Tier::OrbPath => "orb-path",
            Tier::Vendored => "vendored",
            Tier::Cache => "cache",
        }
    }
}

#[derive(Clone, Debug)]
pub struct StoreDirectory {
    pub tier: Tier,
    pub directory: OrbDirectory,
}

/// What one reference resolved to during a compilation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub version: String,
    pub sha256: String,
    pub origin: String,
}

/// Whether the lockfile decides versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockPolicy {
    /// Locked references resolve to exactly their pinned version and hash.
    Enforce,
    /// Resolve afresh (`orrery orb update`).
    Ignore,
}

pub struct OrbStore {
    directories: Vec<StoreDirectory>,
    remote: Option<Box<dyn Registry>>,
    lock: Option<Lockfile>,
    policy: LockPolicy,
    resolutions: RefCell<BTreeMap<String, Resolution>>,
}

impl OrbStore {
    /// A store over directories, searched in the order given.
    pub fn new(directories: Vec<StoreDirectory>) -> Self {
        OrbStore {
            directories,
            remote: None,
            lock: None,
            policy: LockPolicy::Enforce,
            resolutions: RefCell::new(BTreeMap::new()),
        }
    }

    /// Lets the store ask a remote registry; what it answers is written to the cache directory.
    pub fn online(mut self, remote: Box<dyn Registry>) -> Self {
        self.remote = Some(remote);
        self
    }

    pub fn locked(mut self, lock: Lockfile, policy: LockPolicy) -> Self {
        self.lock = Some(lock);
        self.policy = policy;
        self
    }

    pub fn directories(&self) -> &[StoreDirectory] {
        &self.directories
    }

    pub fn lock(&self) -> Option<&Lockfile> {
        self.lock.as_ref()
    }

    /// Every reference resolved so far, keyed as written.
    pub fn resolutions(&self) -> BTreeMap<String, Resolution> {
        self.resolutions.borrow().clone()
    }

    fn cache(&self) -> Option<&OrbDirectory> {
        self.directories
            .iter()
            .find(|d| d.tier == Tier::Cache)
            .map(|d| &d.directory)
    }

    /// The first stored copy of exactly `version`.
    fn find_exact(&self, reference: &OrbRef, version: &str) -> Option<(String, String)> {
        self.directories.iter().find_map(|d| {
            let path = d
                .directory
                .path_of(&reference.namespace, &reference.name, version);
            let text = fs::read_to_string(&path).ok()?;
            Some((text, path.display().to_string()))
        })
    }

    /// The version the first directory holding a match selects.
    fn find_floating(&self, reference: &OrbRef) -> Option<String> {
        self.directories.iter().find_map(|d| {
            let stored = d.directory.versions(&reference.namespace, &reference.name);
            select(
                &reference.version,
                stored.iter().map(|s| s.version.as_str()),
            )
            .map(str::to_string)
        })
    }

    /// Asks the remote registry for one exact version and keeps it in the cache.
    fn download(
        &self,
        remote: &dyn Registry,
        reference: &OrbRef,
        version: &str,
    ) -> Result<(String, String), OrbFetchError> {
        let text = remote
            .fetch(&reference.namespace, &reference.name, version)
            .map_err(registry_error)?;
        let origin = match self.cache() {
            Some(cache) => cache
                .write(&reference.namespace, &reference.name, version, &text)
                .map_err(cache_error)?
                .display()
                .to_string(),
            None => format!(
                "{}/{}/{}@{version}",
                remote.host(),
                reference.namespace,
                reference.name
            ),
        };
        Ok((text, origin))
    }

    fn resolve(&self, reference: &OrbRef) -> Result<(String, String, String), OrbFetchError> {
        let key = reference.to_string();
        let pin = match (self.policy, &self.lock) {
            (LockPolicy::Enforce, Some(lock)) => lock.orbs.get(&key),
            _ => None,
        };
        if let Some(pin) = pin {
            let (text, origin) = match self.find_exact(reference, &pin.version) {
                Some(found) => found,
                None => match &self.remote {
                    Some(remote) => self.download(remote.as_ref(), reference, &pin.version)?,
                    None => {
                        return Err(self.missing(
                            reference,
                            &format!(
                                "it is locked to {} but no store holds that version",
                                pin.version
                            ),
                        ))
                    }
                },
            };
            let actual = sha256_hex(&text);
            if actual != pin.sha256 {
                return Err(OrbFetchError {
                    code: codes::ORB_LOCK_MISMATCH,
                    message: format!(
                        "the source of {}/{}@{} at {origin} does not match orbs.lock (sha256 {actual}, locked {})",
                        reference.namespace, reference.name, pin.version, pin.sha256
                    ),
                    help: "the orb changed since it was locked; restore the locked source, or run `orrery orb update` to pin the new source if the change is intended".into(),
                });
            }
            return Ok((pin.version.clone(), text, origin));
        }
        let dev = reference.version.starts_with("dev:");
        if let Some(remote) = &self.remote {
            // Online, moving references and dev labels follow the registry; exact versions are
            // immutable, so a stored copy is as good as the registry's.
            if !is_exact(&reference.version) || dev {
                let published = remote
                    .versions(&reference.namespace, &reference.name)
                    .map_err(registry_error)?;
                let Some(version) =
                    select(&reference.version, published.iter().map(String::as_str))
                else {
                    return Err(self.missing(
                        reference,
                        &format!("{} publishes no matching version", remote.host()),
                    ));
                };
                let version = version.to_string();
                let (text, origin) = match self.find_exact(reference, &version) {
                    Some(found) if !dev => found,
                    _ => self.download(remote.as_ref(), reference, &version)?,
                };
                return Ok((version, text, origin));
            }
            if let Some((text, origin)) = self.find_exact(reference, &reference.version) {
                return Ok((reference.version.clone(), text, origin));
            }
            let (text, origin) = self.download(remote.as_ref(), reference, &reference.version)?;
            return Ok((reference.version.clone(), text, origin));
        }
        let Some(version) = self.find_floating(reference) else {
            return Err(self.missing(reference, "no store holds a matching version"));
        };
        let (text, origin) = self
            .find_exact(reference, &version)
            .ok_or_else(|| self.missing(reference, "its file could not be read"))?;
        Ok((version, text, origin))
    }

    fn missing(&self, reference: &OrbRef, why: &str) -> OrbFetchError {
        let searched: Vec<String> = self
            .directories
            .iter()
            .map(|d| {
                format!(
                    "{} ({})",
                    d.directory
                        .root
                        .join(&reference.namespace)
                        .join(&reference.name)
                        .display(),
                    d.tier.label()
                )
            })
            .collect();
        let message = if searched.is_empty() {
            format!("{why}; the store has no directories")
        } else {
            format!("{why}; searched {}", searched.join(", "))
        };
        OrbFetchError {
            code: codes::ORB_NOT_FOUND,
            message,
            help: "fetch it with `orrery orb fetch`, compile with --online, or pass a directory with --orb-path DIR (layout DIR/NAMESPACE/NAME/VERSION.yml)".into(),
        }
    }
}

/// The registry's own advice, when it has some, becomes the diagnostic's help.
fn registry_error(mut error: RegistryError) -> OrbFetchError {
    let help = error.help.take().unwrap_or_else(|| {
        "check the registry address and token, or work offline from --orb-path or the cache".into()
    });
    OrbFetchError {
        code: codes::ORB_REGISTRY,
        message: error.to_string(),
        help,
    }
}

fn cache_error(message: String) -> OrbFetchError {
    OrbFetchError {
        code: codes::ORB_CACHE,
        message: format!("the orb was downloaded but cannot be kept in the cache: {message}"),
        help: "make the cache directory writable, or point ORRERY_CACHE_DIR at one that is".into(),
    }
}

impl OrbSource for OrbStore {
    fn fetch(&self, reference: &OrbRef) -> Result<FetchedOrb, OrbFetchError> {
        let (version, text, origin) = self.resolve(reference)?;
        self.resolutions.borrow_mut().insert(
            reference.to_string(),
            Resolution {
                version: version.clone(),
                sha256: sha256_hex(&text),
                origin: origin.clone(),
            },
        );
        Ok(FetchedOrb {
            version,
            origin,
            text,
        })
    }
}
