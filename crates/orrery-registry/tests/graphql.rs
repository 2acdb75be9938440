//! `CircleCiRegistry` against a local stand-in of CircleCI's GraphQL orb registry
//! (`graphql_server`): fetch, versions, publish, immutability, dev overwrite, increments and
//! the error paths.

mod graphql_server;

use graphql_server::{GraphQlTestServer, BROKEN_NAMESPACE, EXPIRED_TOKEN};
use orrery_registry::{
    publish_increment, CircleCiRegistry, Increment, Registry, RegistryError, RegistryErrorKind,
};

const TOKEN: &str = "test-token-123";
const SOURCE: &str = "version: 2.1\ndescription: Tools\n\ncommands:\n  hello:\n    steps:\n      - run: echo \"hi ✓\"\n";

/// A server with the orb `acme/tools` at 1.0.0, 1.2.0 and 1.10.0, and a client with the token.
fn setup() -> (GraphQlTestServer, CircleCiRegistry) {
    let server = GraphQlTestServer::start(TOKEN);
    server.create_orb("acme", "tools");
    for version in ["1.0.0", "1.10.0", "1.2.0"] {
        server.seed("acme", "tools", version, &format!("# {version}\n{SOURCE}"));
    }
    let registry = CircleCiRegistry::new(&server.url, Some(TOKEN.to_owned())).unwrap();
    (server, registry)
}

fn expect_error(
    result: Result<impl std::fmt::Debug, RegistryError>,
    kind: RegistryErrorKind,
) -> String {
    let error = result.expect_err("expected an error");
    assert_eq!(error.kind, kind, "{error}");
    error.to_string()
}

#[test]
fn fetch_returns_the_published_source() {
    let (_server, registry) = setup();
    assert_eq!(
        registry.fetch("acme", "tools", "1.2.0").unwrap(),
        format!("# 1.2.0\n{SOURCE}")
    );
}

#[test]
fn fetch_works_without_a_token() {
    let (server, _) = setup();
    let anonymous = CircleCiRegistry::new(&server.url, None).unwrap();
    assert!(anonymous.fetch("acme", "tools", "1.0.0").is_ok());
    assert_eq!(server.last_token_headers(), (None, None));
}

#[test]
fn the_token_is_sent_in_both_headers() {
    let (server, registry) = setup();
    registry.versions("acme", "tools").unwrap();
    assert_eq!(
        server.last_token_headers(),
        (Some(TOKEN.to_owned()), Some(TOKEN.to_owned()))
    );
}

#[test]
fn versions_are_sorted_numerically() {
    let (_server, registry) = setup();
    assert_eq!(
        registry.versions("acme", "tools").unwrap(),
        ["1.0.0", "1.2.0", "1.10.0"]
    );
}

#[test]
fn publish_then_fetch() {
    let (server, registry) = setup();
    registry.publish("acme", "tools", "2.0.0", SOURCE).unwrap();
    assert_eq!(registry.fetch("acme", "tools", "2.0.0").unwrap(), SOURCE);
    assert_eq!(
        server.operations(),
        ["orbId", "orbVersion", "publishOrb", "orbVersion"]
    );
}

#[test]
fn republishing_a_release_is_refused_before_the_mutation() {
    let (server, registry) = setup();
    let message = expect_error(
        registry.publish("acme", "tools", "1.2.0", "changed: true\n"),
        RegistryErrorKind::VersionExists,
    );
    assert!(
        message.starts_with("publish orb acme/tools@1.2.0 on 127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains("1.2.0 is already published and versions are immutable"));
    assert!(!server.operations().contains(&"publishOrb".to_owned()));
    assert_eq!(
        registry.fetch("acme", "tools", "1.2.0").unwrap(),
        format!("# 1.2.0\n{SOURCE}")
    );
}

#[test]
fn dev_versions_can_be_overwritten_and_are_not_listed() {
    let (_server, registry) = setup();
    registry
        .publish("acme", "tools", "dev:alpha", "first: 1\n")
        .unwrap();
    registry
        .publish("acme", "tools", "dev:alpha", "second: 2\n")
        .unwrap();
    assert_eq!(
        registry.fetch("acme", "tools", "dev:alpha").unwrap(),
        "second: 2\n"
    );
    // CircleCI lists no dev versions.
    assert_eq!(
        registry.versions("acme", "tools").unwrap(),
        ["1.0.0", "1.2.0", "1.10.0"]
    );
}

#[test]
fn increments_bump_the_highest_release() {
    let (_server, registry) = setup();
    let patch = publish_increment(&registry, "acme", "tools", Increment::Patch, SOURCE).unwrap();
    assert_eq!(patch.to_string(), "1.10.1");
    let minor = publish_increment(&registry, "acme", "tools", Increment::Minor, SOURCE).unwrap();
    assert_eq!(minor.to_string(), "1.11.0");
    let major = publish_increment(&registry, "acme", "tools", Increment::Major, SOURCE).unwrap();
    assert_eq!(major.to_string(), "2.0.0");
    assert_eq!(
        registry.versions("acme", "tools").unwrap(),
        ["1.0.0", "1.2.0", "1.10.0", "1.10.1", "1.11.0", "2.0.0"]
    );
}

#[test]
fn the_first_increment_starts_from_zero() {
    let (server, registry) = setup();
    server.create_orb("acme", "fresh");
    let first = publish_increment(&registry, "acme", "fresh", Increment::Minor, SOURCE).unwrap();
    assert_eq!(first.to_string(), "0.1.0");
}

#[test]
fn a_missing_version_is_not_found() {
    let (_server, registry) = setup();
    let message = expect_error(
        registry.fetch("acme", "tools", "9.9.9"),
        RegistryErrorKind::NotFound,
    );
    assert!(
        message.contains("fetch orb acme/tools@9.9.9 on 127.0.0.1:"),
        "{message}"
    );
    assert!(
        message.contains("acme/tools has no version 9.9.9"),
        "{message}"
    );
}

#[test]
fn a_missing_orb_is_not_found_with_a_hint() {
    let (_server, registry) = setup();
    let message = expect_error(
        registry.versions("acme", "nothing"),
        RegistryErrorKind::NotFound,
    );
    assert!(
        message.contains("there is no orb acme/nothing"),
        "{message}"
    );

    let message = expect_error(
        registry.publish("acme", "nothing", "1.0.0", SOURCE),
        RegistryErrorKind::NotFound,
    );
    assert!(
        message.contains("the namespace `acme` has no orb `nothing`"),
        "{message}"
    );
    assert!(
        message.contains("circleci orb create acme/nothing"),
        "{message}"
    );

    let message = expect_error(
        registry.publish("nobody", "tools", "1.0.0", SOURCE),
        RegistryErrorKind::NotFound,
    );
    assert!(
        message.contains("there is no namespace `nobody`"),
        "{message}"
    );
}

#[test]
fn a_wrong_endpoint_is_a_404_with_the_url() {
    let (server, _) = setup();
    let registry = CircleCiRegistry::new(&format!("{}/wrong", server.url), None).unwrap();
    let error = registry.fetch("acme", "tools", "1.0.0").unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::NotFound);
    assert_eq!(error.status, Some(404));
    let message = error.to_string();
    assert!(
        message.contains("(HTTP 404): 404 page not found"),
        "{message}"
    );
    assert!(
        message.contains("/wrong/graphql-unstable was not found"),
        "{message}"
    );
}

#[test]
fn a_bad_token_is_unauthorized_with_the_registry_message() {
    let (server, _) = setup();
    let registry = CircleCiRegistry::new(&server.url, Some("wrong".to_owned())).unwrap();
    let error = registry
        .publish("acme", "tools", "3.0.0", SOURCE)
        .unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::Unauthorized);
    assert_eq!(error.status, Some(401));
    let message = error.to_string();
    assert!(
        message.contains("not authorized (HTTP 401): Invalid token provided."),
        "{message}"
    );
    assert!(
        message.contains("help: check the CircleCI API token"),
        "{message}"
    );
}

#[test]
fn must_log_in_errors_are_unauthorized() {
    let (server, _) = setup();
    let registry = CircleCiRegistry::new(&server.url, Some(EXPIRED_TOKEN.to_owned())).unwrap();
    let message = expect_error(
        registry.versions("acme", "tools"),
        RegistryErrorKind::Unauthorized,
    );
    assert!(message.contains("You must log in first."), "{message}");
    assert!(message.contains("the token was not accepted"), "{message}");
}

#[test]
fn publishing_without_a_token_makes_no_request() {
    let (server, _) = setup();
    let registry = CircleCiRegistry::new(&server.url, None).unwrap();
    let message = expect_error(
        registry.publish("acme", "tools", "3.0.0", SOURCE),
        RegistryErrorKind::Unauthorized,
    );
    assert!(
        message.contains("publishing needs a CircleCI API token"),
        "{message}"
    );
    assert!(server.operations().is_empty());
}

#[test]
fn graphql_errors_carry_the_registry_text() {
    let (server, registry) = setup();
    server.create_orb(BROKEN_NAMESPACE, "tools");
    let error = registry
        .fetch(BROKEN_NAMESPACE, "tools", "1.0.0")
        .unwrap_err();
    assert_eq!(error.kind, RegistryErrorKind::Rejected);
    assert_eq!(error.detail.as_deref(), Some("Internal server error"));
}

#[test]
fn publish_errors_carry_the_registry_text() {
    let (_server, registry) = setup();
    let message = expect_error(
        registry.publish("acme", "tools", "3.0.0", "  \n"),
        RegistryErrorKind::Rejected,
    );
    assert!(
        message.ends_with("refused by the registry: Cannot publish an empty orb"),
        "{message}"
    );
}

#[test]
fn invalid_input_is_refused_without_a_request() {
    let (server, registry) = setup();
    for (namespace, name, version) in [
        ("acme", "tools", "1.2"),
        ("acme", "tools", "dev:"),
        ("acme", "to/ols", "1.0.0"),
        ("", "tools", "1.0.0"),
    ] {
        expect_error(
            registry.publish(namespace, name, version, SOURCE),
            RegistryErrorKind::InvalidInput,
        );
        expect_error(
            registry.fetch(namespace, name, version),
            RegistryErrorKind::InvalidInput,
        );
    }
    assert!(server.operations().is_empty());
}
