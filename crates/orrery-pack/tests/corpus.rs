//! Packing and unpacking over the shared corpus (`../shared/corpus`, read in place).
//!
//! * `orbs/NAMESPACE/NAME/VERSION/src` (orb development kit layout): every source packs without
//!   an error, and pack → unpack → pack gives the same orb.
//! * The versions kept as one packed file (`orb.yml` or `src/orb.yml`, no `@orb.yml`) are
//!   already packed: packing refuses them with E0701, and unpack → pack gives the file back.
//! * `packed-sources/REPO`: source trees next to the config their project generated from them.

use std::fs;
use std::path::{Path, PathBuf};

use orrery_diagnostics::{codes, has_errors, render_human, Diagnostic, FileId, SourceDb};
use orrery_pack::fs::{read_config_dir, read_orb_dir};
use orrery_pack::{
    data_eq, included_paths, pack_config, pack_orb, unpack_orb, unpack_orb_map, Packed, SourceTree,
    UnpackOptions,
};
use orrery_yaml::{parse, Limits, Node};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

/// Every `orbs/NAMESPACE/NAME/VERSION` directory, sorted.
fn orb_versions() -> Vec<PathBuf> {
    let mut versions = Vec::new();
    for namespace in subdirs(&corpus().join("orbs")) {
        for name in subdirs(&namespace) {
            versions.extend(subdirs(&name));
        }
    }
    versions
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn label(version: &Path) -> String {
    version
        .strip_prefix(corpus().join("orbs"))
        .unwrap_or(version)
        .display()
        .to_string()
}

fn parse_yaml(name: &str, text: &str) -> Node {
    let mut db = SourceDb::new();
    let file: FileId = db.add(name, text);
    let parsed = parse(file, text, Limits::default());
    assert!(
        !has_errors(&parsed.diagnostics),
        "{name}:\n{}",
        render_human(&db, &parsed.diagnostics)
    );
    parsed.root.unwrap_or_else(|| panic!("{name} is empty"))
}

/// Where two values first differ (a dotted path), for failure messages.
fn difference(a: &Node, b: &Node) -> Option<String> {
    use orrery_yaml::Value;
    match (&a.value, &b.value) {
        (Value::Map(x), Value::Map(y)) => {
            for (key, value) in x.iter() {
                match y.get(key) {
                    None => return Some(format!("{key} (only in the first)")),
                    Some(other) => {
                        if let Some(path) = difference(value, other) {
                            return Some(format!("{key}.{path}"));
                        }
                    }
                }
            }
            y.keys()
                .find(|k| !x.contains_key(k))
                .map(|k| format!("{k} (only in the second)"))
        }
        (Value::Seq(x), Value::Seq(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (a, b))| difference(a, b).map(|p| format!("{i}.{p}"))),
        _ if data_eq(a, b) => None,
        _ => Some(format!(": {:?} vs {:?}", a.value, b.value)),
    }
}

fn errors(packed: &Packed) -> String {
    let errors: Vec<Diagnostic> = packed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    render_human(&packed.sources, &errors)
}

/// Corpus orbs that cannot pack, with the one error code expected and why.
const KNOWN_PACK_ERRORS: [(&str, &str, &str); 2] = [
    (
        "codecov/codecov/4.2.0",
        codes::INCLUDE_MISSING,
        "the corpus copy has no src/scripts/ (its includes name four files there)",
    ),
    (
        "eddiewebb/queue/HEAD",
        codes::INCLUDE_OUTSIDE_ROOT,
        "includes `../scripts/*.bash` from outside src/, which we refuse",
    ),
];

fn known_error(version: &Path) -> Option<&'static str> {
    let label = label(version);
    KNOWN_PACK_ERRORS
        .iter()
        .find(|(known, _, _)| *known == label)
        .map(|(_, code, _)| *code)
}

/// The orb a version directory holds in the development-kit layout, packed.
fn pack_source(src: &Path) -> Packed {
    let tree = read_orb_dir(src).unwrap_or_else(|e| panic!("{e}"));
    pack_orb(&tree)
}

/// `tree` with a one-line placeholder for every included file the corpus copy lacks (the corpus
/// replaces scripts by placeholders anyway).
fn with_placeholders(mut tree: SourceTree) -> SourceTree {
    let missing: Vec<String> = tree
        .files
        .iter()
        .flat_map(|f| included_paths(&f.text))
        .filter(|p| tree.get(p).is_none())
        .map(str::to_string)
        .collect();
    for path in missing {
        tree.add(path, "# placeholder\n");
    }
    tree
}

/// The single packed file of a version without `src/@orb.yml`.
fn packed_file(version: &Path) -> Option<PathBuf> {
    [version.join("orb.yml"), version.join("src/orb.yml")]
        .into_iter()
        .find(|p| p.is_file())
}

#[test]
fn every_corpus_orb_packs() {
    let versions = orb_versions();
    let (mut packed, mut refused, mut single_file, mut failures) = (0, 0, 0, Vec::new());
    for version in &versions {
        let src = version.join("src");
        if src.join("@orb.yml").is_file() {
            let result = pack_source(&src);
            let error_codes: Vec<&str> = result
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.code)
                .collect();
            match known_error(version) {
                None if result.value.is_some() && error_codes.is_empty() => packed += 1,
                None => failures.push(format!("{}:\n{}", label(version), errors(&result))),
                Some(code) if result.value.is_none() && error_codes.iter().all(|c| *c == code) => {
                    refused += 1;
                }
                Some(code) => failures.push(format!(
                    "{}: expected only {code}, got {error_codes:?}",
                    label(version)
                )),
            }
        } else if let Some(file) = packed_file(version) {
            // Already packed: no @orb.yml, and pack says so.
            let result = pack_orb(&read_orb_dir(file.parent().unwrap()).unwrap());
            let codes: Vec<&str> = result.diagnostics.iter().map(|d| d.code).collect();
            if codes == [codes::PACK_NO_ORB_ROOT] {
                single_file += 1;
            } else {
                failures.push(format!(
                    "{}: expected only E0701, got {codes:?}",
                    label(version)
                ));
            }
        } else {
            failures.push(format!(
                "{}: no src/@orb.yml and no orb.yml",
                label(version)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} orb versions failed:\n{}",
        failures.len(),
        versions.len(),
        failures.join("\n")
    );
    assert_eq!(versions.len(), 140, "the corpus has 140 orb versions");
    assert_eq!(refused, KNOWN_PACK_ERRORS.len());
    eprintln!(
        "{packed} orb sources packed, {refused} refused as expected, {single_file} single-file \
         orbs refused with E0701, of {}",
        versions.len()
    );
}

#[test]
fn corpus_orbs_round_trip() {
    let versions = orb_versions();
    let mut failures = Vec::new();
    let (mut extracted_scripts, mut skipped) = (0, 0);
    for version in &versions {
        let src = version.join("src");
        let first = if src.join("@orb.yml").is_file() {
            if known_error(version) == Some(codes::INCLUDE_OUTSIDE_ROOT) {
                skipped += 1;
                continue;
            }
            match pack_orb(&with_placeholders(read_orb_dir(&src).unwrap())).value {
                Some(orb) => orb,
                None => {
                    failures.push(format!("{}: does not pack", label(version)));
                    continue;
                }
            }
        } else if let Some(file) = packed_file(version) {
            parse_yaml(
                &file.display().to_string(),
                &fs::read_to_string(&file).unwrap(),
            )
        } else {
            failures.push(format!("{}: no orb", label(version)));
            continue;
        };
        for options in [
            UnpackOptions::default(),
            UnpackOptions {
                extract_scripts: false,
            },
        ] {
            let text = orrery_pack::to_yaml(&first);
            let unpacked = unpack_orb("orb.yml", &text, &options);
            let Some(tree) = unpacked.tree else {
                failures.push(format!(
                    "{}: does not unpack:\n{}",
                    label(version),
                    render_human(&unpacked.sources, &unpacked.diagnostics)
                ));
                continue;
            };
            // The data-level entry gives the same tree as the text-level one.
            let mut ignored = Vec::new();
            let direct = unpack_orb_map(first.as_map().unwrap(), &options, &mut ignored);
            if direct != tree {
                failures.push(format!("{}: unpack_orb_map differs", label(version)));
            }
            if options.extract_scripts {
                extracted_scripts += tree
                    .files
                    .iter()
                    .filter(|f| f.path.starts_with("scripts/"))
                    .count();
            }
            let again = pack_orb(&tree);
            match &again.value {
                Some(second) if data_eq(&first, second) => {}
                Some(_) => failures.push(format!(
                    "{} ({options:?}): pack → unpack → pack differs",
                    label(version)
                )),
                None => failures.push(format!(
                    "{} ({options:?}): the unpacked tree does not pack:\n{}",
                    label(version),
                    errors(&again)
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} round-trip failures over {} orb versions:\n{}",
        failures.len(),
        versions.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} of {} orb versions round-trip ({extracted_scripts} scripts extracted)",
        versions.len() - skipped,
        versions.len()
    );
}

// `packed-sources/REPO/.circleci`: which tool made the official `config.yml`?
//
// * snyk__kubernetes-monitor — `circleci config pack config` alone (keys sorted at every depth,
//   4-space yaml.v3 indentation, anchors expanded, no trailer): compared below, data-equal but
//   for one job renamed by hand in the output.
// * maniankara__vault — `config pack` then `config process` (`make ci-config`): a processed 2.0
//   config whose `# Original config.yml file:` trailer quotes the packed input; we check our pack
//   against that trailer. Pack → process belongs to the CLI tests.
// * hashicorp__nomad — the same `make ci-config` pipeline: a processed `version: 2` config with
//   compiled jobs, without a trailer, so only pack → process (the CLI tests) can check it.
// * Synthetixio__synthetix — not a CircleCI packer at all: `.circleci/pack.js` splices
//   `{{> partial}}` snippets into `config.template.yml` (Handlebars), so its sources are not FYAML
//   and are not compared.

#[test]
fn packed_sources_config_pack_matches_official_output() {
    let repo = corpus().join("packed-sources/snyk__kubernetes-monitor/.circleci");
    let tree = read_config_dir(&repo.join("config")).unwrap();
    let packed = pack_config(&tree);
    let mut ours = packed
        .value
        .clone()
        .unwrap_or_else(|| panic!("{}", errors(&packed)));
    let official_path = repo.join("config.yml");
    let official = parse_yaml(
        &official_path.display().to_string(),
        &fs::read_to_string(&official_path).unwrap(),
    );
    // Our text reads back as the same data.
    let text = packed.to_yaml().unwrap();
    assert!(data_eq(&parse_yaml("ours.yml", &text), &ours));
    // The one drift between the sources and the committed output: the job file is still
    // `jobs/deploy_to_dev.yml`, while config.yml names the job `prepare_to_deploy` (renamed in
    // place: it sits where `deploy_to_dev` sorts). Everything else is data-equal.
    assert_eq!(
        difference(&ours, &official).as_deref(),
        Some("jobs.deploy_to_dev (only in the first)")
    );
    let jobs = ours
        .as_map_mut()
        .and_then(|m| m.get_mut("jobs"))
        .and_then(Node::as_map_mut)
        .unwrap();
    let job = jobs
        .entries
        .iter_mut()
        .find(|e| e.key == "deploy_to_dev")
        .unwrap();
    job.key = "prepare_to_deploy".into();
    assert!(
        data_eq(&ours, &official),
        "pack_config differs from the official config.yml at {:?}",
        difference(&ours, &official)
    );
}

/// The config text a processed output quotes in its `# Original config.yml file:` trailer (each
/// line is `# ` and a JSON string body).
fn original_from_trailer(processed: &str) -> Option<String> {
    let (_, trailer) = processed.split_once("# Original config.yml file:\n")?;
    let lines: Option<Vec<String>> = trailer
        .split('\n')
        .map(|line| {
            let body = line.strip_prefix("# ").or_else(|| line.strip_prefix('#'))?;
            serde_json::from_str(&format!("\"{body}\"")).ok()
        })
        .collect();
    Some(lines?.join("\n"))
}

#[test]
fn packed_sources_processed_pairs_pack_to_their_input() {
    // Both were packed and then processed; the pack → process comparison is the CLI's. Their
    // sources must pack without errors, and vault's output quotes the packed config it was
    // processed from in its trailer: that is exactly what we pack.
    for repo in ["maniankara__vault", "hashicorp__nomad"] {
        let dir = corpus().join("packed-sources").join(repo).join(".circleci");
        let packed = pack_config(&read_config_dir(&dir.join("config")).unwrap());
        let ours = packed
            .value
            .as_ref()
            .unwrap_or_else(|| panic!("{repo}:\n{}", errors(&packed)));
        let processed = fs::read_to_string(dir.join("config.yml")).unwrap();
        if let Some(original) = original_from_trailer(&processed) {
            let original = parse_yaml(&format!("{repo} trailer"), &original);
            assert!(
                data_eq(ours, &original),
                "{repo}: pack_config differs from the trailer at {:?}",
                difference(ours, &original)
            );
        } else {
            assert_eq!(
                repo, "hashicorp__nomad",
                "only nomad's output has no trailer"
            );
        }
    }
}
