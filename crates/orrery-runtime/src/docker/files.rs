//! Files in and out of a container through the archive API: tar streams both ways (checkout,
//! caches, workspaces, artifacts, test results, step scripts), path stats, reading a file and
//! listing a tree. Everything put in goes through [`archive::sanitize`] first, owned by the
//! job's user; the daemon extracts inside the container's own root.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bollard::body_stream;
use bollard::query_parameters::{
    ContainerArchiveInfoOptions, DownloadFromContainerOptions, UploadToContainerOptions,
};
use futures_util::StreamExt;

use super::client::{describe, Client};
use crate::archive;
use crate::glob;

/// Go's `os.FileMode` bits the daemon reports.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;

#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub mode: u32,
}

impl Stat {
    pub fn is_dir(self) -> bool {
        self.mode & MODE_DIR != 0
    }
    pub fn is_symlink(self) -> bool {
        self.mode & MODE_SYMLINK != 0
    }
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

pub fn stat(client: &Client, container: &str, path: &Path) -> Option<Stat> {
    let options = ContainerArchiveInfoOptions { path: text(path) };
    client
        .block_on(
            client
                .docker
                .get_container_archive_info(container, Some(options)),
        )
        .ok()
        .map(|s| Stat { mode: s.file_mode })
}

/// A blocking reader over a download: the runtime pumps the stream into a bounded channel, so
/// a large tree never sits in memory whole.
struct Download {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>,
    current: bytes::Bytes,
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The tar the daemon makes of `path` (its top entry is the path's last component).
pub fn download(client: &Client, container: &str, path: &Path) -> impl Read {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let options = DownloadFromContainerOptions { path: text(path) };
    let mut stream = Box::pin(
        client
            .docker
            .download_from_container(container, Some(options)),
    );
    client.spawn(async move {
        while let Some(item) = stream.next().await {
            let item = item.map_err(|e| describe(&e));
            let stop = item.is_err();
            // A reader that went away ends the download.
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    Download {
        rx,
        current: bytes::Bytes::new(),
    }
}

/// Writes into an upload's request body from a blocking thread.
struct UploadBody(tokio::sync::mpsc::Sender<bytes::Bytes>);

impl Write for UploadBody {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(bytes::Bytes::copy_from_slice(buf))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload ended"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Streams the tar that `produce` writes into the container, extracted under `dir` (which must
/// exist).
pub fn upload<T>(
    client: &Client,
    container: &str,
    dir: &Path,
    produce: impl FnOnce(&mut dyn Write) -> Result<T, String>,
) -> Result<T, String> {
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let options = UploadToContainerOptions {
        path: text(dir),
        ..Default::default()
    };
    let docker = client.docker.clone();
    let container = container.to_string();
    let request = client.spawn(async move {
        docker
            .upload_to_container(&container, Some(options), body_stream(body))
            .await
    });
    let produced = {
        let mut writer = BufWriter::with_capacity(64 * 1024, UploadBody(tx));
        let r = produce(&mut writer);
        let flushed = writer.flush();
        r.and_then(|v| flushed.map(|_| v).map_err(|e| e.to_string()))
    };
    let answer = client.block_on(request);
    match (produced, answer) {
        (Ok(v), Ok(Ok(()))) => Ok(v),
        (Err(e), _) => Err(e),
        (Ok(_), Ok(Err(e))) => Err(format!(
            "cannot copy into {}: {}",
            dir.display(),
            describe(&e)
        )),
        (Ok(_), Err(e)) => Err(format!("cannot copy into {}: {e}", dir.display())),
    }
}

/// Unpacks `tar` under `dir` (created), refusing entries that leave it; files belong to
/// `owner`.
pub fn put_archive(
    client: &Client,
    container: &str,
    owner: (u64, u64),
    dir: &Path,
    tar: &mut dyn Read,
) -> Result<Vec<PathBuf>, String> {
    make_dir(client, container, owner, dir)?;
    upload(client, container, dir, |w| {
        archive::sanitize(tar, w, Some(owner))
    })
}

/// Creates `path` and missing parents, owned by `owner`, without touching the directories that
/// exist (an archive entry for an existing directory would reset its mode and owner).
pub fn make_dir(
    client: &Client,
    container: &str,
    owner: (u64, u64),
    path: &Path,
) -> Result<(), String> {
    let mut existing = path.to_path_buf();
    let mut missing: Vec<PathBuf> = Vec::new();
    loop {
        match stat(client, container, &existing) {
            Some(s) if s.is_dir() || s.is_symlink() => break,
            Some(_) => return Err(format!("{} is not a directory", existing.display())),
            None => {}
        }
        let Some(name) = existing.file_name().map(PathBuf::from) else {
            break;
        };
        missing.push(name);
        if !existing.pop() {
            break;
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    missing.reverse();
    upload(client, container, &existing, |w| {
        let mut b = tar::Builder::new(w);
        let mut rel = PathBuf::new();
        for part in &missing {
            rel.push(part);
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_uid(owner.0);
            h.set_gid(owner.1);
            h.set_mtime(now());
            h.set_size(0);
            b.append_data(&mut h, &rel, io::empty())
                .map_err(|e| e.to_string())?;
        }
        b.finish().map_err(|e| e.to_string())
    })
    .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Creates directories (absolute, parents first, all missing) and small files in one copy at
/// `/`, owned by `owner`.
pub fn put_tree(
    client: &Client,
    container: &str,
    owner: (u64, u64),
    dirs: &[PathBuf],
    files: &[(PathBuf, &[u8])],
) -> Result<(), String> {
    let rel = |p: &Path| p.strip_prefix("/").unwrap_or(p).to_path_buf();
    upload(client, container, Path::new("/"), |w| {
        let mut b = tar::Builder::new(w);
        let header = |kind, mode, size| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(owner.0);
            h.set_gid(owner.1);
            h.set_mtime(now());
            h.set_size(size);
            h
        };
        for d in dirs {
            let mut h = header(tar::EntryType::Directory, 0o755, 0);
            b.append_data(&mut h, rel(d), io::empty())
                .map_err(|e| e.to_string())?;
        }
        for (f, data) in files {
            let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
            b.append_data(&mut h, rel(f), *data)
                .map_err(|e| e.to_string())?;
        }
        b.finish().map_err(|e| e.to_string())
    })
}

pub fn write_file(
    client: &Client,
    container: &str,
    owner: (u64, u64),
    path: &Path,
    data: &[u8],
    mode: u32,
) -> Result<(), String> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(format!("cannot write {}", path.display()));
    };
    make_dir(client, container, owner, dir)?;
    upload(client, container, dir, |w| {
        let mut b = tar::Builder::new(w);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(mode);
        h.set_uid(owner.0);
        h.set_gid(owner.1);
        h.set_mtime(now());
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data)
            .map_err(|e| e.to_string())?;
        b.finish().map_err(|e| e.to_string())
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A file's content; a symbolic link is followed (a few hops).
pub fn read_file(client: &Client, container: &str, path: &Path) -> Result<Vec<u8>, String> {
    let mut path = path.to_path_buf();
    for _ in 0..8 {
        let mut archive = tar::Archive::new(download(client, container, &path));
        let mut entries = archive
            .entries()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let Some(entry) = entries.next() else {
            return Err(format!("cannot read {}: no such file", path.display()));
        };
        let mut entry = entry.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() {
            let target = entry
                .link_name()
                .ok()
                .flatten()
                .map(|l| l.into_owned())
                .unwrap_or_default();
            path = path.parent().unwrap_or(Path::new("/")).join(target);
            continue;
        }
        if !kind.is_file() {
            return Err(format!("{} is not a file", path.display()));
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return Ok(data);
    }
    Err(format!("{}: too many symbolic links", path.display()))
}

/// Paths under `base` (relative, sorted) matching a glob pattern, from a listing of the tree.
pub fn glob(client: &Client, container: &str, base: &Path, pattern: &str) -> Vec<PathBuf> {
    let pattern = pattern.trim_start_matches("./");
    let Some(re) = glob::to_regex(pattern) else {
        return Vec::new();
    };
    if !stat(client, container, base).is_some_and(Stat::is_dir) {
        return Vec::new();
    }
    let mut archive = tar::Archive::new(download(client, container, base));
    let Ok(entries) = archive.entries() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Ok(path) = entry.path() else { continue };
        // The first component is `base`'s own name.
        let rel: PathBuf = path.components().skip(1).collect();
        if let Some(s) = rel.to_str().filter(|s| !s.is_empty()) {
            if re.is_match(s.trim_end_matches('/')) {
                out.push(rel.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Writes a tar of `paths` (relative to `base`) to `out`, entries named by those relative
/// paths; returns the entry count.
pub fn get_archive(
    client: &Client,
    container: &str,
    base: &Path,
    paths: &[PathBuf],
    out: &mut dyn Write,
) -> Result<usize, String> {
    let mut builder = tar::Builder::new(out);
    let mut count = 0;
    for rel in paths {
        let from = base.join(rel);
        let Some(top) = from.file_name().map(PathBuf::from) else {
            continue;
        };
        let parent = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let rename = |p: &Path| -> Option<PathBuf> {
            let rest = p.strip_prefix(&top).ok()?;
            Some(parent.join(&top).join(rest))
        };
        let mut archive = tar::Archive::new(download(client, container, &from));
        let entries = archive
            .entries()
            .map_err(|e| format!("cannot archive {}: {e}", from.display()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("cannot archive {}: {e}", from.display()))?;
            let name = entry.path().map_err(|e| e.to_string())?.into_owned();
            let Some(name) = rename(&name) else { continue };
            let mut header = entry.header().clone();
            let kind = header.entry_type();
            let io_err = |e: io::Error| format!("cannot archive {}: {e}", name.display());
            if kind.is_symlink() || kind.is_hard_link() {
                let link = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                let link = if kind.is_hard_link() {
                    rename(&link).unwrap_or(link)
                } else {
                    link
                };
                builder
                    .append_link(&mut header, &name, &link)
                    .map_err(io_err)?;
            } else {
                builder
                    .append_data(&mut header, &name, &mut entry)
                    .map_err(io_err)?;
            }
            count += 1;
        }
    }
    builder.finish().map_err(|e| e.to_string())?;
    Ok(count)
}
