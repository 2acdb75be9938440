//! JUnit XML test results: every `<testcase>` with its outcome, time and file, and a summary.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Passed,
    Failed,
    Error,
    Skipped,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    pub name: String,
    pub classname: String,
    pub file: Option<String>,
    pub time: f64,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub tests: usize,
    pub failures: usize,
    pub errors: usize,
    pub skipped: usize,
    pub time: f64,
    pub failing: Vec<String>,
}

/// The test cases of one JUnit document (any nesting of `<testsuites>`/`<testsuite>`).
pub fn parse(text: &str) -> Result<Vec<TestCase>, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for case in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let suite_file = case
            .ancestors()
            .filter(|a| a.has_tag_name("testsuite"))
            .find_map(|s| s.attribute("file"));
        let has = |tag: &str| case.children().any(|c| c.has_tag_name(tag));
        out.push(TestCase {
            name: case.attribute("name").unwrap_or_default().to_string(),
            classname: case.attribute("classname").unwrap_or_default().to_string(),
            file: case.attribute("file").or(suite_file).map(str::to_string),
            time: case
                .attribute("time")
                .and_then(|t| t.replace(',', "").parse().ok())
                .unwrap_or(0.0),
            outcome: if has("failure") {
                Outcome::Failed
            } else if has("error") {
                Outcome::Error
            } else if has("skipped") {
                Outcome::Skipped
            } else {
                Outcome::Passed
            },
        });
    }
    Ok(out)
}

pub fn summarize(cases: &[TestCase]) -> Summary {
    let mut s = Summary {
        tests: cases.len(),
        ..Summary::default()
    };
    for c in cases {
        s.time += c.time;
        match c.outcome {
            Outcome::Failed => s.failures += 1,
            Outcome::Error => s.errors += 1,
            Outcome::Skipped => s.skipped += 1,
            Outcome::Passed => {}
        }
        if matches!(c.outcome, Outcome::Failed | Outcome::Error) {
            s.failing.push(if c.classname.is_empty() {
                c.name.clone()
            } else {
                format!("{}.{}", c.classname, c.name)
            });
        }
    }
    s
}

impl Summary {
    pub fn line(&self) -> String {
        format!(
            "{} tests, {} failures, {} errors, {} skipped in {:.2}s",
            self.tests, self.failures, self.errors, self.skipped, self.time
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "tests": self.tests, "failures": self.failures, "errors": self.errors,
            "skipped": self.skipped, "time": self.time, "failing": self.failing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_cases_and_outcomes() {
        let xml = r#"<?xml version="1.0"?>
<testsuites><testsuite name="s" file="tests/a.py">
  <testcase classname="a" name="ok" time="1.5"/>
  <testcase classname="a" name="bad" time="0.5"><failure message="x"/></testcase>
  <testcase classname="a" name="boom" file="tests/b.py"><error/></testcase>
  <testcase classname="a" name="later"><skipped/></testcase>
</testsuite></testsuites>"#;
        let cases = parse(xml).unwrap();
        assert_eq!(cases[0].file.as_deref(), Some("tests/a.py"));
        assert_eq!(cases[2].file.as_deref(), Some("tests/b.py"));
        let s = summarize(&cases);
        assert_eq!((s.tests, s.failures, s.errors, s.skipped), (4, 1, 1, 1));
        assert_eq!(s.failing, ["a.bad", "a.boom"]);
        assert!((s.time - 2.0).abs() < 1e-9);
        assert!(parse("<not-closed").is_err());
    }
}
