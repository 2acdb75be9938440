//! `OciRegistry` against a real OCI registry (Debian's docker-registry, distribution 2.8);
//! `oci_registry` finds or starts it. Each test works in its own repository namespace.

mod auth_proxy;
mod oci_registry;

use auth_proxy::{AuthProxy, Gate};
use oci_registry::{registry_address, unique_namespace};
use orrery_registry::oci::{
    sha256_digest, OCI_MANIFEST_MEDIA_TYPE, ORB_ARTIFACT_TYPE, ORB_CONFIG_MEDIA_TYPE,
    ORB_LAYER_MEDIA_TYPE,
};
use orrery_registry::{
    publish_increment, BasicAuth, Increment, OciOptions, OciReference, OciRegistry, Registry,
    RegistryErrorKind,
};
use serde_json::{json, Value};

/// Line endings, trailing blanks, tabs and non-ASCII must survive byte for byte.
const SOURCE: &str = "version: 2.1\r\ndescription: \"Tools ✓\"  \n\ncommands:\n  hello:\n    steps:\n      - run: printf 'a\\tb'\n\n";

struct Setup {
    address: String,
    registry: OciRegistry,
    namespace: String,
}

/// A client for `oci://ADDRESS/orbs` and a fresh namespace; `None` when the tests skip.
fn setup(test: &str) -> Option<Setup> {
    let address = registry_address()?;
    let registry = OciRegistry::new(&format!("oci://{address}/orbs"), OciOptions::default())
        .expect("client for the test registry");
    Some(Setup {
        address,
        registry,
        namespace: unique_namespace(test),
    })
}

#[test]
fn publish_then_fetch_is_byte_equal() {
    let Some(t) = setup("publish_then_fetch") else {
        return;
    };
    t.registry
        .publish(&t.namespace, "tools", "1.0.0", SOURCE)
        .unwrap();
    assert_eq!(
        t.registry.fetch(&t.namespace, "tools", "1.0.0").unwrap(),
        SOURCE
    );
}

#[test]
fn the_stored_manifest_is_an_orb_artifact() {
    let Some(t) = setup("manifest_format") else {
        return;
    };
    t.registry
        .publish(&t.namespace, "tools", "1.0.0", SOURCE)
        .unwrap();
    let manifest: Value = raw_client()
        .get(format!(
            "http://{}/v2/orbs/{}/tools/manifests/1.0.0",
            t.address, t.namespace
        ))
        .header("Accept", OCI_MANIFEST_MEDIA_TYPE)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], OCI_MANIFEST_MEDIA_TYPE);
    assert_eq!(manifest["artifactType"], ORB_ARTIFACT_TYPE);
    assert_eq!(manifest["config"]["mediaType"], ORB_CONFIG_MEDIA_TYPE);
    assert_eq!(manifest["layers"][0]["mediaType"], ORB_LAYER_MEDIA_TYPE);
    assert_eq!(
        manifest["layers"][0]["digest"],
        sha256_digest(SOURCE.as_bytes())
    );
    assert_eq!(manifest["layers"][0]["size"], SOURCE.len());

    let config: Value = raw_client()
        .get(format!(
            "http://{}/v2/orbs/{}/tools/blobs/{}",
            t.address,
            t.namespace,
            manifest["config"]["digest"].as_str().unwrap()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        config,
        json!({ "namespace": t.namespace, "name": "tools", "version": "1.0.0" })
    );
}

#[test]
fn versions_list_releases_then_dev_versions() {
    let Some(t) = setup("versions") else { return };
    for version in ["1.10.0", "1.2.0", "dev:alpha", "1.0.0"] {
        t.registry
            .publish(&t.namespace, "tools", version, SOURCE)
            .unwrap();
    }
    // A tag that is no orb version is left out.
    push_raw(
        &t.address,
        &format!("orbs/{}/tools", t.namespace),
        "latest",
        ORB_ARTIFACT_TYPE,
        ORB_LAYER_MEDIA_TYPE,
    );
    assert_eq!(
        t.registry.versions(&t.namespace, "tools").unwrap(),
        ["1.0.0", "1.2.0", "1.10.0", "dev:alpha"]
    );
}

#[test]
fn an_unpublished_orb_has_no_versions_and_starts_from_zero() {
    let Some(t) = setup("fresh") else { return };
    assert!(t
        .registry
        .versions(&t.namespace, "tools")
        .unwrap()
        .is_empty());
    let first =
        publish_increment(&t.registry, &t.namespace, "tools", Increment::Patch, SOURCE).unwrap();
    assert_eq!(first.to_string(), "0.0.1");
}

#[test]
fn republishing_a_release_is_refused() {
    let Some(t) = setup("immutable") else { return };
    t.registry
        .publish(&t.namespace, "tools", "1.0.0", SOURCE)
        .unwrap();
    let error = t
        .registry
        .publish(&t.namespace, "tools", "1.0.0", "changed: true\n")
        .unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::VersionExists, "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "publish oci://{}/orbs/{}/tools:1.0.0 on {}: version already published",
            t.address, t.namespace, t.address
        )),
        "{message}"
    );
    assert_eq!(
        t.registry.fetch(&t.namespace, "tools", "1.0.0").unwrap(),
        SOURCE
    );
}

#[test]
fn dev_versions_can_be_overwritten() {
    let Some(t) = setup("dev_overwrite") else {
        return;
    };
    t.registry
        .publish(&t.namespace, "tools", "dev:alpha", "first: 1\n")
        .unwrap();
    t.registry
        .publish(&t.namespace, "tools", "dev:alpha", "second: 2\n")
        .unwrap();
    assert_eq!(
        t.registry
            .fetch(&t.namespace, "tools", "dev:alpha")
            .unwrap(),
        "second: 2\n"
    );
    // Stored under the tag dev-alpha, and readable through a reference that says so.
    let reference = OciReference::parse(&format!(
        "oci://{}/orbs/{}/tools:dev-alpha",
        t.address, t.namespace
    ))
    .unwrap();
    let by_reference = OciRegistry::for_reference(&reference, OciOptions::default()).unwrap();
    assert_eq!(
        by_reference
            .fetch_from(&reference.repository, reference.version.as_ref().unwrap())
            .unwrap(),
        "second: 2\n"
    );
}

#[test]
fn increments_bump_the_highest_release() {
    let Some(t) = setup("increment") else { return };
    for version in ["1.2.0", "1.10.0", "dev:next"] {
        t.registry
            .publish(&t.namespace, "tools", version, SOURCE)
            .unwrap();
    }
    let next = |increment| {
        publish_increment(&t.registry, &t.namespace, "tools", increment, SOURCE)
            .unwrap()
            .to_string()
    };
    assert_eq!(next(Increment::Patch), "1.10.1");
    assert_eq!(next(Increment::Minor), "1.11.0");
    assert_eq!(next(Increment::Major), "2.0.0");
}

#[test]
fn a_missing_tag_is_not_found_with_the_registry_code() {
    let Some(t) = setup("missing") else { return };
    t.registry
        .publish(&t.namespace, "tools", "1.0.0", SOURCE)
        .unwrap();
    let error = t
        .registry
        .fetch(&t.namespace, "tools", "9.9.9")
        .unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::NotFound, "{error}");
    assert_eq!(error.status, Some(404));
    let message = error.to_string();
    assert!(
        message.contains("no version 9.9.9 (tag 9.9.9)"),
        "{message}"
    );
    assert!(message.contains("MANIFEST_UNKNOWN"), "{message}");

    // An orb that was never published: the repository itself is unknown.
    let error = t
        .registry
        .fetch(&t.namespace, "nothing", "dev:x")
        .unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::NotFound, "{error}");
    assert!(error.to_string().contains("(tag dev-x)"), "{error}");
}

#[test]
fn other_artifacts_are_refused() {
    let Some(t) = setup("not_an_orb") else { return };
    let repository = format!("orbs/{}/tools", t.namespace);
    push_raw(
        &t.address,
        &repository,
        "1.0.0",
        "application/vnd.example.chart.v1",
        ORB_LAYER_MEDIA_TYPE,
    );
    let error = t
        .registry
        .fetch(&t.namespace, "tools", "1.0.0")
        .unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::NotAnOrb, "{error}");
    assert!(
        error.to_string().contains(
            "the artifact type is application/vnd.example.chart.v1, expected application/vnd.orrery.orb.v1"
        ),
        "{error}"
    );

    push_raw(
        &t.address,
        &repository,
        "1.1.0",
        ORB_ARTIFACT_TYPE,
        "application/octet-stream",
    );
    let error = t
        .registry
        .fetch(&t.namespace, "tools", "1.1.0")
        .unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::NotAnOrb, "{error}");
    assert!(
        error
            .to_string()
            .contains("the layer media type is application/octet-stream"),
        "{error}"
    );
}

#[test]
fn a_layer_that_does_not_match_its_descriptor_is_refused() {
    let Some(t) = setup("digest") else { return };
    let repository = format!("orbs/{}/tools", t.namespace);
    let manifest = orb_manifest(
        &t.address,
        &repository,
        ORB_ARTIFACT_TYPE,
        ORB_LAYER_MEDIA_TYPE,
        b"a: 1\n",
        1,
    );
    let response = put_manifest(&t.address, &repository, "1.0.0", &manifest);
    if !response.status().is_success() {
        eprintln!(
            "the registry refused a descriptor with a wrong size ({}); nothing to check",
            response.status()
        );
        return;
    }
    let error = t
        .registry
        .fetch(&t.namespace, "tools", "1.0.0")
        .unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::DigestMismatch, "{error}");
}

#[test]
fn an_unreachable_registry_is_a_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registry =
        OciRegistry::new(&format!("oci://127.0.0.1:{port}"), OciOptions::default()).unwrap();
    let error = registry.versions("acme", "tools").unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::Network, "{error}");
    assert!(error.to_string().contains(&format!("list versions in oci://127.0.0.1:{port}/acme/tools on 127.0.0.1:{port}: registry not reachable")), "{error}");
}

/// A client for `oci://ADDRESS/orbs` (the proxy) with the given credentials.
fn client_with(address: &str, username: &str, password: &str) -> OciRegistry {
    let basic_auth = (!username.is_empty()).then(|| BasicAuth {
        username: username.to_owned(),
        password: password.to_owned(),
    });
    let options = OciOptions {
        plain_http: false,
        basic_auth,
    };
    OciRegistry::new(&format!("oci://{address}/orbs"), options).unwrap()
}

#[test]
fn basic_credentials_are_sent() {
    let Some(t) = setup("basic_auth") else { return };
    let proxy = AuthProxy::start(&t.address, Gate::Basic, "orbot", "s3cret");
    let registry = client_with(&proxy.address, "orbot", "s3cret");
    registry
        .publish(&t.namespace, "tools", "1.0.0", SOURCE)
        .unwrap();
    assert_eq!(
        registry.fetch(&t.namespace, "tools", "1.0.0").unwrap(),
        SOURCE
    );
    assert_eq!(registry.versions(&t.namespace, "tools").unwrap(), ["1.0.0"]);

    let anonymous = client_with(&proxy.address, "", "");
    let error = anonymous.fetch(&t.namespace, "tools", "1.0.0").unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::Unauthorized, "{error}");
    let message = error.to_string();
    assert!(
        message.contains("(HTTP 401): UNAUTHORIZED: authentication required"),
        "{message}"
    );
    assert!(
        message.contains("set ORRERY_OCI_USERNAME and ORRERY_OCI_PASSWORD"),
        "{message}"
    );

    let wrong = client_with(&proxy.address, "orbot", "wrong");
    let error = wrong.versions(&t.namespace, "tools").unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::Unauthorized, "{error}");
    assert!(
        error
            .to_string()
            .contains("refused the username and password"),
        "{error}"
    );
}

#[test]
fn bearer_tokens_are_fetched_per_scope() {
    let Some(t) = setup("bearer_auth") else {
        return;
    };
    let proxy = AuthProxy::start(&t.address, Gate::Bearer, "orbot", "s3cret");
    let registry = client_with(&proxy.address, "orbot", "s3cret");
    registry
        .publish(&t.namespace, "tools", "1.0.0", SOURCE)
        .unwrap();
    registry
        .publish(&t.namespace, "tools", "dev:x", SOURCE)
        .unwrap();
    assert_eq!(
        registry.fetch(&t.namespace, "tools", "1.0.0").unwrap(),
        SOURCE
    );
    assert_eq!(
        registry.versions(&t.namespace, "tools").unwrap(),
        ["1.0.0", "dev:x"]
    );
    let repository = format!("repository:orbs/{}/tools", t.namespace);
    // A pull token for the first look, a push token for the upload, then pull again: the
    // cached push token is sent first and covers pulls too.
    let requests = proxy.token_requests();
    assert_eq!(requests[0], format!("{repository}:pull"));
    assert_eq!(requests[1], format!("{repository}:pull,push"));
    assert_eq!(requests.len(), 2, "{requests:?}");
}

#[test]
fn a_refused_token_request_is_reported() {
    let Some(t) = setup("bearer_refused") else {
        return;
    };
    let proxy = AuthProxy::start(&t.address, Gate::Bearer, "orbot", "s3cret");
    let anonymous = client_with(&proxy.address, "", "");
    let error = anonymous.versions(&t.namespace, "tools").unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::Unauthorized, "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "the token service http://{}/token answered",
            proxy.address
        )),
        "{message}"
    );
    assert!(
        message.contains("incorrect username or password"),
        "{message}"
    );
    assert!(message.contains("set ORRERY_OCI_USERNAME"), "{message}");
}

fn raw_client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
}

/// Uploads `content` as a blob (monolithic POST + PUT) and returns its digest.
fn push_blob(address: &str, repository: &str, content: &[u8]) -> String {
    let client = raw_client();
    let digest = sha256_digest(content);
    let started = client
        .post(format!("http://{address}/v2/{repository}/blobs/uploads/"))
        .send()
        .unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let location = if location.starts_with('/') {
        format!("http://{address}{location}")
    } else {
        location
    };
    let separator = if location.contains('?') { '&' } else { '?' };
    let done = client
        .put(format!("{location}{separator}digest={digest}"))
        .body(content.to_vec())
        .send()
        .unwrap();
    assert_eq!(done.status(), 201);
    digest
}

/// A manifest with the given artifact and layer types; `size_error` is added to the layer size.
fn orb_manifest(
    address: &str,
    repository: &str,
    artifact_type: &str,
    layer_type: &str,
    layer: &[u8],
    size_error: usize,
) -> Value {
    let config = b"{}";
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST_MEDIA_TYPE,
        "artifactType": artifact_type,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": push_blob(address, repository, config),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": layer_type,
            "digest": push_blob(address, repository, layer),
            "size": layer.len() + size_error,
        }],
    })
}

fn put_manifest(
    address: &str,
    repository: &str,
    tag: &str,
    manifest: &Value,
) -> reqwest::blocking::Response {
    raw_client()
        .put(format!("http://{address}/v2/{repository}/manifests/{tag}"))
        .header("Content-Type", OCI_MANIFEST_MEDIA_TYPE)
        .body(manifest.to_string())
        .send()
        .unwrap()
}

/// Pushes, by hand, an artifact that orrery did not write.
fn push_raw(address: &str, repository: &str, tag: &str, artifact_type: &str, layer_type: &str) {
    let manifest = orb_manifest(
        address,
        repository,
        artifact_type,
        layer_type,
        b"kind: other\n",
        0,
    );
    let response = put_manifest(address, repository, tag, &manifest);
    assert_eq!(response.status(), 201, "{:?}", response.text());
}
