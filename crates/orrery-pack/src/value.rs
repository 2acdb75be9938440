//! Value helpers: span-blind comparison and key sorting.

use crate::key_order::compare_keys;

use orrery_yaml::{Node, Value};

/// `true` when `a` and `b` hold the same data: spans are ignored and maps compare as unordered
/// (keys are unique in a map), sequences in order. This is how packed output is compared with
/// the official one.
pub fn data_eq(a: &Node, b: &Node) -> bool {
    value_eq(&a.value, &b.value)
}

fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::BigInt(x), Value::BigInt(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| data_eq(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| data_eq(v, w)))
        }
        _ => false,
    }
}

/// Sorts the keys of every map in `node` as `config pack` prints them (see [`compare_keys`]).
pub(crate) fn sort_keys(node: &mut Node) {
    match &mut node.value {
        Value::Map(map) => {
            map.entries_mut()
                .sort_by(|a, b| compare_keys(&a.key, &b.key));
            map.values_mut().for_each(sort_keys);
        }
        Value::Seq(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orrery_diagnostics::FileId;
    use orrery_yaml::{parse, Limits};

    fn yaml(text: &str) -> Node {
        parse(FileId(0), text, Limits::default()).root.unwrap()
    }

    #[test]
    fn maps_compare_unordered_and_sequences_ordered() {
        assert!(data_eq(
            &yaml("a: 1\nb: [x, y]\n"),
            &yaml("b: [x, y]\na: 1\n")
        ));
        assert!(!data_eq(&yaml("b: [x, y]\n"), &yaml("b: [y, x]\n")));
        assert!(!data_eq(&yaml("a: 1\n"), &yaml("a: '1'\n")));
        assert!(!data_eq(&yaml("a: 1\n"), &yaml("a: 1\nb: 2\n")));
    }

    #[test]
    fn sorts_nested_keys() {
        let mut node = yaml("b: {z: 1, y: [{d: 1, c: 2}]}\na: 0\n");
        sort_keys(&mut node);
        let map = node.as_map().unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
        let inner = map.get("b").unwrap().as_map().unwrap();
        assert_eq!(inner.keys().collect::<Vec<_>>(), ["y", "z"]);
        let item = inner.get("y").unwrap().as_seq().unwrap()[0]
            .as_map()
            .unwrap();
        assert_eq!(item.keys().collect::<Vec<_>>(), ["c", "d"]);
    }
}
