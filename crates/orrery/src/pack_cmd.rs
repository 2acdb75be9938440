//! `orrery orb pack|unpack|validate` and `orrery config pack`: orb and config source trees.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use orrery_compiler::{check_orb, CompileOptions};
use orrery_diagnostics::{has_errors, render_human, SourceDb};
use orrery_orb::LockPolicy;
use orrery_pack::{fs as pack_fs, pack_config, unpack_orb, Packed, UnpackOptions};

use crate::config_cmd::{report_usage, EXIT_CONFIG_ERROR};
use crate::orb_file::{load_orb, pack_orb_source};
use crate::store::StoreArgs;

#[derive(Args)]
pub struct PackArgs {
    /// The orb source directory, the one holding `@orb.yml` (usually `src/`).
    dir: PathBuf,
    /// Let `<<include(path)>>` name files anywhere under ROOT (DIR or a
    /// directory above it), e.g. `../scripts/x.sh` from `src/`. Paths stay relative to DIR;
    /// nothing outside ROOT is read. By default includes may not leave DIR.
    #[arg(long, value_name = "ROOT")]
    include_root: Option<PathBuf>,
}

#[derive(Args)]
pub struct ConfigPackArgs {
    /// The config source directory (`jobs/`, `workflows/`, `@config.yml`, ...).
    dir: PathBuf,
}

#[derive(Args)]
pub struct UnpackArgs {
    /// The packed orb file.
    orb: PathBuf,
    /// Where to write the source tree (must be empty or absent).
    dir: PathBuf,
    /// Keep `run` scripts inline instead of moving long ones to `scripts/`.
    #[arg(long)]
    no_scripts: bool,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// A packed orb file, or an orb source directory (packed first).
    path: PathBuf,
    /// The orb's `namespace/name`, which its examples import it by (default: taken from a
    /// `NAMESPACE/NAME/VERSION/src` path when there is one).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    name: Option<String>,
    /// For a source directory: let `<<include(path)>>` name files anywhere under ROOT (the
    /// directory or one above it), as `orb pack --include-root` does.
    #[arg(long, value_name = "ROOT")]
    include_root: Option<PathBuf>,
    /// Where other orbs the examples import come from.
    #[command(flatten)]
    store: StoreArgs,
}

/// Prints a packed document, or its diagnostics and exit code 1. Never a partial output.
fn print_packed(packed: Packed) -> ExitCode {
    if !packed.diagnostics.is_empty() {
        eprint!("{}", render_human(&packed.sources, &packed.diagnostics));
    }
    match packed.to_yaml() {
        Some(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        None => ExitCode::from(EXIT_CONFIG_ERROR),
    }
}

pub fn orb_pack(args: PackArgs) -> ExitCode {
    match pack_orb_source(&args.dir, args.include_root.as_deref()) {
        Ok(packed) => print_packed(packed),
        Err(message) => report_usage(&message),
    }
}

pub fn config_pack(args: ConfigPackArgs) -> ExitCode {
    match pack_fs::read_config_dir(&args.dir) {
        Ok(tree) => print_packed(pack_config(&tree)),
        Err(e) => report_usage(&format!("cannot read the config source: {e}")),
    }
}

pub fn orb_unpack(args: UnpackArgs) -> ExitCode {
    let text = match std::fs::read_to_string(&args.orb) {
        Ok(t) => t,
        Err(e) => return report_usage(&format!("cannot read {}: {e}", args.orb.display())),
    };
    // Unpacking never overwrites: a source tree may hold work that is in no orb file.
    let occupied = std::fs::read_dir(&args.dir).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        return report_usage(&format!(
            "{} is not empty; unpack into a new directory",
            args.dir.display()
        ));
    }
    let options = UnpackOptions {
        extract_scripts: !args.no_scripts,
    };
    let unpacked = unpack_orb(&args.orb.display().to_string(), &text, &options);
    if !unpacked.diagnostics.is_empty() {
        eprint!("{}", render_human(&unpacked.sources, &unpacked.diagnostics));
    }
    let Some(tree) = unpacked.tree else {
        return ExitCode::from(EXIT_CONFIG_ERROR);
    };
    if let Err(e) = pack_fs::write_tree(&args.dir, &tree) {
        return report_usage(&format!("cannot write the source tree: {e}"));
    }
    println!(
        "Unpacked {} file(s) into {}; `orrery orb pack {}` packs them again.",
        tree.files.len(),
        args.dir.display(),
        args.dir.display()
    );
    ExitCode::SUCCESS
}

/// `NAMESPACE/NAME` from a `…/NAMESPACE/NAME/VERSION/src` (or `…/NAMESPACE/NAME/src`) path.
pub(crate) fn name_from_path(path: &Path) -> Option<(String, String)> {
    let absolute = std::fs::canonicalize(path).ok()?;
    let parts: Vec<String> = absolute
        .components()
        .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
        .collect();
    let src = parts.iter().rposition(|p| p == "src")?;
    let above = &parts[..src];
    let is_version = |p: &str| orrery_orb::semver(p).is_some() || p == "HEAD";
    let tail = match above {
        [.., ns, name, version] if is_version(version) => (ns, name),
        [.., ns, name] => (ns, name),
        _ => return None,
    };
    Some((tail.0.clone(), tail.1.clone()))
}

pub fn orb_validate(args: ValidateArgs) -> ExitCode {
    let mut db = SourceDb::new();
    let file = match load_orb(&args.path, args.include_root.as_deref(), &mut db) {
        Ok(file) => file,
        Err(code) => return code,
    };
    let name = match &args.name {
        Some(text) => match text.split_once('/') {
            Some((ns, name)) => Some((ns.to_string(), name.to_string())),
            None => return report_usage("--name takes NAMESPACE/NAME"),
        },
        None => name_from_path(&args.path),
    };
    let mut diagnostics = Vec::new();
    let others = match args.store.open(
        Path::new(".circleci/config.yml"),
        LockPolicy::Enforce,
        &mut db,
        &mut diagnostics,
    ) {
        Ok(store) => store,
        Err(message) => return report_usage(&message),
    };
    let check = check_orb(
        &mut db,
        file,
        name.as_ref().map(|(ns, n)| (ns.as_str(), n.as_str())),
        &others,
        &CompileOptions::default(),
    );
    diagnostics.extend(check.diagnostics);
    if !diagnostics.is_empty() {
        eprint!("{}", render_human(&db, &diagnostics));
    }
    let summary = format!(
        "{} commands, {} jobs, {} executors, {} examples",
        check.commands, check.jobs, check.executors, check.examples
    );
    if has_errors(&diagnostics) {
        eprintln!(
            "Orb at {} is invalid (checked {summary}).",
            args.path.display()
        );
        ExitCode::from(EXIT_CONFIG_ERROR)
    } else {
        println!(
            "Orb at {} is valid (checked {summary}).",
            args.path.display()
        );
        ExitCode::SUCCESS
    }
}
