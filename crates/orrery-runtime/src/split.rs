//! `circleci tests split`: this node's share of a list of tests, by name, by file size or by
//! recorded timings, deterministic for a given input.

use std::collections::BTreeMap;

/// Round-robin over the sorted names.
pub fn by_name(items: &[String], index: usize, total: usize) -> Vec<String> {
    let mut sorted: Vec<String> = items.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % total.max(1) == index)
        .map(|(_, s)| s)
        .collect()
}

/// Heaviest first onto the lightest node (ties: name, lowest node); this node's items by name.
pub fn by_weight(
    items: &[String],
    weight: &dyn Fn(&str) -> f64,
    index: usize,
    total: usize,
) -> Vec<String> {
    let total = total.max(1);
    let mut weighted: Vec<(f64, &String)> = items.iter().map(|i| (weight(i), i)).collect();
    weighted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    weighted.dedup_by(|a, b| a.1 == b.1);
    let mut load = vec![0.0f64; total];
    let mut mine = Vec::new();
    for (w, item) in weighted {
        let node = (0..total)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        load[node] += w;
        if node == index {
            mine.push(item.clone());
        }
    }
    mine.sort();
    mine
}

/// Timings recorded from earlier runs: `file`, `classname` and `testname` tables of seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings {
    pub tables: BTreeMap<String, BTreeMap<String, f64>>,
}

impl Timings {
    pub fn from_json(v: &serde_json::Value) -> Timings {
        let mut tables = BTreeMap::new();
        if let Some(obj) = v.as_object() {
            for (kind, table) in obj {
                let t: BTreeMap<String, f64> = table
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                tables.insert(kind.clone(), t);
            }
        }
        Timings { tables }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.tables).unwrap_or_default()
    }

    /// Adds the cases of a run (newest data replaces older).
    pub fn record(&mut self, cases: &[crate::junit::TestCase]) {
        // A file's time is the sum of its cases in this run.
        let mut files: BTreeMap<String, f64> = BTreeMap::new();
        for c in cases {
            if let Some(f) = &c.file {
                *files.entry(f.clone()).or_insert(0.0) += c.time;
            }
        }
        if !files.is_empty() {
            self.tables
                .entry("filename".into())
                .or_default()
                .extend(files);
        }
        for c in cases {
            if !c.classname.is_empty() {
                self.tables
                    .entry("classname".into())
                    .or_default()
                    .insert(c.classname.clone(), c.time);
            }
            self.tables
                .entry("testname".into())
                .or_default()
                .insert(c.name.clone(), c.time);
        }
    }

    /// The table to use: the one named, or (autodetect) the first that knows any of `items`.
    pub fn table(&self, kind: &str, items: &[String]) -> Option<&BTreeMap<String, f64>> {
        if kind != "autodetect" {
            return self.tables.get(kind);
        }
        ["filename", "classname", "testname"]
            .iter()
            .filter_map(|k| self.tables.get(*k))
            .find(|t| items.iter().any(|i| t.contains_key(i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn name_split_covers_everything_once() {
        let items = names(&["d", "a", "c", "b", "e"]);
        let all: Vec<String> = (0..2).flat_map(|i| by_name(&items, i, 2)).collect();
        assert_eq!(by_name(&items, 0, 2), ["a", "c", "e"]);
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn weight_split_balances() {
        let items = names(&["big", "s1", "s2", "s3"]);
        let w = |n: &str| if n == "big" { 10.0 } else { 3.0 };
        assert_eq!(by_weight(&items, &w, 0, 2), ["big"]);
        assert_eq!(by_weight(&items, &w, 1, 2), ["s1", "s2", "s3"]);
    }

    #[test]
    fn a_run_replaces_the_times_of_the_files_it_ran() {
        let case = |file: &str, name: &str, time: f64| crate::junit::TestCase {
            name: name.into(),
            classname: String::new(),
            file: Some(file.into()),
            time,
            outcome: crate::junit::Outcome::Passed,
        };
        let mut timings = Timings::default();
        timings.record(&[case("a.py", "t1", 1.0), case("b.py", "t2", 4.0)]);
        timings.record(&[case("a.py", "t1", 2.0), case("a.py", "t3", 0.5)]);
        let files = &timings.tables["filename"];
        assert_eq!((files["a.py"], files["b.py"]), (2.5, 4.0));
        assert!(!timings.tables.contains_key("classname"));
        assert_eq!(timings.tables["testname"]["t1"], 2.0);
    }
}
