//! The orb store the compiler reads through [`orrery_compiler::OrbSource`]: registry
//! directories, a project's vendored orbs, the user cache, an optional remote registry, and the
//! lockfile that pins every reference.

mod directory;
mod lockfile;
mod store;
mod version;

pub use directory::{OrbDirectory, StoredOrb};
pub use lockfile::{sha256_hex, Locked, Lockfile, LOCKFILE_VERSION};
pub use store::{LockPolicy, OrbStore, Resolution, StoreDirectory, Tier};
pub use version::{is_exact, select, semver};
