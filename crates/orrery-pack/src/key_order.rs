//! The order `circleci config pack` prints map keys in: the official CLI writes YAML with Go's
//! yaml.v3, whose key sort is "natural": runs of digits compare as numbers, and at the first
//! difference a letter sorts before a non-letter (unless a digit run is in progress, where the
//! letter ends the shorter number and sorts after). So `GO_TAGS < GO111MODULE < GOTESTSUM`.

use std::cmp::Ordering;

/// Compares two keys as yaml.v3 sorts them.
pub fn compare_keys(a: &str, b: &str) -> Ordering {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut in_digits = false;
    for i in 0..a.len().min(b.len()) {
        let (x, y) = (a[i], b[i]);
        if x == y {
            in_digits = x.is_ascii_digit();
            continue;
        }
        let (x_letter, y_letter) = (x.is_alphabetic(), y.is_alphabetic());
        if x_letter && y_letter {
            return x.cmp(&y);
        }
        if x_letter || y_letter {
            let a_first = if in_digits { x_letter } else { y_letter };
            return if a_first {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let number = |s: &[char]| {
            let digits: String = s[i..].iter().take_while(|c| c.is_ascii_digit()).collect();
            (digits.parse::<u128>().unwrap_or(0), digits.len())
        };
        let (x_number, x_len) = number(&a);
        let (y_number, y_len) = number(&b);
        // A run that continues digits before it with a leading zero compares as a number
        // only when those digits are not all zeros, as yaml.v3 does.
        let zero_led = (x == '0' || y == '0')
            && a[..i]
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .any(|c| *c != '0');
        let (x_number, y_number) = if zero_led {
            (1, 1)
        } else {
            (x_number, y_number)
        };
        return x_number
            .cmp(&y_number)
            .then(x_len.cmp(&y_len))
            .then(x.cmp(&y));
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort_by(|a, b| compare_keys(a, b));
        keys
    }

    #[test]
    fn sorts_as_the_official_config_pack() {
        // The order in maniankara/vault's official packed-and-processed config.
        assert_eq!(
            sorted(&[
                "GO111MODULE",
                "CIRCLECI_CLI_VERSION",
                "GO_VERSION",
                "GOTESTSUM_VERSION",
                "GO_TAGS"
            ]),
            [
                "CIRCLECI_CLI_VERSION",
                "GO_TAGS",
                "GO_VERSION",
                "GO111MODULE",
                "GOTESTSUM_VERSION"
            ]
        );
        assert_eq!(sorted(&["a10", "a9", "a", "b"]), ["a", "a9", "a10", "b"]);
        assert_eq!(
            sorted(&["jobs", "commands", "version", "workflows"]),
            ["commands", "jobs", "version", "workflows"]
        );
    }
}
