//! OCI references for orbs — `oci://HOST[:PORT]/REPO/PATH/NAME[:VERSION]` — and the mapping
//! between orb versions and OCI tags.
//!
//! OCI tags match `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`, so `dev:LABEL` cannot be a tag: it is
//! stored as the tag `dev-LABEL`. No release version (`X.Y.Z`) starts with `dev-`, so the
//! mapping is reversible, and tags that are neither form are not orb versions.

use std::fmt;

use crate::rules::{OrbVersion, ReleaseVersion};

/// The scheme prefix of an OCI reference.
pub const OCI_SCHEME: &str = "oci://";

/// A parsed `oci://HOST[:PORT]/REPOSITORY[:VERSION]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciReference {
    /// `HOST[:PORT]` as written (`127.0.0.1:5000`, `ghcr.io`, `[::1]:5000`).
    pub registry: String,
    /// The repository path below the host: `orbs/acme/tools`.
    pub repository: String,
    /// The orb version, when the reference names one.
    pub version: Option<OrbVersion>,
}

impl OciReference {
    /// Parses and validates a reference. The version may be written as the orb version
    /// (`:1.2.3`, `:dev:alpha`) or as its tag (`:dev-alpha`); digests (`@sha256:…`) are not
    /// supported.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix(OCI_SCHEME) else {
            return Err(format!(
                "`{text}` is not an OCI reference: expected oci://HOST[:PORT]/REPOSITORY[:VERSION]"
            ));
        };
        if rest.contains('@') {
            return Err(format!(
                "`{text}`: references by digest (@sha256:…) are not supported; name a version"
            ));
        }
        let Some((registry, path)) = rest.split_once('/') else {
            return Err(format!("`{text}` names no repository after the host"));
        };
        check_registry(registry)?;
        // The version follows the first `:` of the last path segment (`dev:x` holds a colon).
        let (repository, version) = match path.rsplit_once('/') {
            Some((parent, last)) => match last.split_once(':') {
                Some((name, version)) => (format!("{parent}/{name}"), Some(version)),
                None => (path.to_owned(), None),
            },
            None => match path.split_once(':') {
                Some((name, version)) => (name.to_owned(), Some(version)),
                None => (path.to_owned(), None),
            },
        };
        check_repository(&repository)?;
        let version = version.map(parse_version_or_tag).transpose()?;
        Ok(Self {
            registry: registry.to_owned(),
            repository,
            version,
        })
    }

    /// The OCI tag the version is stored under.
    pub fn tag(&self) -> Option<String> {
        self.version.as_ref().map(tag_of_version)
    }
}

impl fmt::Display for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{OCI_SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = self.tag() {
            write!(f, ":{tag}")?;
        }
        Ok(())
    }
}

fn parse_version_or_tag(text: &str) -> Result<OrbVersion, String> {
    if let Some(version) = version_of_tag(text) {
        return Ok(version);
    }
    OrbVersion::parse(text)
}

/// The OCI tag of an orb version: `1.2.3` → `1.2.3`, `dev:alpha` → `dev-alpha`.
pub fn tag_of_version(version: &OrbVersion) -> String {
    match version {
        OrbVersion::Release(release) => release.to_string(),
        OrbVersion::Dev(label) => format!("dev-{label}"),
    }
}

/// The orb version a tag holds, or `None` for tags that are not orb versions (`latest`).
pub fn version_of_tag(tag: &str) -> Option<OrbVersion> {
    if let Some(release) = ReleaseVersion::parse(tag) {
        return Some(OrbVersion::Release(release));
    }
    let label = tag.strip_prefix("dev-")?;
    OrbVersion::parse(&format!("dev:{label}")).ok()
}

/// Checks `HOST[:PORT]`: a DNS name or IPv4 address, or a bracketed IPv6 address, and an
/// optional decimal port.
pub fn check_registry(registry: &str) -> Result<(), String> {
    let bad = || format!("`{registry}` is not a registry host: expected HOST or HOST:PORT");
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad());
        }
        match after {
            "" => (ip, None),
            _ => (ip, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    let host_ok = !host.is_empty()
        && (host.contains(':')
            || host.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port != 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Checks a repository path against the OCI distribution grammar: `/`-separated components
/// of lowercase letters and digits, joined inside a component by `.`, `_`, `__` or dashes.
pub fn check_repository(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("the repository path is empty".to_owned());
    }
    if repository.len() > 255 {
        return Err(format!(
            "the repository path `{repository}` is longer than 255 characters"
        ));
    }
    for component in repository.split('/') {
        if !is_repository_component(component) {
            return Err(format!(
                "`{component}` in `{repository}` is not a valid repository name component: \
                 use lowercase letters and digits, joined by `.`, `_`, `__` or `-`"
            ));
        }
    }
    Ok(())
}

fn is_repository_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let chars: Vec<char> = component.chars().collect();
    let (Some(first), Some(last)) = (chars.first(), chars.last()) else {
        return false;
    };
    if !alnum(*first) || !alnum(*last) {
        return false;
    }
    // Between alphanumeric runs: one `.`, one or two `_`, or any number of `-`.
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if alnum(c) {
            index += 1;
            continue;
        }
        let start = index;
        while index < chars.len() && !alnum(chars[index]) {
            index += 1;
        }
        let separator: String = chars[start..index].iter().collect();
        let allowed = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.chars().all(|c| c == '-');
        if !allowed {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (String, String, Option<String>) {
        let reference = OciReference::parse(text).unwrap();
        (
            reference.registry.clone(),
            reference.repository.clone(),
            reference.tag(),
        )
    }

    #[test]
    fn references_parse() {
        assert_eq!(
            parsed("oci://127.0.0.1:5000/orbs/acme/tools:1.2.3"),
            (
                "127.0.0.1:5000".into(),
                "orbs/acme/tools".into(),
                Some("1.2.3".into())
            )
        );
        assert_eq!(
            parsed("oci://ghcr.io/acme/tools"),
            ("ghcr.io".into(), "acme/tools".into(), None)
        );
        assert_eq!(
            parsed("oci://registry.example.com/tools:dev:alpha"),
            (
                "registry.example.com".into(),
                "tools".into(),
                Some("dev-alpha".into())
            )
        );
        assert_eq!(
            parsed("oci://[::1]:5000/a/b:dev-x"),
            ("[::1]:5000".into(), "a/b".into(), Some("dev-x".into()))
        );
    }

    #[test]
    fn references_print_with_their_tag() {
        let text = "oci://localhost:5000/orbs/acme/tools:dev-alpha";
        assert_eq!(OciReference::parse(text).unwrap().to_string(), text);
        let reference =
            OciReference::parse("oci://localhost:5000/orbs/acme/tools:dev:alpha").unwrap();
        assert_eq!(reference.to_string(), text);
        assert_eq!(reference.version.unwrap().to_string(), "dev:alpha");
    }

    #[test]
    fn bad_references_say_why() {
        let cases = [
            ("https://ghcr.io/a:1.0.0", "not an OCI reference"),
            ("oci://ghcr.io", "no repository"),
            ("oci://ghcr.io/a@sha256:abc", "by digest"),
            ("oci://ghcr.io/Acme/tools:1.0.0", "`Acme`"),
            ("oci://ghcr.io/acme//tools:1.0.0", "`` in"),
            (
                "oci://ghcr.io/acme/tools:latest",
                "not a publishable orb version",
            ),
            (
                "oci://ghcr.io/acme/tools:1.2",
                "not a publishable orb version",
            ),
            ("oci://host:99999/a:1.0.0", "not a registry host"),
            ("oci://ho st/a:1.0.0", "not a registry host"),
            ("oci://:5000/a:1.0.0", "not a registry host"),
        ];
        for (text, expected) in cases {
            let error = OciReference::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn tags_and_versions_map_both_ways() {
        for version in ["1.2.3", "dev:alpha", "dev:a.b_c-d"] {
            let parsed = OrbVersion::parse(version).unwrap();
            let tag = tag_of_version(&parsed);
            assert_eq!(version_of_tag(&tag), Some(parsed), "{version} -> {tag}");
        }
        assert_eq!(
            tag_of_version(&OrbVersion::parse("dev:x").unwrap()),
            "dev-x"
        );
        assert_eq!(version_of_tag("latest"), None);
        assert_eq!(version_of_tag("dev-"), None);
        assert_eq!(version_of_tag("1.2"), None);
    }

    #[test]
    fn repository_components_follow_the_distribution_grammar() {
        for good in ["a", "a0", "a.b", "a_b", "a__b", "a---b", "orbs/acme/tools"] {
            assert!(check_repository(good).is_ok(), "{good}");
        }
        for bad in [
            "", "A", "-a", "a-", "a..b", "a___b", "a/", "/a", "a.-b", "a b",
        ] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
    }
}
