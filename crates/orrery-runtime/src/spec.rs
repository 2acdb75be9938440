//! A compiled job (`jobs.NAME` of the `version: 2` output) read into what the runner needs:
//! executor, shell, working directory, environment, parallelism and typed steps. Pure: a value
//! plus diagnostics, never a failure.

use std::time::Duration;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Node, Value};
use serde::{Deserialize, Serialize};

use crate::duration::parse_duration;

/// CircleCI's default `no_output_timeout`.
pub const DEFAULT_NO_OUTPUT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExecutorKind {
    /// `docker:`; the first image is the primary container, the others are services.
    Docker {
        images: Vec<DockerImage>,
    },
    Machine,
    Macos,
    /// No executor key at all (a 2.0 job must name one).
    Missing,
}

impl ExecutorKind {
    pub fn label(&self) -> &'static str {
        match self {
            ExecutorKind::Docker { .. } => "docker",
            ExecutorKind::Machine => "machine",
            ExecutorKind::Macos => "macos",
            ExecutorKind::Missing => "none",
        }
    }
}

/// One entry of `docker:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DockerImage {
    pub image: String,
    /// `name:`, an extra host name for the container inside the job.
    pub name: Option<String>,
    /// Overrides the image's ENTRYPOINT (a string is split on whitespace, as a list it is taken
    /// as is).
    pub entrypoint: Option<Vec<String>>,
    /// Overrides the image's CMD.
    pub command: Option<Vec<String>>,
    pub user: Option<String>,
    /// For the container's own process only, never for steps.
    pub environment: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum When {
    OnSuccess,
    OnFail,
    Always,
}

impl When {
    fn parse(text: &str) -> Option<When> {
        match text {
            "on_success" => Some(When::OnSuccess),
            "on_fail" => Some(When::OnFail),
            "always" => Some(When::Always),
            _ => None,
        }
    }

    /// Whether a step with this condition runs, given whether an earlier step failed.
    pub fn runs(self, failed: bool) -> bool {
        match self {
            When::OnSuccess => !failed,
            When::OnFail => failed,
            When::Always => true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStep {
    pub name: String,
    pub command: String,
    pub shell: Option<String>,
    pub environment: Vec<(String, String)>,
    pub background: bool,
    pub when: When,
    pub no_output_timeout: Duration,
    pub working_directory: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StepKind {
    Run(RunStep),
    Checkout {
        path: Option<String>,
    },
    SaveCache {
        key: String,
        paths: Vec<String>,
    },
    RestoreCache {
        keys: Vec<String>,
    },
    PersistToWorkspace {
        root: String,
        paths: Vec<String>,
    },
    AttachWorkspace {
        at: String,
    },
    StoreArtifacts {
        path: String,
        destination: Option<String>,
    },
    StoreTestResults {
        path: String,
    },
    /// `setup_remote_docker`: on the host the local Docker engine is already the job's engine.
    SetupRemoteDocker,
    /// `add_ssh_keys`: the host user's own SSH setup is used as it is.
    AddSshKeys,
    /// A step the runner cannot perform locally; reported at plan time, fails if reached.
    Unsupported {
        name: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub when: When,
    pub kind: StepKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub name: String,
    pub executor: ExecutorKind,
    pub shell: Option<String>,
    /// As written (`~/project` by default); exported unexpanded as `CIRCLE_WORKING_DIRECTORY`.
    pub working_directory: String,
    pub environment: Vec<(String, String)>,
    pub parallelism: u32,
    pub steps: Vec<Step>,
    /// `resource_class:` as written (a cluster engine turns it into reservations and limits).
    #[serde(default)]
    pub resource_class: Option<String>,
}

/// Reads `jobs.NAME` of a compiled config.
pub fn job_spec(name: &str, node: &Node, diagnostics: &mut Vec<Diagnostic>) -> JobSpec {
    let map = node.as_map();
    let get = |key: &str| map.and_then(|m| m.get(key));
    let executor = if let Some(docker) = get("docker") {
        let images = docker
            .as_seq()
            .unwrap_or_default()
            .iter()
            .filter_map(docker_image)
            .collect();
        ExecutorKind::Docker { images }
    } else if get("machine").is_some() {
        ExecutorKind::Machine
    } else if get("macos").is_some() {
        ExecutorKind::Macos
    } else {
        ExecutorKind::Missing
    };
    let parallelism = match get("parallelism").map(|p| &p.value) {
        None => 1,
        Some(Value::Int(n)) if (1..=1000).contains(n) => *n as u32,
        Some(Value::Str(s)) if s.parse::<u32>().is_ok_and(|n| (1..=1000).contains(&n)) => {
            s.parse().unwrap_or(1)
        }
        Some(_) => {
            let span = get("parallelism").map(|p| p.span);
            diagnostics.push(bad_value(
                span,
                format!("job `{name}`: `parallelism` must be a whole number from 1 to 1000"),
                "not a usable parallelism",
            ));
            1
        }
    };
    let steps = get("steps")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| step(name, s, diagnostics))
        .collect();
    JobSpec {
        name: name.to_string(),
        executor,
        shell: get("shell").and_then(scalar),
        working_directory: get("working_directory")
            .and_then(scalar)
            .unwrap_or_else(|| "~/project".to_string()),
        environment: get("environment").map(environment).unwrap_or_default(),
        parallelism,
        steps,
        resource_class: get("resource_class").and_then(scalar),
    }
}

fn docker_image(node: &Node) -> Option<DockerImage> {
    let words = |key: &str| -> Option<Vec<String>> {
        let n = node.get(key)?;
        match &n.value {
            Value::Seq(items) => Some(items.iter().filter_map(scalar).collect()),
            _ => scalar(n).map(|s| s.split_whitespace().map(str::to_string).collect()),
        }
    };
    Some(DockerImage {
        image: node.get("image").and_then(scalar)?,
        name: node.get("name").and_then(scalar),
        entrypoint: words("entrypoint"),
        command: words("command"),
        user: node.get("user").and_then(scalar),
        environment: node.get("environment").map(environment).unwrap_or_default(),
    })
}

fn bad_value(span: Option<Span>, message: String, label: &str) -> Diagnostic {
    let d = Diagnostic::error(codes::RUN_BAD_VALUE, message);
    match span {
        Some(span) => d.at(span, label),
        None => d,
    }
}

/// `environment:` as a map or as the compiled list of one-entry maps, in order.
pub fn environment(node: &Node) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |m: &orrery_yaml::Map| {
        for (k, v) in m.iter() {
            out.push((k.to_string(), env_value(v)));
        }
    };
    match &node.value {
        Value::Map(m) => add(m),
        Value::Seq(items) => {
            for item in items {
                if let Some(m) = item.as_map() {
                    add(m);
                }
            }
        }
        _ => {}
    }
    out
}

fn env_value(node: &Node) -> String {
    match &node.value {
        Value::Null => String::new(),
        _ => node.value.scalar_text().unwrap_or_default(),
    }
}

fn step(job: &str, node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<Step> {
    let (kind, args): (String, Option<&Node>) = match &node.value {
        Value::Str(s) => (s.clone(), None),
        Value::Map(m) if m.len() == 1 => {
            let e = &m.entries()[0];
            (e.key.clone(), Some(&e.value))
        }
        _ => {
            diagnostics.push(bad_value(
                Some(node.span),
                format!("job `{job}`: a step must be a name or a one-key map"),
                "not a step",
            ));
            return None;
        }
    };
    let arg = |key: &str| args.and_then(|a| a.get(key));
    let text = |key: &str| arg(key).and_then(scalar);
    let list = |key: &str| -> Vec<String> {
        match arg(key).map(|n| &n.value) {
            Some(Value::Seq(items)) => items.iter().filter_map(scalar).collect(),
            Some(_) => arg(key).and_then(scalar).into_iter().collect(),
            None => Vec::new(),
        }
    };
    let when = match text("when") {
        None => None,
        Some(w) => match When::parse(&w) {
            Some(w) => Some(w),
            None => {
                diagnostics.push(
                    bad_value(
                        arg("when").map(|n| n.span),
                        format!("job `{job}`: step condition `{w}` is not one of on_success, on_fail, always"),
                        "unknown condition",
                    ),
                );
                None
            }
        },
    };
    let name = text("name");
    let (kind, default_when, default_name) = match kind.as_str() {
        "run" | "deploy" => {
            let command = match args.map(|a| &a.value) {
                Some(Value::Str(s)) => s.clone(),
                _ => text("command").unwrap_or_default(),
            };
            let no_output_timeout = match text("no_output_timeout") {
                None => DEFAULT_NO_OUTPUT_TIMEOUT,
                Some(t) => parse_duration(&t).unwrap_or_else(|| {
                    diagnostics.push(bad_value(
                        arg("no_output_timeout").map(|n| n.span),
                        format!("job `{job}`: `no_output_timeout: {t}` is not a duration such as 10m, 90s or 1.5h"),
                        "not a duration",
                    ));
                    DEFAULT_NO_OUTPUT_TIMEOUT
                }),
            };
            let display = command.lines().next().unwrap_or_default().to_string();
            let run = RunStep {
                name: name.clone().unwrap_or_else(|| command.clone()),
                command,
                shell: text("shell"),
                environment: arg("environment").map(environment).unwrap_or_default(),
                background: arg("background").and_then(Node::as_bool).unwrap_or(false)
                    || text("background").as_deref() == Some("true"),
                when: when.unwrap_or(When::OnSuccess),
                no_output_timeout,
                working_directory: text("working_directory"),
            };
            (StepKind::Run(run), When::OnSuccess, display)
        }
        "checkout" => (
            StepKind::Checkout { path: text("path") },
            When::OnSuccess,
            "Checkout code".to_string(),
        ),
        "save_cache" => (
            StepKind::SaveCache {
                key: text("key").unwrap_or_default(),
                paths: list("paths"),
            },
            When::OnSuccess,
            "Saving cache".to_string(),
        ),
        "restore_cache" => {
            let mut keys: Vec<String> = text("key").into_iter().collect();
            keys.extend(list("keys"));
            (
                StepKind::RestoreCache { keys },
                When::OnSuccess,
                "Restoring cache".to_string(),
            )
        }
        "persist_to_workspace" => (
            StepKind::PersistToWorkspace {
                root: text("root").unwrap_or_else(|| ".".to_string()),
                paths: list("paths"),
            },
            When::OnSuccess,
            "Persisting to workspace".to_string(),
        ),
        "attach_workspace" => (
            StepKind::AttachWorkspace {
                at: text("at").unwrap_or_else(|| ".".to_string()),
            },
            When::OnSuccess,
            "Attaching workspace".to_string(),
        ),
        "store_artifacts" => (
            StepKind::StoreArtifacts {
                path: text("path").unwrap_or_default(),
                destination: text("destination"),
            },
            When::Always,
            "Uploading artifacts".to_string(),
        ),
        "store_test_results" => (
            StepKind::StoreTestResults {
                path: text("path").unwrap_or_default(),
            },
            When::Always,
            "Uploading test results".to_string(),
        ),
        "setup_remote_docker" => (
            StepKind::SetupRemoteDocker,
            When::OnSuccess,
            "Setup a remote Docker engine".to_string(),
        ),
        "add_ssh_keys" => (
            StepKind::AddSshKeys,
            When::OnSuccess,
            "Add SSH keys".to_string(),
        ),
        other => {
            diagnostics.push(
                Diagnostic::warning(
                    codes::RUN_UNSUPPORTED_STEP,
                    format!("job `{job}`: step `{other}` cannot run locally; the job fails if it reaches it"),
                )
                .at(node.span, "not supported by `orrery run`"),
            );
            (
                StepKind::Unsupported {
                    name: other.to_string(),
                },
                When::OnSuccess,
                other.to_string(),
            )
        }
    };
    let when = match &kind {
        StepKind::Run(r) => r.when,
        _ => when.unwrap_or(default_when),
    };
    let name = match &kind {
        StepKind::Run(r) => r.name.clone(),
        _ => name.unwrap_or(default_name),
    };
    Some(Step { name, when, kind })
}

fn scalar(node: &Node) -> Option<String> {
    node.value.scalar_text()
}
