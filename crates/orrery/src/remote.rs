//! Which remote registry `--online`, `orb fetch` and `orb publish` talk to.

use clap::Args;
use orrery_orb::RemoteRegistry;

#[derive(Args, Clone, Default)]
pub struct RegistryArgs {
    /// The registry: CircleCI's API host (`https://circleci.com`, or a CircleCI Server host)
    /// or an OCI repository prefix (`oci://HOST/REPO`). Default: $ORRERY_REGISTRY, else
    /// https://circleci.com.
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// API token for CircleCI's registry (default: $CIRCLECI_CLI_TOKEN).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

impl RegistryArgs {
    pub fn client(&self) -> Result<Box<dyn RemoteRegistry>, String> {
        Err("registry clients are not wired yet".into())
    }
}
