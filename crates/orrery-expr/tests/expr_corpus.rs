//! Data-driven check of the expression language against
//! `tests/fixtures/expr-cases.txt` (cases transcribed from CircleCI's public
//! cross-language corpus; see the fixture's header).

use std::collections::HashMap;

use orrery_expr::expr::{parse, Value};

#[derive(Debug, Default)]
struct Case {
    name: String,
    expr: String,
    env: HashMap<String, Value>,
    want: Option<Value>,
    truthy: Option<bool>,
    error: Option<(usize, String)>,
}

/// Expands `{c*N}` into N copies of c.
fn expand(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let close = tail.find('}');
        let parsed = close.and_then(|j| {
            let inner = &tail[1..j];
            let (c, n) = inner.split_once('*')?;
            let mut chars = c.chars();
            let ch = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            Some((ch, n.parse::<usize>().ok()?, j))
        });
        match parsed {
            Some((ch, n, j)) => {
                out.extend(std::iter::repeat_n(ch, n));
                rest = &tail[j + 1..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn parse_value(s: &str) -> Value {
    let s = s.trim();
    match s {
        "nil" => Value::Undefined,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ if s.starts_with('"') && s.ends_with('"') && s.len() >= 2 => {
            let inner = &s[1..s.len() - 1];
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            Value::Str(out)
        }
        _ if s.starts_with('/') && s.ends_with('/') && s.len() >= 2 => {
            Value::Pattern(expand(&s[1..s.len() - 1]))
        }
        _ => Value::Int(s.parse().unwrap_or_else(|_| panic!("bad value {s:?}"))),
    }
}

fn load() -> Vec<Case> {
    let text = include_str!("fixtures/expr-cases.txt");
    let mut cases: Vec<Case> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("case ") {
            cases.push(Case {
                name: name.trim().to_string(),
                ..Case::default()
            });
            continue;
        }
        let case = cases.last_mut().expect("line before first case");
        let (key, value) = line.split_once(':').expect("key: value");
        let value = value.strip_prefix(' ').unwrap_or(value);
        match key {
            "expr" => case.expr = expand(value),
            "env" => {
                for binding in value.split("; ") {
                    let (k, v) = binding.split_once('=').expect("name=value");
                    case.env.insert(k.trim().to_string(), parse_value(v));
                }
            }
            "want" => case.want = Some(parse_value(value)),
            "truthy" => case.truthy = Some(value.trim() == "true"),
            "error" => {
                let (pos, msg) = value.split_once(' ').expect("pos message");
                case.error = Some((pos.parse().expect("char pos"), msg.to_string()));
            }
            other => panic!("unknown key {other:?} in case {}", case.name),
        }
    }
    cases
}

fn check(case: &Case) -> Result<(), String> {
    let result = parse(&case.expr).and_then(|e| e.eval(&case.env));
    match (&case.error, result) {
        (Some((pos, msg)), Err(err)) => {
            let char_pos = case
                .expr
                .get(..err.offset)
                .map(|s| s.chars().count())
                .ok_or_else(|| format!("offset {} not on a char boundary", err.offset))?;
            if &err.message != msg || char_pos != *pos {
                return Err(format!(
                    "want error {msg:?} at {pos}, got {:?} at {char_pos}",
                    err.message
                ));
            }
            // The rendered layout must at least quote the expression line.
            let rendered = err.render(&case.expr);
            if !rendered.starts_with(&format!("{msg}:\n")) {
                return Err(format!("bad rendering {rendered:?}"));
            }
            Ok(())
        }
        (Some((pos, msg)), Ok(v)) => Err(format!("want error {msg:?} at {pos}, got value {v:?}")),
        (None, Err(err)) => Err(format!("unexpected error {err:?}")),
        (None, Ok(v)) => {
            if let Some(want) = &case.want {
                if &v != want {
                    return Err(format!("want {want:?}, got {v:?}"));
                }
            }
            if let Some(t) = case.truthy {
                if v.is_truthy() != t {
                    return Err(format!("want truthy {t}, got {v:?}"));
                }
            }
            if case.want.is_none() && case.truthy.is_none() {
                return Err("case has no expectation".to_string());
            }
            Ok(())
        }
    }
}

#[test]
fn corpus_cases() {
    let cases = load();
    assert!(cases.len() > 400, "only {} cases loaded", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = check(case) {
            failures.push(format!("{} ({:?}): {e}", case.name, case.expr));
        }
    }
    eprintln!(
        "expression corpus: {} cases, {} passed, {} failed",
        cases.len(),
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn error_render_layout() {
    let src = "2 > 5 && false";
    let err = parse(src).unwrap_err();
    assert_eq!(
        err.render(src),
        "Unexpected character '&':\n2 > 5 && false\n      ^"
    );
    let src = "foo and bar baz";
    let err = parse(src).unwrap_err();
    assert_eq!(
        err.render(src),
        "Unexpected additional input, found \"baz\", expected EOF:\nfoo and bar baz\n            ^^^"
    );
    // Only the line holding the error is quoted.
    let src = "foo and\n  bar baz";
    let err = parse(src).unwrap_err();
    assert_eq!(
        err.render(src),
        "Unexpected additional input, found \"baz\", expected EOF:\n  bar baz\n      ^^^"
    );
    // Unknown variable, the CLI golden shape.
    let src = "pipeline.parameters.bug";
    let env: HashMap<String, Value> = HashMap::new();
    let err = parse(src).unwrap().eval(&env).unwrap_err();
    assert_eq!(
        err.render(src),
        "Referred to a variable \"pipeline.parameters.bug\" that does not exist:\npipeline.parameters.bug\n^^^^^^^^^^^^^^^^^^^^^^^"
    );
    // At end of input the marker is one caret past the end.
    let src = "foo or";
    let err = parse(src).unwrap_err();
    assert_eq!(
        err.render(src),
        "Expected expression, found \"\":\nfoo or\n      ^"
    );
    // Columns are counted in characters.
    let src = "\"é\" == £";
    let err = parse(src).unwrap_err();
    assert_eq!(
        err.render(src),
        "Unexpected character '£':\n\"é\" == £\n       ^"
    );
}

#[test]
fn spec_examples() {
    use orrery_expr::expr::{is_identifier, render_text};
    let mut env: HashMap<String, Value> = HashMap::new();
    env.insert("pipeline.git.branch".into(), Value::Str("main".into()));
    env.insert("pipeline.git.tag".into(), Value::Undefined);
    env.insert("foo".into(), Value::Bool(true));
    env.insert("bar".into(), Value::Bool(false));
    let eval = |s: &str| parse(s).unwrap().eval(&env).unwrap();
    assert_eq!(
        eval("pipeline.git.branch == \"main\" and 10 or 1"),
        Value::Int(10)
    );
    assert_eq!(
        eval("pipeline.git.tag or \"none\""),
        Value::Str("none".into())
    );
    assert_eq!(eval("not foo and bar"), Value::Bool(false));
    assert_eq!(eval("not (foo and bar)"), Value::Bool(true));
    assert_eq!(eval("NOT foo OR TRUE"), Value::Bool(true));
    assert_eq!(
        eval("\"a\\\"b\\\\c\\n\" == \"a\\\"b\\\\c\\n\""),
        Value::Bool(true)
    );
    assert_eq!(eval("\"a/b\" matches /a\\/b/"), Value::Bool(true));
    assert_eq!(eval("0"), Value::Int(0));
    assert!(Value::Int(0).is_truthy() && Value::Str(String::new()).is_truthy());
    assert!(!Value::Undefined.is_truthy() && !Value::Bool(false).is_truthy());
    assert_eq!(
        parse("a = b").unwrap_err().message,
        "Incomplete token, expected \"==\", found ' '"
    );
    assert_eq!(
        parse("1.5").unwrap_err().message,
        "Unexpected character '.'"
    );
    assert_eq!(
        parse("parameters.foo").unwrap().as_identifier(),
        Some("parameters.foo")
    );
    assert_eq!(parse("(parameters.foo)").unwrap().as_identifier(), None);
    assert_eq!(parse("a-b").unwrap().as_identifier(), Some("a-b"));
    assert_eq!(
        parse("a == b or c").unwrap().references(),
        vec![("a", 0, 1), ("b", 5, 1), ("c", 10, 1)]
    );
    for good in ["a", "parameters.foo", "a-b_c.d1", "x?"] {
        assert!(is_identifier(good), "{good}");
    }
    for bad in [
        "", "1a", "_a", "-a", ".a", "a.", "a..b", "a b", "and", "TRUE", "matches", "a:b",
    ] {
        assert!(!is_identifier(bad), "{bad}");
    }
    assert_eq!(render_text(&Value::Undefined), "<nil>");
    assert_eq!(render_text(&Value::Bool(true)), "true");
    assert_eq!(render_text(&Value::Int(-3)), "-3");
    assert_eq!(render_text(&Value::Str("x".into())), "x");
    assert_eq!(render_text(&Value::Pattern("a+".into())), "a+");
}
