//! `orrery config validate|fix|rules|explain`: the compiler's checks plus the lint rules, with
//! the project's `.orrery.toml` and suppression comments applied, in every output format.

use std::collections::{BTreeMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use orrery_compiler::Compiled;
use orrery_diagnostics::{
    render_github, render_human_with, render_json, render_junit, render_sarif, Diagnostic, FileId,
    HumanOptions, RuleInfo, Severity, SourceDb, ToolInfo,
};
use orrery_orb::{LockPolicy, Resolution};
use orrery_validate::{Host, Input, NoHost, Settings, SETTINGS_FILE};

use crate::config_cmd::{
    compile_source_reusing, read_config, report_usage, CompileArgs, ConfigText, NotUtf8,
    EXIT_CONFIG_ERROR, EXIT_USAGE,
};
use crate::project_host::ProjectHost;
use crate::shellcheck::Shellcheck;

#[derive(Args)]
pub struct ValidateArgs {
    /// The config files.
    #[arg(default_value = ".circleci/config.yml")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    compile: CompileArgs,
    #[command(flatten)]
    lint: LintArgs,
    /// The report's format: annotated snippets, JSON, SARIF 2.1.0, GitHub workflow commands
    /// or JUnit XML.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    /// Fail (exit 1) on warnings too, not only on errors.
    #[arg(long)]
    strict: bool,
    /// When to colour the report: `auto` on a terminal without NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Args)]
pub struct FixArgs {
    /// The config files to fix in place.
    #[arg(default_value = ".circleci/config.yml")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    compile: CompileArgs,
    #[command(flatten)]
    lint: LintArgs,
    /// Also apply fixes that change behaviour (such as a replacement image).
    #[arg(long = "unsafe")]
    include_unsafe: bool,
    /// Change nothing; exit 1 when a fix would apply.
    #[arg(long)]
    check: bool,
    /// When to colour the report: `auto` on a terminal without NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Args, Clone, Default)]
pub struct LintArgs {
    /// The project settings file (default: the nearest .orrery.toml from the config's
    /// directory up to the repository root).
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// Run the compiler's checks only, no lint rules.
    #[arg(long)]
    no_lint: bool,
    /// Do not run shellcheck over `run` commands (rule L1501); the settings file can also
    /// turn it off with `shellcheck = "off"` under `[rules]`.
    #[arg(long)]
    no_shellcheck: bool,
    /// Rule levels over the settings file's (an editor's `rules` setting).
    #[arg(skip)]
    overrides: Settings,
}

impl LintArgs {
    /// Lint with every rule, with this settings file or the nearest `.orrery.toml`.
    pub(crate) fn with_settings(settings: Option<PathBuf>) -> LintArgs {
        LintArgs {
            settings,
            no_lint: false,
            no_shellcheck: false,
            overrides: Settings::default(),
        }
    }

    /// Sets rule levels that apply over the settings file's.
    pub(crate) fn set_overrides(&mut self, overrides: Settings) {
        self.overrides = overrides;
    }
}

#[derive(Args)]
pub struct RulesArgs {
    /// A table for people, or JSON.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// A rule's code or name (`L1001`, `unused-job`).
    rule: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    /// Annotated source snippets on stderr; "Config file at F is valid." on stdout.
    Human,
    /// One JSON document (see docs/output-formats.md).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// JUnit XML: a test suite per file, a failure per error or warning.
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is unset.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// One checked config.
pub(crate) struct Checked {
    name: String,
    /// The config's file in the checker's database.
    pub(crate) config: FileId,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// The parse the compiler and the rules read.
    pub(crate) parsed: orrery_yaml::Parsed,
    /// The compiler's output (its diagnostics moved to `diagnostics`).
    pub(crate) compiled: Compiled,
    /// What each registry orb reference resolved to.
    pub(crate) resolutions: BTreeMap<String, Resolution>,
    /// The pipeline values it was compiled with.
    pub(crate) pipeline: orrery_compiler::PipelineValues,
    /// What the schema found, for the check of the next version to reuse (made only when
    /// the checker was given a previous version, even none: see [`Checker::with_previous`]).
    pub(crate) schema_memo: Option<orrery_validate::SchemaMemo>,
}

impl Checked {
    fn has(&self, severity: Severity) -> bool {
        self.diagnostics.iter().any(|d| d.severity == severity)
    }
}

/// Checks configs, sharing one source database (so one report can point into all of them)
/// and one shellcheck (so all their scripts are linted together), and reporting each settings
/// file's problems once.
pub(crate) struct Checker<'a> {
    compile: &'a CompileArgs,
    lint: &'a LintArgs,
    db: SourceDb,
    settings_seen: HashSet<PathBuf>,
    /// The project host to use instead of a fresh one per config (the language server keeps
    /// one per project).
    host: Option<&'a dyn Host>,
    shellcheck: Arc<Shellcheck>,
    /// An earlier version of the config checked next and its parse, for the parser to reuse
    /// (the language server checks every edit).
    previous: Option<orrery_yaml::Previous<'a>>,
    /// What the schema found in that version, for the schema to reuse; `Some` also when
    /// there was no earlier version: then the check makes a memo for the next one.
    schema_previous: Option<Option<(&'a orrery_yaml::Node, &'a orrery_validate::SchemaMemo)>>,
}

/// A compiled config waiting for the lint rules.
struct Pending {
    file: PathBuf,
    config: FileId,
    source: String,
    parsed: orrery_yaml::Parsed,
    compiled: Compiled,
    /// The compiler's diagnostics.
    reported: Vec<Diagnostic>,
    resolutions: BTreeMap<String, Resolution>,
    pipeline: orrery_compiler::PipelineValues,
    /// The settings, with the settings file's problems to report; `None` with `--no-lint`.
    settings: Option<(Settings, Vec<Diagnostic>)>,
}

impl Pending {
    /// What the rules read, when the config parsed.
    fn input<'c>(&'c self, host: &'c dyn Host) -> Option<Input<'c>> {
        let parsed = &self.parsed;
        let root = parsed.root.as_ref()?;
        // The compiler has already reported why the text does not parse.
        if orrery_diagnostics::has_errors(&parsed.diagnostics) {
            return None;
        }
        Some(Input {
            file: self.config,
            text: &self.source,
            root,
            anchors: &parsed.anchors,
            compiled: Some(&self.compiled),
            host,
        })
    }
}

impl<'a> Checker<'a> {
    pub(crate) fn new(compile: &'a CompileArgs, lint: &'a LintArgs) -> Self {
        let shellcheck = if lint.no_shellcheck || lint.no_lint {
            Arc::new(Shellcheck::off())
        } else {
            Shellcheck::installed()
        };
        Checker {
            compile,
            lint,
            db: SourceDb::new(),
            settings_seen: HashSet::new(),
            host: None,
            shellcheck,
            previous: None,
            schema_previous: None,
        }
    }

    pub(crate) fn with_host(mut self, host: &'a dyn Host) -> Self {
        self.host = Some(host);
        self
    }

    /// Checks the next config as a new version of `previous` (its text, parse, and the memo
    /// of the schema's findings its check made), reusing what did not change; with `None`,
    /// as the first version. Either way the check makes a memo for the next version.
    pub(crate) fn with_previous(
        mut self,
        previous: Option<(orrery_yaml::Previous<'a>, &'a orrery_validate::SchemaMemo)>,
    ) -> Self {
        self.schema_previous = Some(
            previous.and_then(|(previous, memo)| Some((previous.parsed.root.as_ref()?, memo))),
        );
        self.previous = previous.map(|(previous, _)| previous);
        self
    }

    pub(crate) fn into_db(self) -> SourceDb {
        self.db
    }

    /// Compiles and lints `source` as the config at `file`. `Err` when it cannot run at all.
    pub(crate) fn check(&mut self, file: &Path, source: String) -> Result<Checked, String> {
        let pending = self.compile(file, source)?;
        Ok(self.lint(pending))
    }

    /// Checks every file: all compiled first, then every script of every config linted at
    /// once, then the rules. `Err` when one cannot be read or checked at all.
    fn check_all(&mut self, files: &[PathBuf]) -> Result<Vec<Checked>, String> {
        let mut pending = Vec::with_capacity(files.len());
        for file in files {
            pending.push(match read_config(file)? {
                ConfigText::Utf8(source) => self.compile(file, source)?,
                ConfigText::NotUtf8(bad) => self.not_utf8(file, bad),
            });
        }
        if !self.shellcheck.available() {
            return Ok(pending.into_iter().map(|p| self.lint(p)).collect());
        }
        let scripts: Vec<(String, String)> = pending
            .iter()
            .filter_map(|p| {
                let (settings, _) = p.settings.as_ref()?;
                Some(orrery_validate::shell_scripts(&p.input(&NoHost)?, settings))
            })
            .flatten()
            .collect();
        let scripts: Vec<(&str, &str)> = scripts
            .iter()
            .map(|(text, shell)| (text.as_str(), shell.as_str()))
            .collect();
        self.shellcheck.prepare(&scripts);
        Ok(pending.into_iter().map(|p| self.lint(p)).collect())
    }

    /// A config that is not UTF-8 text: E0008 where its first bad byte is, nothing compiled
    /// or linted.
    fn not_utf8(&mut self, file: &Path, bad: NotUtf8) -> Pending {
        let (config, diagnostic) = bad.report(&mut self.db, file);
        let source = self
            .db
            .file(config)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        Pending {
            file: file.to_path_buf(),
            config,
            source,
            parsed: orrery_yaml::Parsed {
                root: None,
                diagnostics: Vec::new(),
                anchors: Vec::new(),
            },
            compiled: Compiled::default(),
            reported: vec![diagnostic],
            resolutions: BTreeMap::new(),
            pipeline: Default::default(),
            settings: None,
        }
    }

    fn compile(&mut self, file: &Path, source: String) -> Result<Pending, String> {
        let db = std::mem::take(&mut self.db);
        let previous = self.previous.take();
        let session = compile_source_reusing(
            db,
            file,
            source,
            self.compile,
            LockPolicy::Enforce,
            previous,
        )?;
        self.db = session.db;
        let mut compiled = session.compiled;
        let reported = std::mem::take(&mut compiled.diagnostics);
        let settings = if self.lint.no_lint {
            None
        } else {
            Some(self.settings(file)?)
        };
        Ok(Pending {
            file: file.to_path_buf(),
            config: session.config,
            source: session.source,
            parsed: session.parsed,
            compiled,
            reported,
            resolutions: session.store.resolutions(),
            pipeline: session.options.pipeline,
            settings,
        })
    }

    fn lint(&self, mut pending: Pending) -> Checked {
        let reported = std::mem::take(&mut pending.reported);
        let mut schema_memo = None;
        let diagnostics = match pending.settings.take() {
            None => reported,
            Some((settings, mut problems)) => {
                let project_host;
                let host: &dyn Host = match self.host {
                    Some(host) => host,
                    None => {
                        project_host = ProjectHost::for_config(&pending.file)
                            .with_shellcheck(Arc::clone(&self.shellcheck));
                        &project_host
                    }
                };
                match (pending.input(host), self.schema_previous) {
                    (Some(input), Some(previous)) => {
                        let (found, memo) =
                            orrery_validate::check_reusing(&input, reported, &settings, previous);
                        problems.extend(found);
                        schema_memo = Some(memo);
                    }
                    (Some(input), None) => {
                        problems.extend(orrery_validate::check(&input, reported, &settings));
                    }
                    (None, _) => problems.extend(reported),
                }
                problems
            }
        };
        Checked {
            name: pending.file.display().to_string(),
            config: pending.config,
            diagnostics,
            parsed: pending.parsed,
            compiled: pending.compiled,
            resolutions: pending.resolutions,
            pipeline: pending.pipeline,
            schema_memo,
        }
    }

    /// The settings that apply to `config`, with the settings file's problems the first time
    /// that file is read.
    fn settings(&mut self, config: &Path) -> Result<(Settings, Vec<Diagnostic>), String> {
        let (mut settings, problems) = self.file_settings(config)?;
        settings.overlay(&self.lint.overrides);
        Ok((settings, problems))
    }

    /// The settings file's rule levels, with its problems the first time it is read.
    fn file_settings(&mut self, config: &Path) -> Result<(Settings, Vec<Diagnostic>), String> {
        let path = match &self.lint.settings {
            Some(path) => path.clone(),
            None => match find_settings(config) {
                Some(path) => path,
                None => return Ok((Settings::default(), Vec::new())),
            },
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read settings {}: {e}", path.display()))?;
        let file = self
            .db
            .add(relative_to_cwd(&path).display().to_string(), text.clone());
        let (settings, mut problems) = Settings::from_toml(file, &text);
        problems.sort_by_key(|d| d.primary.as_ref().map(|p| p.span.start));
        let first_time = self.settings_seen.insert(path);
        Ok((settings, if first_time { problems } else { Vec::new() }))
    }
}

/// `path` as the user would write it from here: relative when it is under the current
/// directory.
fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// The nearest `.orrery.toml` from the config's directory upwards, stopping at the
/// repository root (the first directory holding `.git`).
fn find_settings(config: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(config).ok()?;
    for dir in absolute.ancestors().skip(1) {
        let candidate = dir.join(SETTINGS_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

pub fn validate(args: ValidateArgs) -> ExitCode {
    let mut checker = Checker::new(&args.compile, &args.lint);
    let checked = match checker.check_all(&args.files) {
        Ok(checked) => checked,
        Err(message) => return report_usage(&message),
    };
    let db = &checker.db;
    let all: Vec<Diagnostic> = checked
        .iter()
        .flat_map(|c| c.diagnostics.iter().cloned())
        .collect();
    let failed = |c: &Checked| c.has(Severity::Error) || (args.strict && c.has(Severity::Warning));
    let output = match args.format {
        ReportFormat::Human => {
            let options = HumanOptions {
                color: args.color.enabled(),
            };
            let mut stdout = String::new();
            for c in &checked {
                eprint!("{}", render_human_with(db, &c.diagnostics, options));
                if !c.has(Severity::Error) {
                    stdout.push_str(&format!("Config file at {} is valid.\n", c.name));
                }
            }
            if checked.len() > 1 || !all.is_empty() {
                eprintln!("{}", summary(&checked));
            }
            stdout
        }
        ReportFormat::Json => {
            let mut report = serde_json::json!({
                "valid": !checked.iter().any(|c| c.has(Severity::Error)),
                "files": checked
                    .iter()
                    .map(|c| serde_json::json!({ "file": c.name, "valid": !c.has(Severity::Error) }))
                    .collect::<Vec<_>>(),
            });
            for (key, severity) in [
                ("errors", Severity::Error),
                ("warnings", Severity::Warning),
                ("notes", Severity::Note),
            ] {
                let of: Vec<Diagnostic> = all
                    .iter()
                    .filter(|d| d.severity == severity)
                    .cloned()
                    .collect();
                report[key] = serde_json::json!(render_json(db, &of));
            }
            pretty(&report)
        }
        ReportFormat::Sarif => {
            let tool = ToolInfo {
                name: "orrery",
                version: env!("CARGO_PKG_VERSION"),
                information_uri: None,
            };
            pretty(&render_sarif(db, &all, &tool, &describe_code))
        }
        ReportFormat::Github => render_github(db, &all),
        ReportFormat::Junit => {
            let files: Vec<(String, Vec<Diagnostic>)> = checked
                .iter()
                .map(|c| (c.name.clone(), c.diagnostics.clone()))
                .collect();
            render_junit(db, &files)
        }
    };
    if !write_stdout(&output) {
        return ExitCode::from(EXIT_USAGE);
    }
    if checked.iter().any(failed) {
        ExitCode::from(EXIT_CONFIG_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

/// "2 errors, 1 warning in 1 of 3 files".
fn summary(checked: &[Checked]) -> String {
    let count = |severity: Severity| {
        checked
            .iter()
            .flat_map(|c| &c.diagnostics)
            .filter(|d| d.severity == severity)
            .count()
    };
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let with_findings = checked.iter().filter(|c| !c.diagnostics.is_empty()).count();
    format!(
        "{}, {}, {} in {with_findings} of {}",
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        plural(count(Severity::Note), "note"),
        plural(checked.len(), "file"),
    )
}

/// What SARIF says about a code: the lint rule's own words, or the code's family.
fn describe_code(code: &str) -> Option<RuleInfo> {
    if let Some(rule) = orrery_validate::rule(code) {
        return Some(RuleInfo {
            code: rule.code.to_string(),
            name: Some(rule.name.to_string()),
            summary: rule.summary.to_string(),
            help_uri: None,
            default_severity: rule.severity,
        });
    }
    let family = orrery_diagnostics::codes::family(code)?;
    Some(RuleInfo {
        code: code.to_string(),
        name: None,
        summary: family.to_string(),
        help_uri: None,
        default_severity: if code.starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        },
    })
}

pub fn fix(args: FixArgs) -> ExitCode {
    let mut checker = Checker::new(&args.compile, &args.lint);
    let mut would_change = false;
    let mut remaining = Vec::new();
    for file in &args.files {
        let original = match read_config(file) {
            Ok(ConfigText::Utf8(text)) => text,
            Ok(ConfigText::NotUtf8(bad)) => {
                let pending = checker.not_utf8(file, bad);
                remaining.push(checker.lint(pending));
                continue;
            }
            Err(message) => return report_usage(&message),
        };
        let mut text = original.clone();
        let mut applied_total = 0;
        // A fix can uncover another (or shift spans), so check again until nothing applies.
        let checked = loop {
            let checked = match checker.check(file, text.clone()) {
                Ok(c) => c,
                Err(message) => return report_usage(&message),
            };
            let (fixed, applied) = orrery_validate::apply_fixes(
                checked.config,
                &text,
                &checked.diagnostics,
                args.include_unsafe,
            );
            if applied == 0 || fixed == text || applied_total >= 100 {
                break checked;
            }
            applied_total += applied;
            text = fixed;
        };
        if !args.include_unsafe {
            let held_back = unsafe_fixes(&checked.diagnostics);
            if held_back > 0 {
                eprintln!(
                    "{}: {} not applied: they change behaviour (apply them with --unsafe)",
                    file.display(),
                    fixes(held_back)
                );
            }
        }
        if text != original {
            would_change = true;
            if args.check {
                eprintln!("{}: {} would apply", file.display(), fixes(applied_total));
            } else {
                if let Err(e) = std::fs::write(file, &text) {
                    return report_usage(&format!("cannot write {}: {e}", file.display()));
                }
                eprintln!("{}: applied {}", file.display(), fixes(applied_total));
            }
        }
        remaining.push(checked);
    }
    let options = HumanOptions {
        color: args.color.enabled(),
    };
    for c in &remaining {
        eprint!(
            "{}",
            render_human_with(&checker.db, &c.diagnostics, options)
        );
    }
    if args.check && would_change || remaining.iter().any(|c| c.has(Severity::Error)) {
        ExitCode::from(EXIT_CONFIG_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

/// How many of `diagnostics` carry a fix that only `--unsafe` applies.
fn unsafe_fixes(diagnostics: &[orrery_diagnostics::Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|f| {
            f.applicability != orrery_diagnostics::Applicability::Safe && !f.edits.is_empty()
        })
        .count()
}

fn fixes(n: usize) -> String {
    format!("{n} fix{}", if n == 1 { "" } else { "es" })
}

pub fn rules(args: RulesArgs) -> ExitCode {
    let rules = orrery_validate::rules();
    let output = match args.format {
        ListFormat::Json => pretty(&serde_json::json!(rules
            .iter()
            .map(|r| serde_json::json!({
                "code": r.code,
                "name": r.name,
                "severity": r.severity.as_str(),
                "summary": r.summary,
            }))
            .collect::<Vec<_>>())),
        ListFormat::Human => {
            let mut out = String::new();
            for r in rules {
                out.push_str(&format!(
                    "{}  {:<28} {:<8} {}\n",
                    r.code,
                    r.name,
                    r.severity.as_str(),
                    r.summary
                ));
            }
            out
        }
    };
    if write_stdout(&output) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_USAGE)
    }
}

pub fn explain(args: ExplainArgs) -> ExitCode {
    let Some(rule) = orrery_validate::rule(&args.rule) else {
        return report_usage(&format!(
            "no rule has the code or name `{}`; `orrery config rules` lists them",
            args.rule
        ));
    };
    if write_stdout(rule.docs) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_USAGE)
    }
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn write_stdout(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .is_ok()
}
