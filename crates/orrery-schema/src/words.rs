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
        Value::Int(_) | Value::BigInt(_) => "an integer".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_sentences() {
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(or_list(&items(&["a", "b", "c"])), "a, b or c");
        assert_eq!(and_list(&items(&["a"])), "a");
        assert_eq!(types(types::INTEGER), "an integer");
        assert_eq!(types(types::OBJECT | types::NULL), "a map or empty");
    }
}
