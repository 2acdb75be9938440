//! `orrery orb publish PATH REF` and `orrery orb publish increment PATH ORB SEGMENT`, as the
//! `circleci` CLI spells them, to CircleCI's registry or an OCI registry (`oci://…`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use orrery_compiler::{check_orb, CompileOptions, NoOrbs, OrbRef};
use orrery_diagnostics::{has_errors, render_human, SourceDb};
use orrery_registry::rules::{self, Increment, OrbVersion};
use orrery_registry::{OciReference, OciRegistry, Registry};

use crate::config_cmd::{report_usage, EXIT_CONFIG_ERROR, EXIT_USAGE};
use crate::orb_file::load_orb;
use crate::remote::RegistryArgs;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PublishArgs {
    #[command(subcommand)]
    increment: Option<PublishCommand>,
    /// The orb: a packed file or a source directory (packed first).
    #[arg(required = true)]
    path: Option<PathBuf>,
    /// `namespace/name@version` (`dev:label` for a development version), or
    /// `oci://HOST[:PORT]/REPO/NAME:VERSION`.
    #[arg(required = true)]
    reference: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Subcommand)]
enum PublishCommand {
    /// Publish as the next major, minor or patch version after the highest published one.
    Increment(IncrementArgs),
}

#[derive(Args)]
struct IncrementArgs {
    /// The orb: a packed file or a source directory.
    path: PathBuf,
    /// `namespace/name`, or `oci://HOST[:PORT]/REPO/NAME`.
    orb: String,
    /// major, minor or patch.
    segment: Increment,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Which version to publish as.
enum Version {
    Exact(OrbVersion),
    Next(Increment),
}

/// Where an orb goes: a CircleCI-style name in the configured registry, or an OCI repository.
enum Target {
    Named { namespace: String, name: String },
    Oci(OciReference),
}

pub fn run(args: PublishArgs) -> ExitCode {
    match args.increment {
        Some(PublishCommand::Increment(inc)) => {
            let Some(target) = parse_target(&inc.orb, false) else {
                return report_usage(&format!(
                    "`{}` names no orb: write `namespace/name` or `oci://HOST/REPO/NAME`",
                    inc.orb
                ));
            };
            publish(
                &inc.path,
                target.0,
                Version::Next(inc.segment),
                &inc.registry,
            )
        }
        None => {
            let (Some(path), Some(reference)) = (args.path, args.reference) else {
                return report_usage("usage: orrery orb publish PATH REFERENCE");
            };
            let Some((target, Some(version))) = parse_target(&reference, true) else {
                return report_usage(&format!(
                    "`{reference}` is not a versioned orb reference: write `namespace/name@1.2.3`, `namespace/name@dev:label` or `oci://HOST/REPO/NAME:1.2.3`"
                ));
            };
            publish(&path, target, Version::Exact(version), &args.registry)
        }
    }
}

/// Parses `ns/name[@version]` or `oci://…[:version]`; `versioned` demands a version.
fn parse_target(text: &str, versioned: bool) -> Option<(Target, Option<OrbVersion>)> {
    if text.starts_with(orrery_registry::reference::OCI_SCHEME) {
        let reference = OciReference::parse(text).ok()?;
        let version = reference.version.clone();
        if versioned != version.is_some() {
            return None;
        }
        return Some((Target::Oci(reference), version));
    }
    if versioned {
        let reference = OrbRef::parse(text)?;
        let version = OrbVersion::parse(&reference.version).ok()?;
        let target = Target::Named {
            namespace: reference.namespace,
            name: reference.name,
        };
        return Some((target, Some(version)));
    }
    let (namespace, name) = text.split_once('/')?;
    rules::check_orb_name(namespace, name).ok()?;
    let target = Target::Named {
        namespace: namespace.into(),
        name: name.into(),
    };
    Some((target, None))
}

fn publish(
    path: &std::path::Path,
    target: Target,
    version: Version,
    registry: &RegistryArgs,
) -> ExitCode {
    let mut db = SourceDb::new();
    let file = match load_orb(path, None, &mut db) {
        Ok(file) => file,
        Err(code) => return code,
    };
    let source = db.file(file).map(|f| f.text.clone()).unwrap_or_default();
    // The orb must stand on its own before it is published; examples that import other
    // orbs only warn here.
    let name = match &target {
        Target::Named { namespace, name } => Some((namespace.clone(), name.clone())),
        Target::Oci(_) => None,
    };
    let check = check_orb(
        &mut db,
        file,
        name.as_ref().map(|(ns, n)| (ns.as_str(), n.as_str())),
        &NoOrbs,
        &CompileOptions::default(),
    );
    if !check.diagnostics.is_empty() {
        eprint!("{}", render_human(&db, &check.diagnostics));
    }
    if has_errors(&check.diagnostics) {
        eprintln!(
            "error: {} was not published: the orb is invalid",
            path.display()
        );
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    let published = match target {
        Target::Named { namespace, name } => {
            let client = match registry.client() {
                Ok(c) => c,
                Err(message) => return report_usage(&message),
            };
            let version = match version {
                Version::Exact(v) => client
                    .publish(&namespace, &name, &v.to_string(), &source)
                    .map(|()| v.to_string()),
                Version::Next(inc) => {
                    rules::publish_increment(client.as_ref(), &namespace, &name, inc, &source)
                        .map(|v| v.to_string())
                }
            };
            version.map(|v| (format!("{namespace}/{name}@{v}"), client.host().to_string()))
        }
        Target::Oci(reference) => {
            let client = match OciRegistry::for_reference(&reference, registry.oci_options()) {
                Ok(c) => c,
                Err(error) => return report_usage(&error.to_string()),
            };
            let repository = reference.repository.clone();
            let version = match version {
                Version::Exact(v) => client.publish_to(&repository, &v, &source).map(|()| v),
                Version::Next(inc) => client.versions_in(&repository).and_then(|published| {
                    let next = OrbVersion::Release(rules::next_version(&published, inc));
                    client
                        .publish_to(&repository, &next, &source)
                        .map(|()| next)
                }),
            };
            version.map(|v| {
                (
                    format!("oci://{}/{repository}:{}", reference.registry, v),
                    client.host().to_string(),
                )
            })
        }
    };
    match published {
        Ok((what, host)) => {
            println!("Orb `{what}` was published to {host}.");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
