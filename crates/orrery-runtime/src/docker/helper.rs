//! The helper bundle: this binary, its shared libraries and its loader in a host directory that
//! every job container mounts read-only, so that `circleci`/`circleci-agent`, the step wrapper
//! and the keep-alive run in any image (busybox, Alpine or Debian alike), without a copy per
//! container. The loader is called explicitly, so the image's own libc never matters.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the bundle directory is mounted in containers.
pub const MOUNT: &str = "/.orrery";
/// Where the binary itself is mounted.
pub const EXE: &str = "/.orrery-exe";

pub struct Helper {
    /// The host directory mounted at [`MOUNT`].
    pub dir: PathBuf,
    /// The host binary mounted at [`EXE`].
    pub exe: PathBuf,
    /// The loader's file name in `lib/`, or `None` for a static binary.
    loader: Option<String>,
}

impl Helper {
    /// Builds the bundle in `dir` for the running binary; `timings` (recorded test timings) is
    /// copied in when it exists.
    pub fn prepare(dir: &Path, timings: &Path) -> Result<Helper, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let err = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
        let (lib, names, bin) = (dir.join("lib"), dir.join("names"), dir.join("bin"));
        for d in [&lib, &names, &bin] {
            fs::create_dir_all(d).map_err(|e| err(d, e))?;
        }
        let libraries = shared_libraries(&exe)?;
        let mut loader = None;
        for (name, path) in &libraries.libs {
            fs::copy(path, lib.join(name)).map_err(|e| err(path, e))?;
        }
        if let Some(path) = &libraries.loader {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or("the loader has no file name")?;
            fs::copy(path, lib.join(&name)).map_err(|e| err(path, e))?;
            loader = Some(name);
        }
        let helper = Helper {
            dir: dir.to_path_buf(),
            exe,
            loader,
        };
        // Each name is a link to the binary, so that it sees the name as its program name.
        for name in [
            "circleci",
            "circleci-agent",
            super::inside::STEP,
            super::inside::KILL,
            super::inside::SLEEP,
        ] {
            let link = names.join(name);
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(EXE, &link).map_err(|e| err(&link, e))?;
        }
        for name in ["circleci", "circleci-agent"] {
            let path = bin.join(name);
            let _ = fs::remove_file(&path);
            match &helper.loader {
                None => std::os::unix::fs::symlink(format!("{MOUNT}/names/{name}"), &path)
                    .map_err(|e| err(&path, e))?,
                Some(_) => {
                    let script = format!(
                        "#!/bin/sh\nexec {} \"$@\"\n",
                        helper.command(name, &[]).join(" ")
                    );
                    fs::write(&path, script).map_err(|e| err(&path, e))?;
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                        .map_err(|e| err(&path, e))?;
                }
            }
        }
        if timings.is_file() {
            let _ = fs::copy(timings, dir.join("timings.json"));
        }
        Ok(helper)
    }

    /// The command line that runs the helper `name` inside a container.
    pub fn command(&self, name: &str, args: &[String]) -> Vec<String> {
        let mut argv = Vec::new();
        if let Some(loader) = &self.loader {
            argv.push(format!("{MOUNT}/lib/{loader}"));
            argv.push("--library-path".into());
            argv.push(format!("{MOUNT}/lib"));
        }
        argv.push(format!("{MOUNT}/names/{name}"));
        argv.extend(args.iter().cloned());
        argv
    }

    /// The command line that runs this binary itself (as `orrery`) inside a container.
    pub fn exe_command(&self, args: &[String]) -> Vec<String> {
        let mut argv = Vec::new();
        if let Some(loader) = &self.loader {
            argv.push(format!("{MOUNT}/lib/{loader}"));
            argv.push("--library-path".into());
            argv.push(format!("{MOUNT}/lib"));
        }
        argv.push(EXE.into());
        argv.extend(args.iter().cloned());
        argv
    }

    /// The bind mounts every job container gets.
    pub fn binds(&self) -> Vec<String> {
        vec![
            format!("{}:{MOUNT}:ro", self.dir.display()),
            format!("{}:{EXE}:ro", self.exe.display()),
        ]
    }

    /// `PATH` entry and timings file as seen inside containers.
    pub fn inside_paths(&self) -> (PathBuf, PathBuf) {
        (
            PathBuf::from(format!("{MOUNT}/bin")),
            PathBuf::from(format!("{MOUNT}/timings.json")),
        )
    }
}

#[derive(Debug, Default, PartialEq)]
struct Libraries {
    /// Library name → host path.
    libs: Vec<(String, PathBuf)>,
    loader: Option<PathBuf>,
}

fn shared_libraries(exe: &Path) -> Result<Libraries, String> {
    let out = Command::new("ldd")
        .arg(exe)
        .output()
        .map_err(|e| format!("cannot run ldd to find this binary's libraries: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_ldd(&text)
}

/// Reads `ldd` output: `name => /path (addr)` lines are libraries, a bare `/path (addr)` line
/// is the loader; "not a dynamic executable" means a static binary.
fn parse_ldd(text: &str) -> Result<Libraries, String> {
    let mut found = Libraries::default();
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(found);
    }
    for line in text.lines().map(str::trim) {
        if let Some((name, rest)) = line.split_once("=>") {
            let path = rest.trim().split(" (").next().unwrap_or_default().trim();
            if path == "not found" {
                return Err(format!("ldd: library {} not found", name.trim()));
            }
            if path.starts_with('/') {
                found
                    .libs
                    .push((name.trim().to_string(), PathBuf::from(path)));
            }
        } else if line.starts_with('/') {
            let path = line.split(" (").next().unwrap_or_default().trim();
            found.loader = Some(PathBuf::from(path));
        }
    }
    if found.loader.is_none() {
        return Err(format!("cannot tell this binary's loader from ldd: {text}"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        let l = parse_ldd(text).unwrap();
        assert_eq!(l.libs.len(), 2);
        assert_eq!(l.libs[1].0, "libc.so.6");
        assert_eq!(l.loader, Some(PathBuf::from("/lib64/ld-linux-x86-64.so.2")));
        assert_eq!(
            parse_ldd("\tnot a dynamic executable\n").unwrap(),
            Libraries::default()
        );
        assert!(parse_ldd("\tlibfoo.so => not found\n\t/lib64/ld.so (0x1)\n").is_err());
    }
}
