//! Feeds deterministic pseudo-random inputs to the parsers and evaluators:
//! nothing may panic (this crate is fuzzed).

use std::collections::HashMap;

use orrery_expr::expr::{parse, Value};
use orrery_expr::template::{parse_tag_body, parse_template};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Fragments that make random inputs hit interesting paths.
const PIECES: &[&str] = &[
    "<<",
    ">>",
    "<<#",
    "<<^",
    "<</",
    "\\<<",
    "\\\\<<",
    "\\",
    " ",
    "\n",
    "\r\n",
    "\t",
    "a",
    "foo",
    "parameters.x",
    "(",
    ")",
    "!",
    "not",
    "and",
    "or",
    "AND",
    "==",
    "!=",
    "=",
    ">",
    ">=",
    "<",
    "<=",
    "\"",
    "\"s\"",
    "/",
    "/a+/",
    "\\/",
    "\\u",
    "\\x",
    "matches",
    "starts-with",
    "contains",
    "true",
    "false",
    "0",
    "9223372036854775808",
    "12",
    ".",
    "..",
    "-",
    "_",
    "?",
    "é",
    "😀",
    "⏰",
    "(?i)",
    "[",
    "{",
    "*",
    "x{99999}",
];

fn gen(rng: &mut Lcg) -> String {
    let mut s = String::new();
    let n = rng.next() % 24;
    for _ in 0..n {
        match rng.next() % 4 {
            0 => {
                // raw bytes, made into (lossy) UTF-8
                let bytes: Vec<u8> = (0..rng.next() % 6).map(|_| rng.next() as u8).collect();
                s.push_str(&String::from_utf8_lossy(&bytes));
            }
            _ => s.push_str(PIECES[(rng.next() as usize) % PIECES.len()]),
        }
    }
    s
}

fn env() -> HashMap<String, Value> {
    let mut env = HashMap::new();
    env.insert("foo".to_string(), Value::Str("food".to_string()));
    env.insert("a".to_string(), Value::Int(3));
    env.insert("parameters.x".to_string(), Value::Undefined);
    env
}

#[test]
fn random_inputs_never_panic() {
    let env = env();
    let mut rng = Lcg(0x5eed);
    for _ in 0..5000 {
        let input = gen(&mut rng);
        if let Ok(e) = parse(&input) {
            let _ = e.eval(&env);
            let _ = e.references();
        } else if let Err(err) = parse(&input) {
            let _ = err.render(&input);
        }
        match parse_template(&input) {
            Ok(t) => {
                let _ = t.whole_tag();
                let _ = t.render::<()>(&mut |b, _, _| Ok(b.to_string()), &mut |_, _, _| Ok(true));
                let _ = t.render::<()>(&mut |b, _, _| Ok(b.to_string()), &mut |_, _, _| Ok(false));
                for s in &t.segments {
                    if let orrery_expr::template::Segment::Tag { body, .. } = s {
                        let _ = parse_tag_body(body);
                    }
                }
            }
            Err(err) => {
                let _ = err.render(&input);
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Lcg(42);
    for _ in 0..3000 {
        let len = rng.next() % 64;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let input = String::from_utf8_lossy(&bytes);
        if let Err(e) = parse(&input) {
            let _ = e.render(&input);
        }
        let _ = parse_template(&input);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = "(".repeat(100_000);
    assert!(parse(&deep).is_err());
    let nots = "not ".repeat(100_000) + "true";
    assert!(parse(&nots).is_err());
    // Long flat chains are fine (stored flat, evaluated iteratively).
    let chain = vec!["1"; 100_000].join(" == ");
    let e = parse(&chain).unwrap();
    let _ = e.eval(&HashMap::<String, Value>::new());
    let chain = vec!["false"; 100_000].join(" or ");
    assert_eq!(
        parse(&chain)
            .unwrap()
            .eval(&HashMap::<String, Value>::new()),
        Ok(Value::Bool(false))
    );
    let sections = "<<# a >>".repeat(10_000);
    assert!(parse_template(&sections).is_err());
    let closed = "<<# a >>".repeat(64) + &"<</ a >>".repeat(64);
    assert!(parse_template(&closed).is_ok());
}

#[test]
fn error_offsets_stay_in_bounds() {
    let mut rng = Lcg(7);
    for _ in 0..3000 {
        let input = gen(&mut rng);
        if let Err(e) = parse(&input) {
            assert!(
                e.offset <= input.len() && e.offset + e.len <= input.len(),
                "{input:?} {e:?}"
            );
            assert!(input.is_char_boundary(e.offset), "{input:?} {e:?}");
        }
        if let Err(e) = parse_template(&input) {
            assert!(
                e.offset <= input.len() && e.offset + e.len <= input.len(),
                "{input:?} {e:?}"
            );
        }
    }
}
