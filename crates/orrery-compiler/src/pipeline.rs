//! Pipeline values (`pipeline.*`): every known name exists; one the caller did not set is
//! empty (`""`, or `false` for a boolean), as the platform renders a value its trigger does not
//! carry, so `<< pipeline.project.type >>` is always an argument and
//! `pipeline.trigger.type != "schedule"` agrees with `not (pipeline.trigger.type == "schedule")`.

use orrery_yaml::Value;

/// Every pipeline value name the platform documents (CONFIG-SPEC §10.2), plus the private ones
/// the expression library knows. Names not listed here are unknown variables.
const KNOWN: &[&str] = &[
    "pipeline.id",
    "pipeline.number",
    "pipeline.name",
    "pipeline.definition.id",
    "pipeline.integration_source",
    "pipeline.project.git_url",
    "pipeline.project.type",
    "pipeline.project.slug",
    "pipeline.project.url",
    "pipeline.git.tag",
    "pipeline.git.branch",
    "pipeline.git.branch.is_default",
    "pipeline.git.revision",
    "pipeline.git.base_revision",
    "pipeline.git.repo_url",
    "pipeline.git.repo_owner",
    "pipeline.git.repo_name",
    "pipeline.git.repo_id",
    "pipeline.git.ssh_checkout_url",
    "pipeline.git.commit.url",
    "pipeline.git.commit.subject",
    "pipeline.git.commit.body",
    "pipeline.git.commit.author_login",
    "pipeline.git.commit.author_name",
    "pipeline.git.commit.author_email",
    "pipeline.git.commit.author_avatar_url",
    "pipeline.config.repository.name",
    "pipeline.config.repository.url",
    "pipeline.config.file_path",
    "pipeline.config.ref",
    "pipeline.config.sha",
    "pipeline.config_source",
    "pipeline.trigger.received_at",
    "pipeline.trigger.id",
    "pipeline.trigger.type",
    "pipeline.trigger.name",
    "pipeline.trigger_source",
    "pipeline.schedule.name",
    "pipeline.schedule.id",
    "pipeline.event.name",
    "pipeline.event.action",
    "pipeline.event.context.github.pr_url",
    "pipeline.event.github.after",
    "pipeline.event.github.head_commit.url",
    "pipeline.event.github.ref",
    "pipeline.event.github.pull_request.base.ref",
    "pipeline.event.github.pull_request.base.sha",
    "pipeline.event.github.pull_request.head.ref",
    "pipeline.event.github.pull_request.head.sha",
    "pipeline.event.github.pull_request.draft",
    "pipeline.event.github.pull_request.title",
    "pipeline.event.github.pull_request.number",
    "pipeline.event.github.pull_request.merged",
    "pipeline.event.github.pull_request.url",
    "pipeline.event.github.label.name",
    "pipeline.event.github.comment.body",
    "pipeline.event.github.sender.type",
    "pipeline.event.github.sender.avatar_url",
    "pipeline.event.github.sender.login",
    "pipeline.event.github.repository.name",
    "pipeline.event.github.repository.owner.login",
    "pipeline.event.github.repository.url",
    "pipeline.trigger_parameters.webhook.body",
    "pipeline.trigger_parameters.circleci.trigger_type",
    "pipeline.trigger_parameters.circleci.event_time",
    "pipeline.trigger_parameters.circleci.event_type",
    "pipeline.trigger_parameters.circleci.actor_id",
    "pipeline.trigger_parameters.github_app.ref",
    "pipeline.trigger_parameters.github_app.checkout_sha",
    "pipeline.trigger_parameters.github_app.user_id",
    "pipeline.trigger_parameters.github_app.user_name",
    "pipeline.trigger_parameters.github_app.user_username",
    "pipeline.trigger_parameters.github_app.user_avatar",
    "pipeline.trigger_parameters.github_app.repo_name",
    "pipeline.trigger_parameters.github_app.repo_url",
    "pipeline.trigger_parameters.github_app.web_url",
    "pipeline.trigger_parameters.github_app.commit_sha",
    "pipeline.trigger_parameters.github_app.commit_title",
    "pipeline.trigger_parameters.github_app.commit_message",
    "pipeline.trigger_parameters.github_app.commit_timestamp",
    "pipeline.trigger_parameters.github_app.commit_author_name",
    "pipeline.trigger_parameters.github_app.branch",
    "pipeline.trigger_parameters.gitlab.type",
    "pipeline.trigger_parameters.gitlab.ref",
    "pipeline.trigger_parameters.gitlab.checkout_sha",
    "pipeline.trigger_parameters.gitlab.user_id",
    "pipeline.trigger_parameters.gitlab.user_name",
    "pipeline.trigger_parameters.gitlab.user_username",
    "pipeline.trigger_parameters.gitlab.user_avatar",
    "pipeline.trigger_parameters.gitlab.repo_name",
    "pipeline.trigger_parameters.gitlab.repo_url",
    "pipeline.trigger_parameters.gitlab.web_url",
    "pipeline.trigger_parameters.gitlab.commit_sha",
    "pipeline.trigger_parameters.gitlab.commit_title",
    "pipeline.trigger_parameters.gitlab.commit_message",
    "pipeline.trigger_parameters.gitlab.commit_timestamp",
    "pipeline.trigger_parameters.gitlab.commit_author_name",
    "pipeline.trigger_parameters.gitlab.commit_author_email",
    "pipeline.trigger_parameters.gitlab.branch",
    "pipeline.trigger_parameters.gitlab.default_branch",
    "pipeline.trigger_parameters.gitlab.x_gitlab_event_id",
    "pipeline.trigger_parameters.gitlab.is_fork_merge_request",
    "pipeline.deploy.component_name",
    "pipeline.deploy.environment_name",
    "pipeline.deploy.target_environment_name",
    "pipeline.deploy.target_version",
    "pipeline.deploy.current_version",
    "pipeline.deploy.namespace",
    "pipeline.deploy.reason",
];

/// The type of a pipeline value (CONFIG-SPEC §10.2: strings unless noted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Str,
    Int,
    Bool,
}

impl ValueKind {
    pub fn of(name: &str) -> ValueKind {
        match name {
            "pipeline.number" | "pipeline.event.github.pull_request.number" => ValueKind::Int,
            "pipeline.git.branch.is_default"
            | "pipeline.event.github.pull_request.draft"
            | "pipeline.event.github.pull_request.merged"
            | "pipeline.trigger_parameters.gitlab.is_fork_merge_request" => ValueKind::Bool,
            _ => ValueKind::Str,
        }
    }

    /// The value of this kind that means "not known".
    fn empty(self) -> Value {
        match self {
            ValueKind::Bool => Value::Bool(false),
            ValueKind::Str | ValueKind::Int => Value::Str(String::new()),
        }
    }
}

/// Why a value given by name could not be set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError {
    /// Not a pipeline value; the closest known name, if one is close.
    Unknown { suggestion: Option<&'static str> },
    /// A known value given text its type cannot hold.
    Type { expected: ValueKind },
}

/// The `pipeline.*` values of one pipeline. Values nobody set are empty.
#[derive(Clone, Debug)]
pub struct PipelineValues {
    values: Vec<(&'static str, Value)>,
}

impl Default for PipelineValues {
    fn default() -> Self {
        let mut values = PipelineValues {
            values: KNOWN
                .iter()
                .map(|&k| (k, ValueKind::of(k).empty()))
                .collect(),
        };
        values.set(
            "pipeline.id",
            Value::Str("00000000-0000-0000-0000-000000000001".into()),
        );
        values.set("pipeline.number", Value::Int(1));
        values.set("pipeline.trigger_source", Value::Str("webhook".into()));
        values
    }
}

impl PipelineValues {
    /// Sets a known value; returns `false` for a name the platform does not have.
    pub fn set(&mut self, name: &str, value: Value) -> bool {
        match self.values.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => {
                slot.1 = value;
                true
            }
            None => false,
        }
    }

    /// Sets a value given as text (a flag, a file), typed as the value is typed: `42` for an
    /// integer, `true`/`false` for a boolean.
    pub fn set_text(&mut self, name: &str, text: &str) -> Result<(), SetError> {
        if self.get(name).is_none() {
            return Err(SetError::Unknown {
                suggestion: orrery_diagnostics::closest(name, KNOWN.iter().copied()),
            });
        }
        let expected = ValueKind::of(name);
        let value = match expected {
            ValueKind::Str => Value::Str(text.to_string()),
            ValueKind::Int => match text.trim().parse() {
                Ok(n) => Value::Int(n),
                Err(_) if text.is_empty() => Value::Str(String::new()),
                Err(_) => return Err(SetError::Type { expected }),
            },
            ValueKind::Bool => match text.trim() {
                "true" => Value::Bool(true),
                "false" | "" => Value::Bool(false),
                _ => return Err(SetError::Type { expected }),
            },
        };
        self.set(name, value);
        Ok(())
    }

    /// `None` when the name is not a pipeline value at all; an empty value when it is unset.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// A value as text, `None` when it is empty (not known for this pipeline).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(Value::scalar_text)
            .filter(|t| !t.is_empty())
    }

    pub fn names() -> &'static [&'static str] {
        KNOWN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_values_are_empty_and_typed_ones_parse() {
        let mut values = PipelineValues::default();
        assert_eq!(
            values.get("pipeline.project.type"),
            Some(&Value::Str(String::new()))
        );
        assert_eq!(
            values.get("pipeline.deploy.target_environment_name"),
            Some(&Value::Str(String::new()))
        );
        assert_eq!(values.text("pipeline.git.tag"), None);
        assert_eq!(values.set_text("pipeline.number", "42"), Ok(()));
        assert_eq!(values.get("pipeline.number"), Some(&Value::Int(42)));
        assert_eq!(
            values.set_text("pipeline.number", "many"),
            Err(SetError::Type {
                expected: ValueKind::Int
            })
        );
        assert_eq!(
            values.set_text("pipeline.event.github.pull_request.draft", "true"),
            Ok(())
        );
        assert_eq!(
            values.set_text("pipeline.project.typ", "github"),
            Err(SetError::Unknown {
                suggestion: Some("pipeline.project.type")
            })
        );
    }
}
