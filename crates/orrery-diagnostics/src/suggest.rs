//! "Did you mean": the nearest known name to a misspelt one.

/// The known name a mistyped one most likely meant: case and `-`/`_` differences are free, and
/// at most one edit (two for words of five or more characters) may separate them; an edit is
/// an insertion, a deletion, a substitution or a swap of two neighbouring characters.
pub fn suggest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    closest(word, known.iter().copied())
}

/// [`suggest`] over any list of candidates.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normal = |s: &str| s.to_lowercase().replace('-', "_");
    let typed_normal = normal(typed);
    let limit = if typed.chars().count() >= 5 { 2 } else { 1 };
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == typed {
            continue;
        }
        let distance = edit_distance(&typed_normal, &normal(candidate));
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal-string-alignment distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_only() {
        let known = ["docker", "machine", "steps"];
        assert_eq!(suggest("dockr", &known), Some("docker"));
        assert_eq!(suggest("stepz", &known), Some("steps"));
        assert_eq!(suggest("resource_class", &known), None);
        assert_eq!(suggest("Docker", &known), Some("docker"));
        assert_eq!(suggest("sptes", &known), Some("steps"));
        assert_eq!(
            closest("resource-class", ["resource_class"]),
            Some("resource_class")
        );
        assert_eq!(closest("ab", ["cd"]), None);
    }
}
