//! Registry-agnostic publishing rules: what an orb version is, which versions may be
//! (re)published, and how the next version is chosen.
//!
//! - A release version is `X.Y.Z` (decimal, no leading zeros, no pre-release or build part):
//!   CircleCI publishes nothing else.
//! - A development version is `dev:LABEL`; LABEL is 1–100 ASCII letters, digits, `.`, `_` or
//!   `-` (so that it also maps onto an OCI tag, see `reference.rs`).
//! - Release versions are immutable: publishing one that exists is refused. Development
//!   versions may be overwritten.
//! - [`next_version`] bumps the highest published release; with no release published it bumps
//!   `0.0.0`, so the first version is `0.0.1` (patch), `0.1.0` (minor) or `1.0.0` (major) — the
//!   same starting point as `circleci orb publish increment`.

use std::fmt;
use std::str::FromStr;

use crate::{Registry, RegistryError, RegistryErrorKind};

/// The longest development label accepted (`dev-` + label must fit an OCI tag's 128 chars).
const MAX_DEV_LABEL: usize = 100;

/// A release version `MAJOR.MINOR.PATCH`; ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReleaseVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl ReleaseVersion {
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses `X.Y.Z` strictly; `None` for anything else (dev versions, `1.2`, `v1.2.3`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let major = parse_number(parts.next()?)?;
        let minor = parse_number(parts.next()?)?;
        let patch = parse_number(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self::new(major, minor, patch))
    }

    pub fn bump(self, increment: Increment) -> Self {
        match increment {
            Increment::Major => Self::new(self.major + 1, 0, 0),
            Increment::Minor => Self::new(self.major, self.minor + 1, 0),
            Increment::Patch => Self::new(self.major, self.minor, self.patch + 1),
        }
    }
}

/// One decimal component: digits only, no leading zero (semver), no overflow.
fn parse_number(text: &str) -> Option<u64> {
    let well_formed = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if well_formed {
        text.parse().ok()
    } else {
        None
    }
}

impl fmt::Display for ReleaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A version that can be published: a release or a development label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrbVersion {
    Release(ReleaseVersion),
    /// The label after `dev:`.
    Dev(String),
}

impl OrbVersion {
    /// Parses `X.Y.Z` or `dev:LABEL`; the error says what is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(label) = text.strip_prefix("dev:") {
            return check_dev_label(label).map(|()| Self::Dev(label.to_owned()));
        }
        ReleaseVersion::parse(text)
            .map(Self::Release)
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a publishable orb version: expected MAJOR.MINOR.PATCH \
                 (like 1.2.3) or dev:LABEL (like dev:alpha)"
                )
            })
    }

    pub fn is_dev(&self) -> bool {
        matches!(self, Self::Dev(_))
    }
}

impl fmt::Display for OrbVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Release(version) => version.fmt(f),
            Self::Dev(label) => write!(f, "dev:{label}"),
        }
    }
}

fn check_dev_label(label: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if label.is_empty() {
        Err("`dev:` needs a label, like dev:alpha".to_owned())
    } else if label.len() > MAX_DEV_LABEL {
        Err(format!(
            "the development label `{label}` is longer than {MAX_DEV_LABEL} characters"
        ))
    } else if !label.chars().all(allowed) {
        Err(format!(
            "the development label `{label}` may only hold ASCII letters, digits, `.`, `_` and `-`"
        ))
    } else {
        Ok(())
    }
}

/// Which part of the version [`next_version`] bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Increment {
    Major,
    Minor,
    Patch,
}

impl FromStr for Increment {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "major" => Ok(Self::Major),
            "minor" => Ok(Self::Minor),
            "patch" => Ok(Self::Patch),
            _ => Err(format!(
                "`{text}` is not an increment: expected major, minor or patch"
            )),
        }
    }
}

/// The highest release among `published`; dev versions and unparsable strings are ignored.
pub fn highest_release<S: AsRef<str>>(published: &[S]) -> Option<ReleaseVersion> {
    published
        .iter()
        .filter_map(|version| ReleaseVersion::parse(version.as_ref()))
        .max()
}

/// Sorts versions as every client returns them: releases ascending by number, then dev
/// versions by label, then anything else alphabetically.
pub fn sort_versions(versions: &mut [String]) {
    versions.sort_by_cached_key(|version| match ReleaseVersion::parse(version) {
        Some(release) => (0, release, String::new()),
        None if version.starts_with("dev:") => (1, ReleaseVersion::default(), version.clone()),
        None => (2, ReleaseVersion::default(), version.clone()),
    });
}

/// The version after the highest published release (after `0.0.0` when there is none).
pub fn next_version<S: AsRef<str>>(published: &[S], increment: Increment) -> ReleaseVersion {
    highest_release(published)
        .unwrap_or_default()
        .bump(increment)
}

/// Checks that `namespace/name` can name an orb: both parts non-empty ASCII letters, digits,
/// `-`, `_` or `.` (registries add their own, stricter rules).
pub fn check_orb_name(namespace: &str, name: &str) -> Result<(), String> {
    for (what, part) in [("namespace", namespace), ("orb name", name)] {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if part.is_empty() {
            return Err(format!("the {what} is empty"));
        }
        if !part.chars().all(allowed) {
            return Err(format!(
                "the {what} `{part}` may only hold ASCII letters, digits, `-`, `_` and `.`"
            ));
        }
    }
    Ok(())
}

/// The immutability rule: a release version that already `exists` cannot be published again;
/// a development version can always be (over)written.
pub fn check_publishable(version: &OrbVersion, exists: bool) -> Result<(), RegistryError> {
    match version {
        OrbVersion::Release(release) if exists => Err(RegistryError::new(
            RegistryErrorKind::VersionExists,
            "",
            "",
        )
        .with_detail(format!(
            "{release} is already published and versions are immutable"
        ))
        .with_help(
            "publish the next version (increment major, minor or patch) or a dev:LABEL version",
        )),
        _ => Ok(()),
    }
}

/// Publishes `source` as the next version after the highest published release, and returns
/// that version.
pub fn publish_increment(
    registry: &dyn Registry,
    namespace: &str,
    name: &str,
    increment: Increment,
    source: &str,
) -> Result<ReleaseVersion, RegistryError> {
    let published = registry.versions(namespace, name)?;
    let next = next_version(&published, increment);
    registry.publish(namespace, name, &next.to_string(), source)?;
    Ok(next)
}

/// `publish orb acme/tools@1.2.3`: the request as error messages name it.
pub(crate) fn describe(action: &str, namespace: &str, name: &str, version: Option<&str>) -> String {
    match version {
        Some(version) => format!("{action} orb {namespace}/{name}@{version}"),
        None => format!("{action} orb {namespace}/{name}"),
    }
}

/// A request on the orb `namespace/name` as error messages name it, once the name is checked
/// (before any request).
pub(crate) fn name_request(
    action: &str,
    namespace: &str,
    name: &str,
) -> Result<String, RegistryError> {
    let request = describe(action, namespace, name, None);
    check_orb_name(namespace, name)
        .map_err(|detail| RegistryError::invalid_input(&request, detail))?;
    Ok(request)
}

/// Validates the orb name and version of a publish or fetch before any request.
pub(crate) fn parse_request(
    request: &str,
    namespace: &str,
    name: &str,
    version: &str,
) -> Result<OrbVersion, RegistryError> {
    check_orb_name(namespace, name)
        .and_then(|()| OrbVersion::parse(version))
        .map_err(|detail| RegistryError::invalid_input(request, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_next(published: &[&str], increment: Increment, expected: &str) {
        assert_eq!(
            next_version(published, increment).to_string(),
            expected,
            "{published:?} {increment:?}"
        );
    }

    #[test]
    fn next_version_bumps_the_highest_release() {
        let published = ["1.2.3", "1.10.0", "dev:alpha", "0.9.9", "garbage"];
        check_next(&published, Increment::Patch, "1.10.1");
        check_next(&published, Increment::Minor, "1.11.0");
        check_next(&published, Increment::Major, "2.0.0");
    }

    #[test]
    fn next_version_starts_from_zero() {
        check_next(&[], Increment::Patch, "0.0.1");
        check_next(&[], Increment::Minor, "0.1.0");
        check_next(&[], Increment::Major, "1.0.0");
        check_next(&["dev:x"], Increment::Patch, "0.0.1");
    }

    #[test]
    fn release_versions_are_strict() {
        assert_eq!(
            ReleaseVersion::parse("10.0.12"),
            Some(ReleaseVersion::new(10, 0, 12))
        );
        for bad in [
            "1.2",
            "1.2.3.4",
            "v1.2.3",
            "01.2.3",
            "1.2.3-rc1",
            "1..3",
            "",
            "1.2.x",
        ] {
            assert_eq!(ReleaseVersion::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn orb_versions_parse_and_print() {
        assert_eq!(OrbVersion::parse("1.2.3").unwrap().to_string(), "1.2.3");
        let dev = OrbVersion::parse("dev:feature_x-1.2").unwrap();
        assert!(dev.is_dev());
        assert_eq!(dev.to_string(), "dev:feature_x-1.2");
        assert!(OrbVersion::parse("dev:")
            .unwrap_err()
            .contains("needs a label"));
        assert!(OrbVersion::parse("dev:a b")
            .unwrap_err()
            .contains("may only hold"));
        assert!(OrbVersion::parse(&format!("dev:{}", "a".repeat(101)))
            .unwrap_err()
            .contains("longer than"));
        assert!(OrbVersion::parse("1.2")
            .unwrap_err()
            .contains("MAJOR.MINOR.PATCH"));
    }

    #[test]
    fn existing_releases_are_immutable_dev_versions_are_not() {
        let release = OrbVersion::parse("1.0.0").unwrap();
        let dev = OrbVersion::parse("dev:x").unwrap();
        assert!(check_publishable(&release, false).is_ok());
        let refused = check_publishable(&release, true).unwrap_err();
        assert_eq!(refused.kind, RegistryErrorKind::VersionExists);
        assert!(check_publishable(&dev, true).is_ok());
    }

    #[test]
    fn orb_names_are_checked() {
        assert!(check_orb_name("circleci", "node").is_ok());
        assert!(check_orb_name("", "node")
            .unwrap_err()
            .contains("namespace"));
        assert!(check_orb_name("a", "b/c").unwrap_err().contains("orb name"));
    }

    #[test]
    fn versions_sort_by_number_then_label() {
        let mut versions: Vec<String> = ["dev:b", "1.10.0", "odd", "1.9.0", "dev:a", "0.1.0"]
            .map(String::from)
            .to_vec();
        sort_versions(&mut versions);
        assert_eq!(
            versions,
            ["0.1.0", "1.9.0", "1.10.0", "dev:a", "dev:b", "odd"]
        );
    }

    #[test]
    fn increments_parse() {
        assert_eq!("minor".parse::<Increment>(), Ok(Increment::Minor));
        assert!("huge".parse::<Increment>().is_err());
    }
}
