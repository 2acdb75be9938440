//! The `circleci` / `circleci-agent` helper inside jobs (this binary, reached through links
//! named so): `tests glob`, `tests split`, `tests run` and `step halt`; in Docker jobs also the
//! step wrapper, its killer and the primary container's keep-alive.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use orrery_runtime::split::{by_name, by_weight, Timings};

/// Runs the helper when the program was called `circleci` or `circleci-agent`.
pub fn dispatch() -> Option<ExitCode> {
    let mut args = std::env::args();
    let program = args.next()?;
    let name = Path::new(&program).file_name()?.to_str()?.to_string();
    let rest: Vec<String> = args.collect();
    // Inside a Docker job's container: the step wrapper, its killer, the keep-alive.
    if let Some(code) = orrery_runtime::docker::inside::dispatch(&name, &rest) {
        return Some(ExitCode::from(code.clamp(0, 255) as u8));
    }
    if name != "circleci" && name != "circleci-agent" {
        return None;
    }
    Some(match main(&rest) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("circleci: {e}");
            ExitCode::from(1)
        }
    })
}

fn main(args: &[String]) -> Result<ExitCode, String> {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["step", "halt", ..] => {
            let dir = std::env::var("CIRCLE_INTERNAL_TASK_DATA")
                .map_err(|_| "step halt only works inside a job".to_string())?;
            std::fs::write(Path::new(&dir).join("halt"), b"").map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        ["tests", "glob", patterns @ ..] => {
            for f in glob_files(patterns) {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        ["tests", "split", rest @ ..] => {
            let opts = SplitOptions::parse(rest)?;
            let items = read_items(opts.file.as_deref())?;
            for item in opts.split(&items)? {
                println!("{item}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ["tests", "run", rest @ ..] => {
            let opts = SplitOptions::parse(rest)?;
            let command = opts.command.clone().ok_or("tests run needs --command")?;
            let items = read_items(None)?;
            let mine = opts.split(&items)?;
            if opts.verbose {
                eprintln!("running {} of {} tests: {command}", mine.len(), items.len());
            }
            let mut child = Command::new("/bin/sh")
                .args(["-c", &command])
                .stdin(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(format!("{}\n", mine.join("\n")).as_bytes());
            }
            let status = child.wait().map_err(|e| e.to_string())?;
            Ok(ExitCode::from(
                status.code().unwrap_or(1).clamp(0, 255) as u8
            ))
        }
        _ => Err(format!(
            "unsupported helper command `{}` (supported: tests glob|split|run, step halt)",
            args.join(" ")
        )),
    }
}

fn glob_files(patterns: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in patterns {
        for p in p.split_whitespace() {
            let (base, pattern) = match p.strip_prefix('/') {
                Some(rest) => (PathBuf::from("/"), rest),
                None => (PathBuf::from("."), p),
            };
            for m in orrery_runtime::glob::glob(&base, pattern) {
                let full = base.join(&m);
                if full.is_file() {
                    out.push(if base == Path::new(".") { m } else { full });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn read_items(file: Option<&str>) -> Result<Vec<String>, String> {
    let mut text = String::new();
    match file {
        Some(f) => {
            text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"))?
        }
        None => {
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(text.split_whitespace().map(str::to_string).collect())
}

#[derive(Default)]
struct SplitOptions {
    split_by: String,
    timings_type: String,
    index: Option<usize>,
    total: Option<usize>,
    time_default: f64,
    command: Option<String>,
    file: Option<String>,
    verbose: bool,
}

impl SplitOptions {
    fn parse(args: &[&str]) -> Result<SplitOptions, String> {
        let mut o = SplitOptions {
            split_by: "name".into(),
            timings_type: "autodetect".into(),
            time_default: 10.0,
            ..SplitOptions::default()
        };
        let mut i = 0;
        while i < args.len() {
            let (flag, inline) = match args[i].split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (args[i], None),
            };
            let mut value = || -> Result<String, String> {
                if let Some(v) = &inline {
                    return Ok(v.clone());
                }
                i += 1;
                args.get(i)
                    .map(|s| s.to_string())
                    .ok_or(format!("{flag} needs a value"))
            };
            match flag {
                "--split-by" => o.split_by = value()?,
                "--timings-type" => o.timings_type = value()?,
                "--index" => {
                    o.index = Some(value()?.parse().map_err(|_| "--index needs a number")?)
                }
                "--total" => {
                    o.total = Some(value()?.parse().map_err(|_| "--total needs a number")?)
                }
                "--time-default" => {
                    let v = value()?;
                    o.time_default = orrery_runtime::duration::parse_duration(&v)
                        .ok_or(format!("--time-default {v} is not a duration"))?
                        .as_secs_f64();
                }
                "--command" => o.command = Some(value()?),
                "--verbose" => o.verbose = true,
                f if f.starts_with("--") => return Err(format!("unknown option {f}")),
                f => o.file = Some(f.to_string()),
            }
            i += 1;
        }
        Ok(o)
    }

    fn split(&self, items: &[String]) -> Result<Vec<String>, String> {
        let env_num = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let index = self
            .index
            .unwrap_or_else(|| env_num("CIRCLE_NODE_INDEX", 0));
        let total = self
            .total
            .unwrap_or_else(|| env_num("CIRCLE_NODE_TOTAL", 1))
            .max(1);
        if index >= total {
            return Err(format!("node index {index} is not below the total {total}"));
        }
        Ok(match self.split_by.as_str() {
            "name" => by_name(items, index, total),
            "filesize" => by_weight(
                items,
                &|f| std::fs::metadata(f).map(|m| m.len() as f64).unwrap_or(0.0),
                index,
                total,
            ),
            "timings" => {
                let timings = std::env::var("ORRERY_TIMINGS")
                    .ok()
                    .and_then(|p| std::fs::read(p).ok())
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .map(|v| Timings::from_json(&v))
                    .unwrap_or_default();
                let kind = match self.timings_type.as_str() {
                    "filename" | "classname" | "testname" | "autodetect" => {
                        self.timings_type.as_str()
                    }
                    other => return Err(format!("unknown --timings-type {other}")),
                };
                match timings.table(kind, items) {
                    Some(table) => by_weight(
                        items,
                        &|i| table.get(i).copied().unwrap_or(self.time_default),
                        index,
                        total,
                    ),
                    None => {
                        eprintln!(
                            "Error auto-detecting timing type, falling back to weighting by name."
                        );
                        by_name(items, index, total)
                    }
                }
            }
            other => {
                return Err(format!(
                    "unknown --split-by {other} (name, filesize or timings)"
                ))
            }
        })
    }
}
