//! The semantic model of a config: every definition (jobs, commands, executors, their
//! parameters, pipeline parameters, orbs and their elements, workflows, anchors) and every
//! reference to one (workflow entries, `requires`, steps, `executor:`, arguments, matrix
//! parameters, `<< parameters.x >>`, `pipeline.parameters.x`, aliases), with spans — in the
//! document, in inline orbs and in orb sources from the store.

use std::collections::HashMap;
use std::sync::LazyLock;

use orrery_diagnostics::{FileId, SourceDb, Span};
use orrery_yaml::{Limits, Map, Node, Value};
use regex::Regex;

use crate::analysis::OrbUse;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Job,
    Command,
    Executor,
    /// A parameter of a job, command or executor (`owner`).
    Parameter,
    PipelineParameter,
    Orb,
    Workflow,
    /// A `job-groups:` definition, invoked from workflows like a job.
    JobGroup,
    Anchor,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Job => "job",
            Kind::Command => "command",
            Kind::Executor => "executor",
            Kind::Parameter => "parameter",
            Kind::PipelineParameter => "pipeline parameter",
            Kind::Orb => "orb",
            Kind::Workflow => "workflow",
            Kind::JobGroup => "job group",
            Kind::Anchor => "anchor",
        }
    }
}

/// What a parameter declaration says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamInfo {
    pub ty: Option<String>,
    pub default: Option<String>,
    pub description: Option<String>,
    pub allowed: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Definition {
    pub kind: Kind,
    /// The name it is referred to by: `build`, or `node/install` for an orb's element.
    pub name: String,
    /// The defining text: the key (`build:`), the `&name` of an anchor without the `&`.
    pub span: Span,
    /// The whole definition (the key's value).
    pub body: Span,
    /// The job, command or executor a parameter belongs to.
    pub owner: Option<usize>,
    pub description: Option<String>,
    pub param: Option<ParamInfo>,
    /// The orb (its index) an element comes from.
    pub orb: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Reference {
    pub kind: Kind,
    pub name: String,
    /// The referring text.
    pub span: Span,
    /// The definition it resolves to.
    pub target: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Model {
    pub defs: Vec<Definition>,
    pub refs: Vec<Reference>,
}

/// Keys of a workflow job entry that are not arguments of the job.
pub(crate) const ENTRY_KEYS: &[&str] = &[
    "requires",
    "context",
    "filters",
    "matrix",
    "name",
    "type",
    "pre-steps",
    "post-steps",
    "serial-group",
    "override-with",
];

static PARAMETER_TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>").expect("parameter template regex")
});
static PIPELINE_PARAMETER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"pipeline\.parameters\.([A-Za-z0-9_-]+)").expect("pipeline parameter regex")
});

struct Builder<'a> {
    db: &'a SourceDb,
    file: FileId,
    model: Model,
    /// Elements (their definition and body) to scan for references once all are known.
    elements: Vec<(usize, Node)>,
    /// The first definition of each kind and name (what `Model::find` answers), and of each
    /// owner's parameter: large configs have thousands of each.
    first: HashMap<(Kind, String), usize>,
    params: HashMap<(usize, String), usize>,
}

impl Model {
    pub fn build(
        db: &SourceDb,
        file: FileId,
        root: Option<&Node>,
        anchors: &[orrery_yaml::Anchor],
        orbs: &[OrbUse],
    ) -> Model {
        let mut b = Builder {
            db,
            file,
            model: Model::default(),
            elements: Vec::new(),
            first: HashMap::new(),
            params: HashMap::new(),
        };
        let text = db.file(file).map_or("", |f| f.text.as_str());
        for anchor in anchors {
            let start = anchor.span.start as usize + 1;
            b.def(Definition {
                kind: Kind::Anchor,
                name: anchor.name.clone(),
                span: Span::new(file, start, start + anchor.name.len()),
                body: anchor.span,
                owner: None,
                description: None,
                param: None,
                orb: None,
            });
        }
        if let Some(root) = root.and_then(Node::as_map) {
            b.orbs(root, orbs);
            b.elements(root, "", None);
            if let Some(params) = root.get("parameters").and_then(Node::as_map) {
                for entry in params.entries() {
                    let info = param_info(&entry.value);
                    b.def(Definition {
                        kind: Kind::PipelineParameter,
                        name: entry.key.clone(),
                        span: entry.key_span,
                        body: entry.value.span,
                        owner: None,
                        description: info.description.clone(),
                        param: Some(info),
                        orb: None,
                    });
                }
            }
            for (index, body) in std::mem::take(&mut b.elements) {
                b.element_refs(index, &body);
            }
            if let Some(groups) = root.get("job-groups").and_then(Node::as_map) {
                b.job_groups(groups);
            }
            if let Some(workflows) = root.get("workflows").and_then(Node::as_map) {
                b.workflows(workflows);
            }
        }
        b.pipeline_refs(text);
        b.alias_refs(text);
        b.resolve();
        b.model
    }

    /// The definition or reference at `offset` of `file`: the definition it means.
    pub fn target_at(&self, file: FileId, offset: u32) -> Option<usize> {
        if let Some(i) = self.def_at(file, offset) {
            return Some(i);
        }
        self.ref_at(file, offset).and_then(|r| self.refs[r].target)
    }

    pub fn def_at(&self, file: FileId, offset: u32) -> Option<usize> {
        self.defs
            .iter()
            .position(|d| d.span.file == file && contains(d.span, offset))
    }

    /// The innermost reference at `offset` (an orb prefix inside `node/install` is the orb).
    pub fn ref_at(&self, file: FileId, offset: u32) -> Option<usize> {
        self.refs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.span.file == file && contains(r.span, offset))
            .min_by_key(|(_, r)| r.span.len())
            .map(|(i, _)| i)
    }

    /// Every reference to definition `def`.
    pub fn refs_to(&self, def: usize) -> impl Iterator<Item = &Reference> {
        self.refs.iter().filter(move |r| r.target == Some(def))
    }

    /// The parameters of element `owner`, in declaration order.
    pub fn params_of(&self, owner: usize) -> impl Iterator<Item = &Definition> {
        self.defs
            .iter()
            .filter(move |d| d.kind == Kind::Parameter && d.owner == Some(owner))
    }

    /// The element (job, command, executor) whose body holds `offset`, innermost first.
    pub fn element_at(&self, file: FileId, offset: u32) -> Option<usize> {
        self.defs
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                matches!(d.kind, Kind::Job | Kind::Command | Kind::Executor)
                    && d.body.file == file
                    && (contains(d.body, offset) || contains(d.span, offset))
            })
            .min_by_key(|(_, d)| d.body.len())
            .map(|(i, _)| i)
    }

    pub fn find(&self, kind: Kind, name: &str) -> Option<usize> {
        self.defs
            .iter()
            .position(|d| d.kind == kind && d.name == name)
    }
}

/// The text `node` covers. An element packed from a file of its own (`commands/greet.yml`)
/// has no text of its own: it covers what its entries cover.
fn extent(node: &Node) -> Span {
    let Some(map) = node.as_map().filter(|_| node.span.is_empty()) else {
        return node.span;
    };
    let in_file = |span: &Span| span.file == node.span.file;
    let start = map
        .entries()
        .iter()
        .map(|e| e.key_span)
        .filter(in_file)
        .map(|s| s.start)
        .min();
    let end = map
        .entries()
        .iter()
        .map(|e| extent(&e.value))
        .filter(in_file)
        .map(|s| s.end)
        .max();
    match (start, end) {
        (Some(start), Some(end)) => Span::new(node.span.file, start as usize, end as usize),
        _ => node.span,
    }
}

/// Whether `offset` is inside `span` or just after it (a cursor at the end of a word).
fn contains(span: Span, offset: u32) -> bool {
    span.start <= offset && offset <= span.end
}

impl Builder<'_> {
    fn def(&mut self, def: Definition) -> usize {
        let index = self.model.defs.len();
        match (def.kind, def.owner) {
            (Kind::Parameter, Some(owner)) => {
                self.params
                    .entry((owner, def.name.clone()))
                    .or_insert(index);
            }
            _ => {
                self.first
                    .entry((def.kind, def.name.clone()))
                    .or_insert(index);
            }
        }
        self.model.defs.push(def);
        index
    }

    fn find(&self, kind: Kind, name: &str) -> Option<usize> {
        // Parameters are found by owner (`param_of`); `Model::find` would give the first of any.
        if kind == Kind::Parameter {
            return self.model.find(kind, name);
        }
        self.first.get(&(kind, name.to_string())).copied()
    }

    fn reference(&mut self, kind: Kind, name: &str, span: Span) {
        self.model.refs.push(Reference {
            kind,
            name: name.to_string(),
            span,
            target: None,
        });
    }

    /// The span of `name` written verbatim at the start of `node` (plain or quoted), else the
    /// node's span.
    fn name_span(&self, node: &Node, name: &str) -> Span {
        let span = node.span;
        let text = self.db.file(span.file).map_or("", |f| f.text.as_str());
        let raw = text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        match raw.find(name) {
            Some(i) if i <= 1 => Span::new(
                span.file,
                span.start as usize + i,
                span.start as usize + i + name.len(),
            ),
            _ => span,
        }
    }

    fn orbs(&mut self, root: &Map, orbs: &[OrbUse]) {
        let Some(imports) = root.get("orbs").and_then(Node::as_map) else {
            return;
        };
        for entry in imports.entries() {
            let orb = self.def(Definition {
                kind: Kind::Orb,
                name: entry.key.clone(),
                span: entry.key_span,
                body: entry.value.span,
                owner: None,
                description: None,
                param: None,
                orb: None,
            });
            match &entry.value.value {
                Value::Map(inline) => {
                    self.model.defs[orb].description = inline
                        .get("description")
                        .and_then(Node::as_str)
                        .map(str::to_string);
                    self.elements(inline, &format!("{}/", entry.key), Some(orb));
                }
                Value::Str(reference) => {
                    let Some(used) = orbs.iter().find(|o| o.reference == *reference) else {
                        continue;
                    };
                    let Some(file) = self.db.file_named(&used.origin) else {
                        continue;
                    };
                    let text = self.db.file(file).map_or("", |f| f.text.as_str());
                    let parsed = orrery_yaml::parse(file, text, Limits::default());
                    if let Some(source) = parsed.root.as_ref().and_then(Node::as_map) {
                        self.model.defs[orb].description = source
                            .get("description")
                            .and_then(Node::as_str)
                            .map(str::to_string);
                        self.elements(source, &format!("{}/", entry.key), Some(orb));
                    }
                }
                _ => {}
            }
        }
    }

    /// The jobs, commands and executors of a config or orb, named with `prefix`.
    fn elements(&mut self, map: &Map, prefix: &str, orb: Option<usize>) {
        for (section, kind) in [
            ("commands", Kind::Command),
            ("jobs", Kind::Job),
            ("executors", Kind::Executor),
        ] {
            let Some(elements) = map.get(section).and_then(Node::as_map) else {
                continue;
            };
            for entry in elements.entries() {
                let element = self.def(Definition {
                    kind,
                    name: format!("{prefix}{}", entry.key),
                    span: entry.key_span,
                    body: extent(&entry.value),
                    owner: None,
                    description: entry
                        .value
                        .get("description")
                        .and_then(Node::as_str)
                        .map(str::to_string),
                    param: None,
                    orb,
                });
                if let Some(params) = entry.value.get("parameters").and_then(Node::as_map) {
                    for param in params.entries() {
                        let info = param_info(&param.value);
                        self.def(Definition {
                            kind: Kind::Parameter,
                            name: param.key.clone(),
                            span: param.key_span,
                            body: param.value.span,
                            owner: Some(element),
                            description: info.description.clone(),
                            param: Some(info),
                            orb,
                        });
                    }
                }
                self.elements.push((element, entry.value.clone()));
            }
        }
    }

    /// References inside a job, command or executor: steps, `executor:`, templates.
    fn element_refs(&mut self, element: usize, node: &Node) {
        let def = self.model.defs[element].clone();
        let prefix = def
            .name
            .rfind('/')
            .map_or(String::new(), |i| def.name[..=i].to_string());
        let text = self.db.file(def.body.file).map_or("", |f| f.text.as_str());
        let body = text
            .get(def.body.start as usize..def.body.end as usize)
            .unwrap_or("");
        for m in PARAMETER_TEMPLATE.captures_iter(body) {
            let name = m.get(1).expect("group");
            let start = def.body.start as usize + name.start();
            let span = Span::new(def.body.file, start, start + name.as_str().len());
            self.model.refs.push(Reference {
                kind: Kind::Parameter,
                name: name.as_str().to_string(),
                span,
                target: self.param_of(element, name.as_str()),
            });
        }
        if let Some(steps) = node.get("steps") {
            self.steps(steps, &prefix);
        }
        if let Some(executor) = node.get("executor") {
            self.executor(executor, &prefix);
        }
    }

    fn steps(&mut self, steps: &Node, prefix: &str) {
        let Some(items) = steps.as_seq() else {
            return;
        };
        for step in items {
            match &step.value {
                Value::Str(name) => self.step(name, step, None, prefix),
                Value::Map(map) if map.len() == 1 => {
                    let entry = &map.entries()[0];
                    let key = Node::string(entry.key.clone(), entry.key_span);
                    self.step(&entry.key, &key, Some(&entry.value), prefix);
                }
                _ => {}
            }
        }
    }

    fn step(&mut self, name: &str, at: &Node, args: Option<&Node>, prefix: &str) {
        if matches!(name, "when" | "unless") {
            if let Some(steps) = args.and_then(|a| a.get("steps")) {
                self.steps(steps, prefix);
            }
            return;
        }
        if orrery_compiler::BUILT_IN_STEPS.contains(&name) {
            return;
        }
        let span = self.name_span(at, name);
        let full = self.qualified(name, prefix);
        self.named_ref(Kind::Command, &full, name, span);
        self.args(args, Kind::Command, &full, &[]);
    }

    /// An element's name as seen from the config: names used inside an orb are the orb's own.
    fn qualified(&self, name: &str, prefix: &str) -> String {
        if prefix.is_empty() {
            return name.to_string();
        }
        let local = format!("{prefix}{name}");
        if self.model.defs.iter().any(|d| d.name == local) {
            local
        } else {
            name.to_string()
        }
    }

    /// A reference to element `full`, written as `written` at `span`, and to its orb's alias
    /// when it is `alias/element`.
    fn named_ref(&mut self, kind: Kind, full: &str, written: &str, span: Span) {
        self.reference(kind, full, span);
        if let Some((alias, _)) = written.split_once('/') {
            let alias_span = Span::new(
                span.file,
                span.start as usize,
                span.start as usize + alias.len(),
            );
            self.reference(Kind::Orb, alias, alias_span);
        }
    }

    fn args(&mut self, args: Option<&Node>, kind: Kind, element: &str, skip: &[&str]) {
        let Some(map) = args.and_then(Node::as_map) else {
            return;
        };
        let owner = self.find(kind, element);
        for entry in map.entries() {
            if skip.contains(&entry.key.as_str()) {
                continue;
            }
            let target = owner.and_then(|o| self.param_of(o, &entry.key));
            self.model.refs.push(Reference {
                kind: Kind::Parameter,
                name: entry.key.clone(),
                span: entry.key_span,
                target,
            });
        }
    }

    fn param_of(&self, owner: usize, name: &str) -> Option<usize> {
        self.params.get(&(owner, name.to_string())).copied()
    }

    fn executor(&mut self, executor: &Node, prefix: &str) {
        match &executor.value {
            Value::Str(name) => {
                let span = self.name_span(executor, name);
                let full = self.qualified(name, prefix);
                self.named_ref(Kind::Executor, &full, name, span);
            }
            Value::Map(map) => {
                if let Some(name_node) = map.get("name") {
                    if let Some(name) = name_node.as_str() {
                        let span = self.name_span(name_node, name);
                        let full = self.qualified(name, prefix);
                        self.named_ref(Kind::Executor, &full, name, span);
                        self.args(Some(executor), Kind::Executor, &full, &["name"]);
                    }
                }
            }
            _ => {}
        }
    }

    /// The job groups and the references of their members (jobs, `requires` among them).
    fn job_groups(&mut self, groups: &Map) {
        for group in groups.entries() {
            self.def(Definition {
                kind: Kind::JobGroup,
                name: group.key.clone(),
                span: group.key_span,
                body: group.value.span,
                owner: None,
                description: None,
                param: None,
                orb: None,
            });
        }
        for group in groups.entries() {
            for member in group
                .value
                .get("jobs")
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                self.job_entry(member);
            }
        }
    }

    fn workflows(&mut self, workflows: &Map) {
        for workflow in workflows.entries() {
            if workflow.key == "version" {
                continue;
            }
            self.def(Definition {
                kind: Kind::Workflow,
                name: workflow.key.clone(),
                span: workflow.key_span,
                body: workflow.value.span,
                owner: None,
                description: None,
                param: None,
                orb: None,
            });
            let jobs = workflow.value.get("jobs").and_then(Node::as_seq);
            for job in jobs.unwrap_or_default() {
                self.job_entry(job);
            }
        }
    }

    /// A job (or a job group, by its name) where a workflow or a group lists or requires one.
    fn job_kind(&self, name: &str) -> Kind {
        if self.first.contains_key(&(Kind::JobGroup, name.to_string())) {
            Kind::JobGroup
        } else {
            Kind::Job
        }
    }

    /// One entry of a workflow's or a job group's `jobs`: the job or group it invokes, its
    /// arguments, `requires`, matrix parameters and pre/post-steps.
    fn job_entry(&mut self, job: &Node) {
        let (name, at, args) = match &job.value {
            Value::Str(name) => (name.clone(), job.clone(), None),
            Value::Map(map) if map.len() == 1 => {
                let entry = &map.entries()[0];
                (
                    entry.key.clone(),
                    Node::string(entry.key.clone(), entry.key_span),
                    Some(&entry.value),
                )
            }
            _ => return,
        };
        let span = self.name_span(&at, &name);
        let kind = self.job_kind(&name);
        self.named_ref(kind, &name, &name, span);
        if kind == Kind::Job {
            self.args(args, Kind::Job, &name, ENTRY_KEYS);
        }
        let Some(args) = args else {
            return;
        };
        if let Some(requires) = args.get("requires").and_then(Node::as_seq) {
            for required in requires {
                let written = match &required.value {
                    Value::Str(s) => Some((s.clone(), required.clone())),
                    Value::Map(m) if m.len() == 1 => Some((
                        m.entries()[0].key.clone(),
                        Node::string(m.entries()[0].key.clone(), m.entries()[0].key_span),
                    )),
                    _ => None,
                };
                if let Some((name, node)) = written {
                    let span = self.name_span(&node, &name);
                    let kind = self.job_kind(&name);
                    self.reference(kind, &name, span);
                }
            }
        }
        if let Some(matrix) = args.get("matrix").and_then(|m| m.get("parameters")) {
            self.args(Some(matrix), Kind::Job, &name, &[]);
        }
        for hook in ["pre-steps", "post-steps"] {
            if let Some(steps) = args.get(hook) {
                self.steps(steps, "");
            }
        }
    }

    /// `pipeline.parameters.x` anywhere in the document (templates and conditions).
    fn pipeline_refs(&mut self, text: &str) {
        for m in PIPELINE_PARAMETER.captures_iter(text) {
            let name = m.get(1).expect("group");
            let span = Span::new(self.file, name.start(), name.end());
            self.reference(Kind::PipelineParameter, name.as_str(), span);
        }
    }

    /// `*name` aliases of the document's anchors.
    fn alias_refs(&mut self, text: &str) {
        let anchors: Vec<String> = self
            .model
            .defs
            .iter()
            .filter(|d| d.kind == Kind::Anchor)
            .map(|d| d.name.clone())
            .collect();
        if anchors.is_empty() {
            return;
        }
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let code = strip_comment(line);
            for (i, _) in code.match_indices('*') {
                let before = code[..i].chars().next_back();
                if !before.is_none_or(|c| c.is_whitespace() || "[{,:-".contains(c)) {
                    continue;
                }
                let rest = &code[i + 1..];
                let end = rest
                    .find(|c: char| c.is_whitespace() || ",[]{}".contains(c))
                    .unwrap_or(rest.len());
                let name = &rest[..end];
                if anchors.iter().any(|a| a == name) {
                    let start = offset + i + 1;
                    let span = Span::new(self.file, start, start + name.len());
                    self.reference(Kind::Anchor, name, span);
                }
            }
            offset += line.len();
        }
    }

    fn resolve(&mut self) {
        for i in 0..self.model.refs.len() {
            let r = &self.model.refs[i];
            if r.target.is_some() || r.kind == Kind::Parameter {
                continue;
            }
            self.model.refs[i].target = self.find(r.kind, &r.name);
        }
    }
}

/// The part of a YAML line before its comment (a `#` after whitespace, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

fn param_info(node: &Node) -> ParamInfo {
    let text = |key: &str| node.get(key).map(scalar_text);
    ParamInfo {
        ty: node.get("type").and_then(Node::as_str).map(str::to_string),
        default: text("default"),
        description: node
            .get("description")
            .and_then(Node::as_str)
            .map(str::to_string),
        allowed: node
            .get("enum")
            .and_then(Node::as_seq)
            .map(|items| items.iter().map(scalar_text).collect())
            .unwrap_or_default(),
    }
}

/// A value as a short text: scalars as written, collections in flow style.
pub fn scalar_text(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(i) => i.to_string(),
        Value::Float(f) => orrery_yaml::format_float(*f),
        Value::Str(s) => s.clone(),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(scalar_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(map) => format!(
            "{{{}}}",
            map.entries()
                .iter()
                .map(|e| format!("{}: {}", e.key, scalar_text(&e.value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
