//! Version selection: which published version a reference asks for.

/// A numeric `MAJOR.MINOR.PATCH` version.
pub fn semver(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.');
    let v = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    parts.next().is_none().then_some(v)
}

/// Whether a reference names one version for ever (`1.2.3`, `dev:label`) rather than a moving
/// target (`1.2`, `1`, `volatile`) that the lockfile pins.
pub fn is_exact(wanted: &str) -> bool {
    semver(wanted).is_some() || wanted.starts_with("dev:")
}

/// Picks the version a reference asks for among the published ones: an exact version, the
/// newest of a partial version (`1.2`, `1`), the highest version (`volatile`), or a development
/// label (`dev:label`).
pub fn select<'a>(wanted: &str, published: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let published: Vec<&str> = published.into_iter().collect();
    if wanted.starts_with("dev:") {
        return published.into_iter().find(|v| *v == wanted);
    }
    let prefix: Vec<u64> = if wanted == "volatile" {
        Vec::new()
    } else {
        let parts: Option<Vec<u64>> = wanted.split('.').map(|p| p.parse().ok()).collect();
        let parts = parts?;
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        parts
    };
    published
        .into_iter()
        .filter_map(|v| semver(v).map(|s| (s, v)))
        .filter(|((a, b, c), _)| prefix.iter().zip([a, b, c]).all(|(p, x)| p == x))
        .max_by_key(|(s, _)| *s)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_exact_partial_volatile_and_dev_versions() {
        let published = ["1.2.3", "1.2.10", "1.3.0", "2.0.0", "dev:alpha", "notes"];
        assert_eq!(select("1.2.3", published), Some("1.2.3"));
        assert_eq!(select("1.2", published), Some("1.2.10"));
        assert_eq!(select("1", published), Some("1.3.0"));
        assert_eq!(select("volatile", published), Some("2.0.0"));
        assert_eq!(select("dev:alpha", published), Some("dev:alpha"));
        assert_eq!(select("dev:beta", published), None);
        assert_eq!(select("3", published), None);
        assert_eq!(select("1.2.3.4", published), None);
    }

    #[test]
    fn tells_exact_from_floating_references() {
        assert!(is_exact("1.2.3"));
        assert!(is_exact("dev:alpha"));
        assert!(!is_exact("1.2"));
        assert!(!is_exact("volatile"));
    }
}
