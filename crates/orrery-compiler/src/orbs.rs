//! Orb imports: registry references through [`OrbSource`], inline orbs, nested orbs.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Map, Node, Value};

use crate::context::{Ctx, Reported, R};
use crate::scope::Scope;

/// A registry orb reference, `namespace/name@version`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrbRef {
    pub namespace: String,
    pub name: String,
    /// As written: `1.2.3`, `1.2`, `1`, `volatile` or `dev:label`.
    pub version: String,
}

impl OrbRef {
    pub fn parse(text: &str) -> Option<OrbRef> {
        let (path, version) = text.trim().split_once('@')?;
        let (namespace, name) = path.split_once('/')?;
        let slug = |s: &str| {
            let mut chars = s.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        };
        let ns_ok = slug(namespace)
            || namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !namespace.is_empty();
        if !ns_ok || !slug(name) || version.is_empty() {
            return None;
        }
        Some(OrbRef {
            namespace: namespace.into(),
            name: name.into(),
            version: version.into(),
        })
    }
}

impl std::fmt::Display for OrbRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.namespace, self.name, self.version)
    }
}

/// An orb's source as found by an [`OrbSource`].
#[derive(Clone, Debug)]
pub struct FetchedOrb {
    /// The exact version the reference resolved to (`1.2` → `1.2.7`).
    pub version: String,
    /// Where it came from, for diagnostics (a file path).
    pub origin: String,
    pub text: String,
}

/// Why an [`OrbSource`] could not give an orb: a stable code, the reason, and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrbFetchError {
    pub code: &'static str,
    pub message: String,
    pub help: String,
}

impl From<String> for OrbFetchError {
    /// A plain reason means the orb is not available.
    fn from(message: String) -> Self {
        OrbFetchError {
            code: codes::ORB_NOT_FOUND,
            message,
            help: "pass a registry directory with --orb-path DIR (layout DIR/NAMESPACE/NAME/VERSION.yml) or set ORRERY_ORB_PATH".into(),
        }
    }
}

/// Where registry orbs come from. The CLI reads its orb store; tests use memory.
pub trait OrbSource {
    fn fetch(&self, reference: &OrbRef) -> Result<FetchedOrb, OrbFetchError>;
}

/// An orb source that has no orbs.
pub struct NoOrbs;

impl OrbSource for NoOrbs {
    fn fetch(&self, reference: &OrbRef) -> Result<FetchedOrb, OrbFetchError> {
        Err(
            format!("orb `{reference}` is not available: no orb registry directory was given")
                .into(),
        )
    }
}

pub(crate) struct Imports {
    pub orbs: Vec<(String, Rc<Scope>)>,
    pub headers: Vec<(String, String)>,
}

#[derive(Default)]
pub(crate) struct OrbCache {
    loaded: HashMap<String, Rc<Scope>>,
    /// Exact versions whose source was already found faulty (and reported) once.
    faulty: HashSet<String>,
}

const MAX_ORB_DEPTH: usize = 8;

/// Imports every orb of an `orbs:` map. `path` is the alias path of the importing orb.
pub(crate) fn import(
    ctx: &mut Ctx<'_>,
    cache: &mut OrbCache,
    orbs: Option<&Node>,
    path: Option<&str>,
    depth: usize,
) -> R<Imports> {
    let mut imports = Imports {
        orbs: Vec::new(),
        headers: Vec::new(),
    };
    let Some(orbs) = orbs else { return Ok(imports) };
    if orbs.is_null() {
        return Ok(imports);
    }
    let Some(map) = orbs.as_map() else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::SHAPE,
                "`orbs` must be a map of alias to orb reference",
            )
            .at(orbs.span, format!("this is a {}", orbs.type_name())),
        ));
    };
    if depth > MAX_ORB_DEPTH {
        return Err(ctx.report(
            Diagnostic::error(
                codes::ORB_REFERENCE,
                format!("orbs are nested more than {MAX_ORB_DEPTH} levels deep"),
            )
            .at(orbs.span, "here"),
        ));
    }
    for entry in map.entries() {
        let alias = entry.key.as_str();
        let alias_path = path.map_or_else(|| alias.to_string(), |p| format!("{p}/{alias}"));
        let result = match &entry.value.value {
            Value::Str(reference) => import_registry(ctx, cache, reference, entry.value.span, &alias_path, depth).map(|scope| {
                if depth == 0 {
                    imports.headers.push((reference.trim().to_string(), scope.1.clone()));
                }
                scope.0
            }),
            Value::Map(body) => scope_from_orb(ctx, cache, body, &alias_path, depth + 1),
            _ => Err(ctx.report(
                Diagnostic::error(codes::ORB_REFERENCE, format!("orb `{alias}` must be a reference like `namespace/name@1.2.3` or an inline orb map"))
                    .at(entry.value.span, format!("this is a {}", entry.value.type_name())),
            )),
        };
        // An orb that cannot be imported was reported once, at its import; its alias stays,
        // opaque, so `alias/…` references are neither compiled nor reported again.
        let scope = result.unwrap_or_else(|Reported| Rc::new(Scope::opaque(&alias_path)));
        imports.orbs.push((alias.to_string(), scope));
    }
    Ok(imports)
}

fn import_registry(
    ctx: &mut Ctx<'_>,
    cache: &mut OrbCache,
    reference: &str,
    span: Span,
    alias_path: &str,
    depth: usize,
) -> R<(Rc<Scope>, String)> {
    if reference.starts_with("https://") || reference.starts_with("http://") {
        return Err(ctx.report(
            Diagnostic::error(codes::ORB_REFERENCE, format!("URL orb `{reference}` cannot be fetched offline"))
                .at(span, "URL orb")
                .with_help("download the orb file and write it as an inline orb, or vendor it into an orb registry directory"),
        ));
    }
    let Some(orb_ref) = OrbRef::parse(reference) else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::ORB_REFERENCE,
                format!("`{reference}` is not an orb reference"),
            )
            .at(span, "expected `namespace/name@version`")
            .with_help(
                "write e.g. `circleci/node@5.1.0`, `circleci/node@5` or `circleci/node@volatile`",
            ),
        ));
    };
    let fetched = match ctx.orb_source.fetch(&orb_ref) {
        Ok(f) => f,
        Err(error) => {
            let label = if error.code == codes::ORB_NOT_FOUND {
                "orb not found"
            } else {
                "this orb"
            };
            return Err(ctx.report(
                Diagnostic::error(
                    error.code,
                    format!("cannot resolve orb `{orb_ref}`: {}", error.message),
                )
                .at(span, label)
                .with_help(error.help),
            ));
        }
    };
    let exact = format!("{}/{}@{}", orb_ref.namespace, orb_ref.name, fetched.version);
    if let Some(scope) = cache.loaded.get(&exact) {
        return Ok((Rc::clone(scope), exact));
    }
    if cache.faulty.contains(&exact) {
        return Err(Reported);
    }
    let file = ctx.db.add(fetched.origin.clone(), fetched.text.clone());
    let parsed = orrery_yaml::parse(file, &fetched.text, ctx.limits);
    let mut failed = false;
    for d in parsed.diagnostics {
        failed |= d.is_error();
        let d = Diagnostic {
            message: format!("in orb `{exact}`: {}", d.message),
            ..d
        }
        .also(span, "orb imported here");
        ctx.diagnostics.push(d);
    }
    let Some(root) = parsed.root.filter(|_| !failed) else {
        cache.faulty.insert(exact);
        return Err(Reported);
    };
    let Some(body) = root.as_map() else {
        cache.faulty.insert(exact.clone());
        return Err(ctx.report(
            Diagnostic::error(codes::YAML_NOT_A_MAP, format!("orb `{exact}` is not a map"))
                .at(root.span, "orb source")
                .also(span, "imported here"),
        ));
    };
    ctx.push_frame(format!("Error importing orb: '{exact}'"), span);
    let scope = scope_from_orb(ctx, cache, body, alias_path, depth + 1);
    ctx.pop_frame();
    let Ok(scope) = scope else {
        cache.faulty.insert(exact);
        return Err(Reported);
    };
    cache.loaded.insert(exact.clone(), Rc::clone(&scope));
    Ok((scope, exact))
}

/// Builds the scope of an orb body (registry or inline).
pub(crate) fn scope_from_orb(
    ctx: &mut Ctx<'_>,
    cache: &mut OrbCache,
    body: &Map,
    alias_path: &str,
    depth: usize,
) -> R<Rc<Scope>> {
    let imports = import(ctx, cache, body.get("orbs"), Some(alias_path), depth);
    // Each section is checked even when an earlier one is faulty.
    let commands = element_map(ctx, body, "commands");
    let executors = element_map(ctx, body, "executors");
    let jobs = element_map(ctx, body, "jobs");
    Ok(Rc::new(Scope {
        orb_path: Some(alias_path.to_string()),
        commands: commands?,
        executors: executors?,
        jobs: jobs?,
        orbs: imports?.orbs,
        opaque: false,
    }))
}

/// The `commands`/`executors`/`jobs` map of a document; absent or null is empty.
pub(crate) fn element_map(ctx: &mut Ctx<'_>, body: &Map, key: &str) -> R<Map> {
    match body.get(key) {
        None => Ok(Map::new()),
        Some(node) => match &node.value {
            Value::Null => Ok(Map::new()),
            Value::Map(m) => Ok(m.clone()),
            _ => Err(ctx.report(
                Diagnostic::error(
                    codes::SHAPE,
                    format!("`{key}` must be a map of names to definitions"),
                )
                .at(node.span, format!("this is a {}", node.type_name())),
            )),
        },
    }
}
