//! `orrery export`: compiles and plans the config as `orrery run` does, then writes the plan as
//! manifests for an engine that runs the jobs elsewhere (Argo, Kubernetes, Nomad) or as
//! `plan.json` for external drivers.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use orrery_diagnostics::{has_errors, render_human};
use orrery_export::{ExportOptions, Target};
use orrery_orb::LockPolicy;

use crate::config_cmd::{self, EXIT_CONFIG_ERROR};
use crate::run_cmd;

#[derive(Args)]
pub struct ExportArgs {
    /// What to write: an Argo Workflow, Kubernetes Jobs (multi-document YAML), Nomad jobs (one
    /// `{"Job": …}` per line) or the plan as JSON.
    #[arg(long, value_enum)]
    to: TargetArg,
    /// Write here instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    plan: run_cmd::PlanArgs,
    /// The store the agents talk to.
    #[arg(long, value_name = "URL", default_value = "http://orrery-store:7311")]
    store_url: String,
    /// The image that holds the agent under /.orrery.
    #[arg(long, value_name = "IMAGE", default_value = concat!("orrery-agent:", env!("CARGO_PKG_VERSION")))]
    agent_image: String,
    /// A name for the run: prefix of the workflow, job and secret names (default: the
    /// project directory's name).
    #[arg(long, value_name = "NAME")]
    run_name: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetArg {
    Argo,
    K8s,
    Nomad,
    Plan,
}

pub fn run(args: ExportArgs) -> ExitCode {
    let session =
        match config_cmd::compile(&args.plan.config, &args.plan.compile, LockPolicy::Enforce) {
            Ok(s) => s,
            Err(message) => return config_cmd::report_usage(&message),
        };
    let db = session.db;
    let mut diagnostics = session.compiled.diagnostics;
    let (Some(config), Some(graph)) = (&session.compiled.config, &session.compiled.graph) else {
        eprint!("{}", render_human(&db, &diagnostics));
        return ExitCode::from(EXIT_CONFIG_ERROR);
    };
    let root = run_cmd::project_root(&args.plan.config);
    let selection = args
        .plan
        .selection(run_cmd::pipeline_git_ref(&session.options.pipeline));
    let (plan, mut plan_diagnostics) = orrery_runtime::plan(config, graph, &selection);
    diagnostics.append(&mut plan_diagnostics);
    let run_name = args.run_name.clone().unwrap_or_else(|| {
        root.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "orrery".into())
    });
    let options = ExportOptions {
        store_url: args.store_url.clone(),
        agent_image: args.agent_image.clone(),
        run_name: orrery_export::run_label(&run_name),
    };
    let target = match args.to {
        TargetArg::Argo => Target::Argo,
        TargetArg::K8s => Target::Kubernetes,
        TargetArg::Nomad => Target::Nomad,
        TargetArg::Plan => Target::Plan,
    };
    if !has_errors(&diagnostics) {
        let (documents, mut export_diagnostics) =
            orrery_export::export(&plan, config, target, &options);
        diagnostics.append(&mut export_diagnostics);
        if !has_errors(&diagnostics) {
            if !diagnostics.is_empty() {
                eprint!("{}", render_human(&db, &diagnostics));
            }
            return write(&args, target, &documents);
        }
    }
    eprint!("{}", render_human(&db, &diagnostics));
    ExitCode::from(EXIT_CONFIG_ERROR)
}

fn write(args: &ExportArgs, target: Target, documents: &[serde_json::Value]) -> ExitCode {
    let text = orrery_export::render(target, documents);
    let written = match &args.output {
        Some(path) => {
            let tmp = path.with_extension("orrery-tmp");
            std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, path))
        }
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => config_cmd::report_usage(&format!("cannot write the export: {e}")),
    }
}
