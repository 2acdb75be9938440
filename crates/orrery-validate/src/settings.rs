//! Rule severities chosen by the user, in code or from the project's `.orrery.toml`.

use orrery_diagnostics::{codes, Diagnostic, FileId, Severity, Span};
use toml::de::{DeTable, DeValue};

use crate::Rule;

/// What a user can set a rule to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Off,
    Note,
    Warning,
    Error,
}

impl Level {
    /// `off`, `note` (or `info`), `warning` (or `warn`), `error`.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "allow" => Level::Off,
            "note" | "info" | "hint" => Level::Note,
            "warning" | "warn" => Level::Warning,
            "error" | "deny" => Level::Error,
            _ => return None,
        })
    }
}

/// Per-rule severity overrides; rules not mentioned keep their default.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    overrides: Vec<(&'static str, Level)>,
}

impl Settings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the rule with this code or name to `level`; `false` when there is no such rule.
    pub fn set(&mut self, code_or_name: &str, level: Level) -> bool {
        let Some(rule) = crate::rule(code_or_name) else {
            return false;
        };
        self.overrides.retain(|(code, _)| *code != rule.code);
        self.overrides.push((rule.code, level));
        true
    }

    /// Applies `top`'s levels over these (editor settings over the project's file).
    pub fn overlay(&mut self, top: &Settings) {
        for &(code, level) in &top.overrides {
            self.set(code, level);
        }
    }

    /// The severity `rule` reports with, `None` when it is off.
    pub fn severity(&self, rule: &Rule) -> Option<Severity> {
        let level = self
            .overrides
            .iter()
            .find(|(code, _)| *code == rule.code)
            .map(|(_, l)| *l);
        match level {
            None => Some(rule.severity),
            Some(Level::Off) => None,
            Some(Level::Note) => Some(Severity::Note),
            Some(Level::Warning) => Some(Severity::Warning),
            Some(Level::Error) => Some(Severity::Error),
        }
    }
}

/// The project settings file's name; the CLI looks for it next to the config and upwards.
pub const SETTINGS_FILE: &str = ".orrery.toml";

impl Settings {
    /// Reads `.orrery.toml` text:
    ///
    /// ```toml
    /// [rules]
    /// unused-job = "off"      # by name
    /// L1102 = "error"         # or by code
    /// ```
    ///
    /// Problems (bad TOML, unknown tables, rules or levels) are `E0902` diagnostics pointing
    /// into `file`; the entries that are fine still apply.
    pub fn from_toml(file: FileId, text: &str) -> (Settings, Vec<Diagnostic>) {
        let mut settings = Settings::new();
        let mut problems = Vec::new();
        let span = |range: std::ops::Range<usize>| Span::new(file, range.start, range.end);
        let table = match DeTable::parse(text) {
            Ok(table) => table.into_inner(),
            Err(e) => {
                let d = Diagnostic::error(
                    codes::SETTINGS,
                    format!("{SETTINGS_FILE} is not valid TOML: {}", e.message().trim()),
                );
                problems.push(match e.span() {
                    Some(range) => d.at(span(range), "here"),
                    None => d,
                });
                return (settings, problems);
            }
        };
        for (key, value) in table.iter() {
            if key.get_ref().as_ref() != "rules" {
                problems.push(
                    Diagnostic::error(
                        codes::SETTINGS,
                        format!("unknown section `{}`", key.get_ref()),
                    )
                    .at(span(key.span()), "not a settings section")
                    .with_help("the settings file has one section, `[rules]`"),
                );
                continue;
            }
            let DeValue::Table(rules) = value.get_ref() else {
                problems.push(
                    Diagnostic::error(codes::SETTINGS, "`rules` must be a table")
                        .at(span(value.span()), "not a table")
                        .with_help("write `[rules]` and one `rule = \"level\"` line per rule"),
                );
                continue;
            };
            for (name, level) in rules.iter() {
                let name_text = name.get_ref().as_ref();
                let Some(rule) = crate::rule(name_text) else {
                    let mut d =
                        Diagnostic::error(codes::SETTINGS, format!("unknown rule `{name_text}`"))
                            .at(span(name.span()), "no rule has this code or name");
                    d = match closest_rule(name_text) {
                        Some(close) => d.with_help(format!(
                            "did you mean `{close}`? `orrery config rules` lists them all"
                        )),
                        None => {
                            d.with_help("`orrery config rules` lists every rule's code and name")
                        }
                    };
                    problems.push(d);
                    continue;
                };
                let parsed = match level.get_ref() {
                    DeValue::String(s) => Level::parse(s),
                    _ => None,
                };
                match parsed {
                    Some(parsed) => {
                        settings.set(rule.code, parsed);
                    }
                    None => problems.push(
                        Diagnostic::error(
                            codes::SETTINGS,
                            format!("`{name_text}` must be set to a level"),
                        )
                        .at(span(level.span()), "not a level")
                        .with_help("use \"off\", \"note\", \"warning\" or \"error\""),
                    ),
                }
            }
        }
        (settings, problems)
    }
}

impl Settings {
    /// Reads rule levels given as `(rule name or code, level)` pairs, as an editor's `rules`
    /// setting sends them. Problems are sentences (there is no file to point into); the pairs
    /// that are fine still apply.
    pub fn from_pairs<'p>(
        pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) -> (Settings, Vec<String>) {
        let mut settings = Settings::new();
        let mut problems = Vec::new();
        for (name, level) in pairs {
            let Some(rule) = crate::rule(name) else {
                problems.push(match closest_rule(name) {
                    Some(close) => format!("unknown rule `{name}`: did you mean `{close}`?"),
                    None => format!(
                        "unknown rule `{name}`: `orrery config rules` lists every rule's code and name"
                    ),
                });
                continue;
            };
            match Level::parse(level) {
                Some(level) => {
                    settings.set(rule.code, level);
                }
                None => problems.push(format!(
                    "`{name}` is set to `{level}`, which is not a level: use off, note, warning or error"
                )),
            }
        }
        (settings, problems)
    }
}

/// The rule name nearest to a misspelt one, if any is near.
fn closest_rule(text: &str) -> Option<&'static str> {
    let names: Vec<&'static str> = crate::rules().iter().map(|r| r.name).collect();
    orrery_diagnostics::suggest(text, &names)
}
