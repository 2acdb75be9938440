//! Orb registry clients: fetch, list and publish orbs.
//!
//! - [`CircleCiRegistry`] talks to CircleCI's orb registry (the GraphQL endpoint of
//!   circleci.com or a CircleCI Server install).
//! - [`OciRegistry`] stores orbs as OCI artifacts in any OCI distribution registry.
//!
//! Both implement [`Registry`], the blocking interface the CLI uses; [`rules`] holds what is
//! the same everywhere (version syntax, immutability, the next version). Requests, media types
//! and answers are documented in `REGISTRY.md` beside this crate.
//!
//! This crate makes no network request until the caller constructs a client and calls it, and
//! it never reads the environment or the filesystem: tokens and credentials are passed in.

mod error;
pub mod graphql;
mod http;
pub mod oci;
mod oci_auth;
pub mod reference;
pub mod rules;

pub use error::{RegistryError, RegistryErrorKind};
pub use graphql::CircleCiRegistry;
pub use oci::{BasicAuth, OciOptions, OciRegistry};
pub use reference::OciReference;
pub use rules::{next_version, publish_increment, Increment, OrbVersion, ReleaseVersion};

/// An orb registry. Every method blocks until the registry has answered.
pub trait Registry {
    /// The registry host, as messages name it (`circleci.com`, `127.0.0.1:5000`).
    fn host(&self) -> &str;

    /// The published versions of `namespace/name`, sorted (releases ascending, then dev
    /// versions), including dev versions where the registry can list them.
    fn versions(&self, namespace: &str, name: &str) -> Result<Vec<String>, RegistryError>;

    /// The orb YAML of `namespace/name@version`, exactly as it was published. `version` is an
    /// exact release (`1.2.3`) or `dev:LABEL`; ranges are resolved by the caller.
    fn fetch(&self, namespace: &str, name: &str, version: &str) -> Result<String, RegistryError>;

    /// Publishes `source` as `namespace/name@version`. An existing release version is refused
    /// ([`RegistryErrorKind::VersionExists`]); a `dev:LABEL` version is overwritten.
    fn publish(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
        source: &str,
    ) -> Result<(), RegistryError>;
}
