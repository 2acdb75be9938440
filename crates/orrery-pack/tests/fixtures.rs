//! Data-driven fixtures, one directory per case:
//!
//! * `fixtures/orb/CASE/src/` is packed with `pack_orb`, `fixtures/config/CASE/src/` with
//!   `pack_config`, `fixtures/orb-include-root/CASE/src/` with `pack_orb_with` and `CASE` as the
//!   include root (all read through `orrery_pack::fs`, so dot-files and unwalked directories
//!   are really on disk; include-root cases name files relative to `CASE`). `expected.yml` is
//!   the packed text (absent when packing fails); `expected.diagnostics` lists the
//!   diagnostics, one a line (absent when there are none):
//!
//!   ```text
//!   E0703 src/commands/greet.yml:1:1 also src/@orb.yml:4:3 | `commands.greet` is defined in both …
//!   ```
//!
//!   code, primary `file:line:column` (`-` when there is no place), each secondary place after
//!   `also`, then the message.
//! * `fixtures/unpack/CASE/orb.yml` is unpacked; `expected/` holds exactly the files of the tree,
//!   and packing that tree must give the orb back (unless unpacking warned W0709 that it cannot).
//!
//! `UPDATE_EXPECT=1 cargo test -p orrery-pack --test fixtures` rewrites the expected files.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use orrery_diagnostics::{codes, Diagnostic, SourceDb};
use orrery_pack::fs::{read_config_dir, read_orb_dir, read_orb_dir_within, write_tree};
use orrery_pack::{
    data_eq, pack_config, pack_orb, pack_orb_with, unpack_orb, PackOptions, Packed, SourceTree,
    UnpackOptions,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some()
}

fn cases(kind: &str) -> Vec<PathBuf> {
    orrery_testkit::subdirs(&fixtures().join(kind))
}

fn place(db: &SourceDb, span: orrery_diagnostics::Span) -> String {
    match db.line_col(span) {
        Some((file, pos)) => format!("{}:{}:{}", file.name, pos.line, pos.column),
        None => "?".into(),
    }
}

fn describe(db: &SourceDb, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let primary = d
            .primary
            .as_ref()
            .map_or_else(|| "-".to_string(), |l| place(db, l.span));
        let _ = write!(out, "{} {primary}", d.code);
        for label in &d.secondary {
            let _ = write!(out, " also {}", place(db, label.span));
        }
        let _ = writeln!(out, " | {}", d.message);
    }
    out
}

/// Compares `actual` with the file `path` (absent = empty); rewrites it when updating.
fn check_file(path: &Path, actual: &str, failures: &mut Vec<String>) {
    let expected = fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return;
    }
    if updating() {
        if actual.is_empty() {
            let _ = fs::remove_file(path);
        } else {
            fs::write(path, actual).unwrap();
        }
        return;
    }
    failures.push(format!(
        "{}\n--- expected\n{expected}--- actual\n{actual}",
        path.display()
    ));
}

/// Packs every `fixtures/KIND/CASE` with `pack` (given the case directory) and compares.
fn run_pack_cases(kind: &str, pack: fn(&Path) -> Packed) {
    let cases = cases(kind);
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let packed = pack(case);
        let text = packed.to_yaml().unwrap_or_default();
        check_file(&case.join("expected.yml"), &text, &mut failures);
        let diagnostics = describe(&packed.sources, &packed.diagnostics);
        check_file(
            &case.join("expected.diagnostics"),
            &diagnostics,
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} {kind} fixtures differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `CASE/src` read with `read`, its files named `src/...` in diagnostics.
fn read_src(case: &Path, read: fn(&Path) -> SourceTree) -> SourceTree {
    let mut tree = read(&case.join("src"));
    tree.base = "src".into();
    tree
}

#[test]
fn orb_fixtures() {
    run_pack_cases("orb", |case| {
        pack_orb(&read_src(case, |dir| read_orb_dir(dir).unwrap()))
    });
}

/// `fixtures/orb-include-root/CASE/src` packed with `CASE` as the include root; files are named
/// relative to `CASE` in diagnostics.
#[test]
fn orb_include_root_fixtures() {
    run_pack_cases("orb-include-root", |case| {
        let (mut tree, options) = read_orb_dir_within(&case.join("src"), case).unwrap();
        tree.base = String::new();
        pack_orb_with(&tree, &options)
    });
}

#[test]
fn config_fixtures() {
    run_pack_cases("config", |case| {
        pack_config(&read_src(case, |dir| read_config_dir(dir).unwrap()))
    });
}

/// Every file under `dir`, relative, with `/` separators, sorted.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    if dir.is_dir() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[test]
fn unpack_fixtures() {
    let cases = cases("unpack");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let text = fs::read_to_string(case.join("orb.yml")).unwrap();
        let unpacked = unpack_orb("orb.yml", &text, &UnpackOptions::default());
        check_file(
            &case.join("expected.diagnostics"),
            &describe(&unpacked.sources, &unpacked.diagnostics),
            &mut failures,
        );
        let Some(tree) = unpacked.tree else {
            failures.push(format!("{}: does not unpack", case.display()));
            continue;
        };
        let expected_dir = case.join("expected");
        let mut actual: Vec<(String, String)> = tree
            .files
            .iter()
            .map(|f| (f.path.clone(), f.text.clone()))
            .collect();
        actual.sort();
        if updating() {
            let _ = fs::remove_dir_all(&expected_dir);
            write_tree(&expected_dir, &tree).unwrap();
        } else if files_under(&expected_dir) != actual {
            failures.push(format!(
                "{}: unpacked files differ from expected/:\n{actual:#?}",
                case.display()
            ));
        }
        // Packing the files on disk gives the orb back (unless unpack warned that it cannot).
        if unpacked
            .diagnostics
            .iter()
            .any(|d| d.code == codes::UNPACK_NOT_REVERSIBLE)
        {
            continue;
        }
        let orb = orrery_yaml::parse(
            orrery_diagnostics::FileId(0),
            &text,
            orrery_yaml::Limits::default(),
        )
        .root
        .unwrap();
        let repacked = pack_orb(&read_orb_dir(&expected_dir).unwrap());
        match &repacked.value {
            Some(value) if data_eq(value, &orb) => {}
            _ => failures.push(format!(
                "{}: expected/ does not pack back to orb.yml:\n{}",
                case.display(),
                describe(&repacked.sources, &repacked.diagnostics)
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} unpack fixtures fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn write_tree_refuses_paths_outside_the_directory() {
    let dir = std::env::temp_dir().join(format!("orrery-pack-write-{}", std::process::id()));
    let mut tree = SourceTree::new();
    tree.add("commands/greet.yml", "steps: []\n");
    write_tree(&dir, &tree).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("commands/greet.yml")).unwrap(),
        "steps: []\n"
    );
    for bad in ["../escape.yml", "/abs.yml", "a/../../b.yml"] {
        let mut tree = SourceTree::new();
        tree.add(bad, "x: 1\n");
        assert!(write_tree(&dir, &tree).is_err(), "{bad} was written");
    }
    let _ = fs::remove_dir_all(&dir);
}

fn paths(tree: &SourceTree) -> Vec<&str> {
    let mut paths: Vec<&str> = tree.files.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    paths
}

#[test]
fn read_orb_dir_takes_only_what_packing_needs() {
    let tree = read_orb_dir(&fixtures().join("orb/layout/src")).unwrap();
    assert_eq!(
        paths(&tree),
        [
            "@orb.yml",
            "commands/@shared.yml",
            "commands/greet.yml",
            "examples/usage.yaml",
            "executors/default.yml",
            "jobs/build.yml"
        ]
    );
    let tree = read_orb_dir(&fixtures().join("orb/include-escapes-template-text/src")).unwrap();
    assert_eq!(
        paths(&tree),
        [
            "@orb.yml",
            "commands/greet.yml",
            "scripts/greet.sh",
            "scripts/short.sh"
        ]
    );
    // `../secret.sh` exists beside src/ but is never read.
    let tree = read_orb_dir(&fixtures().join("orb/include-outside-root/src")).unwrap();
    assert_eq!(paths(&tree), ["@orb.yml", "commands/greet.yml"]);
    let tree = read_orb_dir(&fixtures().join("orb/dot-files-skipped/src")).unwrap();
    assert_eq!(paths(&tree), ["@orb.yml", "commands/greet.yml"]);
}

#[test]
fn read_dir_errors_name_the_path() {
    let missing = fixtures().join("no-such-directory");
    let error = read_config_dir(&missing).unwrap_err();
    assert!(error
        .to_string()
        .starts_with(&missing.display().to_string()));
}

#[cfg(unix)]
#[test]
fn symlinked_directories_are_not_followed() {
    let dir = std::env::temp_dir().join(format!("orrery-pack-loop-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("commands")).unwrap();
    fs::write(dir.join("@orb.yml"), "version: 2.1\n").unwrap();
    fs::write(dir.join("commands/greet.yml"), "steps: []\n").unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("commands/commands")).unwrap();
    // The loop is never entered, and the link is refused by name rather than dropped.
    let packed = pack_orb(&read_orb_dir(&dir).unwrap());
    assert!(packed.value.is_none());
    let messages: Vec<String> = packed
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert_eq!(
        messages,
        [format!(
            "{} `{}/commands/commands` is a symbolic link to a directory (`{}`), which is not followed",
            codes::INCLUDE_OUTSIDE_ROOT,
            dir.display(),
            dir.display()
        )]
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn include_root_must_hold_the_orb_directory() {
    let case = fixtures().join("orb-include-root/escape-into-root");
    // The orb directory itself: the same tree and options as reading it on its own.
    let (tree, options) = read_orb_dir_within(&case.join("src"), &case.join("src")).unwrap();
    assert_eq!(options, PackOptions::default());
    assert_eq!(tree, read_orb_dir(&case.join("src")).unwrap());
    // A directory beside or below the orb directory is no include root.
    for root in [
        fixtures().join("orb-include-root/still-bounded"),
        case.join("src/commands"),
    ] {
        let error = read_orb_dir_within(&case.join("src"), &root).unwrap_err();
        assert!(
            error.to_string().contains("must be the orb directory"),
            "{error}"
        );
    }
    // A grandparent: the orb directory is `NAME/src` inside it.
    let (tree, options) = read_orb_dir_within(&case.join("src"), &fixtures()).unwrap();
    assert_eq!(options.orb_dir, "orb-include-root/escape-into-root/src");
    assert!(tree
        .files
        .iter()
        .any(|f| f.path == "orb-include-root/escape-into-root/scripts/hello.sh"));
    assert!(pack_orb_with(&tree, &options).value.is_some());
}

#[cfg(unix)]
#[test]
fn include_root_symlinks_may_not_lead_out() {
    let dir = std::env::temp_dir().join(format!("orrery-pack-root-link-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("root/src/commands")).unwrap();
    fs::create_dir_all(dir.join("root/scripts")).unwrap();
    fs::write(dir.join("outside.sh"), "echo outside\n").unwrap();
    fs::write(dir.join("root/scripts/inside.sh"), "echo inside\n").unwrap();
    fs::write(dir.join("root/src/@orb.yml"), "version: 2.1\n").unwrap();
    fs::write(
        dir.join("root/src/commands/greet.yml"),
        "steps:\n  - run: <<include(../scripts/out.sh)>>\n  - run: <<include(../scripts/in.sh)>>\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.join("outside.sh"), dir.join("root/scripts/out.sh")).unwrap();
    std::os::unix::fs::symlink("inside.sh", dir.join("root/scripts/in.sh")).unwrap();
    let (tree, options) = read_orb_dir_within(&dir.join("root/src"), &dir.join("root")).unwrap();
    let packed = pack_orb_with(&tree, &options);
    let messages: Vec<String> = packed
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert_eq!(
        messages,
        [format!(
            "{} include path `../scripts/out.sh` is a symbolic link to `{}`, outside the include root",
            codes::INCLUDE_OUTSIDE_ROOT,
            dir.join("outside.sh").canonicalize().unwrap().display()
        )]
    );
    assert!(!tree.files.iter().any(|f| f.text.contains("outside")));
    let _ = fs::remove_dir_all(&dir);
}
