//! Plain-word pieces of messages: type names, lists, quoting, "did you mean".

use orrery_yaml::{Node, Value};

use crate::schema::{types, Literal};

/// "a" or "an" before a word (titles such as "step", "executor invocation", "`run` step").
pub fn article(word: &str) -> &'static str {
    let first = word.trim_start_matches('`').chars().next().unwrap_or('x');
    if "aeiouAEIOU".contains(first) {
        "an"
    } else {
        "a"
    }
}

/// The types of a `type` bit set: "a string or a list".
pub fn types(bits: u8) -> String {
    if bits == types::ALL {
        return "any value".into();
    }
    let mut parts = Vec::new();
    let named = [
        (types::STRING, "a string"),
        (types::BOOLEAN, "a boolean"),
        (types::NUMBER, "a number"),
        (types::INTEGER, "an integer"),
        (types::ARRAY, "a list"),
        (types::OBJECT, "a map"),
        (types::NULL, "empty"),
    ];
    let mut left = bits;
    for (mask, name) in named {
        if left & mask == mask {
            parts.push(name.to_string());
            left &= !mask;
        }
    }
    or_list(&parts)
}

/// What a value is, for "found …": "a string", "a list", "nothing".
pub fn found(node: &Node) -> String {
    match &node.value {
        Value::Null => "nothing".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Int(_) => "an integer".into(),
        Value::Float(_) => "a number".into(),
        Value::Str(_) => "a string".into(),
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a map".into(),
    }
}

/// A string value in backticks, shortened when long.
pub fn quoted(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let short: String = line.chars().take(40).collect();
    if short.len() < text.len() {
        format!("`{short}…`")
    } else {
        format!("`{short}`")
    }
}

/// An `enum` value as written in a message.
pub fn literal(value: &Literal) -> String {
    match value {
        Literal::Null => "empty".into(),
        Literal::Bool(b) => format!("`{b}`"),
        Literal::Number(n) => format!("`{n}`"),
        Literal::Str(s) => format!("`{s}`"),
    }
}

fn join(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

/// "a, b or c".
pub fn or_list(items: &[String]) -> String {
    join(items, "or")
}

/// "a, b and c".
pub fn and_list(items: &[String]) -> String {
    join(items, "and")
}

/// "`key` or `keys`".
pub fn either(keys: &[String]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    or_list(&quoted)
}

/// A label-sized version of an expectation: the part before any parenthesis.
pub fn short(expected: &str) -> String {
    expected
        .split(" (or ")
        .next()
        .unwrap_or(expected)
        .trim()
        .to_string()
}

/// The candidate a mistyped word most likely meant: `-`/`_` and case differences are free, and
/// at most one edit (two for words of five or more letters) may separate them.
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

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters.
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
    fn closest_finds_typos_and_separator_mixups() {
        let keys = ["steps", "docker", "resource_class", "working_directory"];
        assert_eq!(closest("stepz", keys), Some("steps"));
        assert_eq!(closest("dockr", keys), Some("docker"));
        assert_eq!(closest("resource-class", keys), Some("resource_class"));
        assert_eq!(closest("environment", keys), None);
        assert_eq!(closest("ab", ["cd"]), None);
    }

    #[test]
    fn lists_read_as_sentences() {
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(or_list(&items(&["a", "b", "c"])), "a, b or c");
        assert_eq!(and_list(&items(&["a"])), "a");
        assert_eq!(types(types::INTEGER), "an integer");
        assert_eq!(types(types::OBJECT | types::NULL), "a map or empty");
    }
}
