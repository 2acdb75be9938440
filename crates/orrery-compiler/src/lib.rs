//! The compiler core: a CircleCI 2.1 config, its orbs and the pipeline values in, the compiled
//! `version: 2` config and the job graph out.
//!
//! The core does no I/O and never fails: [`compile`] always returns a [`Compiled`] value whose
//! `diagnostics` say what went wrong. Registry orbs are reached through the [`OrbSource`] trait,
//! which the CLI implements over directories and tests implement in memory.

mod context;
mod document;
mod env;
mod executors;
mod graph;
mod job_definitions;
mod jobs;
mod logic;
mod orb_check;
mod orbs;
mod params;
mod pipeline;
mod scope;
mod steps;
mod subst;
mod version2;
mod workflows;

use orrery_diagnostics::{has_errors, Diagnostic, FileId, SourceDb};
use orrery_yaml::{Limits, Node};

pub use graph::{GraphJob, JobGraph, Requirement, WorkflowGraph};
pub use orb_check::{check_orb, OrbCheck};
pub use orbs::{FetchedOrb, NoOrbs, OrbFetchError, OrbRef, OrbSource};
pub use pipeline::{PipelineValues, SetError as PipelineSetError, ValueKind as PipelineValueKind};
pub use steps::BUILT_IN as BUILT_IN_STEPS;

/// What the caller knows about the pipeline being compiled.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub pipeline: PipelineValues,
    /// Trigger-supplied pipeline parameters (`--pipeline-parameters`), in the order given.
    pub pipeline_parameters: Vec<(String, Node)>,
    pub limits: Limits,
}

/// The outcome of a compilation. `config` and `graph` are `None` whenever `diagnostics` holds an
/// error: a compilation never yields partial output.
#[derive(Debug, Default)]
pub struct Compiled {
    pub config: Option<Node>,
    /// `(as written, resolved to)` for each registry orb of the config, in `orbs:` order.
    pub orb_headers: Vec<(String, String)>,
    pub graph: Option<JobGraph>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Compiles the config held in `db` under `file`. Orb sources fetched on the way are added to
/// `db`, so diagnostics can point into them.
pub fn compile(
    db: &mut SourceDb,
    file: FileId,
    options: &CompileOptions,
    orbs: &dyn OrbSource,
) -> Compiled {
    let text = db.file(file).map(|f| f.text.clone()).unwrap_or_default();
    let parsed = orrery_yaml::parse(file, &text, options.limits);
    compile_parsed(db, file, &parsed, options, orbs)
}

/// Compiles the config held in `db` under `file` from its parse, which the caller keeps (a
/// linter reads the same tree, so the text is parsed once).
pub fn compile_parsed(
    db: &mut SourceDb,
    file: FileId,
    parsed: &orrery_yaml::Parsed,
    options: &CompileOptions,
    orbs: &dyn OrbSource,
) -> Compiled {
    let mut diagnostics = parsed.diagnostics.clone();
    let Some(root) = &parsed.root else {
        if !has_errors(&diagnostics) {
            diagnostics.push(
                Diagnostic::error(
                    orrery_diagnostics::codes::VERSION_MISSING,
                    "the config is empty",
                )
                .at(orrery_diagnostics::Span::new(file, 0, 0), "nothing here")
                .with_help("start the file with `version: 2.1`"),
            );
        }
        return Compiled {
            diagnostics,
            ..Compiled::default()
        };
    };
    if has_errors(&diagnostics) {
        return Compiled {
            diagnostics,
            ..Compiled::default()
        };
    }
    let mut compiled = compile_borrowed(db, root, options, orbs);
    diagnostics.append(&mut compiled.diagnostics);
    compiled.diagnostics = diagnostics;
    compiled
}

/// Compiles a config already parsed, e.g. an orb example's `usage` inside the orb's file.
pub fn compile_node(
    db: &mut SourceDb,
    root: Node,
    options: &CompileOptions,
    orbs: &dyn OrbSource,
) -> Compiled {
    compile_borrowed(db, &root, options, orbs)
}

fn compile_borrowed(
    db: &mut SourceDb,
    root: &Node,
    options: &CompileOptions,
    orbs: &dyn OrbSource,
) -> Compiled {
    let mut diagnostics = Vec::new();
    let mut ctx = context::Ctx::new(db, options, orbs, options.limits);
    let root_span = root.span;
    let result = document::compile_document(&mut ctx, root);
    diagnostics.append(&mut ctx.diagnostics);
    if let Some(out) = &result {
        let (size, max) = (out.config.size(), options.limits.max_compiled_nodes);
        if size > max {
            diagnostics.push(
                Diagnostic::error(
                    orrery_diagnostics::codes::YAML_LIMIT,
                    format!(
                        "the compiled config has {size} nodes, more than the limit of {max} \
                         (the compiled-size limit)"
                    ),
                )
                .at(root_span, "compiles to more than the limit")
                .with_help(
                    "commands, jobs or matrices expand to too much; split the config or expand \
                     less",
                ),
            );
        }
    }
    match result {
        Some(out) if !has_errors(&diagnostics) => Compiled {
            config: Some(out.config),
            orb_headers: out.orb_headers,
            graph: Some(out.graph),
            diagnostics,
        },
        _ => Compiled {
            diagnostics,
            ..Compiled::default()
        },
    }
}
