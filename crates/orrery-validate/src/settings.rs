//! Rule severities chosen by the user (later read from `.orrery.toml` by the CLI).

use orrery_diagnostics::Severity;

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
