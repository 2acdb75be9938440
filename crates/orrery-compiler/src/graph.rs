//! The job graph: what the runtime and the language server consume.

use orrery_diagnostics::Span;
use orrery_yaml::{Node, Value};

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

/// Builds the job graph from compiled workflows.
pub(crate) fn graph_of(workflows: Option<&Node>) -> JobGraph {
    let mut graph = JobGraph::default();
    let Some(map) = workflows.and_then(Node::as_map) else {
        return graph;
    };
    for entry in map.entries() {
        if entry.key == "version" {
            continue;
        }
        let jobs = entry
            .value
            .get("jobs")
            .and_then(Node::as_seq)
            .map(graph_jobs)
            .unwrap_or_default();
        graph.workflows.push(WorkflowGraph {
            name: entry.key.clone(),
            jobs,
            triggers: entry.value.get("triggers").cloned(),
        });
    }
    graph
}

pub(crate) fn graph_jobs(list: &[Node]) -> Vec<GraphJob> {
    list.iter()
        .filter_map(|item| {
            let (name, settings) = match &item.value {
                Value::Str(s) => (s.clone(), None),
                Value::Map(m) if m.len() == 1 => {
                    (m.entries()[0].key.clone(), m.entries()[0].value.as_map())
                }
                _ => return None,
            };
            let requires = settings
                .and_then(|s| s.get("requires"))
                .and_then(Node::as_seq)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|r| match &r.value {
                            Value::Str(s) => Some(Requirement {
                                job: s.clone(),
                                statuses: vec!["success".into()],
                            }),
                            Value::Map(m) if m.len() == 1 => {
                                let statuses = match &m.entries()[0].value.value {
                                    Value::Seq(s) => {
                                        s.iter().filter_map(|x| x.value.scalar_text()).collect()
                                    }
                                    v => v.scalar_text().into_iter().collect(),
                                };
                                Some(Requirement {
                                    job: m.entries()[0].key.clone(),
                                    statuses,
                                })
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let contexts = match settings.and_then(|s| s.get("context")).map(|c| &c.value) {
                Some(Value::Str(s)) => vec![s.clone()],
                Some(Value::Seq(items)) => {
                    items.iter().filter_map(|i| i.value.scalar_text()).collect()
                }
                _ => Vec::new(),
            };
            Some(GraphJob {
                name,
                approval: settings.and_then(|s| s.get("type")).and_then(Node::as_str)
                    == Some("approval"),
                requires,
                filters: settings.and_then(|s| s.get("filters")).cloned(),
                contexts,
                span: item.span,
            })
        })
        .collect()
}
