#!/usr/bin/env python3
"""Checks the Helix and Zed configurations without those editors (neither is packaged here).

For each: the file patterns pick the session's config (editors/test/session.json) and not other
YAML, by the editor's own matching rule; then the exact command line the configuration gives is
started as the editor would start it, answers `initialize`, and publishes the session's
diagnostics for the opened config. Prints one line per check; exit code 0 only if all held.

    ORRERY_BIN=target/debug/orrery python3 editors/test/check_manifests.py
"""

import fnmatch
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading
import time
import tomllib

EDITORS = pathlib.Path(__file__).resolve().parent.parent
SESSION = json.loads((EDITORS / "test" / "session.json").read_text())
PROJECT = EDITORS / "test" / SESSION["project"]
CONFIG = PROJECT / SESSION["open"]
TIMEOUT = int(os.environ.get("ORRERY_EDITOR_TIMEOUT_MS", "20000")) / 1000
NOT_CIRCLECI = ["/w/docker-compose.yml", "/w/.github/workflows/ci.yml", "/w/src/config.yml"]

results = {"passed": 0, "failed": 0}


def check(ok, what, detail=None):
    results["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + what + ("" if ok or detail is None else f"\n     {detail}"))
    return ok


class Server:
    """A bare LSP client over the server's stdio: Content-Length framing and JSON."""

    def __init__(self, argv, cwd):
        self.process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.messages = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self.messages.put(json.loads(stream.read(length)))

    def send(self, message):
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_for(self, accept):
        """The first message `accept` returns a value for; answers server requests with null."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if message is None:
                return None
            if "method" in message and "id" in message:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            found = accept(message)
            if found is not None:
                return found
        return None

    def request(self, method, params):
        self.next_id += 1
        ident = self.next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return self.wait_for(lambda m: m if m.get("id") == ident and "method" not in m else None)

    def close(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        try:
            return self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return None


def binary():
    # A path is made absolute: the server starts in the project, as editors start it.
    chosen = os.environ.get("ORRERY_BIN") or "orrery"
    return os.path.abspath(chosen) if os.sep in chosen else chosen


def session_with(editor, argv, initialization_options):
    """Starts `argv` as `editor` would and checks initialize, diagnostics and a clean exit."""
    argv = [binary() if argv[0] == "orrery" else argv[0], *argv[1:]]
    try:
        server = Server(argv, PROJECT)
    except OSError as error:
        check(False, f"{editor}: `{' '.join(argv)}` starts", error)
        return
    answer = server.request("initialize", {
        "processId": os.getpid(),
        "rootUri": PROJECT.as_uri(),
        "capabilities": {"textDocument": {"publishDiagnostics": {"relatedInformation": True}}},
        "initializationOptions": initialization_options,
        "clientInfo": {"name": f"check_manifests ({editor})"},
    })
    if not check(answer is not None and "result" in answer,
                 f"{editor}: `{' '.join(argv[1:])}` answers initialize", answer):
        server.process.kill()
        return
    server.notify("initialized", {})
    server.notify("textDocument/didOpen", {"textDocument": {
        "uri": CONFIG.as_uri(), "languageId": "yaml", "version": 1, "text": CONFIG.read_text()}})
    published = server.wait_for(lambda m: m["params"] if m.get("method") == "textDocument/publishDiagnostics"
                                and m["params"]["uri"] == CONFIG.as_uri() else None)
    # Compared on the codes the session names: a rule added later does not count.
    watched = {d["code"] for d in SESSION["diagnostics"]}
    got = sorted(f"{d['range']['start']['line'] + 1}:{d['range']['start']['character'] + 1} {d.get('code')}"
                 for d in (published or {}).get("diagnostics", []) if d.get("code") in watched)
    wanted = sorted(f"{d['line']}:{d['column']} {d['code']}" for d in SESSION["diagnostics"])
    check(got == wanted, f"{editor}: diagnostics published on open: {', '.join(wanted)}", f"got: {', '.join(got)}")
    check(server.close() == 0, f"{editor}: the server exits 0 after shutdown and exit")


def helix_matches(glob, path):
    # Helix puts "*/" in front of a relative glob and matches the whole path.
    return fnmatch.fnmatchcase(path, glob if glob.startswith(("/", "*")) else "*/" + glob)


def check_helix():
    config = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text())
    language = next(lang for lang in config["language"] if lang["name"] == "circleci")
    globs = [entry["glob"] for entry in language["file-types"]]
    for path in [str(CONFIG), "/w/.circleci/config/jobs/build.yml", "/w/orb/src/@orb.yml"]:
        check(any(helix_matches(g, path) for g in globs), f"helix: file-types pick {path}")
    for path in NOT_CIRCLECI:
        check(not any(helix_matches(g, path) for g in globs), f"helix: file-types leave {path} to YAML")
    servers = config["language-server"]
    check(language["language-servers"] == ["orrery"] and "orrery" in servers,
          "helix: the circleci language uses the orrery server")
    server = servers["orrery"]
    session_with("helix", [server["command"], *server.get("args", [])], server.get("config"))


def zed_suffix_length(suffixes, path):
    # Zed: a suffix matches the extension, the file name or the full path when one of them ends
    # with "." + suffix or equals it; the longest match wins over other languages.
    # The score is the length of the first candidate (extension, name, path) that matched.
    name = path.rsplit("/", 1)[-1]
    candidates = [name.rsplit(".", 1)[-1], name, path]
    lengths = (next((len(c) for c in candidates if c == s or c.endswith("." + s)), 0) for s in suffixes)
    return max(lengths, default=0)


def check_zed():
    extension = tomllib.loads((EDITORS / "zed" / "extension.toml").read_text())
    language = tomllib.loads((EDITORS / "zed" / "languages" / "circleci" / "config.toml").read_text())
    check(extension["language_servers"]["orrery"]["languages"] == [language["name"]],
          f"zed: the orrery server serves the {language['name']} language")
    yaml_suffixes = ["yml", "yaml"]
    for path in [str(CONFIG), "/w/orb/src/@orb.yml"]:
        ours, yaml = zed_suffix_length(language["path_suffixes"], path), zed_suffix_length(yaml_suffixes, path)
        check(ours > yaml, f"zed: path_suffixes pick {path} over YAML", f"{ours} vs {yaml}")
    for path in NOT_CIRCLECI:
        check(zed_suffix_length(language["path_suffixes"], path) == 0, f"zed: path_suffixes leave {path} to YAML")
    # src/lib.rs starts `orrery lsp` (plus lsp.orrery.binary.arguments, none by default).
    source = (EDITORS / "zed" / "src" / "lib.rs").read_text()
    check('vec!["lsp".to_string()]' in source, "zed: the extension starts `orrery lsp`")
    session_with("zed", ["orrery", "lsp"], None)


if __name__ == "__main__":
    check_helix()
    check_zed()
    print(f"helix and zed: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)
