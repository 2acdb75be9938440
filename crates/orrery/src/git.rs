//! Pipeline values read from the git checkout that holds the config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// What git says about the checkout; every field is `None` outside a repository.
#[derive(Clone, Debug, Default)]
pub struct Checkout {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub revision: Option<String>,
    pub remote_url: Option<String>,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// What git says about the checkout holding `dir`, asked once per directory per process
/// (validating many configs of one project must not start git five times for each).
pub fn read(dir: &Path) -> Checkout {
    static SEEN: Mutex<BTreeMap<PathBuf, Checkout>> = Mutex::new(BTreeMap::new());
    if let Some(known) = SEEN.lock().ok().and_then(|seen| seen.get(dir).cloned()) {
        return known;
    }
    let checkout = ask(dir);
    if let Ok(mut seen) = SEEN.lock() {
        seen.insert(dir.to_path_buf(), checkout.clone());
    }
    checkout
}

fn ask(dir: &Path) -> Checkout {
    if git(dir, &["rev-parse", "--is-inside-work-tree"]).as_deref() != Some("true") {
        return Checkout::default();
    }
    Checkout {
        branch: git(dir, &["symbolic-ref", "--short", "-q", "HEAD"]),
        tag: git(dir, &["describe", "--tags", "--exact-match", "HEAD"]),
        revision: git(dir, &["rev-parse", "HEAD"]),
        remote_url: git(dir, &["remote", "get-url", "origin"]),
    }
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
}
