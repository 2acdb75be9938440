//! Pipeline values read from the git checkout that holds the config, straight from `.git`:
//! `HEAD`, loose and packed refs, tag objects (loose or in a pack) and the `origin` URL in the
//! repository's config. Starting `git` five times cost more than compiling a small config.
//!
//! What is read is what `git symbolic-ref --short HEAD`, `git rev-parse HEAD`,
//! `git describe --tags --exact-match HEAD` and `git remote get-url origin` answer (their
//! agreement is tested against git itself), with two limits: only the repository's own config
//! is read for the remote (no `include`, no global `insteadOf`), and of several tags at `HEAD`
//! an annotated one is preferred, then the first by name.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What git says about the checkout; every field is `None` outside a repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkout {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub revision: Option<String>,
    pub remote_url: Option<String>,
}

/// What git says about the checkout holding `dir`, read once per directory per process.
pub fn read(dir: &Path) -> Checkout {
    if let Some(known) = SEEN.lock().ok().and_then(|seen| seen.get(dir).cloned()) {
        return known;
    }
    let checkout = Repo::discover(dir)
        .map(|r| r.checkout())
        .unwrap_or_default();
    if let Ok(mut seen) = SEEN.lock() {
        seen.insert(dir.to_path_buf(), checkout.clone());
    }
    checkout
}

/// What `read` has seen, per directory (a process reads a checkout once).
static SEEN: Mutex<BTreeMap<PathBuf, Checkout>> = Mutex::new(BTreeMap::new());

/// Forgets what `read` has seen: the language server calls it when `.git` changes (a checkout
/// of another branch, a commit), so hover shows the branch and revision as they are now.
pub fn forget() {
    if let Ok(mut seen) = SEEN.lock() {
        seen.clear();
    }
}

/// Only the remote URL of the checkout holding `dir` (when flags give the rest).
pub fn read_remote(dir: &Path) -> Checkout {
    Checkout {
        remote_url: Repo::discover(dir).and_then(|r| r.remote_url("origin")),
        ..Checkout::default()
    }
}

/// A work tree's git directories: its own (`HEAD`) and the common one (refs, objects, config),
/// which differ for linked work trees (`git worktree add`).
struct Repo {
    git_dir: PathBuf,
    common_dir: PathBuf,
    /// The pack indexes, read when a tag object is first looked for.
    pack_indexes: OnceCell<Vec<(PathBuf, Vec<u8>)>>,
}

impl Repo {
    /// The repository whose work tree holds `dir`, looking upwards for `.git`.
    fn discover(dir: &Path) -> Option<Repo> {
        let start = std::path::absolute(dir).ok()?;
        for candidate in start.ancestors() {
            let dot_git = candidate.join(".git");
            let git_dir = if dot_git.is_dir() {
                dot_git
            } else if dot_git.is_file() {
                // A linked work tree or submodule: `gitdir: PATH`.
                let text = std::fs::read_to_string(&dot_git).ok()?;
                candidate.join(text.strip_prefix("gitdir:")?.trim())
            } else {
                continue;
            };
            if !git_dir.join("HEAD").is_file() {
                return None;
            }
            let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
                Ok(common) => git_dir.join(common.trim()),
                Err(_) => git_dir.clone(),
            };
            return Some(Repo {
                git_dir,
                common_dir,
                pack_indexes: OnceCell::new(),
            });
        }
        None
    }

    fn checkout(&self) -> Checkout {
        let head = std::fs::read_to_string(self.git_dir.join("HEAD")).unwrap_or_default();
        let head = head.trim();
        let (branch, revision) = match head.strip_prefix("ref:") {
            Some(name) => {
                let name = name.trim();
                let branch = name.strip_prefix("refs/heads/").unwrap_or(name);
                (Some(branch.to_string()), self.resolve(name, 0))
            }
            None => (None, is_object_id(head).then(|| head.to_string())),
        };
        let packed = self.packed_refs();
        let tag = revision
            .as_deref()
            .and_then(|revision| self.tag_at(revision, &packed));
        Checkout {
            branch,
            tag,
            revision,
            remote_url: self.remote_url("origin"),
        }
    }

    /// The object id a ref names, following symbolic refs (a few levels, as git does).
    fn resolve(&self, name: &str, depth: usize) -> Option<String> {
        if depth > 5 {
            return None;
        }
        let loose = [&self.git_dir, &self.common_dir]
            .iter()
            .find_map(|dir| std::fs::read_to_string(dir.join(name)).ok());
        match loose {
            Some(text) => {
                let text = text.trim();
                match text.strip_prefix("ref:") {
                    Some(target) => self.resolve(target.trim(), depth + 1),
                    None => is_object_id(text).then(|| text.to_string()),
                }
            }
            None => self
                .packed_refs()
                .into_iter()
                .find(|r| r.name == name)
                .map(|r| r.id),
        }
    }

    /// `packed-refs`: each ref with its id and, for annotated tags, the peeled commit. When
    /// the file says it is peeled, a tag without a `^` line is known to be lightweight.
    fn packed_refs(&self) -> Vec<PackedRef> {
        let text = std::fs::read_to_string(self.common_dir.join("packed-refs")).unwrap_or_default();
        let peeled_tags = text
            .lines()
            .next()
            .is_some_and(|header| header.starts_with('#') && header.contains(" peeled"));
        let mut refs: Vec<PackedRef> = Vec::new();
        for line in text.lines() {
            if let Some(peeled) = line.strip_prefix('^') {
                if let Some(last) = refs.last_mut() {
                    last.peeled = Some(peeled.trim().to_string());
                }
            } else if let Some((id, name)) = line.split_once(' ') {
                if is_object_id(id) {
                    let name = name.trim().to_string();
                    let lightweight = peeled_tags && name.starts_with("refs/tags/");
                    refs.push(PackedRef {
                        id: id.to_string(),
                        name,
                        peeled: lightweight.then(|| id.to_string()),
                    });
                }
            }
        }
        refs
    }

    /// The tag whose commit is `revision`, as `git describe --tags --exact-match` names it.
    fn tag_at(&self, revision: &str, packed: &[PackedRef]) -> Option<String> {
        // name -> (id, peeled id when packed-refs knows it); loose refs win over packed ones.
        let mut tags: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
        for r in packed {
            if let Some(name) = r.name.strip_prefix("refs/tags/") {
                tags.insert(name.to_string(), (r.id.clone(), r.peeled.clone()));
            }
        }
        let mut loose = Vec::new();
        list_loose(&self.common_dir.join("refs/tags"), "", &mut loose);
        for (name, id) in loose {
            tags.insert(name, (id, None));
        }
        let mut lightweight = None;
        for (name, (id, peeled)) in tags {
            if id == revision {
                // A tag pointing at the commit itself is lightweight unless it peels.
                lightweight.get_or_insert(name);
                continue;
            }
            let peeled = peeled.or_else(|| self.peel_tag(&id));
            if peeled.as_deref() == Some(revision) {
                return Some(name);
            }
        }
        lightweight
    }

    /// The object an annotated tag finally points at (tags of tags are followed).
    fn peel_tag(&self, id: &str) -> Option<String> {
        let mut id = id.to_string();
        for _ in 0..8 {
            let (kind, body) = self.object(&id)?;
            if kind != "tag" {
                return Some(id);
            }
            let text = String::from_utf8_lossy(&body);
            id = text
                .lines()
                .next()?
                .strip_prefix("object ")?
                .trim()
                .to_string();
        }
        None
    }

    /// An object's type and contents, loose or (undeltified) in a pack.
    fn object(&self, id: &str) -> Option<(String, Vec<u8>)> {
        let objects = self.common_dir.join("objects");
        if let Ok(file) = std::fs::File::open(objects.join(&id[..2]).join(&id[2..])) {
            let mut raw = Vec::new();
            flate2::read::ZlibDecoder::new(file)
                .read_to_end(&mut raw)
                .ok()?;
            let nul = raw.iter().position(|b| *b == 0)?;
            let kind = String::from_utf8_lossy(&raw[..nul])
                .split(' ')
                .next()?
                .to_string();
            return Some((kind, raw[nul + 1..].to_vec()));
        }
        let binary = decode_hex(id)?;
        let indexes = self.pack_indexes.get_or_init(|| {
            let Ok(dir) = std::fs::read_dir(objects.join("pack")) else {
                return Vec::new();
            };
            dir.flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "idx"))
                .filter_map(|path| Some((path.with_extension("pack"), std::fs::read(&path).ok()?)))
                .collect()
        });
        indexes
            .iter()
            .find_map(|(pack, index)| pack_object(pack, pack_offset(index, &binary)?))
    }

    /// `remote.NAME.url` from the repository's config.
    fn remote_url(&self, remote: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.common_dir.join("config")).ok()?;
        let wanted = format!("remote \"{remote}\"");
        let mut in_section = false;
        let mut url = None;
        for line in text.lines() {
            let line = line.trim();
            if let Some(section) = line.strip_prefix('[') {
                let header = section.split(']').next().unwrap_or("").trim();
                in_section = header.eq_ignore_ascii_case(&wanted) || header == wanted;
                continue;
            }
            if !in_section {
                continue;
            }
            if let Some((key, value)) = line.split_once('=') {
                if key.trim().eq_ignore_ascii_case("url") {
                    // The first `url` is the one `get-url` prints.
                    url.get_or_insert_with(|| config_value(value));
                }
            }
        }
        url.filter(|u| !u.is_empty())
    }
}

struct PackedRef {
    id: String,
    name: String,
    peeled: Option<String>,
}

/// A git config value: quotes removed, escapes read, a trailing comment dropped.
fn config_value(raw: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = raw.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            },
            '#' | ';' if !quoted => break,
            c => out.push(c),
        }
    }
    out.trim_end().to_string()
}

/// Loose refs under `dir`, as `(name relative to refs/tags, id)`.
fn list_loose(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let path = entry.path();
        if path.is_dir() {
            list_loose(&path, &format!("{name}/"), out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            let id = text.trim();
            if is_object_id(id) {
                out.push((name, id.to_string()));
            }
        }
    }
}

fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn decode_hex(id: &str) -> Option<Vec<u8>> {
    (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(id.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where a pack index (version 2, SHA-1) says `id` is in its pack.
fn pack_offset(idx: &[u8], id: &[u8]) -> Option<u64> {
    if idx.get(..8)? != b"\xfftOc\0\0\0\x02" || id.len() != 20 {
        return None;
    }
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(idx.get(at..at + 4)?.try_into().ok()?))
    };
    let fanout = |i: usize| word(8 + 4 * i);
    let count = fanout(255)? as usize;
    let first = id[0] as usize;
    let mut low = if first == 0 {
        0
    } else {
        fanout(first - 1)? as usize
    };
    let mut high = fanout(first)? as usize;
    let ids = 8 + 256 * 4;
    while low < high {
        let mid = (low + high) / 2;
        let at = ids + mid * 20;
        match idx.get(at..at + 20)?.cmp(id) {
            std::cmp::Ordering::Equal => {
                let offsets = ids + count * 20 + count * 4;
                let small = word(offsets + mid * 4)?;
                if small & 0x8000_0000 == 0 {
                    return Some(u64::from(small));
                }
                let at = offsets + count * 4 + (small & 0x7fff_ffff) as usize * 8;
                return Some(u64::from_be_bytes(idx.get(at..at + 8)?.try_into().ok()?));
            }
            std::cmp::Ordering::Less => low = mid + 1,
            std::cmp::Ordering::Greater => high = mid,
        }
    }
    None
}

/// The object at `offset` in a pack, when it is stored whole (tags almost always are); a
/// deltified object reads as unknown.
fn pack_object(pack: &Path, offset: u64) -> Option<(String, Vec<u8>)> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(pack).ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut header = [0u8; 1];
    file.read_exact(&mut header).ok()?;
    let kind = match (header[0] >> 4) & 7 {
        1 => "commit",
        2 => "tree",
        3 => "blob",
        4 => "tag",
        _ => return None,
    };
    let mut more = header[0] & 0x80 != 0;
    while more {
        file.read_exact(&mut header).ok()?;
        more = header[0] & 0x80 != 0;
    }
    let mut body = Vec::new();
    flate2::read::ZlibDecoder::new(file)
        .take(1 << 20)
        .read_to_end(&mut body)
        .ok()?;
    Some((kind.to_string(), body))
}

/// `https://github.com/org/repo` and `github` from a remote URL, as the platform reports them.
pub fn project_url(remote: &str) -> Option<(String, String, String, String)> {
    let trimmed = remote.trim_end_matches(".git");
    let path = if let Some(rest) = trimmed.strip_prefix("git@") {
        rest.replacen(':', "/", 1)
    } else {
        trimmed.split("://").nth(1)?.rsplit('@').next()?.to_string()
    };
    let mut parts = path.splitn(2, '/');
    let host = parts.next()?.to_string();
    let repo_path = parts.next()?.to_string();
    let (owner, name) = repo_path.rsplit_once('/')?;
    let kind = if host.contains("bitbucket") {
        "bitbucket"
    } else if host.contains("gitlab") {
        "gitlab"
    } else {
        "github"
    };
    Some((
        format!("https://{host}/{repo_path}"),
        kind.to_string(),
        owner.to_string(),
        name.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_urls_from_remotes() {
        let (url, kind, owner, name) = project_url("git@github.com:acme/widgets.git").unwrap();
        assert_eq!(
            (url.as_str(), kind.as_str(), owner.as_str(), name.as_str()),
            (
                "https://github.com/acme/widgets",
                "github",
                "acme",
                "widgets"
            )
        );
        let (url, kind, ..) = project_url("https://user@bitbucket.org/acme/widgets").unwrap();
        assert_eq!(
            (url.as_str(), kind.as_str()),
            ("https://bitbucket.org/acme/widgets", "bitbucket")
        );
    }

    /// What the git command line says, the reference the reader must agree with.
    fn git_says(dir: &Path) -> Checkout {
        let git = |args: &[&str]| {
            let output = std::process::Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .output()
                .ok()?;
            let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
            (output.status.success() && !text.is_empty()).then_some(text)
        };
        Checkout {
            branch: git(&["symbolic-ref", "--short", "-q", "HEAD"]),
            tag: git(&["describe", "--tags", "--exact-match", "HEAD"]),
            revision: git(&["rev-parse", "HEAD"]),
            remote_url: git(&["remote", "get-url", "origin"]),
        }
    }

    fn read_fresh(dir: &Path) -> Checkout {
        Repo::discover(dir)
            .map(|r| r.checkout())
            .unwrap_or_default()
    }

    #[test]
    fn reads_what_git_says_through_each_kind_of_ref() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let run = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .arg("-C")
                .arg(root)
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "git {args:?} failed (is git installed?)");
        };
        let sub = root.join("ci/.circleci");
        std::fs::create_dir_all(&sub).unwrap();
        // Not a repository yet.
        assert_eq!(read_fresh(&sub), Checkout::default());
        run(&["init", "-q", "-b", "trunk"]);
        // Unborn branch: a branch, nothing else.
        assert_eq!(read_fresh(&sub), git_says(&sub));
        run(&["remote", "add", "origin", "git@github.com:acme/widgets.git"]);
        std::fs::write(sub.join("config.yml"), "version: 2.1\n").unwrap();
        run(&["add", "-A"]);
        run(&["commit", "-qm", "one"]);
        let mut cases = vec![read_fresh(&sub) == git_says(&sub)];
        // Lightweight tag, loose.
        run(&["tag", "v1"]);
        cases.push(read_fresh(&sub) == git_says(&sub));
        // Annotated tag on the next commit, loose ref and loose object.
        run(&["commit", "-q", "--allow-empty", "-m", "two"]);
        run(&["tag", "-a", "v2", "-m", "release two"]);
        let loose = read_fresh(&sub);
        assert_eq!(loose.tag.as_deref(), Some("v2"));
        cases.push(loose == git_says(&sub));
        // Objects packed, refs loose: the tag object is read from the pack.
        run(&["repack", "-a", "-d", "-q"]);
        run(&["prune"]);
        cases.push(read_fresh(&sub) == git_says(&sub));
        // Refs packed (peeled), then a detached HEAD.
        run(&["pack-refs", "--all"]);
        cases.push(read_fresh(&sub) == git_says(&sub));
        run(&["checkout", "-q", "--detach", "v1"]);
        let detached = read_fresh(&sub);
        assert_eq!(
            (detached.branch.as_deref(), detached.tag.as_deref()),
            (None, Some("v1"))
        );
        cases.push(detached == git_says(&sub));
        // A linked work tree on a new branch.
        let linked = root.join("linked");
        run(&[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            linked.to_str().unwrap(),
        ]);
        cases.push(read_fresh(&linked) == git_says(&linked));
        assert_eq!(read_fresh(&linked).branch.as_deref(), Some("feature"));
        assert_eq!(cases, vec![true; cases.len()]);
    }

    #[test]
    fn config_values_lose_quotes_and_comments() {
        assert_eq!(
            config_value(" \"git@host:a/b.git\" # origin"),
            "git@host:a/b.git"
        );
        assert_eq!(
            config_value("https://host/a/b.git ; x"),
            "https://host/a/b.git"
        );
    }
}
