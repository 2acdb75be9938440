//! Job groups (CONFIG-SPEC §6.10): the `job-groups:` definitions, read and checked once, and a
//! group invoked from a workflow, expanded in place into its member jobs between an entry job
//! and an exit job:
//!
//! ```text
//! INV-group-start (no-op; INV-lock with serial-group) ← the invocation's requires and filters
//!   → the group's root members → … → its leaf members
//!   → INV-group-end (no-op; what requires the group requires this)
//!   → INV-unlock (with serial-group; requires INV-group-end: terminal)
//! ```
//!
//! `INV` is the invocation's `name`, else the group's name; with a `name`, members are
//! compiled as `INV/member`. Each invocation is a scope of its own for `requires`: members
//! require members, the workflow requires the group (which means its end job), and nothing
//! outside reaches a member. The names of the joining jobs are not documented (ARCHITECTURE.md,
//! "Decisions where the spec leaves a gap").

use std::collections::HashMap;
use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Entry, Map, Node, Value};

use super::entry::plan_entry;
use super::{Place, Planned};
use crate::context::{Ctx, Reported, R};
use crate::env::Env;
use crate::scope::Scope;
use crate::subst;

/// The keys a job group invocation may carry; CONFIG-SPEC §6.10.2.
const INVOCATION_KEYS: &[&str] = &["requires", "name", "serial-group", "filters"];

/// The invocation keys of a job that a job group invocation refuses, with the official words.
const REFUSED_KEYS: &[(&str, &str)] = &[
    ("matrix", "Job group invocations do not support `matrix`"),
    (
        "override-with",
        "Job group invocations do not support use of `override-with`",
    ),
    ("type", "Job group invocations do not support use of `type`"),
    (
        "context",
        "Job group invocations do not support use of `context`",
    ),
    (
        "pre-steps",
        "Job group invocations do not support use of `pre-steps`",
    ),
    (
        "post-steps",
        "Job group invocations do not support use of `post-steps`",
    ),
];

/// The config's job groups by name.
#[derive(Debug, Default)]
pub(crate) struct JobGroups {
    groups: HashMap<String, Rc<JobGroup>>,
    /// Member name → the first group (in document order) that has a member of that name.
    owners: HashMap<String, String>,
}

#[derive(Debug)]
pub(crate) struct JobGroup {
    name: Rc<str>,
    /// The member entries, written as in a workflow's `jobs` list.
    jobs: Vec<Node>,
    /// A fault in the definition, already reported: its invocations are not expanded.
    faulty: bool,
}

impl JobGroups {
    pub fn get(&self, name: &str) -> Option<&Rc<JobGroup>> {
        self.groups.get(name)
    }

    /// The job group that has a member named `name`.
    pub fn owner_of(&self, name: &str) -> Option<&str> {
        self.owners.get(name).map(String::as_str)
    }
}

/// A member entry's parts: what it invokes, its settings, and the name it is required by.
struct MemberEntry<'a> {
    job: &'a str,
    job_span: Span,
    settings: Option<&'a Map>,
}

impl MemberEntry<'_> {
    fn read(item: &Node) -> Option<MemberEntry<'_>> {
        match &item.value {
            Value::Str(job) => Some(MemberEntry {
                job,
                job_span: item.span,
                settings: None,
            }),
            Value::Map(m) if m.len() == 1 => Some(MemberEntry {
                job: &m.entries()[0].key,
                job_span: m.entries()[0].key_span,
                settings: m.entries()[0].value.as_map(),
            }),
            _ => None,
        }
    }

    /// The names other members require it by: its `name` (else the job), and a matrix's alias.
    fn names(&self) -> Vec<String> {
        let setting = |key: &str| {
            self.settings
                .and_then(|s| s.get(key))
                .and_then(|n| n.value.scalar_text())
        };
        let mut names = vec![setting("name").unwrap_or_else(|| self.job.to_string())];
        if let Some(matrix) = self.settings.and_then(|s| s.get("matrix")) {
            names.push(
                matrix
                    .get("alias")
                    .and_then(|a| a.value.scalar_text())
                    .unwrap_or_else(|| self.job.to_string()),
            );
        }
        names
    }

    /// The member names its `requires` lists, as written.
    fn requires(&self) -> Vec<String> {
        let Some(requires) = self.settings.and_then(|s| s.get("requires")) else {
            return Vec::new();
        };
        let items = match &requires.value {
            Value::Seq(items) => items.as_slice(),
            _ => std::slice::from_ref(requires),
        };
        items
            .iter()
            .filter_map(|r| match &r.value {
                Value::Str(s) => Some(s.clone()),
                Value::Map(m) if m.len() == 1 => Some(m.entries()[0].key.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Reads and checks `job-groups:` (CONFIG-SPEC §6.10.1, §6.10.5). Never fails: a faulty group
/// is reported here once and marked, so that its invocations are not reported again.
pub(crate) fn definitions(ctx: &mut Ctx<'_>, config: &Map, jobs: &Map) -> JobGroups {
    let mut out = JobGroups::default();
    let Some(section) = config.get("job-groups") else {
        return out;
    };
    let Some(section) = section.as_map() else {
        if !section.is_null() {
            ctx.report(
                Diagnostic::error(
                    codes::JOB_GROUP,
                    "`job-groups` must be a map of group names to groups",
                )
                .at(section.span, format!("this is a {}", section.type_name()))
                .with_help("write `job-groups: { deploy: { jobs: [build, release] } }`"),
            );
        }
        return out;
    };
    let group_names: Vec<&str> = section.entries().iter().map(|e| e.key.as_str()).collect();
    for entry in section.entries() {
        let group = definition(ctx, entry, jobs, &group_names);
        for item in &group.jobs {
            if let Some(member) = MemberEntry::read(item) {
                for name in member.names() {
                    out.owners.entry(name).or_insert_with(|| entry.key.clone());
                }
            }
        }
        out.groups.insert(entry.key.clone(), Rc::new(group));
    }
    out
}

fn definition(ctx: &mut Ctx<'_>, entry: &Entry, jobs: &Map, group_names: &[&str]) -> JobGroup {
    let name = entry.key.as_str();
    let mut group = JobGroup {
        name: Rc::from(name),
        jobs: Vec::new(),
        faulty: false,
    };
    let mut fault = |ctx: &mut Ctx<'_>, diagnostic: Diagnostic| {
        ctx.report(diagnostic);
        group.faulty = true;
    };
    if jobs.contains_key(name) {
        fault(
            ctx,
            Diagnostic::error(
                codes::JOB_GROUP,
                format!("`{name}` is defined both under `jobs:` and under `job-groups:`"),
            )
            .at(entry.key_span, "also a job")
            .with_help("rename the job or the job group: a workflow entry names one of them"),
        );
    }
    let Some(body) = entry.value.as_map() else {
        fault(
            ctx,
            Diagnostic::error(
                codes::JOB_GROUP,
                format!("job group `{name}` must be a map with `jobs`"),
            )
            .at(
                entry.value.span,
                format!("this is a {}", entry.value.type_name()),
            )
            .with_help(format!("write `{name}: {{ jobs: [build, deploy] }}`")),
        );
        return group;
    };
    for key in body.entries() {
        match key.key.as_str() {
            "jobs" => {}
            "parameters" => fault(
                ctx,
                Diagnostic::error(
                    codes::JOB_GROUP,
                    format!("job group `{name}` cannot declare `parameters`"),
                )
                .at(key.key_span, "not allowed in a job group")
                .with_help(
                    "job groups take no arguments: pass them to the jobs in its `jobs` list",
                ),
            ),
            other => fault(
                ctx,
                Diagnostic::error(
                    codes::JOB_GROUP,
                    format!("unknown key `{other}` in job group `{name}`"),
                )
                .at(key.key_span, "not a job group key")
                .with_help("a job group has only `jobs`"),
            ),
        }
    }
    let members = match body.get("jobs").map(|j| &j.value) {
        Some(Value::Seq(items)) if !items.is_empty() => items,
        _ => {
            let at = body.get("jobs").map_or(entry.key_span, |j| j.span);
            fault(
                ctx,
                Diagnostic::error(
                    codes::JOB_GROUP,
                    format!("job group `{name}` needs a `jobs` list of at least one job"),
                )
                .at(at, "missing, empty or not a list")
                .with_help("list the group's jobs as in a workflow: `jobs: [build, deploy]`"),
            );
            return group;
        }
    };
    let mut seen: HashMap<String, Vec<Span>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for item in members {
        let Some(member) = MemberEntry::read(item) else {
            // The shape is reported where the group is invoked, as for a workflow entry.
            continue;
        };
        if group_names.contains(&member.job) {
            fault(
                ctx,
                Diagnostic::error(
                    codes::JOB_GROUP,
                    format!(
                        "Job group \"{name}\" cannot reference job group \"{}\" -- nesting is not supported",
                        member.job
                    ),
                )
                .at(member.job_span, "a job group")
                .with_help("list that group's jobs here, or invoke both groups from the workflow"),
            );
            continue;
        }
        if let Some(serial) = member.settings.and_then(|s| s.entry("serial-group")) {
            fault(
                ctx,
                Diagnostic::error(
                    codes::JOB_GROUP,
                    "Use of `serial-group` on job invocations inside a job-group is not supported. Please consider using `serial-group` on the job-group instead.",
                )
                .at(serial.key_span, "inside a job group")
                .with_help("set `serial-group` where the workflow invokes the group"),
            );
        }
        if member.settings.is_some_and(|s| s.contains_key("matrix")) {
            continue;
        }
        let member_name = member.names().swap_remove(0);
        let at = member
            .settings
            .and_then(|s| s.get("name"))
            .map_or(member.job_span, |n| n.span);
        if !seen.contains_key(&member_name) {
            order.push(member_name.clone());
        }
        seen.entry(member_name).or_default().push(at);
    }
    for member_name in order {
        let spans = &seen[&member_name];
        if spans.len() < 2 {
            continue;
        }
        for &at in spans {
            fault(
                ctx,
                Diagnostic::error(
                    codes::JOB_GROUP,
                    format!(
                        "Job '{member_name}' occurs {} times in job group '{name}'. You can give a job within a job group an explicit name by adding a `name` key",
                        spans.len()
                    ),
                )
                .at(at, "repeated in this group"),
            );
        }
    }
    group.jobs = members.clone();
    group
}

/// Checks the job group invocations of one workflow's `jobs` list against each other: one
/// group invoked twice needs a distinct `name` each time (LSP-DIAGNOSTICS V81, V82).
pub(super) fn check_invocations(ctx: &mut Ctx<'_>, job_list: &[Node]) -> R<()> {
    let mut unnamed: HashMap<&str, usize> = HashMap::new();
    let mut named: HashMap<(&str, String), usize> = HashMap::new();
    let mut failed = false;
    let invocations: Vec<(MemberEntry<'_>, Option<&Node>)> = job_list
        .iter()
        .filter_map(MemberEntry::read)
        .filter(|m| ctx.job_groups.get(m.job).is_some())
        .map(|m| {
            let name = m.settings.and_then(|s| s.get("name"));
            (m, name)
        })
        .collect();
    for (member, name) in &invocations {
        match name.and_then(|n| n.value.scalar_text()) {
            None => *unnamed.entry(member.job).or_default() += 1,
            Some(n) => *named.entry((member.job, n)).or_default() += 1,
        }
    }
    for (member, name) in &invocations {
        let group = member.job;
        match name.and_then(|n| n.value.scalar_text().map(|t| (n, t))) {
            None if unnamed[group] > 1 => {
                failed = true;
                ctx.report(
                    Diagnostic::error(
                        codes::JOB_GROUP,
                        format!(
                            "Job group \"{group}\" is invoked multiple times without a \"name\" attribute"
                        ),
                    )
                    .at(member.job_span, "invoked again without a name")
                    .with_help("give each invocation of the group its own `name:`"),
                );
            }
            Some((node, text)) if named[&(group, text.clone())] > 1 => {
                failed = true;
                ctx.report(
                    Diagnostic::error(
                        codes::JOB_GROUP,
                        format!(
                            "Job group \"{group}\" is already invoked with the name \"{text}\""
                        ),
                    )
                    .at(node.span, "name used twice")
                    .with_help("give each invocation of the group its own `name:`"),
                );
            }
            _ => {}
        }
    }
    if failed {
        Err(Reported)
    } else {
        Ok(())
    }
}

/// A job group invoked from a workflow entry.
pub(super) struct Invocation<'a> {
    pub group: &'a JobGroup,
    /// The entry's settings (`requires`, `name`, `serial-group`, `filters`).
    pub keys: &'a Map,
    /// The group's name in the entry.
    pub name_span: Span,
    pub span: Span,
}

/// Expands one invocation into the workflow's planned entries.
pub(super) fn plan_invocation(
    ctx: &mut Ctx<'_>,
    workflow: usize,
    invocation: &Invocation<'_>,
    env: &Env<'_>,
    root: &Rc<Scope>,
    planned: &mut Vec<Planned>,
) -> R<()> {
    check_keys(ctx, invocation)?;
    let group = invocation.group;
    if group.faulty {
        return Err(Reported);
    }
    let keys = subst::subst(
        ctx,
        &Node::new(Value::Map(invocation.keys.clone()), invocation.span),
        env,
    )?;
    let keys = keys.as_map().cloned().unwrap_or_default();
    let explicit_name = keys.get("name").and_then(|n| n.value.scalar_text());
    let name = explicit_name
        .clone()
        .unwrap_or_else(|| group.name.to_string());
    let serial = match keys.get("serial-group") {
        Some(key) => Some(serial_key(ctx, key)?),
        None => None,
    };
    let at = invocation.name_span;
    let scope = planned.len() + 1;
    let joint = |job_name: String, kept: Map, body: Node, scope: usize, also_in| Planned {
        workflow,
        written_name: job_name.clone(),
        name: job_name,
        alias: None,
        kept,
        job: Some(body),
        span: at,
        scope,
        also_in,
        group: None,
        stand_in: None,
    };

    // The entry job: the invocation's requires and filters, in their written order.
    let start_name = match serial {
        Some(_) => format!("{name}-lock"),
        None => format!("{name}-group-start"),
    };
    let mut start_keys = Map::new();
    for entry in keys.entries() {
        if matches!(entry.key.as_str(), "requires" | "filters") {
            start_keys.push(entry.clone());
        }
    }
    let start_body = match &serial {
        Some(key) => job_of_type("lock", Some(key), at),
        None => job_of_type("no-op", None, at),
    };
    planned.push(joint(
        start_name.clone(),
        start_keys,
        start_body,
        super::Place::WORKFLOW.scope,
        Some(scope),
    ));

    // The members, in their scope; a member that requires no other member requires the entry.
    let place = Place {
        scope,
        prefix: explicit_name.map_or_else(String::new, |n| format!("{n}/")),
        group: Some(Rc::clone(&group.name)),
    };
    let mut failed = false;
    let mut required: Vec<String> = Vec::new();
    let mut leaves: Vec<String> = Vec::new();
    let entries: Vec<MemberEntry<'_>> = group.jobs.iter().filter_map(MemberEntry::read).collect();
    for entry in &entries {
        required.extend(entry.requires());
    }
    for entry in &entries {
        let names = entry.names();
        if !names.iter().any(|n| required.contains(n)) {
            leaves.push(names.last().cloned().unwrap_or_default());
        }
    }
    for item in &group.jobs {
        let before = planned.len();
        if plan_entry(ctx, workflow, item, env, root, planned, &place).is_err() {
            failed = true;
        }
        for member in &mut planned[before..] {
            if !member.kept.contains_key("requires") {
                let requires = Node::new(Value::Seq(vec![Node::string(&start_name, at)]), at);
                member.kept.entries_mut().insert(
                    0,
                    Entry {
                        key: "requires".into(),
                        key_span: at,
                        value: requires,
                    },
                );
            }
        }
    }

    // The exit job: requires every leaf; what requires the group (by its name) requires it.
    let end_name = format!("{name}-group-end");
    let mut end_keys = Map::new();
    let leaf_nodes = leaves.iter().map(|l| Node::string(l, at)).collect();
    end_keys.insert("requires", at, Node::new(Value::Seq(leaf_nodes), at));
    let mut end = joint(
        end_name.clone(),
        end_keys,
        job_of_type("no-op", None, at),
        scope,
        Some(super::Place::WORKFLOW.scope),
    );
    end.alias = Some(name.clone());
    planned.push(end);

    // With a serial group, the lock is released whatever became of the group.
    if let Some(key) = &serial {
        let mut unlock_keys = Map::new();
        let after_end = Map::from_entries(vec![Entry {
            key: end_name,
            key_span: at,
            value: Node::string("terminal", at),
        }]);
        unlock_keys.insert(
            "requires",
            at,
            Node::new(Value::Seq(vec![Node::new(Value::Map(after_end), at)]), at),
        );
        planned.push(joint(
            format!("{name}-unlock"),
            unlock_keys,
            job_of_type("unlock", Some(key), at),
            scope,
            None,
        ));
    }
    if failed {
        Err(Reported)
    } else {
        Ok(())
    }
}

/// The keys a job group invocation refuses, each reported (LSP-DIAGNOSTICS V80).
fn check_keys(ctx: &mut Ctx<'_>, invocation: &Invocation<'_>) -> R<()> {
    let mut failed = false;
    let mut arguments: Vec<String> = Vec::new();
    for entry in invocation.keys.entries() {
        let key = entry.key.as_str();
        if INVOCATION_KEYS.contains(&key) {
            continue;
        }
        failed = true;
        match REFUSED_KEYS.iter().find(|(k, _)| *k == key) {
            Some((_, message)) => {
                ctx.report(
                    Diagnostic::error(codes::JOB_GROUP, *message)
                        .at(entry.key_span, "not allowed on a job group")
                        .with_help(
                            "a job group invocation takes only `requires`, `name`, `serial-group` and `filters`; set the rest on the jobs in the group",
                        ),
                );
            }
            None => arguments.push(format!("`{key}`")),
        }
    }
    if !arguments.is_empty() {
        arguments.sort();
        ctx.report(
            Diagnostic::error(
                codes::JOB_GROUP,
                format!(
                    "Job group invocations do not support custom parameters, but found: {}",
                    arguments.join(", ")
                ),
            )
            .at(invocation.name_span, "a job group takes no arguments")
            .with_help("pass arguments to the jobs in the group's `jobs` list"),
        );
    }
    if failed {
        Err(Reported)
    } else {
        Ok(())
    }
}

/// The `serial-group` key after substitution (CONFIG-SPEC §6.11.1).
fn serial_key(ctx: &mut Ctx<'_>, key: &Node) -> R<String> {
    match key.value.scalar_text() {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(ctx.report(
            Diagnostic::error(
                codes::JOB_GROUP,
                "`serial-group` must be a non-empty string",
            )
            .at(key.span, format!("this is a {}", key.type_name()))
            .with_help("name the group of jobs that must run one at a time, e.g. `<< pipeline.project.slug >>/deploy`"),
        )),
    }
}

/// A compiled job that only has a type (and the serial group's key for `lock` / `unlock`).
fn job_of_type(kind: &str, key: Option<&str>, at: Span) -> Node {
    let mut body = Map::new();
    body.insert("type", at, Node::string(kind, at));
    if let Some(key) = key {
        body.insert("key", at, Node::string(key, at));
    }
    Node::new(Value::Map(body), at)
}
