//! Opens the orb store for a config: `--orb-path` directories, the project's vendored
//! `.circleci/orbs/`, the user cache, the lockfile `.circleci/orbs.lock`, and — only with
//! `--online` — a remote registry.

use std::path::{Path, PathBuf};

use clap::Args;
use orrery_diagnostics::{Diagnostic, SourceDb};
use orrery_orb::{LockPolicy, Lockfile, OrbDirectory, OrbStore, StoreDirectory, Tier};

use crate::remote;

#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// Registry directory of orbs laid out as DIR/NAMESPACE/NAME/VERSION.yml (repeatable);
    /// ORRERY_ORB_PATH adds more (colon-separated).
    #[arg(long = "orb-path", value_name = "DIR")]
    pub orb_path: Vec<PathBuf>,
    /// Ask the registry for orbs the local store lacks, and for the newest match of floating
    /// references; what it answers is kept in the user cache.
    #[arg(long)]
    pub online: bool,
    #[command(flatten)]
    pub registry: remote::RegistryArgs,
    /// The lockfile (default: orbs.lock in the config's .circleci directory).
    #[arg(long, value_name = "FILE")]
    pub lockfile: Option<PathBuf>,
}

/// The `.circleci` directory a config belongs to: the config's own directory when it is one,
/// else `.circleci` beside the config.
pub fn project_dir(config: &Path) -> PathBuf {
    let dir = config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.file_name().is_some_and(|n| n == ".circleci") {
        dir.to_path_buf()
    } else {
        dir.join(".circleci")
    }
}

/// `$ORRERY_CACHE_DIR`, else `$XDG_CACHE_HOME/orrery/orbs`, else `~/.cache/orrery/orbs`.
pub fn cache_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("ORRERY_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("orrery").join("orbs"))
}

impl StoreArgs {
    pub fn lockfile_path(&self, config: &Path) -> PathBuf {
        self.lockfile
            .clone()
            .unwrap_or_else(|| project_dir(config).join("orbs.lock"))
    }

    /// The store's directories in resolution order.
    pub fn directories(&self, config: &Path) -> Vec<StoreDirectory> {
        let mut roots = self.orb_path.clone();
        if let Ok(env) = std::env::var("ORRERY_ORB_PATH") {
            roots.extend(std::env::split_paths(&env).filter(|p| !p.as_os_str().is_empty()));
        }
        let mut directories: Vec<StoreDirectory> = roots
            .into_iter()
            .map(|root| StoreDirectory {
                tier: Tier::OrbPath,
                directory: OrbDirectory::new(root),
            })
            .collect();
        directories.push(StoreDirectory {
            tier: Tier::Vendored,
            directory: OrbDirectory::new(project_dir(config).join("orbs")),
        });
        if let Some(cache) = cache_dir() {
            directories.push(StoreDirectory {
                tier: Tier::Cache,
                directory: OrbDirectory::new(cache),
            });
        }
        directories
    }

    /// Opens the store for `config`, reading its lockfile when there is one. Lockfile problems
    /// are added to `diagnostics`.
    pub fn open(
        &self,
        config: &Path,
        policy: LockPolicy,
        db: &mut SourceDb,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<OrbStore, String> {
        let mut store = OrbStore::new(self.directories(config));
        if let Some(lock) = read_lockfile(&self.lockfile_path(config), db, diagnostics)? {
            store = store.locked(lock, policy);
        }
        if self.online {
            store = store.online(self.registry.client()?);
        }
        Ok(store)
    }
}

/// Reads a lockfile if it exists.
pub fn read_lockfile(
    path: &Path,
    db: &mut SourceDb,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<Lockfile>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let file = db.add(path.display().to_string(), text.clone());
    let (lock, mut found) = Lockfile::parse(file, &text);
    diagnostics.append(&mut found);
    Ok(Some(lock))
}
