//! `orrery orb lock|update|source|list|fetch`: the orb store and its lockfile.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use orrery_compiler::{OrbRef, OrbSource};
use orrery_diagnostics::{has_errors, render_human, SourceDb};
use orrery_orb::{LockPolicy, Locked, Lockfile, OrbDirectory, OrbStore, StoreDirectory, Tier};

use crate::config_cmd::{self, report_usage, CompileArgs, EXIT_CONFIG_ERROR, EXIT_USAGE};
use crate::store::{self, StoreArgs};
use crate::{pack_cmd, publish_cmd};

#[derive(Subcommand)]
pub enum OrbCommand {
    /// Pack an orb source directory (`src/` with `@orb.yml`) into one orb file, on stdout.
    Pack(pack_cmd::PackArgs),
    /// Unpack an orb file into a source directory (`@orb.yml`, `commands/`, `jobs/`, ...).
    Unpack(pack_cmd::UnpackArgs),
    /// Check an orb on its own: every element expands with its defaults, examples compile.
    Validate(pack_cmd::ValidateArgs),
    /// Resolve every orb the config uses and pin it in the lockfile (.circleci/orbs.lock).
    Lock(LockArgs),
    /// Move floating references (`@5`, `@volatile`) to their newest match and rewrite the lock.
    Update(LockArgs),
    /// Print the source of a resolved orb.
    Source(SourceArgs),
    /// List the orbs the store holds.
    List(ListArgs),
    /// Download orbs from the registry into the user cache.
    Fetch(FetchArgs),
    /// Publish an orb to CircleCI's registry or an OCI registry.
    Publish(publish_cmd::PublishArgs),
}

#[derive(Args)]
pub struct LockArgs {
    /// The config file.
    #[arg(default_value = ".circleci/config.yml")]
    config: PathBuf,
    #[command(flatten)]
    compile: CompileArgs,
}

#[derive(Args)]
pub struct SourceArgs {
    /// `namespace/name@version`.
    reference: String,
    /// The config whose project directory (vendored orbs, lockfile) to use.
    #[arg(long, default_value = ".circleci/config.yml")]
    config: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
pub struct ListArgs {
    /// The config whose project directory (vendored orbs) to list.
    #[arg(long, default_value = ".circleci/config.yml")]
    config: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
pub struct FetchArgs {
    /// `namespace/name@version` references to download.
    references: Vec<String>,
    /// Also download every orb this config uses.
    #[arg(long)]
    config: Option<PathBuf>,
    /// With --config: registry directories of orbs laid out as DIR/NAMESPACE/NAME/VERSION.yml
    /// (repeatable), as for `config process`; orbs found there need no download.
    #[arg(long = "orb-path", value_name = "DIR")]
    orb_path: Vec<PathBuf>,
    #[command(flatten)]
    registry: crate::remote::RegistryArgs,
}

pub fn run(command: OrbCommand) -> ExitCode {
    match command {
        OrbCommand::Pack(args) => pack_cmd::orb_pack(args),
        OrbCommand::Unpack(args) => pack_cmd::orb_unpack(args),
        OrbCommand::Validate(args) => pack_cmd::orb_validate(args),
        OrbCommand::Lock(args) => lock(args, LockPolicy::Enforce),
        OrbCommand::Update(args) => lock(args, LockPolicy::Ignore),
        OrbCommand::Source(args) => source(args),
        OrbCommand::List(args) => list(args),
        OrbCommand::Fetch(args) => fetch(args),
        OrbCommand::Publish(args) => publish_cmd::run(args),
    }
}

/// Compiles the config, then writes what every reference resolved to. `Enforce` keeps the pins
/// already in the lock (a floating reference resolves once and stays pinned); `Ignore` moves
/// them forward.
fn lock(args: LockArgs, policy: LockPolicy) -> ExitCode {
    let path = args.compile.store.lockfile_path(&args.config);
    let session = match config_cmd::compile(&args.config, &args.compile, policy) {
        Ok(session) => session,
        Err(message) => return report_usage(&message),
    };
    let diagnostics = &session.compiled.diagnostics;
    if !diagnostics.is_empty() {
        eprint!("{}", render_human(&session.db, diagnostics));
    }
    if has_errors(diagnostics) {
        eprintln!("error: the lockfile was not written: the config must compile first");
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    let before = session.store.lock().cloned().unwrap_or_default();
    let after = Lockfile {
        orbs: session
            .store
            .resolutions()
            .into_iter()
            .map(|(reference, r)| {
                let pin = Locked {
                    version: r.version,
                    sha256: r.sha256,
                };
                (reference, pin)
            })
            .collect(),
    };
    for (reference, pin) in &after.orbs {
        match before.orbs.get(reference) {
            Some(old) if old == pin => println!("  {reference} = {}", pin.version),
            Some(old) => println!("  {reference} {} -> {}", old.version, pin.version),
            None => println!("  {reference} = {} (new)", pin.version),
        }
    }
    for reference in before.orbs.keys().filter(|r| !after.orbs.contains_key(*r)) {
        println!("  {reference} (removed: no longer used)");
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return report_usage(&format!("cannot create {}: {e}", dir.display()));
        }
    }
    if let Err(e) = std::fs::write(&path, after.render()) {
        return report_usage(&format!("cannot write {}: {e}", path.display()));
    }
    println!("Wrote {} ({} orbs).", path.display(), after.orbs.len());
    ExitCode::SUCCESS
}

fn parse_reference(text: &str) -> Result<OrbRef, String> {
    OrbRef::parse(text).ok_or_else(|| {
        format!("`{text}` is not an orb reference; write `namespace/name@version`, e.g. `circleci/node@5.1.0`")
    })
}

fn source(args: SourceArgs) -> ExitCode {
    let reference = match parse_reference(&args.reference) {
        Ok(r) => r,
        Err(message) => return report_usage(&message),
    };
    let mut db = SourceDb::new();
    let mut diagnostics = Vec::new();
    let store = match args
        .store
        .open(&args.config, LockPolicy::Enforce, &mut db, &mut diagnostics)
    {
        Ok(store) => store,
        Err(message) => return report_usage(&message),
    };
    if !diagnostics.is_empty() {
        eprint!("{}", render_human(&db, &diagnostics));
    }
    match store.fetch(&reference) {
        Ok(orb) => {
            eprintln!(
                "# {reference} resolved to {} from {}",
                orb.version, orb.origin
            );
            print!("{}", orb.text);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "error[{}]: cannot resolve orb `{reference}`: {}",
                error.code, error.message
            );
            eprintln!("  help: {}", error.help);
            ExitCode::from(EXIT_CONFIG_ERROR)
        }
    }
}

fn list(args: ListArgs) -> ExitCode {
    let directories = args.store.directories(&args.config);
    let mut rows: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for StoreDirectory { tier, directory } in &directories {
        for orb in directory.list() {
            rows.entry((
                format!("{}/{}", orb.namespace, orb.name),
                tier.label().to_string(),
            ))
            .or_default()
            .push(orb.version);
        }
    }
    if rows.is_empty() {
        let searched: Vec<String> = directories
            .iter()
            .map(|d| format!("{} ({})", d.directory.root.display(), d.tier.label()))
            .collect();
        println!("No orbs stored; searched {}.", searched.join(", "));
        return ExitCode::SUCCESS;
    }
    let width = rows.keys().map(|(name, _)| name.len()).max().unwrap_or(0);
    for ((name, tier), mut versions) in rows {
        versions.sort_by_key(|v| orrery_orb::semver(v).map_or((u64::MAX, 0, 0), |s| s));
        println!("{name:width$}  {:9} {}", tier, versions.join(" "));
    }
    ExitCode::SUCCESS
}

/// `orbs done/all` on stderr for two or more orbs, when stdout and stderr are a terminal.
fn fetch_progress(orbs: usize) -> Option<indicatif::ProgressBar> {
    if orbs < 2 {
        return None;
    }
    terminal_progress(Some(orbs as u64), "{spinner} {pos}/{len} orbs  {wide_msg}")
}

/// A spinner while a config's orbs are resolved (they are fetched as the compiler meets them,
/// so their number is not known up front), when stdout and stderr are a terminal.
fn config_fetch_progress(config: &std::path::Path) -> Option<indicatif::ProgressBar> {
    let bar = terminal_progress(None, "{spinner} fetching the orbs of {wide_msg}")?;
    bar.set_message(config.display().to_string());
    Some(bar)
}

fn terminal_progress(length: Option<u64>, template: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !(std::io::stdout().is_terminal() && std::io::stderr().is_terminal()) {
        return None;
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(length, indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

fn fetch(args: FetchArgs) -> ExitCode {
    if args.references.is_empty() && args.config.is_none() {
        return report_usage(
            "name the orbs to fetch (`namespace/name@version`) or a config with --config FILE",
        );
    }
    let Some(cache) = store::cache_dir() else {
        return report_usage("no cache directory: set XDG_CACHE_HOME, HOME or ORRERY_CACHE_DIR");
    };
    // Making the client sends nothing; only fetching a named orb talks to the registry.
    let store = match args.registry.client() {
        Ok(client) => OrbStore::new(vec![StoreDirectory {
            tier: Tier::Cache,
            directory: OrbDirectory::new(&cache),
        }])
        .online(client),
        Err(message) => return report_usage(&message),
    };
    let mut failed = false;
    // Several orbs on a terminal: a progress line below the results (never in pipes or logs).
    let progress = fetch_progress(args.references.len());
    let say = |line: String, error: bool| {
        let write = || match error {
            true => eprintln!("{line}"),
            false => println!("{line}"),
        };
        match &progress {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    };
    for text in &args.references {
        if let Some(bar) = &progress {
            bar.set_message(text.clone());
        }
        if text.starts_with(orrery_registry::reference::OCI_SCHEME) {
            match fetch_oci(text, &args.registry, &cache) {
                Ok(line) => say(line, false),
                Err(message) => {
                    say(format!("error: cannot fetch `{text}`: {message}"), true);
                    failed = true;
                }
            }
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            continue;
        }
        let reference = match parse_reference(text) {
            Ok(r) => r,
            Err(message) => return report_usage(&message),
        };
        match store.fetch(&reference) {
            Ok(orb) => say(
                format!("{reference} -> {} ({})", orb.version, orb.origin),
                false,
            ),
            Err(error) => {
                say(
                    format!(
                        "error[{}]: cannot fetch orb `{reference}`: {}\n  help: {}",
                        error.code, error.message, error.help
                    ),
                    true,
                );
                failed = true;
            }
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if let Some(config) = &args.config {
        let compile_args = CompileArgs {
            store: StoreArgs {
                orb_path: args.orb_path.clone(),
                online: true,
                registry: args.registry.clone(),
                ..StoreArgs::default()
            },
            ..CompileArgs::default()
        };
        let progress = config_fetch_progress(config);
        let compiled = config_cmd::compile(config, &compile_args, LockPolicy::Enforce);
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        let session = match compiled {
            Ok(s) => s,
            Err(message) => return report_usage(&message),
        };
        for (reference, resolution) in session.store.resolutions() {
            println!(
                "{reference} -> {} ({})",
                resolution.version, resolution.origin
            );
        }
        if has_errors(&session.compiled.diagnostics) {
            eprint!(
                "{}",
                render_human(&session.db, &session.compiled.diagnostics)
            );
            failed = true;
        }
    }
    if failed {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Fetches `oci://HOST/REPO/NAMESPACE/NAME:VERSION` into the cache as `NAMESPACE/NAME@VERSION`:
/// the repository's last two segments name the orb, so configs can then refer to it.
fn fetch_oci(
    text: &str,
    registry: &crate::remote::RegistryArgs,
    cache: &std::path::Path,
) -> Result<String, String> {
    let reference = orrery_registry::OciReference::parse(text)?;
    let Some(version) = reference.version.clone() else {
        return Err("name a version: oci://HOST/REPO/NAME:VERSION".into());
    };
    let mut segments = reference.repository.rsplit('/');
    let (Some(name), Some(namespace)) = (segments.next(), segments.next()) else {
        return Err("the repository needs two segments, NAMESPACE/NAME, to name the orb".into());
    };
    let client = orrery_registry::OciRegistry::for_reference(&reference, registry.oci_options())
        .map_err(|e| e.to_string())?;
    let source = client
        .fetch_from(&reference.repository, &version)
        .map_err(|e| e.to_string())?;
    let path = OrbDirectory::new(cache).write(namespace, name, &version.to_string(), &source)?;
    Ok(format!("{namespace}/{name}@{version} ({})", path.display()))
}
