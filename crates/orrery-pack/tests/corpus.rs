//! Packing and unpacking over the shared corpus (`../shared/corpus`, read in place).
//!
//! * `orbs/NAMESPACE/NAME/VERSION/src` (orb development kit layout; `VERSION` itself when there
//!   is no `src/`) is what `orrery orb pack` is given. 138 of the 140 versions pack by default:
//!   133 source trees and the 5 versions kept as one packed file (`orb.yml` in `VERSION/` or
//!   `src/`, no `@orb.yml`), which pack as single-file orbs with W0710 and give the file's data
//!   back.
//! * The other two are data defects of the corpus or a layout we refuse by default (see
//!   [`KNOWN_PACK_ERRORS`]): `eddiewebb/queue/HEAD` includes `../scripts/*.bash`, which only
//!   `--include-root HEAD` allows; the corpus copy has no `HEAD/scripts/` though, so with the
//!   include root it fails on the missing files instead, and packs (139 of 140) once they are
//!   stood in for. `codecov/codecov/4.2.0` lacks its `src/scripts/` and never packs as stored.
//! * Packing with the include root set to `VERSION` changes nothing for the others.
//! * pack → unpack → pack gives the same orb for all 140 (missing included files stood in for).
//! * `packed-sources/REPO`: source trees next to the config their project generated from them.

use std::fs;
use std::path::{Path, PathBuf};

use orrery_diagnostics::{codes, has_errors, render_human, Diagnostic, FileId, SourceDb};
use orrery_pack::fs::{read_config_dir, read_orb_dir, read_orb_dir_within};
use orrery_pack::{
    data_eq, included_paths, pack_config, pack_orb, pack_orb_with, unpack_orb, unpack_orb_map,
    PackOptions, Packed, SourceTree, UnpackOptions,
};
use orrery_testkit::corpus::{label, orb_versions, source_dir};
use orrery_yaml::{parse, Limits, Node};

/// The shared corpus; `None` (reported) without the shared data.
fn corpus() -> Option<PathBuf> {
    Some(orrery_testkit::shared()?.join("corpus"))
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

fn error_codes(packed: &Packed) -> Vec<&'static str> {
    packed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect()
}

/// A corpus orb that does not pack as stored.
struct KnownError {
    version: &'static str,
    /// The only error code packing gives by default.
    default: &'static str,
    /// The only error code packing gives with the include root set to `VERSION`.
    with_include_root: &'static str,
    why: &'static str,
}

const KNOWN_PACK_ERRORS: [KnownError; 2] = [
    KnownError {
        version: "codecov/codecov/4.2.0",
        default: codes::INCLUDE_MISSING,
        with_include_root: codes::INCLUDE_MISSING,
        why: "data defect: the corpus copy has no src/scripts/ (its includes name four files \
              there)",
    },
    KnownError {
        version: "eddiewebb/queue/HEAD",
        default: codes::INCLUDE_OUTSIDE_ROOT,
        with_include_root: codes::INCLUDE_MISSING,
        why: "includes `../scripts/*.bash` from outside src/, which only an include root allows; \
              the corpus copy has no HEAD/scripts/ either",
    },
];

fn known_error(version: &Path) -> Option<&'static KnownError> {
    let label = label(version);
    KNOWN_PACK_ERRORS.iter().find(|k| k.version == label)
}

/// `tree` with a one-line placeholder for every included file the corpus copy lacks (the corpus
/// replaces scripts by placeholders anyway).
fn with_placeholders(mut tree: SourceTree, options: &PackOptions) -> SourceTree {
    let missing: Vec<String> = tree
        .files
        .iter()
        .flat_map(|f| included_paths(&f.text))
        .filter_map(|p| options.resolve_include(p))
        .filter(|p| tree.get(p).is_none())
        .collect();
    for path in missing {
        tree.add(path, "# placeholder\n");
    }
    tree
}

/// The version's orb directory read as `orrery orb pack DIR --include-root VERSION` reads it.
fn read_within_version(version: &Path) -> (SourceTree, PackOptions) {
    read_orb_dir_within(&source_dir(version), version).unwrap_or_else(|e| panic!("{e}"))
}

/// The single packed file of a version without `@orb.yml`.
fn packed_file(version: &Path) -> Option<PathBuf> {
    let dir = source_dir(version);
    (!dir.join("@orb.yml").is_file())
        .then(|| dir.join("orb.yml"))
        .filter(|p| p.is_file())
}

#[test]
fn every_corpus_orb_packs() {
    let Some(versions) = orb_versions() else {
        return;
    };
    let (mut packed, mut single_file, mut refused) = (0, 0, 0);
    let (mut packed_with_root, mut failures) = (0, Vec::new());
    for version in &versions {
        let label = label(version);
        let dir = source_dir(version);
        let default = pack_orb(&read_orb_dir(&dir).unwrap_or_else(|e| panic!("{e}")));
        let (tree, options) = read_within_version(version);
        assert_eq!(options.orb_dir, if dir == *version { "" } else { "src" });
        let within = pack_orb_with(&tree, &options);
        let (default_codes, within_codes) = (error_codes(&default), error_codes(&within));
        match known_error(version) {
            None => match (&default.value, &within.value) {
                (Some(orb), Some(orb_within)) if default_codes.is_empty() => {
                    packed += 1;
                    packed_with_root += 1;
                    if !data_eq(orb, orb_within) {
                        failures.push(format!(
                            "{label}: packs differently with the include root at {:?}",
                            difference(orb, orb_within)
                        ));
                    }
                    let warned_single = default
                        .diagnostics
                        .iter()
                        .any(|d| d.code == codes::PACK_SINGLE_FILE_ORB);
                    match packed_file(version) {
                        Some(file) if warned_single => {
                            single_file += 1;
                            let original = parse_yaml(
                                &file.display().to_string(),
                                &fs::read_to_string(&file).unwrap(),
                            );
                            if !data_eq(orb, &original) {
                                failures.push(format!(
                                    "{label}: the single-file orb packs differently from {} at \
                                     {:?}",
                                    file.display(),
                                    difference(orb, &original)
                                ));
                            }
                        }
                        None if !warned_single => {}
                        _ => failures.push(format!(
                            "{label}: W0710 given {warned_single} for a directory with{} \
                             @orb.yml",
                            if packed_file(version).is_some() {
                                "out"
                            } else {
                                ""
                            }
                        )),
                    }
                }
                _ => failures.push(format!("{label}:\n{}{}", errors(&default), errors(&within))),
            },
            Some(known) => {
                if default.value.is_none()
                    && !default_codes.is_empty()
                    && default_codes.iter().all(|c| *c == known.default)
                    && within.value.is_none()
                    && !within_codes.is_empty()
                    && within_codes.iter().all(|c| *c == known.with_include_root)
                {
                    refused += 1;
                } else {
                    failures.push(format!(
                        "{label}: expected only {} ({}) by default and only {} with the include \
                         root, got {default_codes:?} and {within_codes:?}",
                        known.default, known.why, known.with_include_root
                    ));
                }
                // Where the includes escape, the include root is what makes them resolve: with
                // the missing files stood in for, the orb packs.
                let stood_in = pack_orb_with(&with_placeholders(tree, &options), &options);
                let only_defect = stood_in.value.is_some() && error_codes(&stood_in).is_empty();
                if known.default == codes::INCLUDE_OUTSIDE_ROOT {
                    if only_defect {
                        packed_with_root += 1;
                    } else {
                        failures.push(format!(
                            "{label}: does not pack with the include root and its included \
                             files:\n{}",
                            errors(&stood_in)
                        ));
                    }
                }
            }
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
    assert_eq!(single_file, 5, "five versions are kept as one orb.yml");
    assert_eq!(packed, 138);
    assert_eq!(packed_with_root, 139);
    eprintln!(
        "{packed} of {} orb versions pack by default ({single_file} of them single-file orbs, \
         W0710); {refused} refused as expected: {}",
        versions.len(),
        KNOWN_PACK_ERRORS
            .iter()
            .map(|k| format!("{} ({})", k.version, k.default))
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!(
        "{packed_with_root} of {} with --include-root VERSION, counting eddiewebb/queue/HEAD, \
         whose HEAD/scripts/ the corpus lacks, with its two scripts stood in for",
        versions.len()
    );
}

#[test]
fn eddiewebb_queue_needs_the_include_root() {
    let Some(corpus) = corpus() else {
        return;
    };
    let version = corpus.join("orbs/eddiewebb/queue/HEAD");
    let src = version.join("src");
    // By default the includes that leave src/ are refused, and nothing outside src/ is read.
    let default = pack_orb(&read_orb_dir(&src).unwrap());
    assert!(default.value.is_none());
    assert_eq!(
        error_codes(&default),
        [codes::INCLUDE_OUTSIDE_ROOT, codes::INCLUDE_OUTSIDE_ROOT]
    );
    // With the include root at HEAD they resolve to HEAD/scripts/, which the corpus copy lacks.
    let (tree, options) = read_orb_dir_within(&src, &version).unwrap();
    assert_eq!(options, PackOptions::with_orb_dir("src"));
    assert!(tree.files.iter().all(|f| f.path.starts_with("src/")));
    let within = pack_orb_with(&tree, &options);
    let missing: Vec<&str> = within
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    let root = version.display();
    assert_eq!(
        missing,
        [
            format!("could not open {root}/scripts/goodbye.bash for inclusion"),
            format!("could not open {root}/scripts/loop.bash for inclusion"),
        ]
    );
    // With those two files, it packs.
    let packed = pack_orb_with(&with_placeholders(tree, &options), &options);
    let text = packed
        .to_yaml()
        .unwrap_or_else(|| panic!("{}", errors(&packed)));
    assert_eq!(text.matches("# placeholder").count(), 2);
}

#[test]
fn corpus_orbs_round_trip() {
    let Some(versions) = orb_versions() else {
        return;
    };
    let mut failures = Vec::new();
    let mut extracted_scripts = 0;
    for version in &versions {
        let (tree, options) = match known_error(version) {
            Some(known) if known.default == codes::INCLUDE_OUTSIDE_ROOT => {
                read_within_version(version)
            }
            _ => (
                read_orb_dir(&source_dir(version)).unwrap(),
                PackOptions::default(),
            ),
        };
        let first = match pack_orb_with(&with_placeholders(tree, &options), &options).value {
            Some(orb) => orb,
            None => {
                failures.push(format!("{}: does not pack", label(version)));
                continue;
            }
        };
        for unpack_options in [
            UnpackOptions::default(),
            UnpackOptions {
                extract_scripts: false,
            },
        ] {
            let text = orrery_pack::to_yaml(&first);
            let unpacked = unpack_orb("orb.yml", &text, &unpack_options);
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
            let direct = unpack_orb_map(first.as_map().unwrap(), &unpack_options, &mut ignored);
            if direct != tree {
                failures.push(format!("{}: unpack_orb_map differs", label(version)));
            }
            if unpack_options.extract_scripts {
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
                    "{} ({unpack_options:?}): pack → unpack → pack differs",
                    label(version)
                )),
                None => failures.push(format!(
                    "{} ({unpack_options:?}): the unpacked tree does not pack:\n{}",
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
        versions.len(),
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
    let Some(corpus) = corpus() else {
        return;
    };
    let repo = corpus.join("packed-sources/snyk__kubernetes-monitor/.circleci");
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
    let mut entries = jobs.entries_mut();
    let job = entries
        .iter_mut()
        .find(|e| e.key == "deploy_to_dev")
        .unwrap();
    job.key = "prepare_to_deploy".into();
    drop(entries);
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
    let Some(corpus) = corpus() else {
        return;
    };
    for repo in ["maniankara__vault", "hashicorp__nomad"] {
        let dir = corpus.join("packed-sources").join(repo).join(".circleci");
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
