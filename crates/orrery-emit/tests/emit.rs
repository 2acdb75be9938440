//! Scalar styles, layout, trailer, JSON and hash order.

use orrery_diagnostics::{FileId, Span};
use orrery_emit::{
    clojure_hash_order, emit_yaml, emit_yaml_with, orb_header, to_json, trailer, EmitOptions,
};
use orrery_yaml::{Map, Node, Value};

fn sp() -> Span {
    Span::new(FileId(0), 0, 0)
}

fn s(text: &str) -> Node {
    Node::string(text, sp())
}

fn map(entries: Vec<(&str, Node)>) -> Node {
    let mut m = Map::new();
    for (k, v) in entries {
        m.insert(k, sp(), v);
    }
    Node::new(Value::Map(m), sp())
}

fn seq(items: Vec<Node>) -> Node {
    Node::new(Value::Seq(items), sp())
}

/// `k: <value>` for one string value.
fn one(value: &str) -> String {
    emit_yaml(&map(vec![("k", s(value))]))
}

#[test]
fn plain_when_it_reads_back() {
    assert_eq!(one("hello world"), "k: hello world\n");
    assert_eq!(one("12.14.0"), "k: 12.14.0\n");
    assert_eq!(one("/release\\/.*/"), "k: /release\\/.*/\n");
    assert_eq!(one("~/project"), "k: ~/project\n");
    assert_eq!(one("a:b"), "k: a:b\n");
    assert_eq!(one("a#b"), "k: a#b\n");
    assert_eq!(one("Build 🏗"), "k: Build 🏗\n");
    assert_eq!(one("y"), "k: y\n");
    assert_eq!(one("1e3"), "k: 1e3\n");
    assert_eq!(one("-x"), "k: -x\n");
    assert_eq!(one("medium+"), "k: medium+\n");
}

#[test]
fn single_quoted_when_plain_would_change_meaning() {
    for (text, want) in [
        ("", "''"),
        ("YES", "'YES'"),
        ("off", "'off'"),
        ("true", "'true'"),
        ("null", "'null'"),
        ("~", "'~'"),
        ("12", "'12'"),
        ("1.0", "'1.0'"),
        ("010", "'010'"),
        ("0x1F", "'0x1F'"),
        ("1:30", "'1:30'"),
        ("2001-12-14", "'2001-12-14'"),
        ("<<", "'<<'"),
        (
            "Restore Builder Image Cache: copy-source",
            "'Restore Builder Image Cache: copy-source'",
        ),
        ("a #b", "'a #b'"),
        (" lead", "' lead'"),
        ("trail ", "'trail '"),
        ("*star", "'*star'"),
        ("&amp", "'&amp'"),
        ("!bang", "'!bang'"),
        ("|pipe", "'|pipe'"),
        (">gt", "'>gt'"),
        ("%pct", "'%pct'"),
        ("@at", "'@at'"),
        ("`tick`", "'`tick`'"),
        ("- dash", "'- dash'"),
        ("-", "'-'"),
        ("? q", "'? q'"),
        (":", "':'"),
        ("[x]", "'[x]'"),
        ("{x}", "'{x}'"),
        ("\"q\"", "'\"q\"'"),
        ("it's", "it's"),
        ("'s'", "'''s'''"),
        ("---", "'---'"),
        ("#c", "'#c'"),
        ("a:", "'a:'"),
    ] {
        assert_eq!(one(text), format!("k: {want}\n"), "for {text:?}");
    }
}

#[test]
fn double_quoted_for_special_characters() {
    assert_eq!(one("a\tb"), "k: \"a\\tb\"\n");
    assert_eq!(one("bell\u{7}"), "k: \"bell\\a\"\n");
    assert_eq!(one("x\u{1}"), "k: \"x\\x01\"\n");
    assert_eq!(one("cr\r"), "k: \"cr\\r\"\n");
    // A line with trailing spaces makes a literal block impossible.
    assert_eq!(
        one("if x; then\n  echo\n  \nfi\n"),
        "k: \"if x; then\\n  echo\\n  \\nfi\\n\"\n"
    );
    assert_eq!(one("a\nb "), "k: \"a\\nb \"\n");
    assert_eq!(one("say \"hi\"\n\t"), "k: \"say \\\"hi\\\"\\n\\t\"\n");
}

#[test]
fn literal_blocks() {
    assert_eq!(one("a\nb\n"), "k: |\n  a\nb\n".replace("\nb", "\n  b"));
    assert_eq!(one("a\nb"), "k: |-\n  a\n  b\n");
    assert_eq!(one("a\n\n"), "k: |+\n  a\n\n");
    assert_eq!(one("a\n\nb\n"), "k: |\n  a\n\n  b\n");
    assert_eq!(one(" a\nb\n"), "k: |2\n   a\n  b\n");
    assert_eq!(one("\na\n"), "k: |2\n\n  a\n");
    assert_eq!(one("\na"), "k: |2-\n\n  a\n");
    // In a sequence and deeper.
    let doc = map(vec![(
        "steps",
        seq(vec![
            map(vec![("run", map(vec![("command", s("x\ny\n"))]))]),
            s("z\n"),
        ]),
    )]);
    assert_eq!(
        emit_yaml(&doc),
        "steps:\n- run:\n    command: |\n      x\n      y\n- |\n  z\n"
    );
}

#[test]
fn native_scalars_and_empty_collections() {
    let doc = map(vec![
        ("version", Node::new(Value::Int(2), sp())),
        ("f", Node::new(Value::Float(2.1), sp())),
        ("b", Node::new(Value::Bool(true), sp())),
        ("n", Node::null(sp())),
        ("m", map(vec![])),
        ("l", seq(vec![])),
    ]);
    assert_eq!(
        emit_yaml(&doc),
        "version: 2\nf: 2.1\nb: true\nn: null\nm: {}\nl: []\n"
    );
}

#[test]
fn layout() {
    let doc = map(vec![
        ("version", Node::new(Value::Int(2), sp())),
        (
            "jobs",
            map(vec![(
                "build",
                map(vec![
                    (
                        "docker",
                        seq(vec![map(vec![("image", s("cimg/base:stable"))])]),
                    ),
                    ("environment", seq(vec![map(vec![("A", s("1"))])])),
                    ("steps", seq(vec![s("checkout"), seq(vec![s("a"), s("b")])])),
                ]),
            )]),
        ),
    ]);
    assert_eq!(
        emit_yaml(&doc),
        "version: 2\njobs:\n  build:\n    docker:\n    - image: cimg/base:stable\n    environment:\n    - A: '1'\n    steps:\n    - checkout\n    - - a\n      - b\n"
    );
}

#[test]
fn keys_are_quoted_like_values() {
    let doc = map(vec![
        ("on", s("x")),
        ("Hello Workflow", s("y")),
        ("a: b", s("z")),
    ]);
    assert_eq!(emit_yaml(&doc), "'on': x\nHello Workflow: y\n'a: b': z\n");
}

#[test]
fn only_the_top_level_jobs_map_uses_hash_order() {
    let keys = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    let nine = || map(keys.iter().map(|k| (*k, s("v"))).collect());
    let hashed = ["d", "f", "e", "a", "i", "b", "g", "h", "c"];
    // Past 8 jobs, the compiled `jobs:` map is a Clojure hash map.
    let doc = map(vec![("version", s("2")), ("jobs", nine())]);
    let out = emit_yaml(&doc);
    let order: Vec<&str> = out.lines().skip(2).map(|l| &l[2..3]).collect();
    assert_eq!(order, hashed);
    // JSON follows the same order.
    let json = to_json(&doc);
    let json_keys: Vec<&str> = json["jobs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(json_keys, hashed);
    // Eight jobs stay in insertion order.
    let doc = map(vec![(
        "jobs",
        map(keys[..8].iter().map(|k| (*k, s("v"))).collect()),
    )]);
    let order: Vec<String> = emit_yaml(&doc)
        .lines()
        .skip(1)
        .map(|l| l[2..3].to_string())
        .collect();
    assert_eq!(order, keys[..8]);
    // Maps read from YAML keep their order whatever their size: a 9-entry `environment` of a
    // docker image (a 2020 official output), a 9-key root, a `jobs` key deeper down.
    let image = map(vec![
        ("image", s("cimg/base:stable")),
        ("environment", nine()),
    ]);
    let job = map(vec![("docker", seq(vec![image])), ("jobs", nine())]);
    let doc = map(vec![("jobs", map(vec![("build", job)]))]);
    let out = emit_yaml(&doc);
    let order: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with(": v"))
        .map(|l| &l.trim_start()[..1])
        .collect();
    assert_eq!(order, [keys, keys].concat());
    let order: Vec<String> = emit_yaml(&nine())
        .lines()
        .map(|l| l[..1].to_string())
        .collect();
    assert_eq!(order, keys);
}

/// Expected orders computed with `python3 shared/tools/cljhash.py` (`order(keys)`).
#[test]
fn clojure_hash_order_matches_reference() {
    assert_eq!(
        clojure_hash_order(&["version", "jobs", "workflows"]),
        ["workflows", "jobs", "version"]
    );
    assert_eq!(
        clojure_hash_order(&[
            "build", "test", "deploy", "lint", "docs", "release", "package", "publish", "notify",
            "cleanup"
        ]),
        [
            "release", "deploy", "package", "cleanup", "lint", "build", "publish", "notify",
            "docs", "test"
        ]
    );
    assert_eq!(
        clojure_hash_order(&["", "é", "🏗", "node/test", "Test Upload"]),
        ["", "é", "🏗", "Test Upload", "node/test"]
    );
}

#[test]
fn json_values() {
    let doc = map(vec![
        ("i", Node::new(Value::Int(4), sp())),
        ("f", Node::new(Value::Float(2.5), sp())),
        ("b", Node::new(Value::Bool(false), sp())),
        ("n", Node::null(sp())),
        ("l", seq(vec![s("x")])),
    ]);
    assert_eq!(
        to_json(&doc).to_string(),
        r#"{"i":4,"f":2.5,"b":false,"n":null,"l":["x"]}"#
    );
}

#[test]
fn header_and_trailer() {
    assert_eq!(
        orb_header("circleci/node@4.7", "circleci/node@4.7.0"),
        "# Orb 'circleci/node@4.7' resolved to 'circleci/node@4.7.0'\n"
    );
    assert_eq!(
        trailer("version: 2.1\n\njobs: {}\n"),
        "\n# Original config.yml file:\n# version: 2.1\n# \n# jobs: {}"
    );
    // Quotes and backslashes are escaped as in a JSON string.
    assert_eq!(
        trailer("default: \"\"\nre: /a\\/b/\n"),
        "\n# Original config.yml file:\n# default: \\\"\\\"\n# re: /a\\\\/b/"
    );
    // Non-ASCII becomes \u escapes of UTF-16 units; tabs become \t.
    assert_eq!(
        trailer("# 日本語 🏗\n\tx"),
        "\n# Original config.yml file:\n# # \\u65e5\\u672c\\u8a9e \\ud83c\\udfd7\n# \\tx"
    );
}

#[test]
fn folding_at_80_columns() {
    let long = "jfrog rt upload test/artifact.jar repo/path --build-name=${CIRCLE_PROJECT_REPONAME} --build-number=${CIRCLE_BUILD_NUM}";
    let doc = map(vec![("command", s(long))]);
    let folded = emit_yaml_with(
        &doc,
        &EmitOptions {
            fold_width: Some(80),
        },
    );
    assert_eq!(
        folded,
        "command: jfrog rt upload test/artifact.jar repo/path --build-name=${CIRCLE_PROJECT_REPONAME}\n  --build-number=${CIRCLE_BUILD_NUM}\n"
    );
    assert_eq!(emit_yaml(&doc), format!("command: {long}\n"));
    let quoted = format!("{} \"x\"\n\t{}", "a".repeat(70), "b b b b b b b b b b b b");
    let doc = map(vec![("k", s(&quoted))]);
    let out = emit_yaml_with(
        &doc,
        &EmitOptions {
            fold_width: Some(80),
        },
    );
    assert!(
        out.lines().count() > 1 && out.lines().next().unwrap().ends_with('\\'),
        "{out}"
    );
}
