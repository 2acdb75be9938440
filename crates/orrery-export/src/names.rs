//! Names the engines accept: DNS labels (RFC 1123: lowercase letters, digits and `-`, at most
//! 63 characters, starting and ending with a letter or digit), unique within a run.

use std::collections::BTreeSet;

/// `text` as a DNS label of at most `max` characters (`job` when nothing usable is left).
pub fn label(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(max).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("job");
    }
    out
}

/// Hands out unique labels for the run's jobs: the job's name, else workflow and name, else
/// numbered.
#[derive(Default)]
pub struct Unique {
    taken: BTreeSet<String>,
}

/// Job ids leave room for a prefix and suffixes (`-svc-1`) inside 63 characters.
const ID_MAX: usize = 40;

impl Unique {
    pub fn take(&mut self, workflow: &str, name: &str) -> String {
        let first = label(name, ID_MAX);
        let candidates = [first.clone(), label(&format!("{workflow}-{name}"), ID_MAX)];
        for c in candidates {
            if self.taken.insert(c.clone()) {
                return c;
            }
        }
        let mut n = 2;
        loop {
            let c = format!("{}-{n}", label(name, ID_MAX - 4));
            if self.taken.insert(c.clone()) {
                return c;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dns_labels() {
        assert_eq!(label("Build_and Test.py3.10", 63), "build-and-test-py3-10");
        assert_eq!(label("--x--", 63), "x");
        assert_eq!(label("✓", 63), "job");
        assert_eq!(label("abcdef-ghij", 7), "abcdef");
    }

    #[test]
    fn unique_ids_fall_back_to_workflow_then_numbers() {
        let mut u = Unique::default();
        assert_eq!(u.take("ci", "test"), "test");
        assert_eq!(u.take("nightly", "test"), "nightly-test");
        assert_eq!(u.take("nightly", "test"), "test-2");
    }
}
