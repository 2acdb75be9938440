//! `L1303 unreachable-job`: a workflow job that no branch push and no tag push can run,
//! because of its own filters combined with those of the jobs it requires.
//!
//! The model (CONFIG-SPEC §6.2.4, §6.4): on a branch, a job runs when its branch filter accepts
//! the branch (no branch filter: every branch); on a tag, only when it has a tag filter that
//! accepts the tag. A job that requires others runs only if at least one of them can run for
//! the same branch or tag. Each job gets, per kind (branch, tag), an over-approximation of the
//! names it can run for: "any" unless its filters list literal names only, or an ignore pattern
//! matches everything. A job is reported only when both sets are provably empty. Expression
//! filters, templates, unresolved `requires`, job groups and scheduled workflows count as "may
//! run", so the rule never guesses.

use std::collections::BTreeSet;

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};
use regex::Regex;

use crate::flow::Flow;
use crate::model::section;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNREACHABLE_JOB,
    name: "unreachable-job",
    severity: Severity::Warning,
    summary: "a workflow job can never run: its filters and those of the jobs it requires exclude every branch and tag",
    docs: include_str!("../../docs/rules/L1303.md"),
    check,
};

/// The names (branches or tags) a job may run for, over-approximated.
#[derive(Clone, Debug, PartialEq)]
enum Names {
    /// Some names we cannot list: possibly every name.
    Open,
    /// At most these names (empty: none).
    Only(BTreeSet<String>),
}

impl Names {
    fn none() -> Names {
        Names::Only(BTreeSet::new())
    }

    fn is_empty(&self) -> bool {
        matches!(self, Names::Only(s) if s.is_empty())
    }

    fn union(self, other: Names) -> Names {
        match (self, other) {
            (Names::Only(mut a), Names::Only(b)) => {
                a.extend(b);
                Names::Only(a)
            }
            _ => Names::Open,
        }
    }
}

thread_local! {
    /// Compiled filter regexes: a config repeats the same few patterns on many jobs.
    static REGEXES: std::cell::RefCell<std::collections::HashMap<String, Option<Regex>>> =
        Default::default();
}

/// The regex matching exactly what `/inner/` matches; `None` when it does not compile.
fn anchored(inner: &str) -> Option<Regex> {
    REGEXES.with(|cache| {
        cache
            .borrow_mut()
            .entry(inner.to_string())
            .or_insert_with(|| Regex::new(&format!("^(?:{inner})$")).ok())
            .clone()
    })
}

/// One pattern of `only` or `ignore`.
enum Pattern {
    Literal(String),
    /// A `/…/` regex, anchored; `None` when it uses syntax we cannot evaluate.
    Regex(String, Option<Regex>),
    /// A template or a non-string: unknown.
    Unknown,
}

impl Pattern {
    fn read(node: &Node) -> Pattern {
        let Some(s) = node.value.scalar_text() else {
            return Pattern::Unknown;
        };
        if s.contains("<<") {
            return Pattern::Unknown;
        }
        match s.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
            Some(inner) if s.len() >= 2 => Pattern::Regex(inner.to_string(), anchored(inner)),
            _ => Pattern::Literal(s),
        }
    }

    /// `Some(true)` when it certainly matches `name`, `Some(false)` when it certainly does not.
    fn matches(&self, name: &str) -> Option<bool> {
        match self {
            Pattern::Literal(l) => Some(l == name),
            Pattern::Regex(_, Some(re)) => Some(re.is_match(name)),
            _ => None,
        }
    }

    /// Whether it matches every name (`/.*/` and its spellings).
    fn matches_everything(&self) -> bool {
        let Pattern::Regex(text, _) = self else {
            return false;
        };
        let t = text.trim_start_matches('^').trim_end_matches('$');
        matches!(
            t,
            ".*" | ".+" | "(.*)" | "(.+)" | ".*?" | ".+?" | "[\\s\\S]*" | "[^]*"
        )
    }
}

/// The `only` and `ignore` lists of one kind of filter.
struct Filter {
    /// `None`: no `only` list (everything not ignored).
    only: Option<Vec<Pattern>>,
    ignore: Vec<Pattern>,
}

impl Filter {
    fn read(node: &Node) -> Filter {
        let list = |key: &str| -> Option<Vec<Pattern>> {
            let v = node.get(key)?;
            Some(match v.as_seq() {
                Some(items) => items.iter().map(Pattern::read).collect(),
                None if v.is_null() => Vec::new(),
                None => vec![Pattern::read(v)],
            })
        };
        Filter {
            only: list("only"),
            ignore: list("ignore").unwrap_or_default(),
        }
    }

    fn certainly_ignored(&self, name: &str) -> bool {
        self.ignore.iter().any(|p| p.matches(name) == Some(true))
    }

    fn may_accept(&self, name: &str) -> bool {
        let listed = match &self.only {
            None => true,
            Some(only) => only.iter().any(|p| p.matches(name) != Some(false)),
        };
        listed && !self.certainly_ignored(name)
    }

    /// The names this filter may accept.
    fn names(&self) -> Names {
        if self.ignore.iter().any(Pattern::matches_everything) {
            return Names::none();
        }
        let Some(only) = &self.only else {
            return Names::Open;
        };
        let mut literals = BTreeSet::new();
        for p in only {
            match p {
                Pattern::Literal(l) if !self.certainly_ignored(l) => {
                    literals.insert(l.clone());
                }
                Pattern::Literal(_) => {}
                Pattern::Regex(text, _)
                    if self
                        .ignore
                        .iter()
                        .any(|i| matches!(i, Pattern::Regex(t, _) if t == text)) => {}
                _ => return Names::Open,
            }
        }
        Names::Only(literals)
    }
}

/// What a job's own filters allow, per kind.
struct Own {
    branches: Names,
    tags: Names,
    branch_filter: Option<Filter>,
    tag_filter: Option<Filter>,
}

fn own_filters(filters: Option<&Node>) -> Own {
    let open = || Own {
        branches: Names::Open,
        tags: Names::Open,
        branch_filter: None,
        tag_filter: None,
    };
    let Some(filters) = filters else {
        // No filters: every branch, no tag.
        return Own {
            tags: Names::none(),
            ..open()
        };
    };
    if !matches!(filters.value, Value::Map(_)) {
        // An expression (or anything we cannot read) may accept anything.
        return open();
    }
    let branch_filter = filters.get("branches").map(Filter::read);
    let tag_filter = filters.get("tags").map(Filter::read);
    Own {
        branches: branch_filter.as_ref().map_or(Names::Open, Filter::names),
        tags: tag_filter.as_ref().map_or(Names::none(), Filter::names),
        branch_filter,
        tag_filter,
    }
}

/// `own ∩ upstream`, where only `upstream`'s listed names can be tested against `filter`.
fn intersect(own: &Names, filter: Option<&Filter>, upstream: Names) -> Names {
    match (own, upstream) {
        (own, _) if own.is_empty() => Names::none(),
        (Names::Only(a), Names::Only(b)) => Names::Only(a.intersection(&b).cloned().collect()),
        (Names::Open, Names::Only(b)) => Names::Only(
            b.into_iter()
                .filter(|n| filter.is_none_or(|f| f.may_accept(n)))
                .collect(),
        ),
        (own, Names::Open) => own.clone(),
    }
}

struct Reach {
    branches: Names,
    tags: Names,
}

impl Reach {
    fn never(&self) -> bool {
        self.branches.is_empty() && self.tags.is_empty()
    }
}

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let groups: Vec<&str> = section(cx.root(), "job-groups")
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    for flow in cx.flows() {
        if flow.scheduled {
            continue;
        }
        check_flow(sink, flow, &groups);
    }
}

fn check_flow(sink: &mut Sink<'_>, flow: &Flow<'_>, groups: &[&str]) {
    let n = flow.jobs.len();
    let mut reach: Vec<Option<Reach>> = (0..n).map(|_| None).collect();
    let mut visiting = vec![false; n];
    for i in 0..n {
        compute(flow, groups, i, &mut reach, &mut visiting);
    }
    for (i, job) in flow.jobs.iter().enumerate() {
        let Some(r) = &reach[i] else { continue };
        if !r.never() {
            continue;
        }
        let own = own_filters(job.filters);
        let upstream: Vec<usize> = job.requires.iter().flatten().copied().collect();
        // Report where the trouble starts: not a job whose every upstream is itself unreachable.
        let upstream_never = |j: &usize| reach[*j].as_ref().is_some_and(Reach::never);
        let own_allows_something = !own.branches.is_empty() || !own.tags.is_empty();
        if own_allows_something && !upstream.is_empty() && upstream.iter().all(upstream_never) {
            continue;
        }
        let mut reasons = Vec::new();
        if own.branches.is_empty() {
            reasons.push("its branch filter excludes every branch".to_string());
        } else {
            reasons.push(format!(
                "no job it requires runs on {}",
                describe(&own.branches, "branch")
            ));
        }
        if own.tags.is_empty() {
            reasons.push(if own.tag_filter.is_some() {
                "its tag filter excludes every tag".to_string()
            } else {
                "without a `tags` filter it never runs for a tag".to_string()
            });
        } else {
            reasons.push(format!(
                "no job it requires runs for {}",
                describe(&own.tags, "tag")
            ));
        }
        let mut d = sink
            .finding(format!(
                "job `{}` in workflow `{}` can never run: {}",
                job.name,
                flow.entry.key,
                reasons.join("; ")
            ))
            .at(job.name_span, "never runs");
        let tags_blocked_upstream = !own.tags.is_empty();
        for j in upstream {
            let up = &flow.jobs[j];
            let label = match &reach[j] {
                Some(r) if tags_blocked_upstream && r.tags.is_empty() => {
                    "required, but never runs for a tag"
                }
                _ => "required, but never runs where this job would",
            };
            if up.name_span != job.name_span {
                d = d.also(up.name_span, label);
            }
        }
        let help = if tags_blocked_upstream {
            "a job that requires others runs for a tag only if one of them runs for it too: give every job upstream the same `tags` filter (jobs without one are skipped for tags)"
        } else {
            "make the filters of this job and of the jobs it requires accept a common branch or tag, or remove the job"
        };
        sink.push(d.with_help(help));
    }
}

fn describe(names: &Names, kind: &str) -> String {
    match names {
        Names::Open => format!("any {kind} it accepts"),
        Names::Only(set) => {
            let list: Vec<String> = set.iter().map(|s| format!("`{s}`")).collect();
            let plural = match (kind, list.len()) {
                (_, 1) => kind.to_string(),
                ("branch", _) => "branches".to_string(),
                _ => format!("{kind}s"),
            };
            format!("{plural} {}", list.join(", "))
        }
    }
}

fn compute(
    flow: &Flow<'_>,
    groups: &[&str],
    i: usize,
    reach: &mut Vec<Option<Reach>>,
    visiting: &mut Vec<bool>,
) -> Reach {
    if let Some(r) = &reach[i] {
        return Reach {
            branches: r.branches.clone(),
            tags: r.tags.clone(),
        };
    }
    let job = &flow.jobs[i];
    let open = || Reach {
        branches: Names::Open,
        tags: Names::Open,
    };
    if visiting[i] {
        // A cycle is the compiler's error; here it means "unknown".
        return open();
    }
    visiting[i] = true;
    let result = if groups.contains(&job.invoked) {
        open()
    } else {
        let own = own_filters(job.filters);
        if job.requires.is_empty() {
            Reach {
                branches: own.branches,
                tags: own.tags,
            }
        } else {
            let mut up = Reach {
                branches: Names::none(),
                tags: Names::none(),
            };
            for r in &job.requires {
                let u = match r {
                    Some(j) => compute(flow, groups, *j, reach, visiting),
                    None => open(),
                };
                up.branches = up.branches.union(u.branches);
                up.tags = up.tags.union(u.tags);
            }
            Reach {
                branches: intersect(&own.branches, own.branch_filter.as_ref(), up.branches),
                tags: intersect(&own.tags, own.tag_filter.as_ref(), up.tags),
            }
        }
    };
    visiting[i] = false;
    reach[i] = Some(Reach {
        branches: result.branches.clone(),
        tags: result.tags.clone(),
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use orrery_diagnostics::Span;

    fn s(v: &str) -> Node {
        Node::string(v, Span::default())
    }

    fn filter(only: &[&str], ignore: &[&str]) -> Filter {
        Filter {
            only: (!only.is_empty()).then(|| only.iter().map(|v| Pattern::read(&s(v))).collect()),
            ignore: ignore.iter().map(|v| Pattern::read(&s(v))).collect(),
        }
    }

    #[test]
    fn filters_know_what_they_exclude() {
        assert!(filter(&[], &["/.*/"]).names().is_empty());
        assert!(filter(&["main"], &["main"]).names().is_empty());
        assert!(filter(&["main"], &["/ma.*/"]).names().is_empty());
        assert!(filter(&["/^v.*/"], &["/^v.*/"]).names().is_empty());
        assert_eq!(filter(&["/^v.*/"], &["/^w.*/"]).names(), Names::Open);
        assert_eq!(filter(&[], &["main"]).names(), Names::Open);
        assert!(filter(&["main", "dev"], &["main"]).may_accept("dev"));
        assert!(!filter(&["/release-.*/"], &[]).may_accept("main"));
        assert!(filter(&["/release-(?=x).*/"], &[]).may_accept("main"));
    }
}
