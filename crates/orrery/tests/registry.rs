//! Publishing and fetching through the command line, against a local GraphQL server that
//! answers as CircleCI's registry does and a real OCI registry (Debian's docker-registry).

mod common;

#[allow(dead_code)] // shared with orrery-registry's tests, which use all of it
#[path = "../../orrery-registry/tests/graphql_server/mod.rs"]
mod graphql_server;
#[path = "../../orrery-registry/tests/oci_registry/mod.rs"]
mod oci_registry;

use std::fs;
use std::path::Path;

use common::{orrery_with_cache, text};
use graphql_server::GraphQlTestServer;

const TOKEN: &str = "test-token";

fn orb(greeting: &str) -> String {
    format!(
        "version: 2.1\ndescription: says {greeting}\njobs:\n  hello:\n    docker:\n      - image: cimg/base:stable\n    steps:\n      - run: echo {greeting}\n"
    )
}

fn write_orb(dir: &Path, file: &str, greeting: &str) -> String {
    let path = dir.join(file);
    fs::write(&path, orb(greeting)).unwrap();
    path.display().to_string()
}

/// A project whose config uses `reference` as the orb `tools`.
fn project(dir: &Path, reference: &str) -> String {
    let circleci = dir.join("project/.circleci");
    fs::create_dir_all(&circleci).unwrap();
    let config = circleci.join("config.yml");
    fs::write(
        &config,
        format!("version: 2.1\norbs:\n  tools: {reference}\nworkflows:\n  main:\n    jobs:\n      - tools/hello\n"),
    )
    .unwrap();
    config.display().to_string()
}

#[test]
fn publishes_to_and_compiles_from_the_circleci_registry() {
    let server = GraphQlTestServer::start(TOKEN);
    server.create_orb("acme", "tools");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = |args: &[&str]| orrery_with_cache(args, &cache);
    let registry = ["--registry", server.url.as_str(), "--token", TOKEN];
    let one = write_orb(dir.path(), "one.yml", "one");

    let out = run(&[&["orb", "publish", &one, "acme/tools@1.0.0"][..], &registry].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("acme/tools@1.0.0"));

    let again = run(&[&["orb", "publish", &one, "acme/tools@1.0.0"][..], &registry].concat());
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already published"),
        "{}",
        text(&again.stderr)
    );

    let two = write_orb(dir.path(), "two.yml", "two");
    let out = run(&[
        &["orb", "publish", "increment", &two, "acme/tools", "minor"][..],
        &registry,
    ]
    .concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("acme/tools@1.1.0"),
        "{}",
        text(&out.stdout)
    );

    let bad_token = run(&[
        "orb",
        "publish",
        &two,
        "acme/tools@9.9.9",
        "--registry",
        &server.url,
        "--token",
        "wrong",
    ]);
    assert_ne!(bad_token.status.code(), Some(0));
    assert!(!text(&bad_token.stderr).is_empty());

    // A floating reference resolves online to the newest match, and is cached for offline use.
    let config = project(dir.path(), "acme/tools@1");
    let offline = run(&["config", "process", &config]);
    assert_eq!(offline.status.code(), Some(1), "nothing cached yet");
    let online = run(&[&["config", "process", "--online", &config][..], &registry].concat());
    assert!(online.status.success(), "{}", text(&online.stderr));
    assert!(
        text(&online.stdout).contains("echo two"),
        "{}",
        text(&online.stdout)
    );
    assert!(cache.join("acme/tools/1.1.0.yml").is_file());
    let offline = run(&["config", "process", &config]);
    assert!(offline.status.success(), "{}", text(&offline.stderr));

    let out = run(&[&["orb", "fetch", "acme/tools@1.0.0"][..], &registry].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(cache.join("acme/tools/1.0.0.yml")).unwrap(),
        orb("one")
    );
}

#[test]
fn publishes_to_and_fetches_from_an_oci_registry() {
    let Some(address) = oci_registry::registry_address() else {
        return;
    };
    let namespace = oci_registry::unique_namespace("cli");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = |args: &[&str]| orrery_with_cache(args, &cache);
    let one = write_orb(dir.path(), "one.yml", "one");
    let two = write_orb(dir.path(), "two.yml", "two");
    let repository = format!("oci://{address}/{namespace}/acme/tools");

    let out = run(&["orb", "publish", &one, &format!("{repository}:1.0.0")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = run(&["orb", "publish", &two, &format!("{repository}:1.0.0")]);
    assert_eq!(again.status.code(), Some(2), "versions are immutable");
    assert!(
        text(&again.stderr).contains("already published"),
        "{}",
        text(&again.stderr)
    );
    for source in [&one, &two] {
        let dev = run(&["orb", "publish", source, &format!("{repository}:dev:alpha")]);
        assert!(
            dev.status.success(),
            "dev labels may be overwritten: {}",
            text(&dev.stderr)
        );
    }
    let out = run(&["orb", "publish", "increment", &two, &repository, "patch"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(":1.0.1"),
        "{}",
        text(&out.stdout)
    );

    let out = run(&["orb", "fetch", &format!("{repository}:1.0.0")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(cache.join("acme/tools/1.0.0.yml")).unwrap(),
        orb("one")
    );

    // The OCI registry as the store's remote: orbs live under PREFIX/NAMESPACE/NAME.
    let prefix = format!("oci://{address}/{namespace}");
    let config = project(dir.path(), "acme/tools@1");
    let online = run(&[
        "config",
        "process",
        "--online",
        "--registry",
        &prefix,
        &config,
    ]);
    assert!(online.status.success(), "{}", text(&online.stderr));
    assert!(
        text(&online.stdout).contains("acme/tools@1.0.1"),
        "{}",
        text(&online.stdout)
    );
    let dev_config = project(dir.path(), "acme/tools@dev:alpha");
    let dev = run(&[
        "config",
        "process",
        "--online",
        "--registry",
        &prefix,
        &dev_config,
    ]);
    assert!(dev.status.success(), "{}", text(&dev.stderr));
    assert!(
        text(&dev.stdout).contains("echo two"),
        "the overwritten dev version: {}",
        text(&dev.stdout)
    );

    let missing = run(&["orb", "fetch", &format!("{repository}:7.0.0")]);
    assert_ne!(missing.status.code(), Some(0));
    assert!(
        text(&missing.stderr).contains("7.0.0"),
        "{}",
        text(&missing.stderr)
    );
}

/// `orb fetch` of several orbs, and of a config's orbs, shows progress on a terminal only:
/// never in a pipe.
#[test]
fn fetch_progress_shows_on_a_terminal_only() {
    let server = GraphQlTestServer::start(TOKEN);
    for name in ["tools", "extras"] {
        server.create_orb("acme", name);
        server.seed("acme", name, "1.0.0", &orb(name));
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let config = project(dir.path(), "acme/tools@1.0.0");
    let registry = ["--registry", server.url.as_str()];
    let several = [
        &["orb", "fetch", "acme/tools@1.0.0", "acme/extras@1.0.0"][..],
        &registry,
    ]
    .concat();
    let of_config = [
        &["orb", "fetch", "--config", config.as_str()][..],
        &registry,
    ]
    .concat();

    for args in [&several, &of_config] {
        let piped = orrery_with_cache(args, &cache);
        assert!(piped.status.success(), "{}", text(&piped.stderr));
        let all = format!("{}{}", text(&piped.stdout), text(&piped.stderr));
        assert!(!all.contains('\r') && !all.contains("orbs "), "{all}");
    }
    if !orrery_testkit::outside::on_path("script") {
        orrery_testkit::missing(
            "script",
            "scripts/setup installs it: apt-get install bsdutils",
        );
        return;
    }
    // `script` gives the command a pseudo-terminal and copies what it shows to our pipe.
    let on_terminal = |args: &[&str]| {
        let line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_orrery"))
            .chain(args.iter().copied())
            .map(|a| format!("'{a}'"))
            .collect();
        let shown = std::process::Command::new("script")
            .args(["-qec", &line.join(" "), "/dev/null"])
            .env("TERM", "xterm")
            .env("ORRERY_CACHE_DIR", &cache)
            .env_remove("ORRERY_ORB_PATH")
            .output()
            .expect("script");
        assert!(shown.status.success(), "{}", text(&shown.stdout));
        text(&shown.stdout)
    };
    let screen = on_terminal(&several);
    assert!(screen.contains("/2 orbs"), "{screen}");
    assert!(screen.contains("acme/extras@1.0.0 -> 1.0.0"), "{screen}");
    let screen = on_terminal(&of_config);
    assert!(screen.contains("fetching the orbs of"), "{screen}");
    assert!(screen.contains("acme/tools@1.0.0 -> 1.0.0"), "{screen}");
}
