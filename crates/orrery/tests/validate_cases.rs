//! `orrery config validate|fix` end to end, data-driven: each directory under
//! `tests/validate/` holds a config (and maybe a `.orrery.toml`) and a `cases` file of
//! `name | arguments | exit code` lines (and maybe `*.values.yml` files of pipeline values the
//! arguments name). Each case runs in a fresh copy of its directory and
//! must print `NAME.stdout` and `NAME.stderr` exactly; when `NAME.config.yml` exists, the
//! config must read like it afterwards. `ORRERY_BLESS=1` rewrites the expected files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate")
}

struct Case {
    name: String,
    args: Vec<String>,
    exit: i32,
}

fn read_cases(dir: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(dir.join("cases")).expect("read cases");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            assert_eq!(parts.len(), 3, "bad case line in {}: {line}", dir.display());
            Case {
                name: parts[0].to_string(),
                args: parts[1].split_whitespace().map(String::from).collect(),
                exit: parts[2].parse().expect("exit code"),
            }
        })
        .collect()
}

/// A copy of the case directory with its own `.git`, so the settings search stops there.
fn workspace(dir: &Path) -> tempfile::TempDir {
    let temp = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(dir).expect("read case dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name == "config.yml" || name == ".orrery.toml" || name.ends_with(".values.yml") {
            std::fs::copy(&path, temp.path().join(&name)).expect("copy");
        }
    }
    std::fs::create_dir(temp.path().join(".git")).expect("mkdir .git");
    temp
}

fn check(expected: &Path, actual: &str, bless: bool, failures: &mut Vec<String>) {
    if bless {
        std::fs::write(expected, actual).expect("bless");
        return;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_default();
    if want != actual {
        failures.push(format!(
            "{}:\n--- expected\n{want}\n--- actual\n{actual}",
            expected.display()
        ));
    }
}

fn check_bytes(expected: &Path, actual: &[u8], bless: bool, failures: &mut Vec<String>) {
    if bless {
        std::fs::write(expected, actual).expect("bless");
        return;
    }
    let want = std::fs::read(expected).unwrap_or_default();
    if want != actual {
        failures.push(format!(
            "{}:\n--- expected\n{}\n--- actual\n{}",
            expected.display(),
            String::from_utf8_lossy(&want),
            String::from_utf8_lossy(actual)
        ));
    }
}

#[test]
fn validate_and_fix_cases() {
    let bless = std::env::var_os("ORRERY_BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("read tests/validate")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        for case in read_cases(&dir) {
            count += 1;
            let temp = workspace(&dir);
            let output = Command::new(env!("CARGO_BIN_EXE_orrery"))
                .args(&case.args)
                .current_dir(temp.path())
                .env("ORRERY_CACHE_DIR", temp.path().join("no-cache"))
                .env_remove("ORRERY_ORB_PATH")
                .env_remove("NO_COLOR")
                .output()
                .expect("run orrery");
            let label = format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                case.name
            );
            if output.status.code() != Some(case.exit) {
                failures.push(format!(
                    "{label}: exit {:?}, expected {}\n{}",
                    output.status.code(),
                    case.exit,
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            check(
                &dir.join(format!("{}.stdout", case.name)),
                &stdout,
                bless,
                &mut failures,
            );
            check(
                &dir.join(format!("{}.stderr", case.name)),
                &stderr,
                bless,
                &mut failures,
            );
            let after = dir.join(format!("{}.config.yml", case.name));
            if after.exists() {
                // Bytes, not text: a config that is not UTF-8 must be left byte for byte.
                let bytes = std::fs::read(temp.path().join("config.yml")).expect("read");
                check_bytes(&after, &bytes, bless, &mut failures);
            }
        }
    }
    assert!(count >= 10, "only {count} cases found");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
