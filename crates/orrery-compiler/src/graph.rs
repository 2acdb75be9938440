//! The job graph: what the runtime and the language server consume.

use orrery_diagnostics::Span;
use orrery_yaml::Node;

#[derive(Clone, Debug, Default)]
pub struct JobGraph {
    pub workflows: Vec<WorkflowGraph>,
}

#[derive(Clone, Debug)]
pub struct WorkflowGraph {
    pub name: String,
    pub jobs: Vec<GraphJob>,
    /// `triggers:` as written (legacy scheduled workflows).
    pub triggers: Option<Node>,
}

#[derive(Clone, Debug)]
pub struct GraphJob {
    /// The job's name in the workflow and in the compiled `jobs:` map.
    pub name: String,
    /// `true` for `type: approval` entries, which have no compiled job.
    pub approval: bool,
    pub requires: Vec<Requirement>,
    /// `filters:` as written (map form or expression string).
    pub filters: Option<Node>,
    pub contexts: Vec<String>,
    /// The workflow entry this job came from.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub job: String,
    /// Accepted end states of the upstream job; `["success"]` unless written otherwise.
    pub statuses: Vec<String>,
}

impl JobGraph {
    pub fn workflow(&self, name: &str) -> Option<&WorkflowGraph> {
        self.workflows.iter().find(|w| w.name == name)
    }
}
