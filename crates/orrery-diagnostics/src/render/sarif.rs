//! SARIF 2.1.0, the format GitHub code scanning uploads: one run, the rules that fired, one
//! result per diagnostic with its region, related places and fixes.

use serde_json::{json, Value};

use super::Place;
use crate::{Applicability, Diagnostic, Severity, SourceDb};

/// What SARIF says about the tool.
pub struct ToolInfo<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub information_uri: Option<&'a str>,
}

/// What SARIF says about one rule (a diagnostic code).
pub struct RuleInfo {
    pub code: String,
    /// Kebab-case name, when the code has one.
    pub name: Option<String>,
    pub summary: String,
    pub help_uri: Option<String>,
    pub default_severity: Severity,
}

/// `describe` tells what it knows of a code; codes it does not know get a bare rule entry.
pub fn render_sarif(
    db: &SourceDb,
    diagnostics: &[Diagnostic],
    tool: &ToolInfo<'_>,
    describe: &dyn Fn(&str) -> Option<RuleInfo>,
) -> Value {
    let mut codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .map(|code| match describe(code) {
            Some(info) => {
                let mut rule = json!({
                    "id": info.code,
                    "shortDescription": { "text": info.summary },
                    "defaultConfiguration": { "level": level(info.default_severity) },
                });
                if let Some(name) = info.name {
                    rule["name"] = json!(name);
                }
                if let Some(uri) = info.help_uri {
                    rule["helpUri"] = json!(uri);
                }
                rule
            }
            None => json!({ "id": code }),
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut result = json!({
                "ruleId": d.code,
                "ruleIndex": codes.binary_search(&d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": { "text": message(d) },
            });
            if let Some(place) = d.primary.as_ref().and_then(|l| Place::of(db, l.span)) {
                result["locations"] = json!([location(&place, None)]);
            }
            let related: Vec<Value> = d
                .secondary
                .iter()
                .filter_map(|l| Some(location(&Place::of(db, l.span)?, Some(&l.message))))
                .collect();
            if !related.is_empty() {
                result["relatedLocations"] = json!(related);
            }
            if let Some(fix) = &d.fix {
                let replacements: Vec<Value> = fix
                    .edits
                    .iter()
                    .filter_map(|e| {
                        let place = Place::of(db, e.span)?;
                        Some((
                            place.file.to_string(),
                            json!({
                                "deletedRegion": region(&place),
                                "insertedContent": { "text": e.replacement },
                            }),
                        ))
                    })
                    .map(|(file, replacement)| {
                        json!({
                            "artifactLocation": { "uri": uri(&file) },
                            "replacements": [replacement],
                        })
                    })
                    .collect();
                let mut description = fix.title.clone();
                if fix.applicability == Applicability::Unsafe {
                    description.push_str(" (review before applying)");
                }
                result["fixes"] = json!([{
                    "description": { "text": description },
                    "artifactChanges": replacements,
                }]);
            }
            result
        })
        .collect();
    let mut driver = json!({ "name": tool.name, "version": tool.version, "rules": rules });
    if let Some(uri) = tool.information_uri {
        driver["informationUri"] = json!(uri);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "results": results,
        }],
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn message(d: &Diagnostic) -> String {
    match &d.help {
        Some(help) => format!("{} ({help})", d.message),
        None => d.message.clone(),
    }
}

fn location(place: &Place<'_>, label: Option<&str>) -> Value {
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(place.file) },
            "region": region(place),
        }
    });
    if let Some(text) = label {
        location["message"] = json!({ "text": text });
    }
    location
}

fn region(place: &Place<'_>) -> Value {
    json!({
        "startLine": place.start.line,
        "startColumn": place.start.column,
        "endLine": place.end.line,
        "endColumn": place.end.column,
    })
}

/// A relative URI reference for a path: separators kept, other reserved bytes escaped.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fix, Span};

    #[test]
    fn results_point_at_regions_and_carry_fixes() {
        let mut db = SourceDb::new();
        let f = db.add(
            ".circleci/my config.yml",
            "version: 2.1\nx: circleci/node:14\n",
        );
        let d = Diagnostic::warning("L1101", "deprecated image")
            .at(Span::new(f, 16, 32), "here")
            .with_fix(Fix::replace(
                "use cimg/node:14.0",
                Span::new(f, 16, 32),
                "cimg/node:14.0",
            ));
        let tool = ToolInfo {
            name: "orrery",
            version: "0.1.0",
            information_uri: None,
        };
        let sarif = render_sarif(&db, &[d], &tool, &|code| {
            Some(RuleInfo {
                code: code.to_string(),
                name: Some("deprecated-image".into()),
                summary: "an image from a deprecated namespace".into(),
                help_uri: None,
                default_severity: Severity::Warning,
            })
        });
        let run = &sarif["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["name"],
            "deprecated-image"
        );
        let result = &run["results"][0];
        assert_eq!(result["level"], "warning");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"]["uri"],
            ".circleci/my%20config.yml"
        );
        assert_eq!(location["region"]["startLine"], 2);
        assert_eq!(location["region"]["startColumn"], 4);
        assert_eq!(
            result["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"],
            "cimg/node:14.0"
        );
    }
}
