//! Which remote registry `--online`, `orb fetch` and `orb publish` talk to: CircleCI's
//! (GraphQL; circleci.com or a CircleCI Server host) or an OCI registry.

use clap::Args;
use orrery_registry::{BasicAuth, CircleCiRegistry, OciOptions, OciRegistry, Registry};

#[derive(Args, Clone, Default)]
pub struct RegistryArgs {
    /// The registry: CircleCI's API host (`https://circleci.com`, or a CircleCI Server host)
    /// or an OCI repository prefix (`oci://HOST[:PORT]/PREFIX`, orbs stored as
    /// PREFIX/NAMESPACE/NAME). Default: $ORRERY_REGISTRY, else https://circleci.com.
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// API token for CircleCI's registry (default: $CIRCLECI_CLI_TOKEN).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Talk plain HTTP to an OCI registry that is not on this machine.
    #[arg(long)]
    pub plain_http: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl RegistryArgs {
    pub fn location(&self) -> String {
        self.registry
            .clone()
            .or_else(|| env("ORRERY_REGISTRY"))
            .unwrap_or_else(|| orrery_registry::graphql::CIRCLECI_HOST.to_string())
    }

    pub fn oci_options(&self) -> OciOptions {
        OciOptions {
            plain_http: self.plain_http,
            basic_auth: BasicAuth::from_lookup(env),
        }
    }

    /// The client for the registry these flags name. Makes no request.
    pub fn client(&self) -> Result<Box<dyn Registry>, String> {
        let location = self.location();
        if location.starts_with(orrery_registry::reference::OCI_SCHEME) {
            let registry =
                OciRegistry::new(&location, self.oci_options()).map_err(|e| e.to_string())?;
            return Ok(Box::new(registry));
        }
        let token = self.token.clone().or_else(|| env("CIRCLECI_CLI_TOKEN"));
        let registry = CircleCiRegistry::new(&location, token).map_err(|e| e.to_string())?;
        Ok(Box::new(registry))
    }
}
