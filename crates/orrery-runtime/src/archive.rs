//! Tar archives for checkout, caches, workspaces, artifacts and test results. Unpacking refuses
//! every entry that would land outside its target: absolute paths, `..`, and writes through a
//! symlink (an archive that first makes `a -> /etc` and then writes `a/passwd`).

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Archives `paths` (relative to `base`, files or directories, symlinks kept as symlinks) into
/// a tar stream written to `out`. Returns how many entries were written.
pub fn pack(base: &Path, paths: &[PathBuf], out: &mut dyn Write) -> io::Result<usize> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut count = 0;
    for rel in paths {
        let full = base.join(rel);
        let meta = fs::symlink_metadata(&full)?;
        if meta.is_dir() {
            count += pack_dir(&mut builder, &full, rel)?;
        } else {
            builder.append_path_with_name(&full, rel)?;
            count += 1;
        }
    }
    builder.finish()?;
    Ok(count)
}

fn pack_dir<W: Write>(builder: &mut tar::Builder<W>, full: &Path, rel: &Path) -> io::Result<usize> {
    let mut count = 1;
    builder.append_dir(rel, full)?;
    let mut entries: Vec<_> = fs::read_dir(full)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let (f, r) = (e.path(), rel.join(e.file_name()));
        if e.file_type()?.is_dir() {
            count += pack_dir(builder, &f, &r)?;
        } else {
            builder.append_path_with_name(&f, &r)?;
            count += 1;
        }
    }
    Ok(count)
}

/// [`pack`] through gzip.
pub fn pack_gz(base: &Path, paths: &[PathBuf], out: &mut dyn Write) -> io::Result<usize> {
    let mut gz = GzEncoder::new(out, Compression::fast());
    let n = pack(base, paths, &mut gz)?;
    gz.finish()?;
    Ok(n)
}

/// The relative path an entry names, or `None` when it would leave the target.
pub fn contained(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Refuses a destination when any directory between `target` and it is a symlink.
fn through_symlink(target: &Path, rel: &Path) -> bool {
    let mut at = target.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for c in parts.iter().take(parts.len().saturating_sub(1)) {
        at.push(c);
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
    }
    false
}

/// An entry's name as written and where it lands below the target; `None` for the target
/// itself. A name that leaves the target is an error.
fn landing<R: Read>(entry: &tar::Entry<'_, R>) -> Result<Option<(PathBuf, PathBuf)>, String> {
    let raw = entry
        .path()
        .map_err(|e| format!("unreadable entry name: {e}"))?
        .into_owned();
    let rel = contained(&raw).ok_or_else(|| refusal(&raw, "it leaves the target directory"))?;
    Ok((!rel.as_os_str().is_empty()).then_some((raw, rel)))
}

/// An archive entry, its name as written and its place below the target.
type Landed<'a, R> = (tar::Entry<'a, R>, PathBuf, PathBuf);

/// The entries of `archive` that land below the target, each with its name as written and its
/// place below the target (an entry naming the target itself is passed over); an unreadable
/// entry, or one whose name leaves the target, is an error.
fn landed<'a, R: Read + 'a>(
    archive: &'a mut tar::Archive<R>,
) -> Result<impl Iterator<Item = Result<Landed<'a, R>, String>> + 'a, String> {
    let entries = archive
        .entries()
        .map_err(|e| format!("unreadable archive: {e}"))?;
    Ok(entries.filter_map(|entry| {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => return Some(Err(format!("unreadable archive entry: {e}"))),
        };
        match landing(&entry) {
            Ok(Some((raw, rel))) => Some(Ok((entry, raw, rel))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }))
}

/// Where a link entry (`raw`) points, as written in the archive.
fn link_target<R: Read>(entry: &tar::Entry<'_, R>, raw: &Path) -> Result<PathBuf, String> {
    let kind = match entry.header().entry_type().is_symlink() {
        true => "symbolic link",
        false => "hard link",
    };
    entry
        .link_name()
        .ok()
        .flatten()
        .map(|link| link.into_owned())
        .ok_or_else(|| refusal(raw, &format!("{kind} without a target")))
}

fn refusal(raw: &Path, why: &str) -> String {
    format!("refusing archive entry `{}`: {why}", raw.display())
}

/// Unpacks a tar stream under `target` (created if missing). Returns the relative paths written.
/// An entry that would escape `target` stops the unpacking with an error naming it.
pub fn unpack(reader: &mut dyn Read, target: &Path) -> Result<Vec<PathBuf>, String> {
    fs::create_dir_all(target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let mut archive = tar::Archive::new(reader);
    let mut written = Vec::new();
    for landed in landed(&mut archive)? {
        let (mut entry, raw, rel) = landed?;
        let refuse = |why: &str| refusal(&raw, why);
        if through_symlink(target, &rel) {
            return Err(refuse("it would be written through a symbolic link"));
        }
        let dest = target.join(&rel);
        let kind = entry.header().entry_type();
        let io_err = |e: io::Error| format!("cannot write {}: {e}", dest.display());
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_err)?;
        }
        let existing = fs::symlink_metadata(&dest).ok();
        if kind.is_dir() {
            if existing.as_ref().is_some_and(|m| !m.is_dir()) {
                fs::remove_file(&dest).map_err(io_err)?;
            }
            fs::create_dir_all(&dest).map_err(io_err)?;
        } else {
            if let Some(m) = &existing {
                if m.is_dir() {
                    fs::remove_dir_all(&dest).map_err(io_err)?;
                } else {
                    fs::remove_file(&dest).map_err(io_err)?;
                }
            }
            if kind.is_symlink() {
                let link = link_target(&entry, &raw)?;
                std::os::unix::fs::symlink(&link, &dest).map_err(io_err)?;
            } else if kind.is_hard_link() {
                let link = link_target(&entry, &raw)?;
                let link_rel =
                    contained(&link).ok_or_else(|| refuse("its link leaves the target"))?;
                if through_symlink(target, &link_rel)
                    || fs::symlink_metadata(target.join(&link_rel))
                        .is_ok_and(|m| m.file_type().is_symlink())
                {
                    return Err(refuse("its link goes through a symbolic link"));
                }
                fs::hard_link(target.join(link_rel), &dest).map_err(io_err)?;
            } else if kind.is_file() || kind == tar::EntryType::Continuous {
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&dest)
                    .map_err(io_err)?;
                io::copy(&mut entry, &mut file).map_err(io_err)?;
                let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&dest, fs::Permissions::from_mode(mode | 0o200))
                    .map_err(io_err)?;
            } else {
                // Devices, fifos: nothing a cache or workspace needs.
                continue;
            }
        }
        written.push(rel);
    }
    Ok(written)
}

/// [`unpack`] of a gzip-compressed stream.
pub fn unpack_gz(reader: &mut dyn Read, target: &Path) -> Result<Vec<PathBuf>, String> {
    unpack(&mut GzDecoder::new(reader), target)
}

/// The entry names of a gzip-compressed tar, without unpacking it.
pub fn list_gz(reader: &mut dyn Read) -> Result<Vec<PathBuf>, String> {
    let mut archive = tar::Archive::new(GzDecoder::new(reader));
    let mut out = Vec::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        if !entry.header().entry_type().is_dir() {
            out.push(entry.path().map_err(|e| e.to_string())?.into_owned());
        }
    }
    Ok(out)
}

/// Copies a tar stream to `out` entry by entry under the rules of [`unpack`], for a target that
/// is not on this file system (a container): names that leave the target, entries below a
/// symbolic link the archive made, and hard links leaving the target or going through such a
/// link stop the copy with an error naming the entry; devices and fifos are dropped. With
/// `owner` every entry gets that numeric uid and gid (files put into a container belong to its
/// user), and directories the archive only implies get entries of their own so that they belong
/// to that user too. Returns the relative paths copied (implied directories not included).
pub fn sanitize(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    owner: Option<(u64, u64)>,
) -> Result<Vec<PathBuf>, String> {
    let mut archive = tar::Archive::new(reader);
    let mut builder = tar::Builder::new(out);
    let mut links: std::collections::BTreeSet<PathBuf> = Default::default();
    let mut dirs: std::collections::BTreeSet<PathBuf> = Default::default();
    let mut written = Vec::new();
    let below_link = |links: &std::collections::BTreeSet<PathBuf>, rel: &Path| {
        rel.ancestors().skip(1).any(|a| links.contains(a))
    };
    for landed in landed(&mut archive)? {
        let (mut entry, raw, rel) = landed?;
        let refuse = |why: &str| refusal(&raw, why);
        if below_link(&links, &rel) {
            return Err(refuse("it would be written through a symbolic link"));
        }
        let kind = entry.header().entry_type();
        let mut header = entry.header().clone();
        if let Some((uid, gid)) = owner {
            header.set_uid(uid);
            header.set_gid(gid);
        }
        let io_err = |e: io::Error| format!("cannot copy archive entry `{}`: {e}", raw.display());
        if let Some((uid, gid)) = owner {
            // Directories the archive leaves implicit would be made by the extractor as root.
            let mut implied: Vec<&Path> = rel
                .ancestors()
                .skip(1)
                .filter(|a| !a.as_os_str().is_empty() && !dirs.contains(*a))
                .collect();
            implied.reverse();
            for dir in implied {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_uid(uid);
                h.set_gid(gid);
                h.set_mtime(header.mtime().unwrap_or(0));
                h.set_size(0);
                builder
                    .append_data(&mut h, dir, io::empty())
                    .map_err(io_err)?;
                dirs.insert(dir.to_path_buf());
            }
        }
        if kind.is_symlink() {
            let link = link_target(&entry, &raw)?;
            links.insert(rel.clone());
            builder
                .append_link(&mut header, &rel, &link)
                .map_err(io_err)?;
        } else if kind.is_hard_link() {
            let link = link_target(&entry, &raw)?;
            let link_rel = contained(&link).ok_or_else(|| refuse("its link leaves the target"))?;
            if links.contains(&link_rel) || below_link(&links, &link_rel) {
                return Err(refuse("its link goes through a symbolic link"));
            }
            builder
                .append_link(&mut header, &rel, &link_rel)
                .map_err(io_err)?;
        } else if kind.is_dir() {
            links.remove(&rel);
            dirs.insert(rel.clone());
            builder
                .append_data(&mut header, &rel, io::empty())
                .map_err(io_err)?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            links.remove(&rel);
            header.set_entry_type(tar::EntryType::Regular);
            let mode = header.mode().unwrap_or(0o644) & 0o777;
            header.set_mode(mode | 0o200);
            builder
                .append_data(&mut header, &rel, &mut entry)
                .map_err(io_err)?;
        } else {
            continue;
        }
        written.push(rel);
    }
    builder
        .finish()
        .map_err(|e| format!("cannot finish the archive: {e}"))?;
    Ok(written)
}
