//! `orrery run`: compiles the config as `config process` does, plans the selected workflow and
//! runs its jobs locally (machine jobs on the host, docker jobs in containers on the local Docker
//! daemon), with live prefixed logs, a final table and a per-run folder.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use orrery_diagnostics::{codes, has_errors, render_human, Diagnostic};
use orrery_orb::LockPolicy;
use orrery_runtime::checkout::CheckoutMode;
use orrery_runtime::docker::{socket_from, DockerExecutor, DockerOptions, PullPolicy};
use orrery_runtime::env::{stable_uuid, uuid, RunInfo};
use orrery_runtime::executor::{ByKind, Executor};
use orrery_runtime::machine::MachineExecutor;
use orrery_runtime::run::{execute_on, reserve_build_numbers, Console, RunOptions};
use orrery_runtime::schedule::{ApprovedNames, Approver, Decision};
use orrery_runtime::secrets::Secrets;
use orrery_runtime::spec::ExecutorKind;
use orrery_runtime::swarm::SwarmOptions;
use orrery_runtime::sweep;
use orrery_runtime::{GitRef, JobKind, Plan, PlannedJob, Selection, Status};
use orrery_yaml::{Map, Node, Value};
use sha2::{Digest, Sha256};

use crate::config_cmd::{self, CompileArgs, EXIT_CONFIG_ERROR};
use crate::git;

/// The config and the part of its pipeline to plan, as `orrery run` and `orrery export` take
/// them.
#[derive(Args)]
pub struct PlanArgs {
    /// The config file.
    #[arg(long, default_value = ".circleci/config.yml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Only this workflow (default: every workflow of the pipeline).
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only these jobs (repeatable); their requirements on other jobs count as met and
    /// filters do not apply to them.
    #[arg(long = "job", value_name = "NAME")]
    pub jobs: Vec<String>,
}

impl PlanArgs {
    /// The selection to plan, for the pipeline's `git`.
    pub fn selection(&self, git: GitRef) -> Selection {
        Selection {
            workflow: self.workflow.clone(),
            jobs: self.jobs.clone(),
            git,
        }
    }
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// How many job nodes run at once (default: the number of CPU cores).
    #[arg(long = "jobs", short = 'j', value_name = "N")]
    parallel: Option<usize>,
    /// Approve this approval job (repeatable; `all` approves every one). Without it an
    /// approval asks on a terminal and stays on hold otherwise.
    #[arg(long, value_name = "NAME")]
    approve: Vec<String>,
    /// Print the plan and stop.
    #[arg(long)]
    dry_run: bool,
    /// Parent folder of the per-run folders (default: .orrery/runs in the project).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The persistent cache store (default: .orrery/caches in the project).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Project variables and contexts (default: .orrery/secrets.yml when it exists).
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// What `checkout` copies: the work tree with uncommitted changes, or HEAD only.
    #[arg(long, value_enum, default_value_t = CheckoutArg::Worktree)]
    checkout: CheckoutArg,
    /// Where docker jobs run: `docker` in containers on the local daemon (`DOCKER_HOST=unix://…`
    /// or /var/run/docker.sock), `machine` on the host like machine jobs, `auto` in containers
    /// (failing when no daemon answers). Machine jobs always run on the host.
    #[arg(long, value_enum, default_value_t = ExecutorArg::Auto)]
    executor: ExecutorArg,
    /// Where docker jobs run: `local` (on this machine, see --executor) or `swarm` (each node a
    /// service on a Docker Swarm, its steps run by `orrery agent task` in the job's image;
    /// machine jobs still run here).
    #[arg(long, value_enum, default_value_t = EngineArg::Local)]
    engine: EngineArg,
    /// With `--engine swarm`: the swarm manager's Engine API (`unix:///path`; default:
    /// DOCKER_HOST, else /var/run/docker.sock).
    #[arg(long, value_name = "URL", requires = "store_listen")]
    swarm_host: Option<String>,
    /// With `--engine swarm`: where the store the agents talk to listens, an ADDRESS:PORT the
    /// cluster's tasks reach (port 0 picks one; HTTPS with a CA made for the run unless on
    /// loopback).
    #[arg(long, value_name = "ADDRESS:PORT")]
    store_listen: Option<std::net::SocketAddr>,
    /// With `--engine swarm`: reserve this fraction of each resource class's CPU and memory
    /// (limits stay whole), e.g. on a test cluster whose nodes share one host.
    #[arg(long, value_name = "FRACTION", default_value_t = 1.0)]
    reserve_scale: f64,
    /// With `--engine swarm`: a node whose agent is silent this long fails as an
    /// infrastructure failure (also the agents' dead-man interval).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    node_grace: u64,
    /// When the Docker executor pulls an image: only when the daemon lacks it, or never.
    #[arg(long, value_enum, default_value_t = PullArg::Missing)]
    pull: PullArg,
    /// Keep each job's working directory in the run folder.
    #[arg(long)]
    keep: bool,
    /// Only sweep what killed runs left (this project's working files; containers and
    /// processes of any project on this machine), then exit. Every run does this first.
    #[arg(long)]
    gc: bool,
    /// When to colour the output: `auto` on a terminal without NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckoutArg {
    Worktree,
    Head,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ExecutorArg {
    Auto,
    Docker,
    Machine,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum EngineArg {
    Local,
    Swarm,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum PullArg {
    Missing,
    Never,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

/// Exit codes: 0 every job that ran succeeded, 1 a job failed or the config has errors, 2 the
/// command could not run, 128 + the signal's number when stopped by SIGINT (130), SIGHUP (129)
/// or SIGTERM (143).
const STOPPING_SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];
const EXIT_CANNOT_RUN: u8 = config_cmd::EXIT_USAGE;

pub(crate) fn project_root(config: &Path) -> PathBuf {
    let dir = config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let top = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()));
    top.unwrap_or_else(|| {
        if dir.file_name().is_some_and(|n| n == ".circleci") {
            dir.parent().map(Path::to_path_buf).unwrap_or(dir)
        } else {
            dir
        }
    })
}

/// An error for each selected job the config does not define, with the nearest of the jobs it
/// does define (whether a workflow uses them or not).
fn unknown_jobs(session: &config_cmd::Session, selected: &[String]) -> Vec<Diagnostic> {
    let Some(root) = &session.parsed.root else {
        return Vec::new();
    };
    let defined: Vec<&str> = root
        .get("jobs")
        .and_then(Node::as_map)
        .map(|m| m.entries().iter().map(|e| e.key.as_str()).collect())
        .unwrap_or_default();
    let compiled = session
        .compiled
        .config
        .as_ref()
        .and_then(|c| c.get("jobs"))
        .and_then(Node::as_map);
    selected
        .iter()
        .filter(|j| !defined.contains(&j.as_str()))
        .filter(|j| !compiled.is_some_and(|m| m.contains_key(j)))
        .map(|name| {
            let help = match orrery_diagnostics::suggest(name, &defined) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the jobs are: {}", defined.join(", ")),
            };
            Diagnostic::error(
                codes::RUN_SELECTION,
                format!("there is no job `{name}` to run"),
            )
            .with_help(help)
        })
        .collect()
}

/// The session compiled again with a workflow `local` running the selected jobs that no
/// workflow uses (the compiled config leaves such jobs out), so `--job` can name any job of
/// the config. Unchanged when there are none or the config does not compile.
fn with_local_workflow(
    mut session: config_cmd::Session,
    selected: &[String],
) -> config_cmd::Session {
    let compiled_jobs = session
        .compiled
        .config
        .as_ref()
        .and_then(|c| c.get("jobs"))
        .and_then(Node::as_map);
    let Some(root) = &session.parsed.root else {
        return session;
    };
    let source_jobs = root.get("jobs").and_then(Node::as_map);
    let unused: Vec<&String> = selected
        .iter()
        .filter(|j| !compiled_jobs.is_some_and(|m| m.contains_key(j)))
        .filter(|j| source_jobs.is_some_and(|m| m.contains_key(j)))
        .collect();
    if unused.is_empty() || session.compiled.config.is_none() {
        return session;
    }
    let span = root.span;
    let names = unused
        .iter()
        .map(|n| Node::new(Value::Str(n.to_string()), span))
        .collect();
    let mut local = Map::new();
    local.insert("jobs", span, Node::new(Value::Seq(names), span));
    let mut root = root.clone();
    let Value::Map(top) = &mut root.value else {
        return session;
    };
    match top.get_mut("workflows") {
        Some(Node {
            value: Value::Map(workflows),
            ..
        }) => workflows.insert("local", span, Node::new(Value::Map(local), span)),
        _ => {
            let mut workflows = Map::new();
            workflows.insert("local", span, Node::new(Value::Map(local), span));
            top.insert("workflows", span, Node::new(Value::Map(workflows), span));
        }
    }
    let compiled =
        orrery_compiler::compile_node(&mut session.db, root, &session.options, &session.store);
    if compiled.config.is_some() {
        session.compiled = compiled;
    }
    session
}

/// Sweeps what runs under `runs` whose process is gone left, and says so on stderr.
/// The branch, tag and revision the config was compiled for (from git, or as the flags gave
/// them): what workflow filters are matched against.
pub fn pipeline_git_ref(values: &orrery_compiler::PipelineValues) -> GitRef {
    GitRef {
        branch: values.text("pipeline.git.branch"),
        tag: values.text("pipeline.git.tag"),
        revision: values.text("pipeline.git.revision"),
    }
}

fn sweep_leftovers(runs: &Path) {
    let socket = socket_from(std::env::var("DOCKER_HOST").ok().as_deref())
        .ok()
        .filter(|s| s.exists());
    let mut swept = sweep::sweep_dead_runs(runs, socket.as_deref());
    swept.extend(sweep::sweep_orphans(socket.as_deref()));
    for swept in swept {
        let mut err = std::io::stderr();
        let files = if swept.had_folder {
            "its working files"
        } else {
            "no run folder"
        };
        let _ = writeln!(
            err,
            "swept the leftovers of killed run {}: {} containers, {} processes, {files}",
            swept.run_id, swept.containers, swept.processes
        );
        if let Some(problem) = swept.problem {
            let _ = writeln!(
                err,
                "warning: run {} not fully swept: {problem}",
                swept.run_id
            );
        }
    }
}

pub fn run(args: RunArgs) -> ExitCode {
    if args.gc {
        let root = project_root(&args.plan.config);
        let runs = args
            .out
            .clone()
            .unwrap_or_else(|| root.join(".orrery").join("runs"));
        sweep_leftovers(&runs);
        return ExitCode::SUCCESS;
    }
    let session =
        match config_cmd::compile(&args.plan.config, &args.plan.compile, LockPolicy::Enforce) {
            Ok(s) => s,
            Err(message) => return config_cmd::report_usage(&message),
        };
    let unknown = unknown_jobs(&session, &args.plan.jobs);
    if !unknown.is_empty() {
        eprint!("{}", render_human(&session.db, &unknown));
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    let session = with_local_workflow(session, &args.plan.jobs);
    let git_ref = pipeline_git_ref(&session.options.pipeline);
    let mut db = session.db;
    let mut diagnostics = session.compiled.diagnostics;
    let (Some(config), Some(graph)) = (&session.compiled.config, &session.compiled.graph) else {
        eprint!("{}", render_human(&db, &diagnostics));
        return ExitCode::from(EXIT_CONFIG_ERROR);
    };
    let root = project_root(&args.plan.config);
    let checkout = git::read(&root);
    let selection = args.plan.selection(git_ref.clone());
    let GitRef {
        branch,
        tag,
        revision,
    } = git_ref;
    let (plan, mut plan_diagnostics) = orrery_runtime::plan(config, graph, &selection);
    diagnostics.append(&mut plan_diagnostics);
    let docker_job = plan.jobs.iter().find_map(|job| match &job.kind {
        JobKind::Run(spec) if matches!(spec.executor, ExecutorKind::Docker { .. }) => {
            Some(job.name.clone())
        }
        _ => None,
    });
    let on_swarm = args.engine == EngineArg::Swarm;
    let docker_job = docker_job.filter(|_| args.executor != ExecutorArg::Machine && !on_swarm);
    let swarm = match swarm_options(&args) {
        Ok(s) => s,
        Err(e) => return config_cmd::report_usage(&e),
    };
    let state = root.join(".orrery");
    let secrets_path = args
        .secrets
        .clone()
        .or_else(|| Some(state.join("secrets.yml")).filter(|p| p.is_file()));
    let secrets = match &secrets_path {
        None => Secrets::default(),
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => {
                let file = db.add(p.display().to_string(), text.clone());
                let (s, mut d) = orrery_runtime::secrets::parse(file, &text);
                diagnostics.append(&mut d);
                s
            }
            Err(e) => {
                return config_cmd::report_usage(&format!("cannot read {}: {e}", p.display()))
            }
        },
    };
    if !diagnostics.is_empty() {
        eprint!("{}", render_human(&db, &diagnostics));
    }
    if has_errors(&diagnostics) {
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    if args.dry_run {
        print!("{}", describe(&plan));
        return ExitCode::SUCCESS;
    }

    // Any of the stopping signals: running steps are killed, nothing new starts, and the
    // run cleans up as after Ctrl-C.
    let interrupted = Arc::new(AtomicBool::new(false));
    let signal = Arc::new(AtomicUsize::new(0));
    for s in STOPPING_SIGNALS {
        // The number first: whoever sees the flag finds it set.
        let _ = signal_hook::flag::register_usize(s, signal.clone(), s as usize);
        let _ = signal_hook::flag::register(s, interrupted.clone());
    }
    // Milliseconds first, so run folders sort in the order they were made.
    let run_id = format!(
        "{:013}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
        &uuid()[..8]
    );
    let runs = args.out.clone().unwrap_or_else(|| state.join("runs"));
    sweep_leftovers(&runs);
    let run_dir = runs.join(&run_id);
    // First, so that a sweep by a concurrent run never takes this one for a killed run.
    if let Err(e) = sweep::record_owner(&run_dir) {
        return config_cmd::report_usage(&format!("cannot create {}: {e}", run_dir.display()));
    }
    let helper_dir = match install_helpers(&run_dir) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("warning: the `circleci` helper is not available in jobs: {e}");
            None
        }
    };
    // One number per job node this run may start.
    let nodes: u64 = plan
        .jobs
        .iter()
        .filter(|j| matches!(j.kind, JobKind::Run(_)))
        .map(|j| u64::from(j.nodes()))
        .sum();
    let first_build_num = match reserve_build_numbers(&state.join("build-num"), nodes.max(1)) {
        Ok(n) => n,
        Err(e) => return config_cmd::report_usage(&e),
    };
    let project = checkout.remote_url.as_deref().and_then(git::project_url);
    let reponame = project
        .as_ref()
        .map(|p| p.3.clone())
        .or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let owner = project.as_ref().map(|p| p.2.clone());
    let hash = |s: &str| Sha256::digest(s.as_bytes()).to_vec();
    let info = RunInfo {
        branch,
        tag,
        sha1: revision,
        repository_url: checkout.remote_url.clone(),
        project_username: owner.clone(),
        project_reponame: reponame,
        username: git_user(&root)
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_default(),
        pipeline_id: uuid(),
        organization_id: stable_uuid(&hash(&format!("org:{}", owner.unwrap_or_default()))),
        project_id: stable_uuid(&hash(&format!("project:{}", root.display()))),
    };
    let options = RunOptions {
        run_dir: run_dir.clone(),
        project_root: root.clone(),
        checkout: match args.checkout {
            CheckoutArg::Worktree => CheckoutMode::WorkTree,
            CheckoutArg::Head => CheckoutMode::Head,
        },
        cache_dir: args
            .cache_dir
            .clone()
            .unwrap_or_else(|| state.join("caches")),
        timings_file: state.join("timings.json"),
        helper_dir,
        max_parallel: args.parallel.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        info,
        secrets,
        first_build_num,
    };
    let colour = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let console = Arc::new(Terminal {
        progress: progress_bar(plan.jobs.len()),
        running: Mutex::new(Vec::new()),
        colour,
        out: Mutex::new(()),
    });
    let approver = Approvals {
        given: ApprovedNames(args.approve.clone()),
        interactive: std::io::stdin().is_terminal(),
        progress: console.progress.clone(),
    };
    let machine = MachineExecutor {
        keep: args.keep,
        run_id: run_id.clone(),
    };
    let docker = match &docker_job {
        None => None,
        Some(job) => {
            let connected =
                socket_from(std::env::var("DOCKER_HOST").ok().as_deref()).and_then(|socket| {
                    DockerExecutor::connect(DockerOptions {
                        socket,
                        run_id: run_id.clone(),
                        work_dir: run_dir.join(".work").join("docker"),
                        timings_file: options.timings_file.clone(),
                        pull: match args.pull {
                            PullArg::Missing => PullPolicy::Missing,
                            PullArg::Never => PullPolicy::Never,
                        },
                    })
                });
            match connected {
                Ok(d) => Some(d),
                Err(e) => {
                    let d = Diagnostic::error(
                        codes::RUN_EXECUTOR,
                        format!("job `{job}` uses the Docker executor, but {e}"),
                    )
                    .with_help("start the Docker daemon, or pass --executor machine to run docker jobs' steps on the host");
                    eprint!("{}", render_human(&db, &[d]));
                    return ExitCode::from(EXIT_CANNOT_RUN);
                }
            }
        }
    };
    let executor = ByKind {
        machine: &machine,
        docker: docker.as_ref().map(|d| d as &dyn Executor),
    };
    eprintln!("run folder: {}", run_dir.display());
    let report = execute_on(
        &plan,
        &options,
        &executor,
        swarm.as_ref(),
        &approver,
        console.clone(),
        &interrupted,
    );
    if let Some(bar) = &console.progress {
        bar.finish_and_clear();
    }
    // Whatever an interrupted node could not remove itself.
    orrery_runtime::cgroup::remove_run(&run_id);
    if let Some(d) = &docker {
        let left = d.sweep();
        if left > 0 {
            let _ = writeln!(
                std::io::stderr(),
                "removed {left} containers the run left behind"
            );
        }
    }
    sweep::release_owner(&run_dir);
    let report = match report {
        Ok(r) => r,
        Err(e) => return config_cmd::report_usage(&e),
    };

    // A closed terminal (SIGHUP) must not turn the clean-up into a panic.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<40} {:<13} {:>10}", "JOB", "STATUS", "DURATION");
    for (j, r) in report.results.iter().enumerate() {
        let job = &plan.jobs[j];
        let name = if plan.workflows.len() > 1 {
            format!("{}/{}", job.workflow, job.name)
        } else {
            job.name.clone()
        };
        let status = r.status.as_str();
        let status = if colour {
            paint(status_colour(r.status), status)
        } else {
            status.to_string()
        };
        let pad = 13 + status.len() - r.status.as_str().len();
        let _ = writeln!(
            out,
            "{:<40} {:<pad$} {:>9.2}s",
            name,
            status,
            r.duration.as_secs_f64()
        );
        for node in 0..job.nodes() {
            if let Some(t) = report.nodes.get(&(j, node)).and_then(|n| n.tests.as_ref()) {
                let _ = writeln!(out, "    tests: {}", t.line());
            }
        }
    }
    let held: Vec<&str> = plan
        .jobs
        .iter()
        .zip(&report.results)
        .filter(|(_, r)| r.status == Status::OnHold)
        .map(|(j, _)| j.name.as_str())
        .collect();
    if !held.is_empty() {
        let _ = writeln!(
            out,
            "on hold: {} (approve with --approve NAME)",
            held.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "logs, artifacts and test results: {}",
        run_dir.display()
    );
    if interrupted.load(Ordering::SeqCst) {
        let number = match signal.load(Ordering::SeqCst) {
            0 => signal_hook::consts::SIGINT,
            n => n as i32,
        };
        return ExitCode::from(128 + number as u8);
    }
    let failed = report.results.iter().any(|r| {
        matches!(
            r.status,
            Status::Failed | Status::Canceled | Status::Unauthorized
        )
    });
    if failed {
        ExitCode::from(EXIT_CONFIG_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

/// The swarm to run on with `--engine swarm`, its manager and the store's address checked.
fn swarm_options(args: &RunArgs) -> Result<Option<SwarmOptions>, String> {
    if args.engine != EngineArg::Swarm {
        return Ok(None);
    }
    let host = args
        .swarm_host
        .clone()
        .or_else(|| std::env::var("DOCKER_HOST").ok());
    let socket = socket_from(host.as_deref())?;
    let store_listen = args.store_listen.ok_or(
        "--engine swarm needs --store-listen ADDRESS:PORT, an address of this machine the swarm's tasks reach",
    )?;
    if !(args.reserve_scale > 0.0 && args.reserve_scale <= 1.0) {
        return Err(format!(
            "--reserve-scale {}: a fraction above 0 and at most 1",
            args.reserve_scale
        ));
    }
    Ok(Some(SwarmOptions {
        socket,
        store_listen,
        reserve_scale: args.reserve_scale,
        grace: std::time::Duration::from_secs(args.node_grace.max(1)),
    }))
}

fn git_user(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["config", "user.name"])
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// `circleci` and `circleci-agent` inside jobs: links to this binary, which acts as the helper
/// when called by those names.
fn install_helpers(run_dir: &Path) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = run_dir.join(".work").join("bin");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for name in ["circleci", "circleci-agent"] {
        std::os::unix::fs::symlink(&exe, dir.join(name)).map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

/// The plan as text, for `--dry-run`.
fn describe(plan: &Plan) -> String {
    let mut s = String::new();
    for w in &plan.workflows {
        s.push_str(&format!("workflow {w}\n"));
        for job in plan.jobs.iter().filter(|j| &j.workflow == w) {
            let what = match &job.kind {
                JobKind::Approval => "approval".to_string(),
                JobKind::NoOp => "no-op".to_string(),
                JobKind::Lock { key } => format!("lock {key}"),
                JobKind::Unlock { key } => format!("unlock {key}"),
                JobKind::Run(spec) => {
                    let mut d = format!("{}, {} steps", spec.executor.label(), spec.steps.len());
                    if spec.parallelism > 1 {
                        d.push_str(&format!(", parallelism {}", spec.parallelism));
                    }
                    d
                }
            };
            s.push_str(&format!("  {} ({what})", job.name));
            if !job.requires.is_empty() {
                let reqs: Vec<String> = job
                    .requires
                    .iter()
                    .map(|d| {
                        let name = &plan.jobs[d.job].name;
                        if d.accepted == [Status::Success] {
                            name.clone()
                        } else {
                            let st: Vec<&str> = d.accepted.iter().map(|a| a.as_str()).collect();
                            format!("{name}: {}", st.join("|"))
                        }
                    })
                    .collect();
                s.push_str(&format!(" requires {}", reqs.join(", ")));
            }
            if !job.contexts.is_empty() {
                s.push_str(&format!(" context {}", job.contexts.join(", ")));
            }
            s.push('\n');
        }
    }
    for (w, j) in &plan.filtered {
        s.push_str(&format!("filtered out: {w}/{j}\n"));
    }
    s
}

struct Terminal {
    colour: bool,
    out: Mutex<()>,
    /// Jobs done of all, below the live logs: only when stdout and stderr are a terminal.
    progress: Option<ProgressBar>,
    /// The jobs running now, for the progress line.
    running: Mutex<Vec<String>>,
}

/// The progress line for `jobs` jobs, or `None` when the output is not a terminal (logs, pipes,
/// tests), where it would only be noise.
fn progress_bar(jobs: usize) -> Option<ProgressBar> {
    if !(std::io::stdout().is_terminal() && std::io::stderr().is_terminal()) {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(jobs as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {pos}/{len} jobs done  {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

impl Terminal {
    /// Writes above the progress line (or plainly without one).
    fn print(&self, text: &str) {
        let write = || {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        };
        match &self.progress {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    fn show_running(&self, bar: &ProgressBar) {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        bar.set_message(match running.len() {
            0 => String::new(),
            _ => format!("running: {}", running.join(", ")),
        });
    }
}

const COLOURS: [u8; 6] = [36, 33, 35, 32, 34, 31];

fn paint(code: u8, text: &str) -> String {
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn status_colour(s: Status) -> u8 {
    match s {
        Status::Success => 32,
        Status::Failed | Status::Unauthorized => 31,
        _ => 33,
    }
}

impl Console for Terminal {
    fn job_line(&self, label: &str, job: usize, line: &str) {
        let _guard = self.out.lock();
        let prefix = format!("[{label}]");
        let prefix = if self.colour {
            paint(COLOURS[job % COLOURS.len()], &prefix)
        } else {
            prefix
        };
        self.print(&format!("{prefix} {line}"));
    }

    fn note(&self, line: &str) {
        let _guard = self.out.lock();
        self.print(line);
    }

    fn job_started(&self, name: &str) {
        if let Some(bar) = &self.progress {
            self.running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(name.to_string());
            self.show_running(bar);
        }
    }

    fn job_finished(&self, name: &str, _status: Status) {
        if let Some(bar) = &self.progress {
            {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(at) = running.iter().position(|n| n == name) {
                    running.remove(at);
                }
            }
            bar.inc(1);
            self.show_running(bar);
        }
    }
}

struct Approvals {
    given: ApprovedNames,
    interactive: bool,
    /// Hidden while the question is asked.
    progress: Option<ProgressBar>,
}

impl Approver for Approvals {
    fn decide(&self, job: &PlannedJob) -> Decision {
        let given = self.given.decide(job);
        if given != Decision::Hold || !self.interactive {
            return given;
        }
        let ask = || {
            eprint!("approve `{}` (workflow {})? [y/N] ", job.name, job.workflow);
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            answer
        };
        let answer = match &self.progress {
            Some(bar) => bar.suspend(ask),
            None => ask(),
        };
        match answer.trim() {
            "y" | "Y" | "yes" => Decision::Approve,
            _ => Decision::Deny,
        }
    }
}
