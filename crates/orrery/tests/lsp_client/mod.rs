//! A minimal LSP client driving the real `orrery lsp` binary over stdio, for the protocol
//! tests and the benchmark. Every wait is bounded: a server that hangs fails the test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const TIMEOUT: Duration = Duration::from_secs(60);

pub struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    incoming: Receiver<Value>,
    /// Notifications read while waiting for something else, oldest first.
    pub notifications: Vec<Value>,
    /// Answers read while waiting for another, by request id.
    responses: std::collections::HashMap<i64, Value>,
    next_id: i64,
}

fn write_message(stdin: &Mutex<ChildStdin>, message: &Value) -> std::io::Result<()> {
    let body = serde_json::to_string(message).expect("json");
    let mut stdin = stdin.lock().unwrap_or_else(|e| e.into_inner());
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    stdin.flush()
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Server {
    /// Starts `orrery lsp ARGS` in `cwd` with an empty orb cache of its own.
    pub fn start(cwd: &Path, args: &[&str]) -> Server {
        Server::start_with_env(cwd, args, &[])
    }

    /// `start` with more environment variables for the server.
    pub fn start_with_env(cwd: &Path, args: &[&str], env: &[(&str, std::ffi::OsString)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orrery"));
        command
            .arg("lsp")
            .args(args)
            .current_dir(cwd)
            .env("ORRERY_CACHE_DIR", cwd.join(".no-cache"))
            .env_remove("ORRERY_ORB_PATH");
        for (name, value) in env {
            command.env(name, value);
        }
        Server::spawn(command)
    }

    /// Starts any language server command speaking LSP on stdio.
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start orrery lsp");
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
        let stdout = child.stdout.take().expect("stdout");
        let (sender, incoming) = channel();
        let answer = stdin.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                // Requests from the server (registerCapability, refreshes) get an empty answer.
                if message.get("method").is_some() && message.get("id").is_some() {
                    let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": null});
                    let _ = write_message(&answer, &reply);
                }
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            stdin,
            incoming,
            notifications: Vec::new(),
            responses: std::collections::HashMap::new(),
            next_id: 0,
        }
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let message = json!({"jsonrpc": "2.0", "method": method, "params": params});
        write_message(&self.stdin, &message).expect("write to the server");
    }

    /// Sends a request and returns its id without waiting.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let message =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        write_message(&self.stdin, &message).expect("write to the server");
        self.next_id
    }

    /// Waits for the response to request `id`: its `result`, or `{"error": ...}`.
    pub fn response(&mut self, id: i64) -> Value {
        if let Some(answer) = self.responses.remove(&id) {
            return answer;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next_message(deadline);
            if message.get("method").is_none() {
                let answer = match message.get("error") {
                    Some(error) => json!({ "error": error }),
                    None => message["result"].clone(),
                };
                match message["id"].as_i64() {
                    Some(answered) if answered == id => return answer,
                    // The answer to a request sent earlier without waiting.
                    Some(answered) => {
                        self.responses.insert(answered, answer);
                    }
                    None => {}
                }
            } else if message.get("id").is_none() {
                self.notifications.push(message);
            }
        }
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response(id)
    }

    fn next_message(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => {
                panic!("the server did not answer within {TIMEOUT:?}")
            }
            Err(RecvTimeoutError::Disconnected) => panic!("the server exited"),
        }
    }

    /// Waits for a notification `method` whose params satisfy `accept`, taking it (and the
    /// notifications before it) out of the queue.
    pub fn wait_notification(&mut self, method: &str, accept: impl Fn(&Value) -> bool) -> Value {
        let position = self
            .notifications
            .iter()
            .position(|n| n["method"] == method && accept(&n["params"]));
        if let Some(i) = position {
            let found = self.notifications.remove(i);
            self.notifications.drain(..i);
            return found["params"].clone();
        }
        self.notifications.clear();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next_message(deadline);
            if message["method"] == method && accept(&message["params"]) {
                return message["params"].clone();
            }
            // Keep the answer to a request sent without waiting.
            if let (None, Some(id)) = (message.get("method"), message["id"].as_i64()) {
                let answer = match message.get("error") {
                    Some(error) => json!({ "error": error }),
                    None => message["result"].clone(),
                };
                self.responses.insert(id, answer);
            }
        }
    }

    /// Waits for the diagnostics of `uri` at `version`.
    pub fn diagnostics(&mut self, uri: &str, version: i64) -> Value {
        self.wait_notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri && p["version"] == json!(version)
        })
    }

    /// `initialize` + `initialized`; returns the initialize result.
    pub fn initialize(&mut self, capabilities: Value, options: Value) -> Value {
        let result = self.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": capabilities,
                "initializationOptions": options,
            }),
        );
        self.notify("initialized", json!({}));
        result
    }

    /// `shutdown` + `exit`, and waits for the process to end.
    pub fn stop(mut self) {
        let result = self.request("shutdown", Value::Null);
        assert_eq!(result, Value::Null, "shutdown answered {result}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = self.child.kill();
                    panic!("the server did not exit after `exit`");
                }
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `file:` URI of an absolute path.
pub fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'.' | b'_' | b'~' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

/// The LSP position of byte `offset` in `text`, counting characters in UTF-16 units or bytes.
pub fn position(text: &str, offset: usize, utf8: bool) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = &text[line_start..offset];
    let character = if utf8 {
        column.len()
    } else {
        column.encode_utf16().count()
    };
    json!({"line": line, "character": character})
}
