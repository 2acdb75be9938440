//! `orrery orb pack|unpack|validate` and `orrery config pack` through the real binary.
//!
//! Every orb version of the shared corpus (`orbs/NAMESPACE/NAME/VERSION`) is packed as
//! `orrery orb pack VERSION/src` (`VERSION` when there is no `src/`), unpacked with `orrery orb
//! unpack` and packed again: the two packed orbs hold the same data. 138 of the 140 pack as
//! stored; the two that do not are pinned in [`KNOWN_PACK_ERRORS`] and round-trip from a copy
//! with their missing scripts stood in for.

mod common;

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Output;

use common::{orrery, same_data, text, yaml};
use orrery_diagnostics::has_errors;
use orrery_testkit::corpus::{label, orb_versions, source_dir};
use orrery_yaml::{Limits, Node};

/// A corpus orb that does not pack as stored, and the error code `orb pack` gives for it.
struct KnownError {
    version: &'static str,
    code: &'static str,
    /// The include root the orb needs (relative to `VERSION`), when its includes leave `src/`.
    include_root: Option<&'static str>,
}

const KNOWN_PACK_ERRORS: [KnownError; 2] = [
    // Data defect: the corpus copy has no src/scripts/.
    KnownError {
        version: "codecov/codecov/4.2.0",
        code: "E0706",
        include_root: None,
    },
    // Includes `../scripts/*.bash` from outside src/ (and the corpus has no HEAD/scripts/).
    KnownError {
        version: "eddiewebb/queue/HEAD",
        code: "E0707",
        include_root: Some(""),
    },
];

fn run(args: &[&Path]) -> Output {
    let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
    orrery(&args)
}

fn arg(text: &str) -> &Path {
    Path::new(text)
}

/// Parses packed output, failing on any YAML error; the orb must be a map with `version`.
fn parse_orb(what: &str, text: &str) -> Node {
    let parsed = orrery_yaml::parse(orrery_diagnostics::FileId(0), text, Limits::default());
    assert!(
        !has_errors(&parsed.diagnostics),
        "{what}: the output does not parse: {:?}",
        parsed.diagnostics
    );
    let orb = parsed
        .root
        .unwrap_or_else(|| panic!("{what}: empty output"));
    assert!(
        orb.as_map().is_some_and(|m| m.contains_key("version")),
        "{what}: not an orb"
    );
    orb
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stderr\n{}",
        output.status.code(),
        text(&output.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().filter_map(Result::ok) {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::write(&target, fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

/// `path` with `.` and `..` resolved lexically.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Writes a placeholder for every file the YAML files under `src` include that is missing.
fn stand_in_for_included_files(src: &Path) {
    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                yaml_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    yaml_files(src, &mut files);
    for file in files {
        let content = fs::read_to_string(&file).unwrap();
        for included in orrery_pack::included_paths(&content) {
            let target = lexical(&src.join(included));
            if !target.exists() {
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                fs::write(&target, "# placeholder\n").unwrap();
            }
        }
    }
}

/// Packs `dir` (with `extra` arguments), then unpacks the orb into a new directory and packs
/// that: both packs must succeed and hold the same data. Returns the first packed orb.
fn pack_unpack_pack(what: &str, dir: &Path, extra: &[&Path], work: &Path) -> Node {
    let mut args = vec![arg("orb"), arg("pack"), dir];
    args.extend_from_slice(extra);
    let first = run(&args);
    assert_eq!(first.status.code(), Some(0), "{what}: {}", describe(&first));
    let first_text = text(&first.stdout);
    let orb = parse_orb(what, &first_text);
    let orb_file = work.join("orb.yml");
    let unpacked = work.join("unpacked");
    fs::write(&orb_file, &first_text).unwrap();
    let unpack = run(&[arg("orb"), arg("unpack"), &orb_file, &unpacked]);
    assert_eq!(
        unpack.status.code(),
        Some(0),
        "{what}: unpack: {}",
        describe(&unpack)
    );
    let second = run(&[arg("orb"), arg("pack"), &unpacked]);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{what}: pack of the unpacked tree: {}",
        describe(&second)
    );
    let again = parse_orb(what, &text(&second.stdout));
    assert!(
        same_data(&orb, &again),
        "{what}: pack → unpack → pack gives another orb"
    );
    orb
}

#[test]
fn every_corpus_orb_packs_unpacks_and_packs_again() {
    let Some(versions) = orb_versions() else {
        return;
    };
    assert_eq!(versions.len(), 140, "the corpus has 140 orb versions");
    let (mut packed, mut single_file, mut refused) = (0, 0, 0);
    for (i, version) in versions.iter().enumerate() {
        let what = label(version);
        let work = tempfile::tempdir().unwrap();
        let dir = source_dir(version);
        let Some(known) = KNOWN_PACK_ERRORS.iter().find(|k| k.version == what) else {
            let orb = pack_unpack_pack(&what, &dir, &[], work.path());
            packed += 1;
            // The versions kept as one `orb.yml` pack to that file's data, with W0710.
            if !dir.join("@orb.yml").exists() {
                let file = dir.join("orb.yml");
                let original = yaml(&fs::read_to_string(&file).unwrap());
                assert!(same_data(&orb, &original), "{what}: differs from orb.yml");
                let output = run(&[arg("orb"), arg("pack"), &dir]);
                assert!(text(&output.stderr).contains("warning[W0710]"), "{what}");
                single_file += 1;
            }
            continue;
        };
        // As stored it is refused: exit 1, the code on stderr, nothing on stdout.
        let output = run(&[arg("orb"), arg("pack"), &dir]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{what}: {}",
            describe(&output)
        );
        assert!(output.stdout.is_empty(), "{what}: partial output");
        assert!(
            text(&output.stderr).contains(&format!("error[{}]", known.code)),
            "{what}: {}",
            describe(&output)
        );
        refused += 1;
        // A copy with the missing included files packs, with the include root it needs.
        let copy = work.path().join(format!("copy{i}")).join(&what);
        copy_dir(version, &copy);
        stand_in_for_included_files(&source_dir(&copy));
        match known.include_root {
            None => {
                pack_unpack_pack(&what, &source_dir(&copy), &[], work.path());
            }
            Some(relative_root) => {
                let root = copy.join(relative_root);
                // The default still refuses the includes that leave src/, files or not.
                let output = run(&[arg("orb"), arg("pack"), &source_dir(&copy)]);
                assert_eq!(
                    output.status.code(),
                    Some(1),
                    "{what}: {}",
                    describe(&output)
                );
                assert!(text(&output.stderr).contains("error[E0707]"), "{what}");
                let with_root = [arg("--include-root"), &root];
                pack_unpack_pack(&what, &source_dir(&copy), &with_root, work.path());
                // In place, the include root lets the includes resolve; the corpus lacks the
                // files they name.
                let in_place = run(&[
                    arg("orb"),
                    arg("pack"),
                    &dir,
                    arg("--include-root"),
                    &version.join(relative_root),
                ]);
                assert_eq!(in_place.status.code(), Some(1), "{what}");
                let stderr = text(&in_place.stderr);
                assert!(
                    stderr.contains("error[E0706]") && !stderr.contains("E0707"),
                    "{what}: {stderr}"
                );
            }
        }
    }
    assert_eq!((packed, single_file, refused), (138, 5, 2));
    eprintln!(
        "{packed} of {} corpus orb versions pack and round-trip through the CLI ({single_file} \
         single-file orbs); {refused} refused as stored, both round-trip once their missing \
         scripts are stood in for (eddiewebb/queue/HEAD with --include-root)",
        versions.len()
    );
}

#[test]
fn a_missing_directory_is_a_usage_error() {
    let missing = std::env::temp_dir().join("orrery-pack-no-such-directory");
    let output = run(&[arg("orb"), arg("pack"), &missing]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot read the orb source"), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    let output = run(&[arg("config"), arg("pack"), &missing]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(text(&output.stderr).contains("cannot read the config source"));
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

#[test]
fn conflicting_files_name_both_and_print_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write(
        &src,
        &[
            ("@orb.yml", "version: 2.1\n"),
            ("commands/@a.yml", "hello:\n  steps:\n    - run: echo a\n"),
            ("commands/@b.yml", "hello:\n  steps:\n    - run: echo b\n"),
        ],
    );
    let output = run(&[arg("orb"), arg("pack"), &src]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(output.stdout.is_empty(), "partial output on stdout");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error[E0703]"), "{stderr}");
    for file in ["commands/@a.yml", "commands/@b.yml"] {
        assert!(
            stderr.contains(&src.join(file).display().to_string()),
            "{file} not named:\n{stderr}"
        );
    }
    // `config pack` refuses the same conflict.
    let output = run(&[arg("config"), arg("pack"), &src]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).contains("error[E0703]"));
}

#[test]
fn no_orb_root_is_refused_unless_one_file_is_the_whole_orb() {
    let dir = tempfile::tempdir().unwrap();
    // Only `version`: not taken for an orb.
    write(dir.path(), &[("orb.yml", "version: 2.1\n")]);
    let output = run(&[arg("orb"), arg("pack"), dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).contains("error[E0701]"));
    // A whole orb in `orb.yml`: packed, with the warning and its fix.
    let orb = "version: 2.1\ncommands:\n  greet:\n    steps:\n      - run: echo hi\n";
    write(dir.path(), &[("orb.yml", orb)]);
    let output = run(&[arg("orb"), arg("pack"), dir.path()]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(same_data(&yaml(&text(&output.stdout)), &yaml(orb)));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("warning[W0710]"), "{stderr}");
    assert!(stderr.contains("circleci orb pack"), "{stderr}");
    assert!(stderr.contains("@orb.yml"), "{stderr}");
    assert!(stderr.contains("orrery orb unpack"), "{stderr}");
    // Two root files: which one is the orb is not guessed.
    write(dir.path(), &[("other.yml", orb)]);
    let output = run(&[arg("orb"), arg("pack"), dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(text(&output.stderr).contains("error[E0701]"));
}

/// `ROOT/src` including `../scripts/greet.sh`, and `ROOT/scripts/greet.sh`.
fn orb_with_scripts_beside_src(root: &Path) {
    write(
        root,
        &[
            (
                "src/@orb.yml",
                "version: 2.1\ndescription: scripts beside src\n",
            ),
            (
                "src/commands/greet.yml",
                "steps:\n  - run:\n      command: <<include(../scripts/greet.sh)>>\n",
            ),
            ("scripts/greet.sh", "cat <<EOF\nhi\nEOF\n"),
        ],
    );
}

#[test]
fn include_root_lets_includes_leave_the_orb_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("orb");
    orb_with_scripts_beside_src(&root);
    let src = root.join("src");
    // Refused by default.
    let output = run(&[arg("orb"), arg("pack"), &src]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error[E0707]"), "{stderr}");
    assert!(stderr.contains("--include-root"), "{stderr}");
    // Allowed under the include root.
    let output = run(&[arg("orb"), arg("pack"), &src, arg("--include-root"), &root]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let orb = parse_orb("include root", &text(&output.stdout));
    let expected = yaml(
        "version: 2.1\ndescription: scripts beside src\ncommands:\n  greet:\n    steps:\n    \
         - run:\n        command: \"cat \\\\<<EOF\\nhi\\nEOF\\n\"\n",
    );
    assert!(same_data(&orb, &expected), "{}", text(&output.stdout));
    // Still never outside it: `../../x` from src/ is above the root.
    write(
        &root,
        &[(
            "src/jobs/build.yml",
            "docker:\n  - image: cimg/base:stable\nsteps:\n  - run:\n      command: \
             <<include(../../secret.sh)>>\n",
        )],
    );
    write(dir.path(), &[("secret.sh", "echo secret\n")]);
    let output = run(&[arg("orb"), arg("pack"), &src, arg("--include-root"), &root]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("outside the include root"), "{stderr}");
    assert!(!stderr.contains("echo secret"));
    fs::remove_file(root.join("src/jobs/build.yml")).unwrap();
    // The root must hold the orb directory.
    let output = run(&[
        arg("orb"),
        arg("pack"),
        &src,
        arg("--include-root"),
        &src.join("commands"),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(text(&output.stderr).contains("include root must be"));
    // `config pack` has no includes, so it has no such flag.
    let output = run(&[
        arg("config"),
        arg("pack"),
        &src,
        arg("--include-root"),
        &root,
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("unexpected argument '--include-root'"),
        "{}",
        describe(&output)
    );
}

#[test]
fn validate_takes_the_include_root_too() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("orb");
    orb_with_scripts_beside_src(&root);
    let src = root.join("src");
    let output = run(&[arg("orb"), arg("validate"), &src]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(text(&output.stderr).contains("error[E0707]"));
    let output = run(&[
        arg("orb"),
        arg("validate"),
        &src,
        arg("--include-root"),
        &root,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(text(&output.stdout).contains("is valid"));
    // A packed file has no includes to resolve.
    let packed = dir.path().join("orb.yml");
    fs::write(&packed, "version: 2.1\n").unwrap();
    let output = run(&[
        arg("orb"),
        arg("validate"),
        &packed,
        arg("--include-root"),
        &root,
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

/// An element file linked out of the orb root is refused unread (E0707, naming the link); a
/// linked directory the walk would enter is refused, not dropped; with `--include-root` a link inside that root is
/// read, one outside it still is not.
#[test]
fn symlinks_out_of_the_tree_and_linked_directories_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let outside = work.path().join("outside.yml");
    fs::write(&outside, "SECRET-OUTSIDE-LINE: not for the orb\n").unwrap();
    let src = work.path().join("orb/src");
    write(
        &src,
        &[
            ("@orb.yml", "version: 2.1\n"),
            ("commands/greet.yml", "steps: [{run: echo hi}]\n"),
        ],
    );
    std::os::unix::fs::symlink(&outside, src.join("commands/x.yml")).unwrap();
    let out = run(&[arg("orb"), arg("pack"), &src]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(text(&out.stdout), "", "partial output");
    assert!(stderr.contains("E0707"), "{stderr}");
    assert!(
        stderr.contains("commands/x.yml"),
        "names the link: {stderr}"
    );
    assert!(!stderr.contains("SECRET-OUTSIDE"), "read outside: {stderr}");

    // The same link is fine once its target is inside the include root.
    let out = run(&[
        arg("orb"),
        arg("pack"),
        &src,
        arg("--include-root"),
        work.path(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("SECRET-OUTSIDE-LINE"));

    // A linked directory, even one inside the tree.
    fs::remove_file(src.join("commands/x.yml")).unwrap();
    fs::create_dir_all(src.join("shared")).unwrap();
    fs::write(src.join("shared/bye.yml"), "steps: [{run: echo bye}]\n").unwrap();
    std::os::unix::fs::symlink("shared", src.join("jobs")).unwrap();
    let out = run(&[arg("orb"), arg("pack"), &src]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("E0707"), "{stderr}");
    assert!(
        stderr.contains("src/jobs` is a symbolic link to a directory (`shared`)"),
        "{stderr}"
    );

    // An include through a link out of the orb directory names the include and the target.
    fs::remove_file(src.join("jobs")).unwrap();
    fs::write(
        src.join("commands/greet.yml"),
        "steps: [{run: <<include(s.sh)>>}]\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, src.join("s.sh")).unwrap();
    let out = run(&[arg("orb"), arg("pack"), &src]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("include path `s.sh` is a symbolic link to"),
        "{stderr}"
    );
    assert!(!stderr.contains("SECRET-OUTSIDE"), "{stderr}");
}
