//! Compilation state shared by every stage: the diagnostics sink, the call path, the scopes.

use std::collections::HashMap;
use std::rc::Rc;

use orrery_diagnostics::{Diagnostic, SourceDb, Span};
use orrery_yaml::Limits;

use crate::{orbs::OrbSource, scope::Scope, CompileOptions};

/// Marks that a diagnostic has been recorded (here or, for an opaque orb, at its import) and the
/// current element cannot be compiled. Callers keep checking the element's siblings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reported;

pub(crate) type R<T> = Result<T, Reported>;

pub(crate) struct Ctx<'a> {
    pub db: &'a mut SourceDb,
    pub options: &'a CompileOptions,
    pub orb_source: &'a dyn OrbSource,
    pub limits: Limits,
    pub diagnostics: Vec<Diagnostic>,
    /// Where each fault already reported sits in `diagnostics`, so one fault reached along
    /// several paths (a job used by two workflows, a command used by two jobs) is reported once.
    reported: HashMap<Fault, usize>,
    /// Call path, outermost first: the official frame text and the use site.
    frames: Vec<(String, Span)>,
    /// Scopes that steps written elsewhere must be expanded in (see `steps::wrap_scoped`).
    pub step_scopes: Vec<Rc<Scope>>,
    /// Declared pipeline parameters with their values for this pipeline.
    pub pipeline_params: Rc<[(String, orrery_yaml::Node)]>,
    /// The config's `job-groups:`, read once before the workflows.
    pub job_groups: Rc<crate::workflows::JobGroups>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        db: &'a mut SourceDb,
        options: &'a CompileOptions,
        orb_source: &'a dyn OrbSource,
        limits: Limits,
    ) -> Self {
        Ctx {
            db,
            options,
            orb_source,
            limits,
            diagnostics: Vec::new(),
            reported: HashMap::new(),
            frames: Vec::new(),
            step_scopes: Vec::new(),
            pipeline_params: Rc::from(Vec::new()),
            job_groups: Rc::default(),
        }
    }

    /// Pipeline parameters as seen from `scope`: none inside orbs.
    pub fn pipeline_params_for(&self, scope: &Scope) -> Option<Rc<[(String, orrery_yaml::Node)]>> {
        (!scope.is_orb()).then(|| Rc::clone(&self.pipeline_params))
    }

    pub fn push_frame(&mut self, frame: String, use_site: Span) {
        self.frames.push((frame, use_site));
    }

    pub fn pop_frame(&mut self) {
        self.frames.pop();
    }

    /// Records `diagnostic` with the current call path and the use sites that led here.
    pub fn report(&mut self, mut diagnostic: Diagnostic) -> Reported {
        diagnostic.context = self.frames.iter().map(|(f, _)| f.clone()).collect();
        let primary = diagnostic.primary.as_ref().map(|l| l.span);
        for (frame, span) in self.frames.iter().rev() {
            if Some(*span) != primary && !span.is_empty() {
                diagnostic.secondary.push(orrery_diagnostics::Label {
                    span: *span,
                    message: frame.strip_prefix("Error ").unwrap_or(frame).to_string(),
                });
            }
        }
        self.push(diagnostic);
        Reported
    }

    pub fn warn(&mut self, diagnostic: Diagnostic) {
        self.push(diagnostic);
    }

    /// Records `diagnostic` unless the same fault (code, message, primary span) is already
    /// recorded; then only the new call path's use sites are added to the first report as
    /// related places, and its context stays the first path's (the official first error).
    pub fn push(&mut self, diagnostic: Diagnostic) {
        let fault = Fault {
            code: diagnostic.code,
            message: diagnostic.message.clone(),
            primary: diagnostic.primary.as_ref().map(|l| l.span),
        };
        if let Some(&index) = self.reported.get(&fault) {
            let first = &mut self.diagnostics[index];
            for label in diagnostic.secondary {
                if !first.secondary.iter().any(|l| l.span == label.span) {
                    first.secondary.push(label);
                }
            }
            return;
        }
        self.reported.insert(fault, self.diagnostics.len());
        self.diagnostics.push(diagnostic);
    }
}

/// What makes two reports the same fault.
#[derive(PartialEq, Eq, Hash)]
struct Fault {
    code: &'static str,
    message: String,
    primary: Option<Span>,
}
