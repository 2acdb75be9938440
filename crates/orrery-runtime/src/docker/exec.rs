//! Steps as execs in the primary container: the script is copied into the job's task
//! directory, then run through the in-container step wrapper (a session of its own, so that a
//! timeout or Ctrl-C kills the step and everything it started) with the step's environment,
//! working directory and user, its output streamed as it comes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::{Stream, StreamExt};

use super::client::{describe, Client};
use super::helper::Helper;
use crate::executor::{ExecOutcome, ExecRequest};

/// How often a quiet step is asked whether it is still running (its output can stay open after
/// the shell exits when it left something running in the background).
const POLL: Duration = Duration::from_millis(250);
/// Output still arriving after the step's shell exited is read for this long.
const LINGER: Duration = Duration::from_millis(300);

type Output =
    std::pin::Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

pub struct Started {
    pub exec_id: String,
    pub output: Output,
    /// Where the step wrapper wrote its session id (for [`kill`]).
    pub pidfile: std::path::PathBuf,
}

/// Starts `argv` in `container`; `None` for `user` runs as the container's user.
pub fn start(
    client: &Client,
    container: &str,
    user: Option<&str>,
    argv: Vec<String>,
    request: &ExecRequest,
    pidfile: &Path,
) -> Result<Started, String> {
    let options = CreateExecOptions {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        env: Some(
            request
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        cmd: Some(argv),
        user: user.map(str::to_string),
        working_dir: Some(request.cwd.to_string_lossy().into_owned()),
        ..Default::default()
    };
    client.block_on(async {
        let exec = client
            .docker
            .create_exec(container, options)
            .await
            .map_err(|e| format!("cannot start the step: {}", describe(&e)))?;
        match client.docker.start_exec(&exec.id, None).await {
            Ok(StartExecResults::Attached { output, .. }) => Ok(Started {
                exec_id: exec.id,
                output,
                pidfile: pidfile.to_path_buf(),
            }),
            Ok(StartExecResults::Detached) => Err("the step started detached".to_string()),
            Err(e) => Err(format!("cannot start the step: {}", describe(&e))),
        }
    })
}

fn bytes(frame: LogOutput) -> bytes::Bytes {
    match frame {
        LogOutput::StdOut { message }
        | LogOutput::StdErr { message }
        | LogOutput::Console { message }
        | LogOutput::StdIn { message } => message,
    }
}

/// Whether the exec still runs, and its exit code once it does not.
async fn state(client: &Client, exec_id: &str) -> (bool, Option<i64>) {
    match client.docker.inspect_exec(exec_id).await {
        Ok(i) => (i.running.unwrap_or(false), i.exit_code),
        Err(_) => (false, None),
    }
}

/// Streams a started step's output until it ends, times out or is canceled.
pub fn follow(
    client: &Client,
    container: &str,
    helper: &Helper,
    started: Started,
    no_output_timeout: Duration,
    output: &mut dyn FnMut(&[u8]),
    cancel: &AtomicBool,
) -> ExecOutcome {
    let Started {
        exec_id,
        output: mut stream,
        pidfile,
    } = started;
    enum End {
        Done,
        Timeout,
        Canceled,
    }
    let end = client.block_on(async {
        let mut last_output = Instant::now();
        let mut last_poll = Instant::now();
        let mut exited: Option<Instant> = None;
        loop {
            match tokio::time::timeout(Duration::from_millis(50), stream.next()).await {
                Ok(Some(Ok(frame))) => {
                    last_output = Instant::now();
                    output(&bytes(frame));
                    continue;
                }
                Ok(Some(Err(_))) | Ok(None) => return End::Done,
                Err(_) => {}
            }
            if let Some(at) = exited {
                if at.elapsed() > LINGER {
                    return End::Done;
                }
                continue;
            }
            if cancel.load(Ordering::SeqCst) {
                return End::Canceled;
            }
            if last_output.elapsed() >= no_output_timeout {
                return End::Timeout;
            }
            if last_poll.elapsed() >= POLL {
                last_poll = Instant::now();
                if !state(client, &exec_id).await.0 {
                    exited = Some(Instant::now());
                }
            }
        }
    });
    match end {
        End::Done => {}
        End::Timeout => {
            kill(client, container, helper, &pidfile);
            return ExecOutcome::NoOutputTimeout;
        }
        End::Canceled => {
            kill(client, container, helper, &pidfile);
            return ExecOutcome::Canceled;
        }
    }
    // The stream can end a moment before the daemon records the exit code.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (running, code) = client.block_on(state(client, &exec_id));
        if !running {
            return ExecOutcome::Exited(code.map(|c| c as i32).unwrap_or(-1));
        }
        if Instant::now() > deadline {
            return ExecOutcome::Error("the step's exit code never arrived".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills a step's session (SIGTERM, SIGKILL after 3 s) from a second exec, as root so that
/// whatever the step became (sudo) goes too.
pub fn kill(client: &Client, container: &str, helper: &Helper, pidfile: &Path) {
    let argv = helper.command(
        super::inside::KILL,
        &[pidfile.to_string_lossy().into_owned()],
    );
    let request = ExecRequest {
        argv: Vec::new(),
        script: String::new(),
        env: Vec::new(),
        cwd: "/".into(),
        no_output_timeout: Duration::from_secs(10),
    };
    if let Ok(mut started) = start(client, container, Some("0"), argv, &request, pidfile) {
        client.block_on(async {
            let _ = tokio::time::timeout(Duration::from_secs(10), async {
                while started.output.next().await.is_some() {}
            })
            .await;
        });
    }
}
