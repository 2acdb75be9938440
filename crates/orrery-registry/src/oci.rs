//! A client for OCI registries (the distribution API, `/v2/…`) that stores orbs as OCI
//! artifacts, the way Helm stores charts.
//!
//! One orb version is one tagged OCI image manifest:
//! - `artifactType`: [`ORB_ARTIFACT_TYPE`];
//! - `config`: a small JSON blob ([`ORB_CONFIG_MEDIA_TYPE`]) holding namespace, name and version;
//! - one layer: the orb YAML as written ([`ORB_LAYER_MEDIA_TYPE`]).
//!
//! The orb `namespace/name` lives in the repository `PREFIX/namespace/name` and the version is
//! the tag (`dev:LABEL` becomes `dev-LABEL`, see `reference.rs`). Authentication: anonymous,
//! HTTP basic with [`BasicAuth`], and bearer tokens from the registry's token service
//! (`oci_auth.rs`), anonymous or with the basic credentials.

use std::fmt;
use std::sync::Mutex;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::shorten;
use crate::http::{build_client, is_loopback, kind_of_status, network_error};
use crate::oci_auth::{fetch_bearer_token, BearerChallenge};
pub use crate::oci_auth::{BasicAuth, PASSWORD_VARIABLE, USERNAME_VARIABLE};
use crate::reference::{
    check_registry, check_repository, tag_of_version, version_of_tag, OciReference, OCI_SCHEME,
};
use crate::rules::{self, check_publishable, describe, OrbVersion};
use crate::{Registry, RegistryError, RegistryErrorKind};

/// The most pages of `tags/list` followed.
const MAX_TAG_PAGES: usize = 1000;

/// `artifactType` of an orb manifest.
pub const ORB_ARTIFACT_TYPE: &str = "application/vnd.orrery.orb.v1";
/// Media type of the config blob.
pub const ORB_CONFIG_MEDIA_TYPE: &str = "application/vnd.orrery.orb.config.v1+json";
/// Media type of the layer that holds the orb YAML.
pub const ORB_LAYER_MEDIA_TYPE: &str = "application/vnd.orrery.orb.layer.v1+yaml";
/// The OCI image manifest media type.
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// How to reach an OCI registry.
#[derive(Debug, Clone, Default)]
pub struct OciOptions {
    /// Use `http://` even for a host that is not loopback (`--plain-http`). Loopback hosts
    /// (`localhost`, `127.0.0.0/8`, `::1`) always use `http://`; all others `https://`.
    pub plain_http: bool,
    pub basic_auth: Option<BasicAuth>,
}

/// An OCI registry holding orbs below a repository prefix.
pub struct OciRegistry {
    /// `HOST[:PORT]`
    registry: String,
    /// `http://HOST[:PORT]` or `https://HOST[:PORT]`
    base_url: String,
    /// Repository path before `namespace/name`; empty for none.
    prefix: String,
    basic_auth: Option<BasicAuth>,
    plain_http: bool,
    /// The last bearer token the registry's token service issued; reused until refused.
    bearer_token: Mutex<Option<String>>,
    client: Client,
}

impl fmt::Debug for OciRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OciRegistry")
            .field("base_url", &self.base_url)
            .field("prefix", &self.prefix)
            .field("basic_auth", &self.basic_auth)
            .finish()
    }
}

impl OciRegistry {
    /// A client for `oci://HOST[:PORT][/PREFIX]`: orb `namespace/name` is then the repository
    /// `PREFIX/namespace/name`. Makes no request.
    pub fn new(location: &str, options: OciOptions) -> Result<Self, RegistryError> {
        let request = format!("connect to the OCI registry {location}");
        let invalid = |detail: String| RegistryError::invalid_input(&request, detail);
        let rest = location.strip_prefix(OCI_SCHEME).ok_or_else(|| {
            invalid(format!(
                "`{location}` is not an OCI location: expected oci://HOST[:PORT][/PREFIX]"
            ))
        })?;
        let (registry, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        check_registry(registry).map_err(&invalid)?;
        if !prefix.is_empty() {
            check_repository(prefix).map_err(&invalid)?;
        }
        Self::connect(registry, prefix, options, &request)
    }

    /// A client for the registry a reference names, with no prefix: use the reference's
    /// repository with [`OciRegistry::fetch_from`] and friends.
    pub fn for_reference(
        reference: &OciReference,
        options: OciOptions,
    ) -> Result<Self, RegistryError> {
        let request = format!(
            "connect to the OCI registry {OCI_SCHEME}{}",
            reference.registry
        );
        Self::connect(&reference.registry, "", options, &request)
    }

    fn connect(
        registry: &str,
        prefix: &str,
        options: OciOptions,
        request: &str,
    ) -> Result<Self, RegistryError> {
        let loopback = is_loopback(registry);
        let scheme = if loopback || options.plain_http {
            "http"
        } else {
            "https"
        };
        Ok(Self {
            registry: registry.to_owned(),
            base_url: format!("{scheme}://{registry}"),
            prefix: prefix.to_owned(),
            basic_auth: options.basic_auth,
            plain_http: options.plain_http,
            bearer_token: Mutex::new(None),
            client: build_client(registry, request, loopback)?,
        })
    }

    /// The repository that holds orb `namespace/name`.
    pub fn repository_of(&self, namespace: &str, name: &str) -> Result<String, RegistryError> {
        let repository = if self.prefix.is_empty() {
            format!("{namespace}/{name}")
        } else {
            format!("{}/{namespace}/{name}", self.prefix)
        };
        check_repository(&repository).map_err(|detail| {
            RegistryError::invalid_input(describe("store", namespace, name, None), detail)
                .with_help("OCI repository names are lowercase")
        })?;
        Ok(repository)
    }

    /// The orb versions tagged in `repository`, sorted; tags that are not orb versions are
    /// left out. A repository that does not exist yet has no versions.
    pub fn versions_in(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        let request = format!(
            "list versions in {OCI_SCHEME}{}/{repository}",
            self.registry
        );
        self.check_repository(repository, &request)?;
        let mut tags = Vec::new();
        let mut next = Some(format!("{}/v2/{repository}/tags/list", self.base_url));
        let mut pages = 0;
        while let Some(url) = next.take() {
            // A registry that links pages in a circle must not keep us here.
            pages += 1;
            if pages > MAX_TAG_PAGES {
                return Err(self
                    .error(RegistryErrorKind::BadResponse, &request)
                    .with_detail(format!("the tag list runs past {MAX_TAG_PAGES} pages")));
            }
            let response = self.send(&request, self.client.get(&url))?;
            if response.status() == StatusCode::NOT_FOUND {
                // A repository comes into being with its first push: an unknown one has no
                // versions. Registries say so with an OCI error body (`NAME_UNKNOWN`, Harbor's
                // `NOT_FOUND`); a 404 without one means the server is not a registry.
                let body = response.text().unwrap_or_default();
                if !error_entries(&body).is_empty() {
                    return Ok(Vec::new());
                }
                return Err(self.error_from(&request, StatusCode::NOT_FOUND, &body));
            }
            let response = self.expect_status(&request, response, StatusCode::OK)?;
            next = next_page(&self.base_url, &response);
            let page: TagList = self.read_json(&request, response)?;
            tags.extend(page.tags.unwrap_or_default());
        }
        let mut versions: Vec<String> = tags
            .iter()
            .filter_map(|tag| version_of_tag(tag))
            .map(|version| version.to_string())
            .collect();
        rules::sort_versions(&mut versions);
        versions.dedup();
        Ok(versions)
    }

    /// The orb YAML stored as `version` in `repository`, after checking that the artifact is
    /// an orb and that the layer matches its digest.
    pub fn fetch_from(
        &self,
        repository: &str,
        version: &OrbVersion,
    ) -> Result<String, RegistryError> {
        let tag = tag_of_version(version);
        let request = format!("fetch {OCI_SCHEME}{}/{repository}:{tag}", self.registry);
        self.check_repository(repository, &request)?;
        let url = format!("{}/v2/{repository}/manifests/{tag}", self.base_url);
        let response = self.send(
            &request,
            self.client
                .get(&url)
                .header(ACCEPT, OCI_MANIFEST_MEDIA_TYPE),
        )?;
        if response.status() == StatusCode::NOT_FOUND {
            let body = response.text().unwrap_or_default();
            return Err(self
                .error(RegistryErrorKind::NotFound, &request)
                .with_status(404)
                .with_detail(format!(
                    "no version {version} (tag {tag}) in {repository}: {}",
                    registry_message(&body)
                ))
                .with_help("check the version; the published ones are the repository's tags"));
        }
        let response = self.expect_status(&request, response, StatusCode::OK)?;
        let declared_digest = header_text(&response, "docker-content-digest");
        let bytes = self.read_bytes(&request, response)?;
        if let Some(declared) = declared_digest.filter(|d| d.starts_with("sha256:")) {
            if declared != sha256_digest(&bytes) {
                return Err(self
                    .error(RegistryErrorKind::DigestMismatch, &request)
                    .with_detail(format!("the manifest does not match its digest {declared}")));
            }
        }
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|error| {
            self.error(RegistryErrorKind::BadResponse, &request)
                .with_detail(format!(
                    "the manifest is not an OCI image manifest: {error}"
                ))
        })?;
        let layer = self.orb_layer(&request, &manifest)?;
        let blob = self.get_blob(&request, repository, layer)?;
        String::from_utf8(blob).map_err(|_| {
            self.error(RegistryErrorKind::BadResponse, &request)
                .with_detail("the orb layer is not UTF-8 text")
        })
    }

    /// Publishes `source` as `version` in `repository`; an existing release tag is refused,
    /// a dev tag is overwritten.
    pub fn publish_to(
        &self,
        repository: &str,
        version: &OrbVersion,
        source: &str,
    ) -> Result<(), RegistryError> {
        let tag = tag_of_version(version);
        let request = format!("publish {OCI_SCHEME}{}/{repository}:{tag}", self.registry);
        self.check_repository(repository, &request)?;
        let exists = self.tag_exists(&request, repository, &tag)?;
        check_publishable(version, exists).map_err(|e| e.at(&self.registry, &request))?;

        let (namespace, name) = match repository.rsplit_once('/') {
            Some((parent, name)) => (parent.rsplit('/').next(), name),
            None => (None, repository),
        };
        let config = serde_json::to_vec(&OrbConfig {
            namespace,
            name,
            version: &version.to_string(),
        })
        .map_err(|error| {
            self.error(RegistryErrorKind::InvalidInput, &request)
                .with_detail(error.to_string())
        })?;
        let config = self.push_blob(&request, repository, ORB_CONFIG_MEDIA_TYPE, config)?;
        let layer = self.push_blob(
            &request,
            repository,
            ORB_LAYER_MEDIA_TYPE,
            source.as_bytes().to_vec(),
        )?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST_MEDIA_TYPE.to_owned()),
            artifact_type: Some(ORB_ARTIFACT_TYPE.to_owned()),
            config,
            layers: vec![layer],
        };
        let body = serde_json::to_vec(&manifest).map_err(|error| {
            self.error(RegistryErrorKind::InvalidInput, &request)
                .with_detail(error.to_string())
        })?;
        let url = format!("{}/v2/{repository}/manifests/{tag}", self.base_url);
        let response = self.send(
            &request,
            self.client
                .put(&url)
                .header(CONTENT_TYPE, OCI_MANIFEST_MEDIA_TYPE)
                .body(body),
        )?;
        self.expect_status(&request, response, StatusCode::CREATED)?;
        Ok(())
    }

    /// The single orb layer of an orb manifest; anything else is not an orb.
    fn orb_layer<'m>(
        &self,
        request: &str,
        manifest: &'m Manifest,
    ) -> Result<&'m Descriptor, RegistryError> {
        let not_an_orb = |detail: String| {
            self.error(RegistryErrorKind::NotAnOrb, request)
                .with_detail(detail)
                .with_help("the tag holds another kind of artifact; orbs are published by orrery")
        };
        if let Some(media_type) = manifest
            .media_type
            .as_deref()
            .filter(|t| *t != OCI_MANIFEST_MEDIA_TYPE)
        {
            return Err(not_an_orb(format!(
                "the manifest media type is {media_type}, expected {OCI_MANIFEST_MEDIA_TYPE}"
            )));
        }
        // OCI 1.1: without `artifactType`, the config media type is the artifact type.
        let artifact_type = manifest
            .artifact_type
            .as_deref()
            .unwrap_or(&manifest.config.media_type);
        if artifact_type != ORB_ARTIFACT_TYPE && artifact_type != ORB_CONFIG_MEDIA_TYPE {
            return Err(not_an_orb(format!(
                "the artifact type is {artifact_type}, expected {ORB_ARTIFACT_TYPE}"
            )));
        }
        match manifest.layers.as_slice() {
            [layer] if layer.media_type == ORB_LAYER_MEDIA_TYPE => Ok(layer),
            [layer] => Err(not_an_orb(format!(
                "the layer media type is {}, expected {ORB_LAYER_MEDIA_TYPE}",
                layer.media_type
            ))),
            layers => Err(not_an_orb(format!(
                "the manifest has {} layers, expected one {ORB_LAYER_MEDIA_TYPE} layer",
                layers.len()
            ))),
        }
    }

    fn get_blob(
        &self,
        request: &str,
        repository: &str,
        layer: &Descriptor,
    ) -> Result<Vec<u8>, RegistryError> {
        let Some(hex) = layer
            .digest
            .strip_prefix("sha256:")
            .filter(|hex| is_sha256_hex(hex))
        else {
            return Err(self
                .error(RegistryErrorKind::BadResponse, request)
                .with_detail(format!(
                    "unsupported layer digest `{}`: expected sha256:<64 hex digits>",
                    layer.digest
                )));
        };
        let url = format!("{}/v2/{repository}/blobs/sha256:{hex}", self.base_url);
        let response = self.send(request, self.client.get(&url))?;
        let response = self.expect_status(request, response, StatusCode::OK)?;
        let blob = self.read_bytes(request, response)?;
        if sha256_digest(&blob) != layer.digest
            || u64::try_from(blob.len()).ok() != Some(layer.size)
        {
            return Err(self
                .error(RegistryErrorKind::DigestMismatch, request)
                .with_detail(format!(
                    "the orb layer ({} bytes) does not match {} ({} bytes)",
                    blob.len(),
                    layer.digest,
                    layer.size
                )));
        }
        Ok(blob)
    }

    /// Uploads a blob unless the registry has it: `HEAD` the blob, then a monolithic upload
    /// (`POST` an upload session, `PUT` the content with its digest).
    fn push_blob(
        &self,
        request: &str,
        repository: &str,
        media_type: &str,
        content: Vec<u8>,
    ) -> Result<Descriptor, RegistryError> {
        let digest = sha256_digest(&content);
        let descriptor = Descriptor {
            media_type: media_type.to_owned(),
            digest: digest.clone(),
            size: content.len() as u64,
        };
        let blob_url = format!("{}/v2/{repository}/blobs/{digest}", self.base_url);
        let response = self.send(request, self.client.head(&blob_url))?;
        if response.status() == StatusCode::OK {
            return Ok(descriptor);
        }

        let start_url = format!("{}/v2/{repository}/blobs/uploads/", self.base_url);
        let response = self.send(request, self.client.post(&start_url))?;
        let response = self.expect_status(request, response, StatusCode::ACCEPTED)?;
        let Some(location) = header_text(&response, LOCATION.as_str()) else {
            return Err(self
                .error(RegistryErrorKind::BadResponse, request)
                .with_detail("the upload session has no Location header"));
        };
        let upload_url = resolve_location(&self.base_url, &location);
        let separator = if upload_url.contains('?') { '&' } else { '?' };
        let response = self.send(
            request,
            self.client
                .put(format!("{upload_url}{separator}digest={digest}"))
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(content),
        )?;
        self.expect_status(request, response, StatusCode::CREATED)?;
        Ok(descriptor)
    }

    fn tag_exists(
        &self,
        request: &str,
        repository: &str,
        tag: &str,
    ) -> Result<bool, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{tag}", self.base_url);
        let response = self.send(
            request,
            self.client
                .head(&url)
                .header(ACCEPT, OCI_MANIFEST_MEDIA_TYPE),
        )?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(request, response)),
        }
    }

    fn check_repository(&self, repository: &str, request: &str) -> Result<(), RegistryError> {
        check_repository(repository).map_err(|detail| {
            self.error(RegistryErrorKind::InvalidInput, request)
                .with_detail(detail)
        })
    }

    fn error(&self, kind: RegistryErrorKind, request: &str) -> RegistryError {
        RegistryError::new(kind, &self.registry, request)
    }

    /// Sends a request with the current credentials. A bearer challenge is answered once: a
    /// token for the challenge's scope is fetched and the request is sent again with it.
    fn send(&self, request: &str, http: RequestBuilder) -> Result<Response, RegistryError> {
        let retry = http.try_clone();
        let response = self.send_authorized(request, http)?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = header_text(&response, WWW_AUTHENTICATE.as_str())
            .and_then(|header| BearerChallenge::parse(&header));
        let (Some(challenge), Some(retry)) = (challenge, retry) else {
            return Ok(response);
        };
        let token = fetch_bearer_token(
            &self.client,
            &self.registry,
            request,
            &challenge,
            self.basic_auth.as_ref(),
            self.plain_http,
        )?;
        *self.lock_bearer_token() = Some(token);
        self.send_authorized(request, retry)
    }

    fn send_authorized(
        &self,
        request: &str,
        http: RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let bearer_token = self.lock_bearer_token().clone();
        let http = match (bearer_token, &self.basic_auth) {
            (Some(token), _) => http.bearer_auth(token),
            (None, Some(auth)) => http.basic_auth(&auth.username, Some(&auth.password)),
            (None, None) => http,
        };
        http.send()
            .map_err(|error| network_error(&self.registry, request, &error))
    }

    fn lock_bearer_token(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A panic elsewhere cannot leave a token half-written; keep using it.
        self.bearer_token
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn expect_status(
        &self,
        request: &str,
        response: Response,
        expected: StatusCode,
    ) -> Result<Response, RegistryError> {
        if response.status() == expected {
            Ok(response)
        } else {
            Err(self.status_error(request, response))
        }
    }

    fn status_error(&self, request: &str, response: Response) -> RegistryError {
        let status = response.status();
        let body = response.text().unwrap_or_default();
        self.error_from(request, status, &body)
    }

    fn error_from(&self, request: &str, status: StatusCode, body: &str) -> RegistryError {
        let kind = kind_of_status(status);
        let help = match kind {
            RegistryErrorKind::Unauthorized if status == StatusCode::FORBIDDEN => {
                "the credentials have no permission for this repository".to_owned()
            }
            RegistryErrorKind::Unauthorized if self.basic_auth.is_some() => {
                "the registry refused the username and password".to_owned()
            }
            RegistryErrorKind::Unauthorized => format!(
                "the registry needs credentials: set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}"
            ),
            RegistryErrorKind::NotFound => format!(
                "is {} an OCI registry (does it answer /v2/)?",
                self.base_url
            ),
            _ if status.is_server_error() => {
                "the registry failed to handle the request; try again later".to_owned()
            }
            _ => "the registry refused the request".to_owned(),
        };
        self.error(kind, request)
            .with_status(status.as_u16())
            .with_detail(registry_message(body))
            .with_help(help)
    }

    fn read_bytes(&self, request: &str, response: Response) -> Result<Vec<u8>, RegistryError> {
        response
            .bytes()
            .map(|bytes| bytes.to_vec())
            .map_err(|error| network_error(&self.registry, request, &error))
    }

    fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        request: &str,
        response: Response,
    ) -> Result<T, RegistryError> {
        let bytes = self.read_bytes(request, response)?;
        serde_json::from_slice(&bytes).map_err(|error| {
            self.error(RegistryErrorKind::BadResponse, request)
                .with_detail(format!(
                    "{error}; the answer was: {}",
                    shorten(&String::from_utf8_lossy(&bytes))
                ))
        })
    }
}

impl Registry for OciRegistry {
    fn host(&self) -> &str {
        &self.registry
    }

    /// Release and dev versions, sorted.
    fn versions(&self, namespace: &str, name: &str) -> Result<Vec<String>, RegistryError> {
        rules::name_request("list versions of", namespace, name)?;
        self.versions_in(&self.repository_of(namespace, name)?)
    }

    fn fetch(&self, namespace: &str, name: &str, version: &str) -> Result<String, RegistryError> {
        let request = describe("fetch", namespace, name, Some(version));
        let version = rules::parse_request(&request, namespace, name, version)?;
        self.fetch_from(&self.repository_of(namespace, name)?, &version)
    }

    fn publish(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
        source: &str,
    ) -> Result<(), RegistryError> {
        let request = describe("publish", namespace, name, Some(version));
        let version = rules::parse_request(&request, namespace, name, version)?;
        self.publish_to(&self.repository_of(namespace, name)?, &version, source)
    }
}

/// `sha256:<hex>` of `content`.
pub fn sha256_digest(content: &[u8]) -> String {
    let hash = Sha256::digest(content);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn header_text(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// Upload locations may be absolute URLs or paths on the registry.
fn resolve_location(base_url: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if location.starts_with('/') {
        format!("{base_url}{location}")
    } else {
        format!("{base_url}/{location}")
    }
}

/// The `rel="next"` page of a paginated tag list (`Link: </v2/…/tags/list?n=…&last=…>; rel="next"`).
fn next_page(base_url: &str, response: &Response) -> Option<String> {
    let link = header_text(response, "link")?;
    let (target, params) = link.split_once(';')?;
    if !params.contains("rel=\"next\"") && !params.contains("rel=next") {
        return None;
    }
    let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
    Some(resolve_location(base_url, target))
}

/// The `errors` array of an OCI error answer.
#[derive(Deserialize)]
struct ErrorList {
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn error_entries(body: &str) -> Vec<ErrorEntry> {
    serde_json::from_str::<ErrorList>(body)
        .map(|list| list.errors)
        .unwrap_or_default()
}

/// The registry's error text: `CODE: message` for each entry of an OCI `errors` array, else
/// the body itself.
fn registry_message(body: &str) -> String {
    let entries = error_entries(body);
    if entries.is_empty() {
        return shorten(body);
    }
    entries
        .iter()
        .map(
            |entry| match (entry.code.is_empty(), entry.message.is_empty()) {
                (false, false) => format!("{}: {}", entry.code, entry.message),
                (false, true) => entry.code.clone(),
                _ => entry.message.clone(),
            },
        )
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Serialize)]
struct OrbConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    name: &'a str,
    version: &'a str,
}

#[derive(Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

/// The parts of an OCI image manifest this client writes and reads.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers every request with `status` and `body`, for error paths.
    fn answering(status: &'static str, body: &'static str) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        address
    }

    #[test]
    fn a_server_that_is_no_registry_is_not_an_empty_repository() {
        let address = answering("404 Not Found", "404 page not found");
        let registry =
            OciRegistry::new(&format!("oci://{address}"), OciOptions::default()).unwrap();
        let error = registry.versions("acme", "tools").unwrap_err();
        assert_eq!(error.kind, RegistryErrorKind::NotFound);
        let message = error.to_string();
        assert!(
            message.contains("(HTTP 404): 404 page not found"),
            "{message}"
        );
        assert!(
            message.contains(&format!("is http://{address} an OCI registry")),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_repository_has_no_versions() {
        let address = answering(
            "404 Not Found",
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#,
        );
        let registry =
            OciRegistry::new(&format!("oci://{address}"), OciOptions::default()).unwrap();
        assert_eq!(
            registry.versions("acme", "tools").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn server_errors_carry_the_registry_text() {
        let address = answering(
            "500 Internal Server Error",
            r#"{"errors":[{"code":"UNKNOWN","message":"storage is full"}]}"#,
        );
        let registry =
            OciRegistry::new(&format!("oci://{address}"), OciOptions::default()).unwrap();
        let error = registry.fetch("acme", "tools", "1.0.0").unwrap_err();
        assert_eq!(error.kind, RegistryErrorKind::Rejected);
        assert_eq!(error.status, Some(500));
        let message = error.to_string();
        assert!(
            message.contains("(HTTP 500): UNKNOWN: storage is full"),
            "{message}"
        );
        assert!(message.contains("try again later"), "{message}");
        // A HEAD answer has no body: the status alone must do.
        let error = registry
            .publish("acme", "tools", "1.0.0", "a: 1")
            .unwrap_err();
        assert_eq!(error.status, Some(500), "{error}");
    }

    #[test]
    fn digest_of_empty_content() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn locations_resolve_against_the_registry() {
        let base = "http://127.0.0.1:5000";
        assert_eq!(
            resolve_location(base, "/v2/a/blobs/uploads/1?_state=x"),
            "http://127.0.0.1:5000/v2/a/blobs/uploads/1?_state=x"
        );
        assert_eq!(
            resolve_location(base, "https://cdn.example/u/1"),
            "https://cdn.example/u/1"
        );
    }

    #[test]
    fn registry_errors_are_summarised() {
        let body = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"9.9.9"}}]}"#;
        assert_eq!(registry_message(body), "MANIFEST_UNKNOWN: manifest unknown");
        assert_eq!(
            registry_message("404 page not found\n"),
            "404 page not found"
        );
    }

    #[test]
    fn locations_are_validated() {
        let options = OciOptions::default;
        assert!(OciRegistry::new("oci://127.0.0.1:5000", options()).is_ok());
        assert!(OciRegistry::new("oci://127.0.0.1:5000/orbs/", options()).is_ok());
        let error = OciRegistry::new("https://ghcr.io", options()).unwrap_err();
        assert_eq!(error.kind, RegistryErrorKind::InvalidInput);
        let error = OciRegistry::new("oci://ghcr.io/Orbs", options()).unwrap_err();
        assert!(error.to_string().contains("`Orbs`"), "{error}");
    }

    #[test]
    fn scheme_follows_the_host() {
        let local = OciRegistry::new("oci://localhost:5000", OciOptions::default()).unwrap();
        assert_eq!(local.base_url, "http://localhost:5000");
        let remote = OciRegistry::new("oci://ghcr.io/acme", OciOptions::default()).unwrap();
        assert_eq!(remote.base_url, "https://ghcr.io");
        let plain = OciRegistry::new(
            "oci://registry.internal:5000",
            OciOptions {
                plain_http: true,
                basic_auth: None,
            },
        )
        .unwrap();
        assert_eq!(plain.base_url, "http://registry.internal:5000");
    }

    #[test]
    fn orbs_map_to_prefixed_lowercase_repositories() {
        let registry =
            OciRegistry::new("oci://localhost:5000/orbs", OciOptions::default()).unwrap();
        assert_eq!(
            registry.repository_of("acme", "tools").unwrap(),
            "orbs/acme/tools"
        );
        let error = registry.repository_of("Acme", "tools").unwrap_err();
        assert!(error.to_string().contains("lowercase"), "{error}");
    }
}
