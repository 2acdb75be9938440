//! `orrery lsp`: the language server on stdin/stdout. The server (`orrery-lsp`) asks this
//! module what a document means; the answer comes from the same checker as
//! `orrery config validate`, so an editor shows exactly what the command reports.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, RwLock};

use clap::Args;
use orrery_compiler::Compiled;
use orrery_diagnostics::{codes, Diagnostic, SourceDb, Span};
use orrery_ide::{Analysis, AnalysisParts, OrbUse};
use orrery_lsp::{ClientSettings, OpenText};
use orrery_validate::{Host, Settings, ShellFinding, ShellScript};

use crate::config_cmd::CompileArgs;
use crate::project_host::{project_root, ProjectHost};
use crate::store::StoreArgs;
use crate::validate_cmd::{Checker, LintArgs};

#[derive(Args)]
pub struct LspArgs {
    /// Serve on stdin/stdout (the only transport; accepted because editors pass it).
    #[arg(long)]
    stdio: bool,
    /// Registry directory of orbs laid out as DIR/NAMESPACE/NAME/VERSION.yml (repeatable);
    /// ORRERY_ORB_PATH adds more.
    #[arg(long = "orb-path", value_name = "DIR")]
    orb_path: Vec<PathBuf>,
    /// The project settings file (default: the nearest .orrery.toml above each config).
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// A pipeline value every document is checked with, e.g. `pipeline.git.branch=main`
    /// (repeatable).
    #[arg(long = "pipeline-value", value_name = "KEY=VALUE")]
    pipeline_value: Vec<String>,
    /// A YAML or JSON file of pipeline values every document is checked with.
    #[arg(long = "pipeline-values", value_name = "FILE")]
    pipeline_values: Option<PathBuf>,
    /// The registry that the explicit "fetch orbs" command (and only it) downloads from.
    #[command(flatten)]
    registry: crate::remote::RegistryArgs,
}

pub fn run(args: LspArgs) -> ExitCode {
    let _ = args.stdio;
    let settings = args.settings.map(|p| std::path::absolute(&p).unwrap_or(p));
    let workspace = ProjectWorkspace {
        compile: CompileArgs {
            // Never `--online`: nothing the server does waits on the network.
            store: StoreArgs {
                orb_path: args
                    .orb_path
                    .iter()
                    .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
                    .collect(),
                registry: args.registry,
                ..StoreArgs::default()
            },
            pipeline_value: args.pipeline_value,
            pipeline_values: args
                .pipeline_values
                .map(|p| std::path::absolute(&p).unwrap_or(p)),
            ..CompileArgs::default()
        },
        lint: RwLock::new(LintArgs::with_settings(settings.clone())),
        settings,
        hosts: Mutex::new(HashMap::new()),
        last_parses: Mutex::new(HashMap::new()),
    };
    match orrery_lsp::run_stdio(Arc::new(workspace)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the language server could not start: {e}");
            ExitCode::from(crate::config_cmd::EXIT_USAGE)
        }
    }
}

pub(crate) struct ProjectWorkspace {
    pub(crate) compile: CompileArgs,
    /// The lint flags, with the editor's rule levels over the project's.
    lint: RwLock<LintArgs>,
    /// `--settings`, handed on to the commands the server runs.
    settings: Option<PathBuf>,
    /// One host per project root, kept between checks (it lists the project's files once and
    /// remembers shellcheck's findings per script).
    hosts: Mutex<HashMap<PathBuf, CachingHost>>,
    /// The newest text checked at each path and its parse: the next version's parse reuses
    /// what did not change (`orrery_yaml::parse_reusing`).
    last_parses: Mutex<HashMap<PathBuf, LastParse>>,
}

struct LastParse {
    text: Arc<str>,
    parsed: Arc<orrery_yaml::Parsed>,
    /// What the schema found in it, for the next version's check to reuse.
    schema_memo: Arc<orrery_validate::SchemaMemo>,
}

/// Paths whose last parse is kept; past this, the others are forgotten.
const KEPT_PARSES: usize = 16;

impl ProjectWorkspace {
    fn last_parses(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, LastParse>> {
        self.last_parses.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `parsed` (of `text`) as the parse the next version of `path` reuses, with what
    /// the schema found in it (when the check got that far; else the next version is checked
    /// in full).
    fn keep_parse(
        &self,
        path: &Path,
        text: &str,
        parsed: orrery_yaml::Parsed,
        schema_memo: Option<orrery_validate::SchemaMemo>,
    ) -> Arc<orrery_yaml::Parsed> {
        let parsed = Arc::new(parsed);
        let mut last = self.last_parses();
        if last.len() >= KEPT_PARSES && !last.contains_key(path) {
            last.clear();
        }
        last.insert(
            path.to_path_buf(),
            LastParse {
                text: text.into(),
                parsed: Arc::clone(&parsed),
                schema_memo: Arc::new(schema_memo.unwrap_or_default()),
            },
        );
        parsed
    }
}

impl ProjectWorkspace {
    /// Checks `text` as the config at `path`, as `config validate` does: the checker's
    /// database and what it found.
    pub(crate) fn check_config(
        &self,
        path: &Path,
        text: &str,
    ) -> Result<(SourceDb, crate::validate_cmd::Checked), String> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let host = hosts
            .entry(project_root(path))
            .or_insert_with(|| CachingHost::new(ProjectHost::for_config(path)));
        let lint = self.lint.read().unwrap_or_else(|e| e.into_inner());
        let last = self.last_parses().get(path).map(|last| LastParse {
            text: Arc::clone(&last.text),
            parsed: Arc::clone(&last.parsed),
            schema_memo: Arc::clone(&last.schema_memo),
        });
        let previous = last.as_ref().map(|last| {
            let previous = orrery_yaml::Previous {
                text: &last.text,
                parsed: &last.parsed,
            };
            (previous, &*last.schema_memo)
        });
        let mut checker = Checker::new(&self.compile, &lint)
            .with_host(host)
            .with_previous(previous);
        let checked = checker.check(path, text.to_string())?;
        Ok((checker.into_db(), checked))
    }

    fn analyze_config(&self, path: &Path, text: &str) -> Analysis {
        match self.check_config(path, text) {
            Ok((db, checked)) => Analysis::new(AnalysisParts {
                db,
                file: checked.config,
                parsed: self.keep_parse(path, text, checked.parsed, checked.schema_memo),
                compiled: checked.compiled,
                diagnostics: checked.diagnostics,
                orbs: orb_uses(checked.resolutions),
                pipeline: checked.pipeline,
                part: None,
                whole_errors: None,
            }),
            Err(message) => cannot_check(path, text, message),
        }
    }
}

/// What each registry orb reference resolved to, for the analysis.
pub(crate) fn orb_uses(
    resolutions: std::collections::BTreeMap<String, orrery_orb::Resolution>,
) -> Vec<OrbUse> {
    resolutions
        .into_iter()
        .map(|(reference, r)| OrbUse {
            reference,
            version: r.version,
            origin: r.origin,
        })
        .collect()
}

impl orrery_lsp::Workspace for ProjectWorkspace {
    fn analyze(&self, path: &Path, text: &str, others: &[OpenText]) -> Analysis {
        match crate::lsp_parts::whole_of(path) {
            Some(whole) => self.analyze_part(&whole, path, text, others),
            None => self.analyze_config(path, text),
        }
    }

    fn whole_of(&self, path: &Path) -> Option<PathBuf> {
        match crate::lsp_parts::whole_of(path)? {
            crate::lsp_parts::Whole::Orb(dir) | crate::lsp_parts::Whole::Config(dir) => Some(dir),
        }
    }

    fn configure(&self, settings: &ClientSettings) -> Vec<String> {
        let pairs = settings
            .rules
            .iter()
            .map(|(rule, level)| (rule.as_str(), level.as_str()));
        let (overrides, problems) = Settings::from_pairs(pairs);
        self.lint
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .set_overrides(overrides);
        problems
    }

    fn files_changed(&self, _paths: &[&Path]) {
        // The project's file list, settings and git checkout may differ now; start afresh.
        self.hosts.lock().unwrap_or_else(|e| e.into_inner()).clear();
        crate::git::forget();
    }

    fn run_command(
        &self,
        command: &str,
        path: &Path,
        argument: Option<&str>,
    ) -> Result<String, String> {
        let config = path.display().to_string();
        let flags = |pairs: &[(&str, Option<String>)]| -> Vec<String> {
            pairs
                .iter()
                .filter_map(|(flag, value)| Some([flag.to_string(), value.clone()?]))
                .flatten()
                .collect()
        };
        let store = &self.compile.store;
        let orb_paths: Vec<String> = store
            .orb_path
            .iter()
            .flat_map(|p| ["--orb-path".to_string(), p.display().to_string()])
            .collect();
        // The server's own flags reach the command: the same orbs, settings and pipeline
        // values the editor's diagnostics were made with.
        let pipeline: Vec<String> = self
            .compile
            .pipeline_value
            .iter()
            .flat_map(|v| ["--pipeline-value".to_string(), v.clone()])
            .chain(flags(&[(
                "--pipeline-values",
                self.compile
                    .pipeline_values
                    .as_ref()
                    .map(|p| p.display().to_string()),
            )]))
            .collect();
        let settings = flags(&[(
            "--settings",
            self.settings.as_ref().map(|p| p.display().to_string()),
        )]);
        let mut registry = flags(&[("--registry", store.registry.registry.clone())]);
        if store.registry.plain_http {
            registry.push("--plain-http".into());
        }
        let args: Vec<String> = match command {
            // The one command that may reach a registry, and only because the user asked.
            "orrery.fetchOrbs" => [
                vec!["orb".into(), "fetch".into(), "--config".into(), config],
                orb_paths,
                registry,
            ]
            .concat(),
            "orrery.lockOrbs" => {
                [vec!["orb".into(), "lock".into()], orb_paths, vec![config]].concat()
            }
            "orrery.validateAll" => {
                let dir = path.parent().unwrap_or(Path::new("."));
                let mut configs: Vec<String> = std::fs::read_dir(dir)
                    .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
                    .map(|p| p.display().to_string())
                    .collect();
                configs.sort();
                [
                    vec![
                        "config".into(),
                        "validate".into(),
                        "--color".into(),
                        "never".into(),
                    ],
                    orb_paths,
                    settings,
                    pipeline,
                    configs,
                ]
                .concat()
            }
            "orrery.runJob" => {
                let job = argument.ok_or("orrery.runJob takes the job's name after the config")?;
                [
                    vec![
                        "run".into(),
                        "--config".into(),
                        config,
                        "--job".into(),
                        job.into(),
                        "--color".into(),
                        "never".into(),
                    ],
                    orb_paths,
                ]
                .concat()
            }
            other => return Err(format!("unknown command `{other}`")),
        };
        let exe = std::env::current_exe().map_err(|e| format!("cannot find orrery itself: {e}"))?;
        let mut child = std::process::Command::new(exe);
        if let Some(token) = &store.registry.token {
            // Not on the command line, where other users' `ps` would show it.
            child.env("CIRCLECI_CLI_TOKEN", token);
        }
        let output = child
            .args(&args)
            .current_dir(project_root(path))
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run orrery {}: {e}", args.join(" ")))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            let words: Vec<&str> = args
                .iter()
                .map(String::as_str)
                .take_while(|a| !a.starts_with('-'))
                .collect();
            Err(format!("orrery {} failed:\n{text}", words.join(" ")))
        }
    }
}

/// The analysis of a document the checker could not run on (an unreadable lockfile or
/// settings file): the reason, at the top of the document.
pub(crate) fn cannot_check(path: &Path, text: &str, message: String) -> Analysis {
    let mut db = SourceDb::new();
    let file = db.add(path.display().to_string(), text);
    let parsed = orrery_yaml::parse(file, text, orrery_yaml::Limits::default());
    Analysis::new(AnalysisParts {
        db,
        file,
        parsed: Arc::new(parsed),
        compiled: Compiled::default(),
        diagnostics: vec![Diagnostic::error(codes::USAGE, message).at(Span::new(file, 0, 0), "")],
        orbs: Vec::new(),
        pipeline: Default::default(),
        part: None,
        whole_errors: None,
    })
}

/// The project host, remembering shellcheck's findings per script so that an edit elsewhere
/// does not run shellcheck again.
struct CachingHost {
    inner: ProjectHost,
    shellcheck: RefCell<HashMap<(String, String), Vec<ShellFinding>>>,
}

impl CachingHost {
    fn new(inner: ProjectHost) -> CachingHost {
        CachingHost {
            inner,
            shellcheck: RefCell::new(HashMap::new()),
        }
    }
}

impl Host for CachingHost {
    fn path_exists(&self, path: &str) -> Option<bool> {
        self.inner.path_exists(path)
    }

    fn shellcheck(&self, script: &str, shell: &str) -> Option<Vec<ShellFinding>> {
        orrery_validate::shellcheck_one(self, script, shell)
    }

    fn shellcheck_all(&self, scripts: &[ShellScript<'_>]) -> Option<Vec<Vec<ShellFinding>>> {
        let key = |s: &ShellScript<'_>| (s.text.to_string(), s.shell.to_string());
        // Scripts of old versions would otherwise pile up while the user types.
        if self.shellcheck.borrow().len() > 4096 {
            self.shellcheck.borrow_mut().clear();
        }
        let missing: Vec<ShellScript<'_>> = {
            let cache = self.shellcheck.borrow();
            scripts
                .iter()
                .filter(|s| !cache.contains_key(&key(s)))
                .copied()
                .collect()
        };
        if !missing.is_empty() {
            let found = self.inner.shellcheck_all(&missing)?;
            let mut cache = self.shellcheck.borrow_mut();
            for (script, findings) in missing.iter().zip(found) {
                cache.insert(key(script), findings);
            }
        }
        let cache = self.shellcheck.borrow();
        scripts
            .iter()
            .map(|s| cache.get(&key(s)).cloned())
            .collect()
    }
}
