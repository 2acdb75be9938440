//! Bytes → a generated orb source tree on disk (directories, YAML files, include directives and
//! symbolic links: into the tree, to directories, in loops, dangling and out of it), read with
//! `orrery_pack::fs::read_orb_dir` and packed. Besides not crashing, nothing outside the orb
//! root may reach the tree, the packed orb or a diagnostic: every file outside holds a canary.
#![no_main]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use orrery_pack::fs::read_orb_dir;
use orrery_pack::pack_orb;

const CANARY: &str = "CANARY-OUTSIDE-THE-ORB";

/// Names the generator gives entries: the packer's directories and root file, YAML and other
/// files, hidden ones.
const NAMES: [&str; 14] = [
    "@orb.yml", "commands", "jobs", "executors", "examples", "a.yml", "b.yaml", "@c.yml",
    "orb.yml", "s.sh", "d", ".hidden.yml", "x.yml", "jobs.yml",
];

/// Where a generated link points (relative ones from wherever the link is).
fn link_target(n: u8, outside: &Path, root: &Path) -> PathBuf {
    match n % 11 {
        0 => outside.join("outside.yml"),
        1 => outside.join("dir"),
        2 => PathBuf::from(".."),
        3 => PathBuf::from("."),
        4 => PathBuf::from("../.."),
        5 => root.join("@orb.yml"),
        6 => PathBuf::from("a.yml"),
        7 => PathBuf::from("missing.yml"),
        8 => PathBuf::from("../../outside/outside.yml"),
        9 => root.to_path_buf(),
        _ => PathBuf::from("/dev/null"),
    }
}

fuzz_target!(|data: &[u8]| {
    // In memory where there is a tmpfs: thousands of small trees a minute.
    let tmp = Some(std::path::PathBuf::from("/dev/shm"))
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let work = tmp.join(format!("orrery-fuzz-pack-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    let outside = work.join("outside");
    let root = work.join("root");
    fs::create_dir_all(outside.join("dir")).unwrap();
    fs::create_dir_all(&root).unwrap();
    fs::write(outside.join("outside.yml"), format!("{CANARY}: 1\n")).unwrap();
    fs::write(outside.join("dir/x.yml"), format!("{CANARY}: 2\n")).unwrap();
    fs::write(work.join("s.sh"), format!("echo {CANARY}\n")).unwrap();

    let mut dirs = vec![root.clone()];
    let mut rest = data;
    while let [op, parent, name, tail @ ..] = rest {
        let dir = dirs[*parent as usize % dirs.len()].clone();
        let path = dir.join(NAMES[*name as usize % NAMES.len()]);
        let (text, next) = match tail.iter().position(|&b| b == 0) {
            Some(i) => (&tail[..i], &tail[i + 1..]),
            None => (tail, &[][..]),
        };
        rest = next;
        match op % 3 {
            0 => {
                if fs::create_dir(&path).is_ok() {
                    dirs.push(path);
                }
            }
            1 => {
                // Files inside may say anything but the canary, which marks the outside.
                let text = String::from_utf8_lossy(text).replace("CANARY", "canary");
                let _ = fs::write(&path, text.as_bytes());
            }
            _ => {
                let target = link_target(text.first().copied().unwrap_or(0), &outside, &root);
                let _ = symlink(target, &path);
            }
        }
    }

    if let Ok(tree) = read_orb_dir(&root) {
        for file in &tree.files {
            assert!(!file.text.contains(CANARY), "read from outside: {}", file.path);
        }
        let packed = pack_orb(&tree);
        if let Some(yaml) = packed.to_yaml() {
            assert!(!yaml.contains(CANARY));
        }
        for d in &packed.diagnostics {
            assert!(!d.message.contains(CANARY), "{}", d.message);
        }
    }
    let _ = fs::remove_dir_all(&work);
});
