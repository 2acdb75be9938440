//! What this binary does when it runs inside a job's container (reached through the names the
//! helper bundle links to it): wrap a step in its own session so that the whole step can be
//! killed, kill such a step, and keep the primary container alive. The Engine API has no call
//! to signal an exec, and the image may lack `setsid`, `kill` or `sleep`.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{setsid, Pid};

/// The names the helper answers to inside containers.
pub const STEP: &str = "orrery-step";
pub const KILL: &str = "orrery-kill";
pub const SLEEP: &str = "orrery-sleep";

/// Runs the in-container helper called `name`; `None` when the name is not one of them.
pub fn dispatch(name: &str, args: &[String]) -> Option<i32> {
    match name {
        STEP => Some(step(args)),
        KILL => Some(kill(args)),
        SLEEP => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        _ => None,
    }
}

/// `orrery-step PIDFILE [--script FILE TEXT] PROGRAM ARGS…`: a new session (so the step and
/// everything it starts form one process group), its id written to PIDFILE, TEXT written to
/// FILE (the step's script, as the step's user), then PROGRAM in its place.
fn step(args: &[String]) -> i32 {
    let (pidfile, args) = match args {
        [pidfile, rest @ ..] => (pidfile, rest),
        [] => return usage(),
    };
    let args = match args {
        [flag, file, text, rest @ ..] if flag == "--script" => {
            if let Err(e) = write_script(Path::new(file), text) {
                eprintln!("cannot write the step's script {file}: {e}");
                return 127;
            }
            rest
        }
        rest => rest,
    };
    let [program, rest @ ..] = args else {
        return usage();
    };
    let _ = setsid();
    let _ = fs::write(pidfile, std::process::id().to_string());
    let err = Command::new(program).args(rest).exec();
    eprintln!("cannot start {program}: {err}");
    127
}

fn usage() -> i32 {
    eprintln!("{STEP}: usage: {STEP} PIDFILE [--script FILE TEXT] PROGRAM [ARGS…]");
    2
}

fn write_script(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, text)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

/// `orrery-kill PIDFILE`: SIGTERM to the step's process group, SIGKILL when it is still there
/// after 3 seconds.
fn kill(args: &[String]) -> i32 {
    let [pidfile] = args else {
        eprintln!("{KILL}: usage: {KILL} PIDFILE");
        return 2;
    };
    // The step may have been canceled before its wrapper wrote the file.
    let deadline = Instant::now() + Duration::from_secs(2);
    let pgid = loop {
        if let Some(p) = read_pid(Path::new(pidfile)) {
            break p;
        }
        if Instant::now() > deadline {
            return 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let group = Pid::from_raw(pgid);
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if killpg(group, None).is_err() {
            return 0;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = killpg(group, Signal::SIGKILL);
    0
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 1)
}
