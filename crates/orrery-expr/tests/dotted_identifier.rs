//! `is_dotted_identifier`, the template fast path, answers only where parsing would find that
//! very identifier: checked over every short string of the characters that matter.

use orrery_expr::expr::{is_dotted_identifier, parse};

fn parses_as_itself(s: &str) -> bool {
    parse(s).ok().is_some_and(|e| e.as_identifier() == Some(s))
}

#[test]
fn a_dotted_identifier_parses_as_that_identifier() {
    let alphabet = ['a', 'Z', '1', '-', '_', '?', '.', ' ', '(', '='];
    let mut strings = vec![String::new()];
    let mut accepted = 0;
    for _ in 0..5 {
        strings = strings
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        for s in &strings {
            if is_dotted_identifier(s) {
                accepted += 1;
                assert!(parses_as_itself(s), "{s:?}");
            }
        }
    }
    assert!(accepted > 1000, "only {accepted} accepted");
}

#[test]
fn template_names_are_dotted_identifiers() {
    for name in [
        "parameters.target",
        "parameters.cache-version",
        "pipeline.git.branch",
        "pipeline.parameters.run_it?",
        "matrix.os",
    ] {
        assert!(is_dotted_identifier(name), "{name}");
        assert!(parses_as_itself(name), "{name}");
    }
    for other in [
        "parameters",
        "a..b",
        "a.",
        ".a",
        "1.a",
        "a. b",
        "a.b == c",
        "not.a b",
    ] {
        assert!(!is_dotted_identifier(other), "{other}");
    }
}
