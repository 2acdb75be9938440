//! The settings JSON every editor client sends (`docs/editors.md`): as
//! `initializationOptions`, as the `orrery` section of `workspace/didChangeConfiguration`, or
//! as the answer to `workspace/configuration`.

use serde_json::Value;

/// What the server takes from the editor's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// Rule levels by rule name or code, as written: `("unused-job", "off")`. They lie over
    /// the project's `.orrery.toml`.
    pub rules: Vec<(String, String)>,
}

impl ClientSettings {
    /// Reads the settings object; problems with its shape are sentences for the user. Keys
    /// other than `rules` (`orbPaths`, `online`, `rulesDocs`) are read elsewhere or only by
    /// the clients.
    pub fn from_json(value: &Value) -> (ClientSettings, Vec<String>) {
        let mut settings = ClientSettings::default();
        let mut problems = Vec::new();
        match value.get("rules") {
            None | Some(Value::Null) => {}
            Some(Value::Object(rules)) => {
                for (name, level) in rules {
                    match level.as_str() {
                        Some(level) => settings.rules.push((name.clone(), level.to_string())),
                        None => problems.push(format!(
                            "`{name}` is set to `{level}`, which is not a level: use off, note, warning or error"
                        )),
                    }
                }
            }
            Some(other) => problems.push(format!(
                "`rules` must map rule names or codes to levels, not `{other}`"
            )),
        }
        (settings, problems)
    }

    /// The `orrery` settings inside a `didChangeConfiguration` payload: clients send either
    /// `{"orrery": {...}}` or the section itself; `None` when neither is there (the server
    /// then asks with `workspace/configuration`).
    pub fn section(payload: &Value) -> Option<&Value> {
        if let Some(section) = payload.get("orrery").filter(|s| s.is_object()) {
            return Some(section);
        }
        payload.get("rules").is_some().then_some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_rules_and_words_bad_shapes() {
        let (settings, problems) = ClientSettings::from_json(
            &json!({"orbPaths": [], "rules": {"unused-job": "off", "L1102": 3}}),
        );
        assert_eq!(settings.rules, [("unused-job".into(), "off".into())]);
        assert_eq!(
            problems,
            ["`L1102` is set to `3`, which is not a level: use off, note, warning or error"]
        );
        let (settings, problems) = ClientSettings::from_json(&json!({"rules": ["off"]}));
        assert!(settings.rules.is_empty());
        assert_eq!(problems.len(), 1);
        assert_eq!(
            ClientSettings::from_json(&Value::Null).0,
            ClientSettings::default()
        );
    }

    #[test]
    fn finds_the_section_in_either_shape() {
        let nested = json!({"orrery": {"rules": {}}});
        assert_eq!(
            ClientSettings::section(&nested),
            Some(&json!({"rules": {}}))
        );
        let flat = json!({"rules": {}, "online": false});
        assert_eq!(ClientSettings::section(&flat), Some(&flat));
        assert_eq!(ClientSettings::section(&Value::Null), None);
        assert_eq!(ClientSettings::section(&json!({"yaml": {}})), None);
    }
}
