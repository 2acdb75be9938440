//! `orrery config process|validate`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use orrery_compiler::{CompileOptions, Compiled, PipelineValues};
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
    mut db: SourceDb,
    file: &Path,
    source: String,
    args: &CompileArgs,
    policy: LockPolicy,
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
    options.pipeline = pipeline_values(file, args);
    let store = args.store.open(file, policy, &mut db, &mut diagnostics)?;
    let parsed = orrery_yaml::parse(config, &source, options.limits);
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
        Some(Value::Map(m)) => Ok(m.entries.into_iter().map(|e| (e.key, e.value)).collect()),
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

fn pipeline_values(file: &Path, args: &CompileArgs) -> PipelineValues {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Only what the flags leave open is read from the checkout.
    let head_given = args.revision.is_some() && args.tag.is_some();
    let checkout = if head_given {
        git::read_remote(dir)
    } else {
        git::read(dir)
    };
    let mut values = PipelineValues::default();
    let tag = args.tag.clone().or(checkout.tag);
    // A tag pipeline has no branch unless one is asked for.
    let branch = args.branch.clone().or(if args.tag.is_some() {
        None
    } else {
        checkout.branch
    });
    let revision = args.revision.clone().or(checkout.revision);
    let set = |values: &mut PipelineValues, name: &str, v: &Option<String>| {
        if let Some(v) = v {
            values.set(name, Value::Str(v.clone()));
        }
    };
    set(&mut values, "pipeline.git.branch", &branch);
    set(&mut values, "pipeline.git.tag", &tag);
    set(&mut values, "pipeline.git.revision", &revision);
    if let Some((url, kind, owner, name)) =
        checkout.remote_url.as_deref().and_then(git::project_url)
    {
        for key in ["pipeline.project.git_url", "pipeline.git.repo_url"] {
            values.set(key, Value::Str(url.clone()));
        }
        values.set("pipeline.project.type", Value::Str(kind.clone()));
        values.set(
            "pipeline.project.slug",
            Value::Str(format!(
                "{}/{owner}/{name}",
                if kind == "bitbucket" { "bb" } else { "gh" }
            )),
        );
        values.set("pipeline.git.repo_owner", Value::Str(owner));
        values.set("pipeline.git.repo_name", Value::Str(name));
    }
    values
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
            let mut s =
                serde_json::to_string_pretty(&orrery_emit::to_json(config)).unwrap_or_default();
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
    if stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(EXIT_USAGE);
    }
    ExitCode::SUCCESS
}
