//! Crafted archives must never write outside their target: `..`, absolute names, a symlink
//! followed by a write through it, a hard link to a file outside.

use std::fs;
use std::path::Path;

use orrery_runtime::archive::{pack, unpack};

/// A tar entry whose name is written into the header bytes as is (the tar crate's own setters
/// refuse such names).
fn raw_entry(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

fn crafted(entries: &[(&str, tar::EntryType, Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link) in entries {
        let data: &[u8] = if kind.is_file() { b"pwned" } else { b"" };
        raw_entry(&mut b, name, *kind, *link, data);
    }
    b.into_inner().unwrap()
}

fn refused(tar: &[u8], outside: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let err = unpack(&mut &tar[..], &target).expect_err("must refuse");
    assert!(
        !outside.exists() || fs::read(outside).unwrap() != b"pwned",
        "wrote {}",
        outside.display()
    );
    err
}

#[test]
fn parent_directory_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tar = crafted(&[
        ("ok.txt", tar::EntryType::Regular, None),
        ("../escaped.txt", tar::EntryType::Regular, None),
    ]);
    let target = dir.path().join("t");
    let err = unpack(&mut &tar[..], &target).unwrap_err();
    assert!(err.contains("../escaped.txt"), "{err}");
    assert!(!dir.path().join("escaped.txt").exists());
}

#[test]
fn absolute_entries_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("abs.txt");
    let name = victim.to_str().unwrap().to_string();
    let err = refused(
        &crafted(&[(name.as_str(), tar::EntryType::Regular, None)]),
        &victim,
    );
    assert!(err.contains("leaves the target"), "{err}");
}

#[test]
fn writes_through_a_symlink_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let link_to = outside.path().to_str().unwrap().to_string();
    let tar = crafted(&[
        ("evil", tar::EntryType::Symlink, Some(link_to.as_str())),
        ("evil/passwd", tar::EntryType::Regular, None),
    ]);
    let err = refused(&tar, &outside.path().join("passwd"));
    assert!(err.contains("symbolic link"), "{err}");
}

#[test]
fn hard_links_out_of_the_target_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let tar = crafted(&[("h", tar::EntryType::Link, Some("../../etc/passwd"))]);
    let err = refused(&tar, &outside.path().join("none"));
    assert!(err.contains("link"), "{err}");
}

#[test]
fn a_packed_tree_round_trips_with_its_symlinks() {
    let src = tempfile::tempdir().unwrap();
    fs::create_dir_all(src.path().join("d/e")).unwrap();
    fs::write(src.path().join("d/e/f.txt"), "f").unwrap();
    std::os::unix::fs::symlink("e/f.txt", src.path().join("d/link")).unwrap();
    let mut tar = Vec::new();
    pack(src.path(), &[Path::new("d").to_path_buf()], &mut tar).unwrap();
    let dst = tempfile::tempdir().unwrap();
    unpack(&mut &tar[..], dst.path()).unwrap();
    assert_eq!(
        fs::read_to_string(dst.path().join("d/e/f.txt")).unwrap(),
        "f"
    );
    assert_eq!(
        fs::read_link(dst.path().join("d/link")).unwrap(),
        Path::new("e/f.txt")
    );
    // Unpacking the same tree again replaces, never follows, what is there.
    unpack(&mut &tar[..], dst.path()).unwrap();
}

/// `sanitize` (archives bound for a container) refuses what `unpack` refuses and passes the
/// rest with the container user's ownership.
#[test]
fn sanitize_refuses_what_unpack_refuses() {
    use orrery_runtime::archive::sanitize;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            crafted(&[("../escaped.txt", tar::EntryType::Regular, None)]),
            "leaves the target",
        ),
        (
            crafted(&[("/etc/abs.txt", tar::EntryType::Regular, None)]),
            "leaves the target",
        ),
        (
            crafted(&[
                ("evil", tar::EntryType::Symlink, Some("/etc")),
                ("evil/passwd", tar::EntryType::Regular, None),
            ]),
            "symbolic link",
        ),
        (
            crafted(&[
                ("d/evil", tar::EntryType::Symlink, Some("/etc")),
                ("d/evil/x/y", tar::EntryType::Regular, None),
            ]),
            "symbolic link",
        ),
        (
            crafted(&[("h", tar::EntryType::Link, Some("../../etc/passwd"))]),
            "link",
        ),
        (
            crafted(&[
                ("evil", tar::EntryType::Symlink, Some("/etc")),
                ("h", tar::EntryType::Link, Some("evil")),
            ]),
            "symbolic link",
        ),
    ];
    for (tar, why) in cases {
        let mut out = Vec::new();
        let err = sanitize(&mut &tar[..], &mut out, None).expect_err("must refuse");
        assert!(err.contains(why), "{err}");
        // Nothing past the refused entry reaches the output.
        let passed: Vec<String> = tar::Archive::new(&out[..])
            .entries()
            .map(|es| {
                es.filter_map(|e| e.ok())
                    .map(|e| e.path().unwrap().display().to_string())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            passed
                .iter()
                .all(|p| !p.contains("passwd") && !p.contains("..")),
            "{passed:?}"
        );
    }

    let src = tempfile::tempdir().unwrap();
    fs::create_dir_all(src.path().join("d/e")).unwrap();
    fs::write(src.path().join("d/e/f.txt"), "f").unwrap();
    std::os::unix::fs::symlink("e/f.txt", src.path().join("d/link")).unwrap();
    let mut tar = Vec::new();
    pack(src.path(), &[Path::new("d").to_path_buf()], &mut tar).unwrap();
    let mut out = Vec::new();
    let written = sanitize(&mut &tar[..], &mut out, Some((3434, 3434))).unwrap();
    assert_eq!(written.len(), 4, "{written:?}");
    let mut archive = tar::Archive::new(&out[..]);
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        assert_eq!(e.header().uid().unwrap(), 3434);
        assert_eq!(e.header().gid().unwrap(), 3434);
    }
    let dst = tempfile::tempdir().unwrap();
    unpack(&mut &out[..], dst.path()).unwrap();
    assert_eq!(
        fs::read_to_string(dst.path().join("d/e/f.txt")).unwrap(),
        "f"
    );
    assert_eq!(
        fs::read_link(dst.path().join("d/link")).unwrap(),
        Path::new("e/f.txt")
    );
}
