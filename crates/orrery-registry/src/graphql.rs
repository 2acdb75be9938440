//! A client for CircleCI's orb registry: the GraphQL endpoint `HOST/graphql-unstable` that the
//! official CLI and the YAML language server use (CircleCI cloud or a CircleCI Server install).
//!
//! Every request is a `POST` of `{"query": …, "variables": {…}}`; REGISTRY.md lists the exact
//! queries and answers. The query texts follow the shapes circleci-cli sends, so a server that
//! answers the CLI answers us.

use std::fmt;

use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::shorten;
use crate::http::{build_client, is_loopback, kind_of_status, network_error};
use crate::rules::{self, check_publishable, describe, OrbVersion};
use crate::{Registry, RegistryError, RegistryErrorKind};

/// CircleCI cloud.
pub const CIRCLECI_HOST: &str = "https://circleci.com";

/// The path of the orb registry's GraphQL endpoint below the host.
pub const GRAPHQL_PATH: &str = "graphql-unstable";

/// How many versions [`CircleCiRegistry::versions`] asks for (the registry lists the newest
/// first, so older ones beyond this are not listed).
pub const VERSIONS_LISTED: u32 = 200;

const QUERY_ORB_SOURCE: &str = "\
query OrbSource($orbVersionRef: String!) {
  orbVersion(orbVersionRef: $orbVersionRef) {
    id
    version
    orb { id }
    source
  }
}";

const QUERY_ORB_VERSION_EXISTS: &str = "\
query OrbVersionExists($orbVersionRef: String!) {
  orbVersion(orbVersionRef: $orbVersionRef) {
    id
  }
}";

const QUERY_ORB_VERSIONS: &str = "\
query OrbVersions($name: String!) {
  orb(name: $name) {
    versions(count: 200) {
      version
    }
  }
}";

const QUERY_ORB_ID: &str = "\
query OrbId($name: String!, $namespace: String) {
  orb(name: $name) {
    id
  }
  registryNamespace(name: $namespace) {
    id
  }
}";

const MUTATION_PUBLISH_ORB: &str = "\
mutation PublishOrb($config: String!, $orbId: UUID!, $version: String!) {
  publishOrb(orbId: $orbId, orbYaml: $config, version: $version) {
    orb {
      version
    }
    errors {
      message
    }
  }
}";

/// CircleCI's orb registry at one host, with an optional API token.
///
/// Reading public orbs needs no token; publishing does.
pub struct CircleCiRegistry {
    /// `https://circleci.com/graphql-unstable`
    endpoint: String,
    /// `circleci.com`: the host as messages name it.
    host: String,
    token: Option<String>,
    client: Client,
}

impl fmt::Debug for CircleCiRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircleCiRegistry")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl CircleCiRegistry {
    /// A client for `host` (a URL such as [`CIRCLECI_HOST`] or `https://circleci.example.com`
    /// for CircleCI Server). Makes no request.
    pub fn new(host: &str, token: Option<String>) -> Result<Self, RegistryError> {
        let request = format!("connect to the CircleCI orb registry at {host}");
        let host = host.trim_end_matches('/');
        let Some(authority) = host
            .strip_prefix("https://")
            .or_else(|| host.strip_prefix("http://"))
        else {
            return Err(RegistryError::invalid_input(
                request,
                "the host must be a URL with its scheme, like https://circleci.com",
            ));
        };
        let bare_host = authority.split('/').next().unwrap_or(authority);
        if bare_host.is_empty() {
            return Err(RegistryError::invalid_input(
                request,
                "the host URL has no host name",
            ));
        }
        let client = build_client(authority, &request, is_loopback(bare_host))?;
        Ok(Self {
            endpoint: format!("{host}/{GRAPHQL_PATH}"),
            host: authority.to_owned(),
            token: token.filter(|token| !token.is_empty()),
            client,
        })
    }

    /// The GraphQL endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The registry's id of the orb `namespace/name` (a UUID), which `publishOrb` needs.
    pub fn orb_id(&self, namespace: &str, name: &str) -> Result<String, RegistryError> {
        let request = rules::name_request("look up", namespace, name)?;
        let data: OrbIdData = self.run(
            &request,
            QUERY_ORB_ID,
            json!({ "name": format!("{namespace}/{name}"), "namespace": namespace }),
        )?;
        if let Some(id) = data.orb.and_then(|orb| orb.id).filter(|id| !id.is_empty()) {
            return Ok(id);
        }
        let namespace_exists = data
            .registry_namespace
            .and_then(|ns| ns.id)
            .is_some_and(|id| !id.is_empty());
        let (detail, help) = if namespace_exists {
            (
                format!("the namespace `{namespace}` has no orb `{name}`"),
                format!("check the orb name, or create the orb first: circleci orb create {namespace}/{name}"),
            )
        } else {
            (
                format!("there is no namespace `{namespace}`"),
                "check the namespace; namespaces are created with circleci namespace create"
                    .to_owned(),
            )
        };
        Err(self
            .error(RegistryErrorKind::NotFound, &request)
            .with_detail(detail)
            .with_help(help))
    }

    /// Whether `namespace/name@version` is published (dev versions included).
    pub fn version_exists(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
    ) -> Result<bool, RegistryError> {
        let request = describe("look up", namespace, name, Some(version));
        rules::parse_request(&request, namespace, name, version)?;
        let data: OrbVersionData = self.run(
            &request,
            QUERY_ORB_VERSION_EXISTS,
            json!({ "orbVersionRef": format!("{namespace}/{name}@{version}") }),
        )?;
        Ok(data.orb_version.is_some_and(|found| found.has_id()))
    }

    fn error(&self, kind: RegistryErrorKind, request: &str) -> RegistryError {
        RegistryError::new(kind, &self.host, request)
    }

    /// Sends one GraphQL operation and returns its `data`, or the first problem: no answer,
    /// an HTTP error status, an unreadable body, or a non-empty top-level `errors` array.
    fn run<T: DeserializeOwned>(
        &self,
        request: &str,
        query: &str,
        variables: Value,
    ) -> Result<T, RegistryError> {
        let mut http = self
            .client
            .post(&self.endpoint)
            .header("Accept", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = &self.token {
            // circleci-cli and the language server send the bare token as `Authorization` on
            // GraphQL; CircleCI's REST API reads `Circle-Token`. Both are sent so either works.
            http = http
                .header("Circle-Token", token)
                .header("Authorization", token);
        }
        let response = http
            .send()
            .map_err(|error| network_error(&self.host, request, &error))?;
        let status = response.status();
        let body = response
            .text()
            .map_err(|error| network_error(&self.host, request, &error))?;
        if status != StatusCode::OK {
            return Err(self.status_error(request, status, &body));
        }
        let answer: GraphQlAnswer<T> = serde_json::from_str(&body).map_err(|error| {
            self.error(RegistryErrorKind::BadResponse, request)
                .with_status(status.as_u16())
                .with_detail(format!("{error}; the answer was: {}", shorten(&body)))
                .with_help(format!("is {} a CircleCI GraphQL endpoint?", self.endpoint))
        })?;
        if !answer.errors.is_empty() {
            return Err(self.graphql_errors(request, &answer.errors));
        }
        answer.data.ok_or_else(|| {
            self.error(RegistryErrorKind::BadResponse, request)
                .with_detail("the answer has neither `data` nor `errors`")
        })
    }

    fn status_error(&self, request: &str, status: StatusCode, body: &str) -> RegistryError {
        let kind = kind_of_status(status);
        // CircleCI answers errors as `{"message": "…"}`; fall back to the raw body.
        let detail = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|value| value.get("message")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| shorten(body));
        let help = match kind {
            RegistryErrorKind::Unauthorized => {
                "check the CircleCI API token (a personal API token from the user settings)"
                    .to_owned()
            }
            RegistryErrorKind::NotFound => format!(
                "{} was not found; is the host a CircleCI (Server) URL?",
                self.endpoint
            ),
            _ => "try again later; the registry may be unavailable".to_owned(),
        };
        self.error(kind, request)
            .with_status(status.as_u16())
            .with_detail(detail)
            .with_help(help)
    }

    fn graphql_errors(&self, request: &str, errors: &[GraphQlError]) -> RegistryError {
        let detail = errors
            .iter()
            .map(|error| error.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        // The registry signals missing or refused credentials only in the message text.
        if detail.to_ascii_lowercase().contains("must log in") {
            let help = if self.token.is_some() {
                "the token was not accepted; check that it is valid for this host"
            } else {
                "this needs a CircleCI API token"
            };
            self.error(RegistryErrorKind::Unauthorized, request)
                .with_detail(detail)
                .with_help(help)
        } else {
            self.error(RegistryErrorKind::Rejected, request)
                .with_detail(detail)
        }
    }
}

impl Registry for CircleCiRegistry {
    fn host(&self) -> &str {
        &self.host
    }

    /// Release versions, ascending. CircleCI does not list dev versions.
    fn versions(&self, namespace: &str, name: &str) -> Result<Vec<String>, RegistryError> {
        let request = rules::name_request("list versions of", namespace, name)?;
        let data: OrbVersionsData = self.run(
            &request,
            QUERY_ORB_VERSIONS,
            json!({ "name": format!("{namespace}/{name}") }),
        )?;
        let Some(orb) = data.orb else {
            return Err(self
                .error(RegistryErrorKind::NotFound, &request)
                .with_detail(format!("there is no orb {namespace}/{name}"))
                .with_help("check the namespace and orb name"));
        };
        let mut versions: Vec<String> = orb.versions.into_iter().map(|v| v.version).collect();
        rules::sort_versions(&mut versions);
        Ok(versions)
    }

    fn fetch(&self, namespace: &str, name: &str, version: &str) -> Result<String, RegistryError> {
        let request = describe("fetch", namespace, name, Some(version));
        rules::parse_request(&request, namespace, name, version)?;
        let data: OrbVersionData = self.run(
            &request,
            QUERY_ORB_SOURCE,
            json!({ "orbVersionRef": format!("{namespace}/{name}@{version}") }),
        )?;
        let found = data
            .orb_version
            .filter(OrbVersionNode::has_id)
            .ok_or_else(|| {
                self.error(RegistryErrorKind::NotFound, &request)
                    .with_detail(format!("{namespace}/{name} has no version {version}"))
                    .with_help("check the version; list the published ones with the orb's versions")
            })?;
        if let Some(answered) = found.version.as_deref().filter(|v| *v != version) {
            return Err(self
                .error(RegistryErrorKind::BadResponse, &request)
                .with_detail(format!("the registry answered version {answered}")));
        }
        found.source.ok_or_else(|| {
            self.error(RegistryErrorKind::BadResponse, &request)
                .with_detail("the answer has no `source`")
        })
    }

    fn publish(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
        source: &str,
    ) -> Result<(), RegistryError> {
        let request = describe("publish", namespace, name, Some(version));
        let parsed = rules::parse_request(&request, namespace, name, version)?;
        if self.token.is_none() {
            return Err(self
                .error(RegistryErrorKind::Unauthorized, &request)
                .with_detail("publishing needs a CircleCI API token and none was given")
                .with_help("pass a personal API token from the CircleCI user settings"));
        }
        let orb_id = self.orb_id(namespace, name)?;
        if let OrbVersion::Release(_) = parsed {
            let exists = self.version_exists(namespace, name, version)?;
            check_publishable(&parsed, exists).map_err(|e| e.at(&self.host, &request))?;
        }
        let data: PublishData = self.run(
            &request,
            MUTATION_PUBLISH_ORB,
            json!({ "config": source, "orbId": orb_id, "version": version }),
        )?;
        let payload = data.publish_orb.ok_or_else(|| {
            self.error(RegistryErrorKind::BadResponse, &request)
                .with_detail("the answer has no `publishOrb`")
        })?;
        match payload.errors {
            Some(errors) if !errors.is_empty() => Err(self.graphql_errors(&request, &errors)),
            _ => Ok(()),
        }
    }
}

/// The GraphQL response envelope.
#[derive(Deserialize)]
struct GraphQlAnswer<T> {
    data: Option<T>,
    #[serde(default, deserialize_with = "null_as_empty")]
    errors: Vec<GraphQlError>,
}

#[derive(Deserialize)]
struct GraphQlError {
    #[serde(default)]
    message: String,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct IdNode {
    id: Option<String>,
}

#[derive(Deserialize)]
struct OrbIdData {
    orb: Option<IdNode>,
    #[serde(rename = "registryNamespace")]
    registry_namespace: Option<IdNode>,
}

#[derive(Deserialize)]
struct OrbVersionData {
    #[serde(rename = "orbVersion")]
    orb_version: Option<OrbVersionNode>,
}

#[derive(Deserialize)]
struct OrbVersionNode {
    id: Option<String>,
    version: Option<String>,
    source: Option<String>,
}

impl OrbVersionNode {
    /// The registry answers an unknown version with `null` or an empty id.
    fn has_id(&self) -> bool {
        self.id.as_deref().is_some_and(|id| !id.is_empty())
    }
}

#[derive(Deserialize)]
struct OrbVersionsData {
    orb: Option<OrbWithVersions>,
}

#[derive(Deserialize)]
struct OrbWithVersions {
    #[serde(default, deserialize_with = "null_as_empty")]
    versions: Vec<VersionNode>,
}

#[derive(Deserialize)]
struct VersionNode {
    version: String,
}

#[derive(Deserialize)]
struct PublishData {
    #[serde(rename = "publishOrb")]
    publish_orb: Option<PublishPayload>,
}

#[derive(Deserialize)]
struct PublishPayload {
    errors: Option<Vec<GraphQlError>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// REGISTRY.md documents the exact operations; keep it in step with the code.
    #[test]
    fn registry_md_shows_every_operation_verbatim() {
        let doc = include_str!("../REGISTRY.md");
        let doc_blocks: String = doc
            .lines()
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n");
        for operation in [
            QUERY_ORB_SOURCE,
            QUERY_ORB_VERSION_EXISTS,
            QUERY_ORB_VERSIONS,
            QUERY_ORB_ID,
            MUTATION_PUBLISH_ORB,
        ] {
            let unindented: String = operation
                .lines()
                .map(str::trim_start)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                doc_blocks.contains(&unindented),
                "REGISTRY.md lacks:\n{operation}"
            );
        }
        assert!(QUERY_ORB_VERSIONS.contains(&format!("count: {VERSIONS_LISTED}")));
    }

    #[test]
    fn host_needs_a_scheme() {
        let error = CircleCiRegistry::new("circleci.com", None).unwrap_err();
        assert_eq!(error.kind, RegistryErrorKind::InvalidInput);
        assert!(error.to_string().contains("https://circleci.com"));
    }

    #[test]
    fn endpoint_is_below_the_host() {
        let registry = CircleCiRegistry::new("https://circleci.example.com/", None).unwrap();
        assert_eq!(
            registry.endpoint(),
            "https://circleci.example.com/graphql-unstable"
        );
        assert_eq!(registry.host(), "circleci.example.com");
    }

    #[test]
    fn debug_hides_the_token() {
        let registry = CircleCiRegistry::new(CIRCLECI_HOST, Some("secret".into())).unwrap();
        assert!(!format!("{registry:?}").contains("secret"));
    }

    #[test]
    fn invalid_versions_make_no_request() {
        // Port 9 (discard) on loopback: a request would fail with a network error instead.
        let registry = CircleCiRegistry::new("http://127.0.0.1:9", None).unwrap();
        let error = registry.fetch("acme", "tools", "1.2").unwrap_err();
        assert_eq!(error.kind, RegistryErrorKind::InvalidInput);
    }

    #[test]
    fn unreachable_host_is_a_network_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let registry = CircleCiRegistry::new(&format!("http://127.0.0.1:{port}"), None).unwrap();
        let error = registry.versions("acme", "tools").unwrap_err();
        assert_eq!(error.kind, RegistryErrorKind::Network, "{error}");
        assert!(error.to_string().starts_with(&format!(
            "list versions of orb acme/tools on 127.0.0.1:{port}: registry not reachable"
        )));
    }
}
