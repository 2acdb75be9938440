//! `orrery lsp` driven over stdio, data-driven: each `tests/lsp/**/NAME.case` is a script of
//! files (with cursor markers), protocol steps and requests; the server's answers must read
//! like `NAME.expected`. `ORRERY_BLESS=1` rewrites the expected files.
//!
//! A case file is a list of sections, each starting with a `=== ` line:
//!
//! - `=== file PATH`: a project file (the text up to the next section; a trailing newline
//!   belongs to the file). `«N»` marks cursor position N and is removed from the text.
//! - `=== initialize`: the client's capabilities as JSON (default: none, so UTF-16); an
//!   optional `=== options` section gives `initializationOptions`.
//! - `=== args`: extra arguments for `orrery lsp`, one line.
//! - `=== open PATH`: didOpen; records the diagnostics published for it.
//! - `=== edit PATH`: didChange with one ranged edit, `{"from": "«1»", "to": "«2»", "text":
//!   "…"}` (markers in the document as it is now; replaced markers disappear) — or, with a
//!   body that is not such an object, the whole new text. Records the diagnostics. `=== edit
//!   PATH nowait` does not wait for them.
//! - `=== request METHOD`: a request with JSON params; records the result (or error).
//! - `=== send METHOD`: a request sent without waiting for its answer; `=== await-response`
//!   records the answer of the oldest one not yet recorded.
//! - `=== registry NAMESPACE/NAME@VERSION`: an orb (the section's text) in a local stand-in
//!   for CircleCI's registry on 127.0.0.1, started for the case; `«registry»` in `=== args`
//!   is its URL, and its token is `test-token`. `=== registry-operations` records the
//!   requests it has answered so far (so a case shows when the server went to it).
//! - `=== path DIR`: the project directory DIR goes first on the server's `PATH` (its files
//!   made executable; stand-ins for outside programs such as shellcheck), and the server's
//!   user cache is inside the project.
//! - `=== notify METHOD`: a notification with JSON params.
//! - `=== write PATH`: writes the file on disk (a project file changing outside the editor).
//! - `=== await-diagnostics PATH`: records the next diagnostics published for PATH.
//! - `=== await-notification METHOD`: records the params of the next notification METHOD
//!   (e.g. `window/showMessage`).
//!
//! In JSON, `"«N»"` becomes marker N's position (in the file that has it), `"«uri»"` the
//! URI of the first opened document, `"«uri:PATH»"` the URI of PATH.

#[path = "lsp_client/mod.rs"]
mod lsp_client;

#[allow(dead_code)] // shared with orrery-registry's tests, which use all of it
#[path = "../../orrery-registry/tests/graphql_server/mod.rs"]
mod graphql_server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lsp_client::{file_uri, position, Server};
use serde_json::{json, Value};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lsp")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

struct Section {
    head: String,
    body: String,
}

fn sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(head) = line.strip_prefix("=== ") {
            out.push(Section {
                head: head.trim().to_string(),
                body: String::new(),
            });
        } else if let Some(last) = out.last_mut() {
            last.body.push_str(line);
        }
    }
    out
}

/// A text with `«N»` markers: the plain text and where each marker is.
fn unmark(marked: &str) -> (String, BTreeMap<String, usize>) {
    let mut plain = String::new();
    let mut markers = BTreeMap::new();
    let mut rest = marked;
    while let Some(start) = rest.find('«') {
        let Some(len) = rest[start..].find('»') else {
            break;
        };
        plain.push_str(&rest[..start]);
        let name = &rest[start + '«'.len_utf8()..start + len];
        markers.insert(name.to_string(), plain.len());
        rest = &rest[start + len + '»'.len_utf8()..];
    }
    plain.push_str(rest);
    (plain, markers)
}

struct Run {
    project: tempfile::TempDir,
    /// Marked texts of the project's files, as the client sees them now.
    files: BTreeMap<String, String>,
    versions: BTreeMap<String, i64>,
    main: Option<String>,
    utf8: bool,
    transcript: String,
    registry: Option<graphql_server::GraphQlTestServer>,
}

impl Run {
    fn path(&self, relative: &str) -> PathBuf {
        self.project.path().join(relative)
    }

    fn uri(&self, relative: &str) -> String {
        file_uri(&self.path(relative))
    }

    /// Replaces marker and URI placeholders in a JSON value.
    fn resolve(&self, value: Value) -> Value {
        match value {
            Value::String(s) => self.placeholder(&s).unwrap_or(Value::String(s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.resolve(v)).collect())
            }
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, self.resolve(v))).collect())
            }
            other => other,
        }
    }

    fn placeholder(&self, s: &str) -> Option<Value> {
        let inner = s.strip_prefix('«')?.strip_suffix('»')?;
        if inner == "uri" {
            return Some(Value::String(self.uri(self.main.as_deref()?)));
        }
        if let Some(path) = inner.strip_prefix("uri:") {
            return Some(Value::String(self.uri(path)));
        }
        self.files.values().find_map(|marked| {
            let (plain, markers) = unmark(marked);
            markers
                .get(inner)
                .map(|&offset| position(&plain, offset, self.utf8))
        })
    }

    /// The server's words with this run's paths replaced by stable names.
    fn stable(&self, value: &Value) -> String {
        let text = serde_json::to_string_pretty(value).expect("json");
        let project = self
            .project
            .path()
            .canonicalize()
            .unwrap_or(self.project.path().to_path_buf());
        let text = mask_run_details(&text);
        text.replace(&file_uri(&project), "file:///PROJECT")
            .replace(&file_uri(self.project.path()), "file:///PROJECT")
            .replace(&file_uri(&repo_root()), "file:///REPO")
            .replace(&project.display().to_string(), "/PROJECT")
            .replace(&self.project.path().display().to_string(), "/PROJECT")
    }

    fn record(&mut self, head: &str, value: &Value) {
        let value = &files_in_order(value.clone());
        let value = &match &self.registry {
            Some(registry) => {
                let text = serde_json::to_string(value).expect("json");
                serde_json::from_str(&text.replace(&registry.url, "http://REGISTRY")).expect("json")
            }
            None => value.clone(),
        };
        let text = self.stable(value);
        self.transcript.push_str(&format!("=== {head}\n{text}\n"));
    }

    fn write_file(&self, relative: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, unmark(&self.files[relative]).0).expect("write");
    }

    fn diagnostics(&mut self, server: &mut Server, head: &str, relative: &str) {
        let uri = self.uri(relative);
        let version = self.versions[relative];
        let published = server.diagnostics(&uri, version);
        self.record(head, &published["diagnostics"]);
    }
}

fn run_case(case: &Path) -> String {
    let text = std::fs::read_to_string(case).expect("read case");
    let all = sections(&text);
    let mut run = Run {
        project: tempfile::tempdir().expect("temp dir"),
        files: BTreeMap::new(),
        versions: BTreeMap::new(),
        main: None,
        utf8: false,
        transcript: String::new(),
        registry: None,
    };
    // The project is a repository of its own, so settings are not looked for above it.
    std::fs::create_dir(run.path(".git")).expect("mkdir .git");
    let mut capabilities = json!({});
    let mut options = Value::Null;
    let mut args: Vec<String> = Vec::new();
    let mut env: Vec<(&str, std::ffi::OsString)> = Vec::new();
    let mut created = std::collections::BTreeSet::new();
    for section in &all {
        let (verb, rest) = section.head.split_once(' ').unwrap_or((&section.head, ""));
        match verb {
            "file" => {
                run.files.insert(rest.to_string(), section.body.clone());
                run.write_file(rest);
            }
            "initialize" => capabilities = json(&section.body),
            "options" => options = json(&section.body),
            "args" => args = section.body.split_whitespace().map(String::from).collect(),
            "registry" => {
                let (orb, version) = rest.split_once('@').expect("NAMESPACE/NAME@VERSION");
                let (namespace, name) = orb.split_once('/').expect("NAMESPACE/NAME");
                let server = run
                    .registry
                    .get_or_insert_with(|| graphql_server::GraphQlTestServer::start("test-token"));
                if created.insert(orb.to_string()) {
                    server.create_orb(namespace, name);
                }
                server.seed(namespace, name, version, &section.body);
            }
            "path" => {
                let dir = run.path(rest);
                for entry in std::fs::read_dir(&dir).expect("read the path directory") {
                    let file = entry.expect("entry").path();
                    let mut permissions = std::fs::metadata(&file).expect("stat").permissions();
                    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
                    std::fs::set_permissions(&file, permissions).expect("chmod");
                }
                let path = std::env::var_os("PATH").unwrap_or_default();
                let mut dirs = vec![dir];
                dirs.extend(std::env::split_paths(&path));
                env.push(("PATH", std::env::join_paths(dirs).expect("PATH")));
                env.push(("XDG_CACHE_HOME", run.path(".cache").into_os_string()));
            }
            _ => {}
        }
    }
    if let Some(registry) = &run.registry {
        for arg in &mut args {
            *arg = arg.replace("«registry»", &registry.url);
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = Server::start_with_env(run.project.path(), &args, &env);
    let mut sent: std::collections::VecDeque<i64> = std::collections::VecDeque::new();
    let initialized = server.initialize(capabilities, options);
    run.utf8 = initialized["capabilities"]["positionEncoding"] == "utf-8";
    run.record(
        "initialize: positionEncoding",
        &initialized["capabilities"]["positionEncoding"],
    );
    for section in &all {
        let (verb, rest) = section.head.split_once(' ').unwrap_or((&section.head, ""));
        match verb {
            "open" => {
                let relative = rest.to_string();
                run.main.get_or_insert(relative.clone());
                run.versions.insert(relative.clone(), 1);
                let uri = run.uri(&relative);
                let (plain, _) = unmark(&run.files[&relative]);
                server.notify(
                    "textDocument/didOpen",
                    json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": plain}}),
                );
                run.diagnostics(&mut server, &section.head, &relative);
            }
            "edit" => {
                let (relative, wait) = match rest.strip_suffix(" nowait") {
                    Some(r) => (r.to_string(), false),
                    None => (rest.to_string(), true),
                };
                let marked = run.files[&relative].clone();
                let change = match serde_json::from_str::<Value>(&section.body) {
                    Ok(Value::Object(edit)) if edit.contains_key("from") => {
                        let marker = |key: &str| {
                            let name = edit[key].as_str().expect("marker");
                            let name = name.trim_start_matches('«').trim_end_matches('»');
                            marked
                                .find(&format!("«{name}»"))
                                .unwrap_or_else(|| panic!("no marker {name} in {relative}"))
                        };
                        let (from, to) = (marker("from"), marker("to"));
                        let range = json!({"start": run.placeholder(edit["from"].as_str().unwrap()), "end": run.placeholder(edit["to"].as_str().unwrap())});
                        let new_text = edit["text"].as_str().expect("text").to_string();
                        // Keep the markers at both ends; drop those in between.
                        let to_end =
                            to + marked[to..].find('»').expect("marker end") + '»'.len_utf8();
                        let from_end =
                            from + marked[from..].find('»').expect("marker end") + '»'.len_utf8();
                        let updated = format!(
                            "{}{}{}{}",
                            &marked[..from_end],
                            new_text,
                            &marked[to..to_end],
                            &marked[to_end..]
                        );
                        run.files.insert(relative.clone(), updated);
                        json!({"range": range, "text": new_text})
                    }
                    _ => {
                        run.files.insert(relative.clone(), section.body.clone());
                        json!({"text": unmark(&section.body).0})
                    }
                };
                let version = run.versions[&relative] + 1;
                run.versions.insert(relative.clone(), version);
                server.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": run.uri(&relative), "version": version}, "contentChanges": [change]}),
                );
                if wait {
                    run.diagnostics(&mut server, &section.head, &relative);
                }
            }
            "request" => {
                let params = run.resolve(json(&section.body));
                let result = server.request(rest, params);
                run.record(&section.head, &result);
            }
            "send" => {
                let params = run.resolve(json(&section.body));
                sent.push_back(server.send_request(rest, params));
            }
            "await-response" => {
                let id = sent
                    .pop_front()
                    .expect("await-response without a sent request");
                let result = server.response(id);
                run.record(&section.head, &result);
            }
            "notify" => {
                let params = run.resolve(json(&section.body));
                server.notify(rest, params);
            }
            "write" => {
                run.files.insert(rest.to_string(), section.body.clone());
                run.write_file(rest);
            }
            "await-diagnostics" => {
                let relative = rest.to_string();
                run.diagnostics(&mut server, &section.head, &relative);
            }
            "registry-operations" => {
                let operations = run.registry.as_ref().map(|r| r.operations());
                run.record(&section.head, &json!(operations));
            }
            "await-notification" => {
                let params = server.wait_notification(rest, |_| true);
                run.record(&section.head, &params);
            }
            _ => {}
        }
    }
    server.stop();
    run.transcript
}

/// A workspace edit's `changes` by file in file order (the server's map has no order).
fn files_in_order(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, inner)| {
                    let inner = match (key.as_str(), files_in_order(inner)) {
                        ("changes", Value::Object(files)) => {
                            let mut files: Vec<(String, Value)> = files.into_iter().collect();
                            files.sort_by(|a, b| a.0.cmp(&b.0));
                            Value::Object(files.into_iter().collect())
                        }
                        (_, other) => other,
                    };
                    (key, inner)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(files_in_order).collect()),
        other => other,
    }
}

/// What differs between two runs of one job in `orrery run`'s words: durations (`0.03s`
/// becomes `T.TTs`) and the run folder's name (`runs/1796…-6f3b3d77` becomes `runs/RUN`).
fn mask_run_details(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("runs/") {
            let id = after
                .find(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
                .unwrap_or(after.len());
            if id > 0 {
                out.push_str("runs/RUN");
                rest = &after[id..];
                continue;
            }
        }
        let previous = out.chars().next_back();
        if c.is_ascii_digit() && !previous.is_some_and(|p| p.is_ascii_alphanumeric() || p == '.') {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let tail = &rest[digits..];
            let fraction = tail
                .strip_prefix('.')
                .map(|t| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()))
                .unwrap_or(0);
            let unit = &tail[(fraction + 1).min(tail.len())..];
            if fraction > 0
                && unit.starts_with('s')
                && !unit[1..].starts_with(|c: char| c.is_ascii_alphanumeric())
            {
                out.push_str("T.TTs");
                rest = &unit[1..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn json(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON in a case ({e}):\n{text}"))
}

fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read tests/lsp")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            case_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "case") {
            out.push(path);
        }
    }
}

#[test]
fn protocol_cases() {
    let bless = std::env::var_os("ORRERY_BLESS").is_some();
    let only = std::env::var("ORRERY_LSP_CASE").ok();
    let mut cases = Vec::new();
    case_files(&cases_dir(), &mut cases);
    let mut failures = Vec::new();
    let mut count = 0;
    for case in &cases {
        if only
            .as_deref()
            .is_some_and(|o| !case.to_string_lossy().contains(o))
        {
            continue;
        }
        count += 1;
        let actual = run_case(case);
        let expected = case.with_extension("expected");
        if bless {
            std::fs::write(&expected, &actual).expect("bless");
            continue;
        }
        let want = std::fs::read_to_string(&expected).unwrap_or_default();
        if want != actual {
            failures.push(format!(
                "{}:\n--- expected\n{want}\n--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(count > 0, "no cases found");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ (ORRERY_BLESS=1 rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
