//! `orrery config process|validate`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use orrery_compiler::{
    CompileOptions, Compiled, PipelineSetError, PipelineValueKind, PipelineValues,
};
use orrery_diagnostics::{codes, has_errors, render_human, Diagnostic, FileId, SourceDb, Span};
use orrery_orb::{LockPolicy, OrbStore};
use orrery_yaml::{Limits, Node, Value};

use crate::git;
use crate::store::StoreArgs;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the compiled config (what CircleCI runs).
    Process(ProcessArgs),
    /// Compile the config and check it with every lint rule; report every problem found.
    Validate(crate::validate_cmd::ValidateArgs),
    /// Apply the fixes the checks know (misspelt keys, deprecated images, ...) in place.
    Fix(crate::validate_cmd::FixArgs),
    /// List the lint rules: code, name, default severity, what each finds.
    Rules(crate::validate_cmd::RulesArgs),
    /// Print a rule's documentation, with an invalid and a valid example.
    Explain(crate::validate_cmd::ExplainArgs),
    /// Pack a config source directory (`jobs/`, `workflows/`, `@config.yml`, ...) into one
    /// config, on stdout.
    Pack(crate::pack_cmd::ConfigPackArgs),
}

#[derive(Args, Clone, Default)]
pub struct CompileArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Pipeline parameters as YAML/JSON (`'deploy: true'`) or the path of a file holding them.
    #[arg(long = "pipeline-parameters", value_name = "YAML|FILE")]
    pub pipeline_parameters: Option<String>,
    /// Pipeline git branch (default: the checkout's branch).
    #[arg(long)]
    pub branch: Option<String>,
    /// Pipeline git tag (default: the tag at HEAD, if any).
    #[arg(long)]
    pub tag: Option<String>,
    /// Pipeline git revision (default: HEAD).
    #[arg(long)]
    pub revision: Option<String>,
    /// A pipeline value, e.g. `pipeline.project.type=github` (repeatable; the `pipeline.`
    /// prefix may be left out). Values nobody gives are empty; git gives the checkout's.
    #[arg(long = "pipeline-value", value_name = "KEY=VALUE")]
    pub pipeline_value: Vec<String>,
    /// A YAML or JSON file of pipeline values: flat (`pipeline.git.branch: main`) or nested
    /// (`pipeline: {git: {branch: main}}`). `--pipeline-value` flags win over it.
    #[arg(long = "pipeline-values", value_name = "FILE")]
    pub pipeline_values: Option<PathBuf>,
}

#[derive(Args)]
pub struct ProcessArgs {
    /// The config file (`-` reads standard input).
    file: PathBuf,
    #[command(flatten)]
    compile: CompileArgs,
    /// Print the compiled config as YAML (as CircleCI does) or JSON.
    #[arg(long, value_enum, default_value_t = ProcessFormat::Yaml)]
    format: ProcessFormat,
    /// Leave out the `# Original config.yml file:` trailer.
    #[arg(long)]
    no_trailer: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProcessFormat {
    Yaml,
    Json,
}

pub fn run(command: ConfigCommand) -> ExitCode {
    match command {
        ConfigCommand::Process(args) => process(args),
        ConfigCommand::Validate(args) => crate::validate_cmd::validate(args),
        ConfigCommand::Fix(args) => crate::validate_cmd::fix(args),
        ConfigCommand::Rules(args) => crate::validate_cmd::rules(args),
        ConfigCommand::Explain(args) => crate::validate_cmd::explain(args),
        ConfigCommand::Pack(args) => crate::pack_cmd::config_pack(args),
    }
}

/// Exit codes: 0 compiled, 1 the config has errors, 2 the command could not run.
pub const EXIT_CONFIG_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

pub struct Session {
    pub db: SourceDb,
    /// The config's file in `db`.
    pub config: FileId,
    pub compiled: Compiled,
    pub source: String,
    /// The config's parse, which the compiler read (the linter reads it too).
    pub parsed: orrery_yaml::Parsed,
    pub store: OrbStore,
    /// What the config was compiled with (to compile a variant of it the same way).
    pub options: CompileOptions,
}

/// Compiles a config file (`-`: standard input) with the orb store its flags name. A file that
/// is not UTF-8 text is reported where its first bad byte is (E0008), not compiled.
pub fn compile(file: &Path, args: &CompileArgs, policy: LockPolicy) -> Result<Session, String> {
    match read_config(file)? {
        ConfigText::Utf8(source) => compile_source(SourceDb::new(), file, source, args, policy),
        ConfigText::NotUtf8(bad) => {
            let mut session = compile_source(SourceDb::new(), file, String::new(), args, policy)?;
            let (config, diagnostic) = bad.report(&mut session.db, file);
            session.config = config;
            session.compiled.config = None;
            session.compiled.graph = None;
            session.compiled.diagnostics = vec![diagnostic];
            Ok(session)
        }
    }
}

/// A config file's contents: its text, or bytes that are not UTF-8.
pub enum ConfigText {
    Utf8(String),
    NotUtf8(NotUtf8),
}

/// Bytes that are not UTF-8: their text with the bad bytes replaced, and the first bad one.
pub struct NotUtf8 {
    text: String,
    offset: usize,
    byte: u8,
}

impl NotUtf8 {
    /// Adds the text to `db` as `file` and says where its first bad byte is (E0008).
    pub fn report(self, db: &mut SourceDb, file: &Path) -> (FileId, Diagnostic) {
        let line = self.text[..self.offset].matches('\n').count() + 1;
        let config = db.add(file.display().to_string(), self.text);
        let diagnostic = Diagnostic::error(
            codes::YAML_NOT_TEXT,
            format!(
                "the file is not UTF-8 text: byte 0x{:02x} at offset {} (line {line}) is not \
                 valid UTF-8",
                self.byte, self.offset
            ),
        )
        .at(
            Span::new(config, self.offset, self.offset + '\u{FFFD}'.len_utf8()),
            "not UTF-8",
        )
        .with_help("a config is YAML text in UTF-8; convert it (e.g. `iconv -t UTF-8`) or check that this is the right file");
        (config, diagnostic)
    }
}

/// A config file's contents (`-`: standard input). `Err` only when it cannot be read.
pub fn read_config(file: &Path) -> Result<ConfigText, String> {
    let bytes = read_bytes(file)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => ConfigText::Utf8(text),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let byte = e.as_bytes()[offset];
            // The replacement keeps every byte before the first bad one, so `offset` holds.
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            ConfigText::NotUtf8(NotUtf8 { text, offset, byte })
        }
    })
}

/// The bytes of `file`, or of standard input for `-`.
fn read_bytes(file: &Path) -> Result<Vec<u8>, String> {
    if file == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
}

/// Compiles `source` as the config at `file`, adding the files it reads to `db` (so several
/// configs can share one database and one report).
pub fn compile_source(
    db: SourceDb,
    file: &Path,
    source: String,
    args: &CompileArgs,
    policy: LockPolicy,
) -> Result<Session, String> {
    compile_source_reusing(db, file, source, args, policy, None)
}

/// [`compile_source`], parsing with what `previous` (an earlier version of the same file and
/// its parse) has in common with `source` reused; the result is the same.
pub fn compile_source_reusing(
    mut db: SourceDb,
    file: &Path,
    source: String,
    args: &CompileArgs,
    policy: LockPolicy,
    previous: Option<orrery_yaml::Previous<'_>>,
) -> Result<Session, String> {
    let config = db.add(file.display().to_string(), source.clone());
    let mut options = CompileOptions {
        limits: Limits::default(),
        ..CompileOptions::default()
    };
    let mut diagnostics = Vec::new();
    if let Some(raw) = &args.pipeline_parameters {
        options.pipeline_parameters = pipeline_parameters(&mut db, raw, &mut diagnostics)?;
    }
    options.pipeline = pipeline_values(&mut db, file, args, &mut diagnostics)?;
    let store = args.store.open(file, policy, &mut db, &mut diagnostics)?;
    let parsed = orrery_yaml::parse_reusing(config, &source, options.limits, previous);
    let mut compiled = if has_errors(&diagnostics) {
        Compiled::default()
    } else {
        orrery_compiler::compile_parsed(&mut db, config, &parsed, &options, &store)
    };
    diagnostics.append(&mut compiled.diagnostics);
    diagnostics.extend(unlocked_references(&db, config, &store));
    compiled.diagnostics = diagnostics;
    if has_errors(&compiled.diagnostics) {
        compiled.config = None;
        compiled.graph = None;
    }
    Ok(Session {
        db,
        config,
        compiled,
        source,
        parsed,
        store,
        options,
    })
}

/// With a lockfile, every reference the config resolved should be pinned in it.
fn unlocked_references(db: &SourceDb, config: FileId, store: &OrbStore) -> Vec<Diagnostic> {
    let Some(lock) = store.lock() else {
        return Vec::new();
    };
    let text = db.file(config).map(|f| f.text.as_str()).unwrap_or_default();
    store
        .resolutions()
        .into_iter()
        .filter(|(reference, _)| !lock.orbs.contains_key(reference))
        .map(|(reference, resolution)| {
            let warning = Diagnostic::warning(
                codes::ORB_NOT_LOCKED,
                format!(
                    "orb `{reference}` is not in the lockfile; it resolved to {} this time",
                    resolution.version
                ),
            )
            .with_help("run `orrery orb lock` to pin it");
            match text.find(reference.as_str()) {
                Some(start) => warning.at(
                    Span::new(config, start, start + reference.len()),
                    "not locked",
                ),
                None => warning,
            }
        })
        .collect()
}

fn pipeline_parameters(
    db: &mut SourceDb,
    raw: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<(String, Node)>, String> {
    let path = Path::new(raw);
    let (name, text) = if !raw.contains(['\n', ':', '{']) || path.is_file() {
        (
            raw.to_string(),
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read pipeline parameters file {raw}: {e}"))?,
        )
    } else {
        ("--pipeline-parameters".to_string(), raw.to_string())
    };
    let file = db.add(name, text.clone());
    let parsed = orrery_yaml::parse(file, &text, Limits::default());
    diagnostics.extend(parsed.diagnostics);
    match parsed.root.map(|r| r.value) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Map(m)) => Ok(m
            .into_entries()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()),
        Some(_) => {
            diagnostics.push(
                Diagnostic::error(
                    codes::USAGE,
                    "pipeline parameters must be a map of names to values",
                )
                .at(Span::new(file, 0, text.len()), "not a map")
                .with_help("write e.g. --pipeline-parameters 'deploy: true'"),
            );
            Ok(Vec::new())
        }
    }
}

/// A pipeline value the user gave, with where it was written.
struct Given {
    name: String,
    /// Where the name is written.
    at: Span,
    value: Node,
}

/// The pipeline values: empty, then what the git checkout says (only what the user leaves
/// open is read), then the `--pipeline-values` file, the `--pipeline-value` flags and
/// `--branch`/`--tag`/`--revision`, each winning over the one before.
fn pipeline_values(
    db: &mut SourceDb,
    file: &Path,
    args: &CompileArgs,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<PipelineValues, String> {
    let given = given_pipeline_values(db, args, diagnostics)?;
    let is_given = |name: &str| given.iter().any(|g| g.name == name);
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let checkout = if is_given("pipeline.git.revision") && is_given("pipeline.git.tag") {
        git::read_remote(dir)
    } else {
        git::read(dir)
    };
    let mut values = PipelineValues::default();
    let mut set = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            values.set(name, Value::Str(value));
        }
    };
    set("pipeline.git.tag", checkout.tag);
    // A tag pipeline has no branch unless one is asked for.
    if !is_given("pipeline.git.tag") {
        set("pipeline.git.branch", checkout.branch);
    }
    set("pipeline.git.revision", checkout.revision);
    if let Some((url, kind, owner, name)) =
        checkout.remote_url.as_deref().and_then(git::project_url)
    {
        let slug = format!(
            "{}/{owner}/{name}",
            if kind == "bitbucket" { "bb" } else { "gh" }
        );
        set("pipeline.project.git_url", Some(url.clone()));
        set("pipeline.git.repo_url", Some(url));
        set("pipeline.project.type", Some(kind));
        set("pipeline.project.slug", Some(slug));
        set("pipeline.git.repo_owner", Some(owner));
        set("pipeline.git.repo_name", Some(name));
    }
    for Given { name, at, value } in given {
        let text = match value.value.scalar_text() {
            Some(text) => text,
            None => {
                diagnostics.push(
                    Diagnostic::error(
                        codes::USAGE,
                        format!("pipeline value `{name}` must be a string, number or boolean"),
                    )
                    .at(value.span, "a list or map"),
                );
                continue;
            }
        };
        match values.set_text(&name, &text) {
            Ok(()) => {}
            Err(PipelineSetError::Unknown { suggestion }) => {
                let mut error =
                    Diagnostic::error(codes::USAGE, format!("`{name}` is not a pipeline value"))
                        .at(at, "unknown name");
                error = match (suggestion, name.starts_with("pipeline.parameters.")) {
                    (_, true) => error
                        .with_help("pipeline parameters are given with --pipeline-parameters"),
                    (Some(known), false) => error.with_help(format!("did you mean `{known}`?")),
                    (None, false) => error.with_help(
                        "the documented pipeline values are listed in CircleCI's \"Project values and variables\"",
                    ),
                };
                diagnostics.push(error);
            }
            Err(PipelineSetError::Type { expected }) => {
                let expected = match expected {
                    PipelineValueKind::Int => "an integer",
                    PipelineValueKind::Bool => "`true` or `false`",
                    PipelineValueKind::Str => "a string",
                };
                diagnostics.push(
                    Diagnostic::error(
                        codes::USAGE,
                        format!("pipeline value `{name}` must be {expected}, not `{text}`"),
                    )
                    .at(value.span, "wrong type"),
                );
            }
        }
    }
    Ok(values)
}

/// The values given by `--pipeline-values`, `--pipeline-value` and the git flags, in the
/// order they apply; each is in `db` so a mistake in it is shown where it was written.
fn given_pipeline_values(
    db: &mut SourceDb,
    args: &CompileArgs,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<Given>, String> {
    let mut given = Vec::new();
    if let Some(path) = &args.pipeline_values {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read pipeline values file {}: {e}", path.display()))?;
        let file = db.add(path.display().to_string(), text.clone());
        let parsed = orrery_yaml::parse(file, &text, Limits::default());
        diagnostics.extend(parsed.diagnostics);
        match parsed.root {
            None => {}
            Some(root) if root.is_null() => {}
            Some(root) if root.as_map().is_some() => flatten_values("", &root, &mut given),
            Some(root) => diagnostics.push(
                Diagnostic::error(
                    codes::USAGE,
                    "pipeline values must be a map of names to values",
                )
                .at(root.span, "not a map")
                .with_help("write e.g. `pipeline.git.branch: main`"),
            ),
        }
    }
    for raw in &args.pipeline_value {
        let file = db.add("--pipeline-value".to_string(), raw.clone());
        let Some((key, value)) = raw.split_once('=') else {
            diagnostics.push(
                Diagnostic::error(codes::USAGE, format!("`{raw}` is not KEY=VALUE"))
                    .at(Span::new(file, 0, raw.len()), "no `=`")
                    .with_help("write e.g. --pipeline-value pipeline.project.type=github"),
            );
            continue;
        };
        given.push(Given {
            name: full_name(key.trim()),
            at: Span::new(file, 0, key.len()),
            value: Node::string(value.to_string(), Span::new(file, key.len() + 1, raw.len())),
        });
    }
    let flags = [
        ("pipeline.git.branch", "--branch", &args.branch),
        ("pipeline.git.tag", "--tag", &args.tag),
        ("pipeline.git.revision", "--revision", &args.revision),
    ];
    for (name, flag, value) in flags {
        if let Some(value) = value {
            let file = db.add(flag.to_string(), value.clone());
            let at = Span::new(file, 0, value.len());
            given.push(Given {
                name: name.to_string(),
                at,
                value: Node::string(value.clone(), at),
            });
        }
    }
    Ok(given)
}

/// `project.type` and `pipeline.project.type` name the same value.
fn full_name(key: &str) -> String {
    if key == "pipeline" || key.starts_with("pipeline.") {
        key.to_string()
    } else {
        format!("pipeline.{key}")
    }
}

/// A values file's map, nested maps joined with dots (`pipeline: {git: {branch: x}}` is
/// `pipeline.git.branch`). A scalar's place is its key, where a wrong name is shown.
fn flatten_values(prefix: &str, map: &Node, out: &mut Vec<Given>) {
    let Some(entries) = map.as_map() else {
        return;
    };
    for entry in entries.entries() {
        let (key, value) = (&entry.key, &entry.value);
        let name = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        if value.as_map().is_some() {
            flatten_values(&name, value, out);
        } else {
            out.push(Given {
                name: full_name(&name),
                at: entry.key_span,
                value: value.clone(),
            });
        }
    }
}

pub fn report_usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_USAGE)
}

fn process(args: ProcessArgs) -> ExitCode {
    let session = match compile(&args.file, &args.compile, LockPolicy::Enforce) {
        Ok(s) => s,
        Err(message) => return report_usage(&message),
    };
    let diagnostics = &session.compiled.diagnostics;
    if !diagnostics.is_empty() {
        eprint!("{}", render_human(&session.db, diagnostics));
    }
    let Some(config) = &session.compiled.config else {
        return ExitCode::from(EXIT_CONFIG_ERROR);
    };
    let text = match args.format {
        ProcessFormat::Json => {
            let mut s = orrery_emit::emit_json(config);
            s.push('\n');
            s
        }
        ProcessFormat::Yaml => {
            let mut s = String::new();
            for (written, resolved) in &session.compiled.orb_headers {
                s.push_str(&orrery_emit::orb_header(written, resolved));
            }
            s.push_str(&orrery_emit::emit_yaml(config));
            if !args.no_trailer {
                s.push_str(&orrery_emit::trailer(&session.source));
                s.push('\n');
            }
            s
        }
    };
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    // The process ends here: its trees (the parse, the compiled config, the text) are left
    // to the operating system instead of being freed node by node, about 6% of the
    // instructions of a large config (issue 15).
    std::mem::forget((
        text,
        session.parsed,
        session.compiled,
        session.db,
        session.source,
    ));
    if written.is_err() {
        return ExitCode::from(EXIT_USAGE);
    }
    ExitCode::SUCCESS
}
