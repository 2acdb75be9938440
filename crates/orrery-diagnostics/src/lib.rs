//! Source files, spans and diagnostics.
//!
//! Diagnostics are plain data: the compiler produces them, renderers (human, JSON, SARIF, GitHub, JUnit) turn them into
//! text. Nothing here knows about YAML or CircleCI.

mod render;
mod source;
mod suggest;

pub use render::{
    render_github, render_human, render_human_with, render_json, render_junit, render_sarif,
    HumanOptions, JsonDiagnostic, JsonEdit, JsonFix, JsonRelated, RuleInfo, ToolInfo,
};
pub use source::{FileId, LineCol, SourceDb, SourceFile, Span};
pub use suggest::{closest, suggest};

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A span with a short message, shown under the source line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One finding: what is wrong, where, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable rule code, e.g. `E0101`; see [`codes`].
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; `None` only for problems with no source (bad CLI input).
    pub primary: Option<Label>,
    /// Related places: the definition behind a use, the use site that led into an orb, ...
    pub secondary: Vec<Label>,
    /// Call path, outermost first, in the official compiler's words
    /// (`Error calling workflow: 'W'`, `Error calling job: 'J'`).
    pub context: Vec<String>,
    pub help: Option<String>,
    /// A change that resolves the problem, when the producer knows one (`orrery config fix`).
    pub fix: Option<Fix>,
}

/// Whether a fix can be applied without a human looking at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps the config's meaning (or only removes what has no effect).
    Safe,
    /// Probably right, but changes behaviour; shown, applied only on request.
    Unsafe,
}

/// One text replacement: `span` (in one file) becomes `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

/// A fix as data: a title for menus and the edits that make it, all in the diagnostic's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
}

impl Fix {
    pub fn replace(title: impl Into<String>, span: Span, replacement: impl Into<String>) -> Self {
        Fix {
            title: title.into(),
            edits: vec![Edit {
                span,
                replacement: replacement.into(),
            }],
            applicability: Applicability::Safe,
        }
    }

    pub fn with_applicability(mut self, applicability: Applicability) -> Self {
        self.applicability = applicability;
        self
    }
}

impl Diagnostic {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            context: Vec::new(),
            help: None,
            fix: None,
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.primary = Some(Label {
            span,
            message: label.into(),
        });
        self
    }

    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: label.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    pub fn in_context(mut self, frames: &[String]) -> Self {
        let mut context = frames.to_vec();
        context.append(&mut self.context);
        self.context = context;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// The registry of stable diagnostic codes. A code is never reused for another meaning.
pub mod codes {
    /// What a code's family is about, from its first three characters (`E02` → parameters):
    /// the summary reports give compiler codes, which have no per-code documentation yet.
    pub fn family(code: &str) -> Option<&'static str> {
        let (letter, digits) = code.split_at_checked(1)?;
        if !matches!(letter, "E" | "W") || digits.len() != 4 {
            return None;
        }
        Some(match digits.get(..2)? {
            "00" => "the file is not valid YAML, or is too large or deep",
            "01" => "the config's structure: version, sections, keys and value types",
            "02" => "parameters: declarations, arguments and their types",
            "03" => "templates and expressions (`<< >>`, `when`, `unless`)",
            "04" => "jobs, commands, executors and steps that cannot be resolved",
            "05" => "orbs: references, the store, the lockfile and registries",
            "06" => "workflows: jobs, requires, matrices and filters",
            "07" => "packing and unpacking orb and config sources",
            "09" => "command-line input and project settings",
            _ => return None,
        })
    }

    // YAML layer
    pub const YAML_SYNTAX: &str = "E0001";
    pub const YAML_LIMIT: &str = "E0002";
    pub const YAML_DUPLICATE_KEY: &str = "W0003";
    pub const YAML_UNKNOWN_ALIAS: &str = "E0004";
    pub const YAML_BAD_MERGE: &str = "E0005";
    pub const YAML_MULTIPLE_DOCUMENTS: &str = "W0006";
    pub const YAML_NOT_A_MAP: &str = "E0007";
    /// The file is not UTF-8 text (binary, or another encoding).
    pub const YAML_NOT_TEXT: &str = "E0008";
    /// A map key that is a collection or null: CircleCI keys are strings.
    pub const YAML_KEY_NOT_SCALAR: &str = "E0009";
    // document shape
    pub const VERSION_MISSING: &str = "E0101";
    pub const VERSION_INVALID: &str = "E0102";
    pub const SHAPE: &str = "E0103";
    pub const UNKNOWN_TOP_LEVEL_KEY: &str = "W0104";
    /// A config or orb does not fit Orrery's JSON Schema (`orrery-schema`).
    pub const SCHEMA: &str = "E0110";
    /// A key CircleCI accepts but ignores (in a built-in step, an orb root), likely a typo.
    pub const SCHEMA_IGNORED_KEY: &str = "W0111";
    // parameters
    pub const PARAM_DECLARATION: &str = "E0201";
    pub const MISSING_ARGUMENT: &str = "E0202";
    pub const UNEXPECTED_ARGUMENT: &str = "E0203";
    pub const ARGUMENT_TYPE: &str = "E0204";
    pub const PIPELINE_PARAMETER: &str = "E0205";
    // templates and expressions
    pub const TEMPLATE_SYNTAX: &str = "E0301";
    pub const UNDECLARED_PARAMETER: &str = "E0302";
    pub const UNKNOWN_VARIABLE: &str = "E0303";
    pub const EXPRESSION: &str = "E0304";
    pub const LOGIC_STATEMENT: &str = "E0305";
    pub const TEMPLATE_TYPE: &str = "E0306";
    // elements
    pub const UNKNOWN_JOB: &str = "E0401";
    pub const UNKNOWN_COMMAND: &str = "E0402";
    pub const UNKNOWN_EXECUTOR: &str = "E0403";
    pub const RECURSION: &str = "E0404";
    pub const EXECUTOR_SHAPE: &str = "E0405";
    pub const STEP_SHAPE: &str = "E0406";
    // orbs
    pub const ORB_NOT_FOUND: &str = "E0501";
    pub const ORB_REFERENCE: &str = "E0502";
    pub const ORB_UNKNOWN_ALIAS: &str = "E0503";
    pub const ORB_LOCK_MISMATCH: &str = "E0504";
    pub const ORB_LOCKFILE: &str = "E0505";
    pub const ORB_NOT_LOCKED: &str = "W0506";
    pub const ORB_REGISTRY: &str = "E0507";
    pub const ORB_CACHE: &str = "E0508";
    // workflows
    pub const WORKFLOW_SHAPE: &str = "E0601";
    pub const REQUIRES_UNKNOWN: &str = "E0602";
    pub const REQUIRES_AMBIGUOUS: &str = "E0603";
    pub const MATRIX: &str = "E0604";
    pub const ALL_WORKFLOWS_FILTERED: &str = "E0605";
    pub const REQUIRES_CYCLE: &str = "E0606";
    /// A job group's definition or invocation breaks its rules (CONFIG-SPEC §6.10.5).
    pub const JOB_GROUP: &str = "E0607";
    /// A `requires` reaches into a job group from outside it.
    pub const REQUIRES_GROUP_MEMBER: &str = "E0608";
    // packing (`orb pack`, `config pack`) and unpacking (`orb unpack`)
    pub const PACK_NO_ORB_ROOT: &str = "E0701";
    pub const PACK_NOT_A_MAP: &str = "E0702";
    pub const PACK_CONFLICT: &str = "E0703";
    pub const INCLUDE_NOT_ENTIRE_VALUE: &str = "E0704";
    pub const INCLUDE_MULTIPLE: &str = "E0705";
    pub const INCLUDE_MISSING: &str = "E0706";
    pub const INCLUDE_OUTSIDE_ROOT: &str = "E0707";
    pub const PACK_UNKNOWN_ORB_KEY: &str = "W0708";
    pub const UNPACK_NOT_REVERSIBLE: &str = "W0709";
    pub const PACK_SINGLE_FILE_ORB: &str = "W0710";
    // running (`orrery run`)
    pub const RUN_SELECTION: &str = "E0801";
    pub const RUN_UNSUPPORTED_STEP: &str = "W0802";
    pub const RUN_BAD_VALUE: &str = "E0803";
    pub const RUN_EXECUTOR: &str = "E0804";
    pub const RUN_FILTER: &str = "E0805";
    pub const RUN_SECRETS: &str = "E0806";
    // usage
    pub const USAGE: &str = "E0901";
    /// The project settings file (`.orrery.toml`) is malformed or names an unknown rule.
    pub const SETTINGS: &str = "E0902";
    // lint rules (`orrery-validate`): the letter is L because the severity is the rule's default,
    // which `.orrery.toml` can change. L10xx unused elements, L11xx images, L12xx secrets,
    // L13xx filters, triggers and reachability. L1000 is about suppression comments themselves.
    pub const SUPPRESSION_COMMENT: &str = "L1000";
    pub const UNUSED_JOB: &str = "L1001";
    pub const UNUSED_COMMAND: &str = "L1002";
    pub const UNUSED_EXECUTOR: &str = "L1003";
    pub const UNUSED_ORB: &str = "L1004";
    pub const UNUSED_PARAMETER: &str = "L1005";
    pub const UNUSED_JOB_GROUP: &str = "L1006";
    pub const DEPRECATED_IMAGE: &str = "L1101";
    pub const UNPINNED_IMAGE: &str = "L1102";
    pub const HARDCODED_CREDENTIAL: &str = "L1201";
    pub const INVALID_FILTER_REGEX: &str = "L1301";
    pub const INVALID_CRON: &str = "L1302";
    pub const UNREACHABLE_JOB: &str = "L1303";
    // L14xx workspaces, caches, matrices, pipeline parameters.
    pub const MATRIX_NAME_COLLISION: &str = "L1401";
    pub const ATTACH_WITHOUT_PERSIST: &str = "L1402";
    pub const RESTORE_KEY_NEVER_SAVED: &str = "L1403";
    pub const CHECKSUM_MISSING_FILE: &str = "L1404";
    pub const UNUSED_PIPELINE_PARAMETER: &str = "L1405";
    // L15xx shell scripts of `run` steps.
    pub const SHELLCHECK: &str = "L1501";
    // L16xx deprecated, empty or ineffective syntax; L17xx jobs, executors and steps; L18xx
    // workflow job entries and conditions (the official language server's and CONFIG-SPEC §13's
    // checks that the compiler does not make).
    pub const WORKFLOWS_VERSION_KEY: &str = "L1601";
    pub const MACHINE_TRUE: &str = "L1602";
    pub const DEPLOY_STEP: &str = "L1603";
    pub const JOB_LEVEL_BRANCHES: &str = "L1604";
    pub const EXPLICIT_BUILD_TYPE: &str = "L1605";
    pub const EMPTY_SECTION: &str = "L1606";
    pub const NAME_SHARED_ACROSS_KINDS: &str = "L1607";
    pub const UNUSED_ANCHOR: &str = "L1608";
    pub const KEY_NEEDS_NEWER_VERSION: &str = "L1609";
    pub const INEFFECTIVE_PARALLELISM: &str = "L1701";
    pub const STEPS_IN_NON_BUILD_JOB: &str = "L1702";
    pub const TEST_JOB_WITHOUT_TEST_RESULTS: &str = "L1703";
    pub const INVALID_RUN_WHEN: &str = "L1704";
    pub const INVALID_AUTO_RERUN: &str = "L1705";
    pub const INVALID_CHECKOUT_OPTIONS: &str = "L1706";
    pub const REMOTE_DOCKER_ON_MACHINE: &str = "L1707";
    pub const GLOB_IN_CACHE_PATH: &str = "L1708";
    pub const CACHE_KEY_TOO_LONG: &str = "L1709";
    pub const INVALID_CACHE_RETENTION: &str = "L1710";
    pub const INVALID_ENV_VAR_NAME: &str = "L1711";
    pub const INCOMPLETE_DOCKER_AUTH: &str = "L1712";
    pub const MACOS_WITHOUT_XCODE: &str = "L1713";
    pub const INVALID_JOB_TYPE: &str = "L1714";
    pub const INVALID_IMAGE_DIGEST: &str = "L1715";
    pub const IMAGE_ON_SELF_HOSTED_RUNNER: &str = "L1716";
    pub const RESERVED_PARAMETER_NAME: &str = "L1717";
    pub const MULTIPLE_EXECUTOR_TYPES: &str = "L1718";
    pub const MISSING_EXECUTOR: &str = "L1719";
    pub const REQUIRES_ALL_TERMINAL_STATUSES: &str = "L1801";
    pub const INVALID_REQUIRES_STATUS: &str = "L1802";
    pub const ENV_VAR_IN_CONDITION: &str = "L1803";
    pub const TEMPLATE_IN_CONDITION_EXPRESSION: &str = "L1804";
    pub const INVALID_SERIAL_GROUP: &str = "L1805";
    pub const APPROVAL_ENTRY_SHADOWS_JOB: &str = "L1806";
    pub const WHEN_AND_UNLESS: &str = "L1807";
}
